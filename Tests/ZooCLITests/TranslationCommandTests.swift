import Foundation
import RNNEngine
import TestSupport
import XCTest

/// `zoo train/eval/data translation` and `zoo translate`, run as a user would.
final class TranslationCommandTests: TemporaryDirectoryTestCase {
    /// 300 pairs of a made-up language: the words reversed and spelt differently.
    func writePairs() throws -> String {
        var lines: [String] = []
        let words = ["red", "cat", "sees", "a", "big", "dog", "the", "house", "runs", "home"]
        var seed: UInt64 = 42
        for _ in 0..<300 {
            var sentence: [String] = []
            for _ in 0..<(3 + Int(seed % 4)) {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                sentence.append(words[Int(seed >> 33) % words.count])
            }
            lines.append(sentence.joined(separator: " ") + ".\t" + sentence.reversed().map { $0.uppercased() + "o" }.joined(separator: " ") + ".")
        }
        let path = directory + "/pairs.tsv"
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testDryRunThenTranslateEvaluateAndDrawAttention() throws {
        let data = try writePairs()
        let run = directory + "/run"
        let train = try zoo(["train", "translation", "--data", data, "--dry-run", "--out", run, "--subword", "bpe", "--merges", "20"])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stdout.contains("test (beam 5): BLEU"), train.stdout)
        let checkpoint = run + "/best.safetensors"

        let map = directory + "/map.png"
        let translate = try zoo(["translate", "--checkpoint", checkpoint, "--beam", "3", "--n-best", "2", "--attention-map", map,
                                 "the red cat sees a dog."])
        XCTAssertEqual(translate.status, 0, translate.stderr)
        XCTAssertEqual(translate.stdout.split(separator: "\n").count, 2, translate.stdout)   // rank, score, text × 2
        XCTAssertTrue(translate.stdout.hasPrefix("1\t"), translate.stdout)
        XCTAssertNoThrow(try RGBImage(pngFile: map))

        let evaluate = try zoo(["eval", "translation", "--checkpoint", checkpoint, "--data", data, "--beam", "1", "--json"])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any])
        for key in ["bleu", "chrf", "sentences"] { XCTAssertNotNil(object[key], key) }
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
        XCTAssertEqual(text.split(separator: "\n", omittingEmptySubsequences: false).count, 4, text)   // 3 lines, the empty one kept
    }

    func testBadDataAndCheckpointsAreNamed() throws {
        let broken = directory + "/broken.tsv"
        try Data("one\tein\ntwo zwei\n".utf8).write(to: URL(fileURLWithPath: broken))
        let noTab = try zoo(["train", "translation", "--data", broken, "--dry-run", "--out", directory + "/r1"])
        XCTAssertNotEqual(noTab.status, 0)
        XCTAssertTrue(noTab.stderr.contains("\(broken) line 2: expected `source<TAB>target`, found no tab"), noTab.stderr)

        let lmRun = directory + "/lm"
        let corpus = directory + "/text.txt"
        try Data(String(repeating: "a small corpus of text for a tiny model.\n", count: 60).utf8).write(to: URL(fileURLWithPath: corpus))
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
