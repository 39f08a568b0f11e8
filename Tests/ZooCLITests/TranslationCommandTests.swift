import EngineSupport
import Foundation
import RNNEngine
import TestSupport
import XCTest

/// `zoo train/eval/data translation` and `zoo translate`, run as a user would.
final class TranslationCommandTests: TemporaryDirectoryTestCase {
    /// 300 pairs of a made-up language (`madeUpPairs`) in one file.
    func writePairs() throws -> String {
        let path = directory + "/pairs.tsv"
        try Data((madeUpPairs(300).joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `count` TSV lines of a made-up language: the words reversed and spelt differently.
    func madeUpPairs(_ count: Int) -> [String] {
        var lines: [String] = []
        let words = ["red", "cat", "sees", "a", "big", "dog", "the", "house", "runs", "home"]
        var seed: UInt64 = 42
        for _ in 0..<count {
            var sentence: [String] = []
            for _ in 0..<(3 + Int(seed % 4)) {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                sentence.append(words[Int(seed >> 33) % words.count])
            }
            lines.append(
                sentence.joined(separator: " ") + ".\t"
                    + sentence.reversed().map { $0.uppercased() + "o" }.joined(separator: " ") + ".")
        }
        return lines
    }

    func testDryRunThenTranslateEvaluateAndDrawAttention() throws {
        let data = try writePairs()
        let run = directory + "/run"
        let train = try zoo([
            "train", "translation", "--data", data, "--dry-run", "--out", run, "--subword", "bpe", "--merges", "20"
        ])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stdout.contains("test (beam 5): BLEU"), train.stdout)
        let checkpoint = run + "/best.safetensors"

        let map = directory + "/map.png"
        let translate = try zoo([
            "translate", "--checkpoint", checkpoint, "--beam", "3", "--n-best", "2", "--attention-map", map,
            "the red cat sees a dog."
        ])
        XCTAssertEqual(translate.status, 0, translate.stderr)
        XCTAssertEqual(translate.stdout.split(separator: "\n").count, 2, translate.stdout)  // rank, score, text × 2
        XCTAssertTrue(translate.stdout.hasPrefix("1\t"), translate.stdout)
        XCTAssertNoThrow(try RGBImage(pngFile: map))

        let evaluate = try zoo([
            "eval", "translation", "--checkpoint", checkpoint, "--data", data, "--beam", "1", "--json"
        ])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any])
        for key in ["bleu", "chrf", "sentences"] { XCTAssertNotNil(object[key], key) }
    }

    /// 180 training pairs are 3 steps an epoch at the default batch size. With the default schedule the
    /// run must learn and keep a learning rate: validation used to run every epoch and cut the
    /// rate fourfold at each one without a better BLEU, down to 0 within a few hundred steps.
    func testASmallCorpusLearnsWithTheDefaultSchedule() throws {
        let pairs = madeUpPairs(200), data = directory + "/small"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        for (name, lines) in [("train", pairs[0..<180]), ("valid", pairs[180...]), ("test", pairs[180..<190])] {
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: data + "/\(name).tsv"))
        }
        let result = try zoo([
            "train", "translation", "--data", data, "--out", directory + "/run", "--steps", "300",
            "--hidden-size", "64", "--embedding-size", "32", "--json"
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let rates = lines.compactMap { $0["learning_rate"] as? Double }
        let validation = lines.compactMap { line in
            (line["valid_loss"] as? Double).map { (loss: $0, bleu: line["valid_bleu"] as? Double ?? 0) }
        }
        XCTAssertFalse(rates.isEmpty, result.stdout)
        XCTAssertGreaterThanOrEqual(rates.min() ?? 0, 1e-3 / 100 * 0.999, "the rate falls below its floor: \(rates)")
        XCTAssertEqual(validation.count, 3, "validations every 100 steps, not every epoch: \(result.stdout)")
        let first = try XCTUnwrap(validation.first), last = try XCTUnwrap(validation.last)
        XCTAssertLessThan(last.loss, first.loss * 0.8, "validation loss \(validation)")
        XCTAssertGreaterThan(last.bleu, first.bleu, "validation BLEU \(validation)")

        // Without --data, eval scores the run's own data (from its run.json) and says so; it
        // used to score the built-in English–German corpus.
        let checkpoint = directory + "/run/best.safetensors"
        let evaluate = try zoo(["eval", "translation", "--checkpoint", checkpoint, "--beam", "1"])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        XCTAssertTrue(
            evaluate.stdout.hasPrefix("data: \(data) (the run's data, from \(directory!)/run/run.json)\n"),
            evaluate.stdout)
        XCTAssertTrue(evaluate.stdout.contains("| 10 sentences"), evaluate.stdout)
        XCTAssertFalse(evaluate.stdout.contains("<unk>"), evaluate.stdout)
        let json = try zoo(["eval", "translation", "--checkpoint", checkpoint, "--beam", "1", "--json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["data"] as? String, data)
        try FileManager.default.moveItem(atPath: data, toPath: data + "-moved")
        let gone = try zoo(["eval", "translation", "--checkpoint", checkpoint])
        XCTAssertNotEqual(gone.status, 0)
        XCTAssertTrue(gone.stderr.contains("\(data): the data this model was trained on"), gone.stderr)
    }

    func testTranslateReadsStandardInput() throws {
        let data = try writePairs()
        let run = directory + "/run"
        XCTAssertEqual(try zoo(["train", "translation", "--data", data, "--dry-run", "--out", run]).status, 0)
        let process = Process()
        process.executableURL = zooExecutable
        process.arguments = ["translate", "--checkpoint", run + "/best.safetensors", "--beam", "1"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data("the cat runs.\n\na big dog.\n".utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        // 3 lines, the empty one kept.
        XCTAssertEqual(text.split(separator: "\n", omittingEmptySubsequences: false).count, 4, text)

        // Mostly unknown words get a hint; an empty line gets no (broken) attention map.
        let maps = directory + "/map.png"
        let hinted = try zoo([
            "translate", "--checkpoint", run + "/best.safetensors", "--beam", "1", "--attention-map", maps,
            "the cat runs.", "", "quantum xylophone zebra."
        ])
        XCTAssertEqual(hinted.status, 0, hinted.stderr)
        XCTAssertTrue(
            hinted.stderr.contains("sentence 3: 3 of its 4 source tokens are not in the model's vocabulary"),
            hinted.stderr)
        XCTAssertFalse(hinted.stderr.contains("sentence 1:"), hinted.stderr)
        XCTAssertTrue(hinted.stderr.contains("sentence 2 is empty: no attention map written"), hinted.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/map-2.png"))
        XCTAssertNoThrow(try RGBImage(pngFile: directory + "/map-3.png"))
    }

    /// Message catalogues carry byte-order marks inside lines: a target that began with one
    /// made a vocabulary that did not round-trip, and the finished run's checkpoint did not load.
    func testByteOrderMarksInsideLinesTrainAndLoad() throws {
        let lines = madeUpPairs(300).enumerated().map { k, line in
            k % 3 == 0 ? "\u{FEFF}" + line.replacingOccurrences(of: "\t", with: "\t\u{FEFF}") : line
        }
        let data = directory + "/bom.tsv", run = directory + "/run"
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: data))
        let train = try zoo(["train", "translation", "--data", data, "--dry-run", "--out", run, "--min-frequency", "1"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let checkpoint = try SafeTensors.read(path: run + "/best.safetensors")
        XCTAssertFalse(
            checkpoint.metadata.values.contains { $0.unicodeScalars.contains("\u{FEFF}") }, "no token keeps a mark")
        let translate = try zoo([
            "translate", "--checkpoint", run + "/best.safetensors", "--beam", "1", "\u{FEFF}the red cat."
        ])
        XCTAssertEqual(translate.status, 0, translate.stderr)
        XCTAssertFalse(translate.stderr.contains("<unk>"), translate.stderr)
    }

    func testBadDataAndCheckpointsAreNamed() throws {
        let broken = directory + "/broken.tsv"
        try Data("one\tein\ntwo zwei\n".utf8).write(to: URL(fileURLWithPath: broken))
        let noTab = try zoo(["train", "translation", "--data", broken, "--dry-run", "--out", directory + "/r1"])
        XCTAssertNotEqual(noTab.status, 0)
        XCTAssertTrue(
            noTab.stderr.contains("\(broken) line 2: expected `source<TAB>target`, found no tab"), noTab.stderr)

        let lmRun = directory + "/lm"
        let corpus = directory + "/text.txt"
        try Data(String(repeating: "a small corpus of text for a tiny model.\n", count: 60).utf8).write(
            to: URL(fileURLWithPath: corpus))
        XCTAssertEqual(try zoo(["train", "lm", "--data", corpus, "--dry-run", "--out", lmRun]).status, 0)
        let wrong = try zoo(["translate", "--checkpoint", lmRun + "/best.safetensors", "hello"])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.stderr.contains("language-model") && wrong.stderr.contains("translation"), wrong.stderr)

        let out = directory + "/data"
        XCTAssertEqual(try zoo(["data", "translation", "--out", out]).status, 0)
        let again = try zoo(["data", "translation", "--out", out])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("--overwrite"), again.stderr)
    }
}
