import Foundation
import RNNEngine
import SpeechRecognition
import TestSupport
import XCTest

/// `zoo train/eval speech` and `zoo transcribe`, run as a user would, on tone "speech" written
/// here (no espeak-ng needed).
final class SpeechCommandTests: TemporaryDirectoryTestCase {
    func writeCorpus() throws { try writeToneCorpus(in: directory) }

    func testDryRunThenEvaluateAndTranscribe() throws {
        try writeCorpus()
        let run = directory + "/run"
        let train = try zoo(["train", "speech", "--data", directory, "--dry-run", "--out", run, "--stacking", "2"])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stdout.contains("test (greedy): WER"), train.stdout)
        let checkpoint = run + "/best.safetensors"
        let evaluate = try zoo(["eval", "speech", "--checkpoint", checkpoint, "--data", directory, "--json"])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any])
        for key in ["wer", "cer", "utterances"] { XCTAssertNotNil(object[key], key) }
        let transcribe = try zoo([
            "transcribe", "--checkpoint", checkpoint, "--plot", directory + "/plot.png",
            directory + "/u0.wav", directory + "/u2.flac"
        ])
        XCTAssertEqual(transcribe.status, 0, transcribe.stderr)
        // Several files: `path<TAB>transcript` a line, without spaces at either end.
        let lines = transcribe.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 3, transcribe.stdout)
        for (line, file) in zip(lines, [directory + "/u0.wav", directory + "/u2.flac"]) {
            XCTAssertTrue(line.hasPrefix(file + "\t"), transcribe.stdout)
            XCTAssertEqual(
                line.split(separator: "\t", omittingEmptySubsequences: false).last.map {
                    $0.trimmingCharacters(in: .whitespaces)
                },
                line.split(separator: "\t", omittingEmptySubsequences: false).last.map(String.init),
                "spaces at an end: '\(line)'")
        }
        for k in 1...2 { XCTAssertGreaterThan(try RGBImage(pngFile: directory + "/plot-\(k).png").width, 100) }

        // Beam search with a character language model, and the grid search of its weights.
        let text = directory + "/text.txt"
        try Data(String(repeating: "ab ca bca cab\n", count: 40).utf8).write(to: URL(fileURLWithPath: text))
        XCTAssertEqual(try zoo(["train", "lm", "--data", text, "--dry-run", "--out", directory + "/lm"]).status, 0)
        let lm = directory + "/lm/best.safetensors"
        let fused = try zoo(["transcribe", "--checkpoint", checkpoint, "--beam", "4", "--lm", lm, directory + "/u0.wav"]
        )
        XCTAssertEqual(fused.status, 0, fused.stderr)
        let tune = try zoo([
            "tune", "speech", "--checkpoint", checkpoint, "--lm", lm, "--data", directory, "--beam", "2", "--json"
        ])
        XCTAssertEqual(tune.status, 0, tune.stderr)
        XCTAssertEqual(tune.stdout.split(separator: "\n").count, 31, tune.stdout)  // 6 × 5 settings and the best
        XCTAssertTrue(tune.stdout.contains(#"{"best":"#), tune.stdout)
        let greedyWithLM = try zoo(["transcribe", "--checkpoint", checkpoint, "--lm", lm, directory + "/u0.wav"])
        XCTAssertTrue(greedyWithLM.stderr.contains("--lm needs beam search"), greedyWithLM.stderr)
        let weightWithoutLM = try zoo([
            "transcribe", "--checkpoint", checkpoint, "--beam", "4", "--lm-weight", "0.3", directory + "/u0.wav"
        ])
        XCTAssertNotEqual(weightWithoutLM.status, 0, "--lm-weight without --lm used to be ignored")
        XCTAssertTrue(weightWithoutLM.stderr.contains("pass one with --lm"), weightWithoutLM.stderr)
    }

    func testABadAudioFileStopsTrainingWithItsLine() throws {
        try writeCorpus()
        try Data("not audio at all".utf8).write(to: URL(fileURLWithPath: directory + "/broken.wav"))
        try Data("u0.wav\tab\nbroken.wav\tca\n".utf8).write(to: URL(fileURLWithPath: directory + "/valid.tsv"))
        let result = try zoo(["train", "speech", "--data", directory, "--dry-run", "--out", directory + "/run"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(
            result.stderr.contains(
                "\(directory!)/valid.tsv line 2: \(directory!)/broken.wav: cannot read the audio (libsndfile: "),
            result.stderr)
        // A validation transcript too long for its audio is named before step 1, not at the
        // first validation.
        try Data(("u0.wav\tab\nu2.flac\t" + String(repeating: "abc ", count: 40) + "\n").utf8)
            .write(to: URL(fileURLWithPath: directory + "/valid.tsv"))
        let long = try zoo(["train", "speech", "--data", directory, "--dry-run", "--out", directory + "/run2"])
        XCTAssertNotEqual(long.status, 0)
        XCTAssertTrue(long.stderr.contains("\(directory!)/valid.tsv line 2: the transcript needs"), long.stderr)
        XCTAssertFalse(long.stdout.contains("step 1/"), long.stdout)
        let missing = try zoo(["transcribe", "--checkpoint", directory + "/none.safetensors", directory + "/u0.wav"])
        XCTAssertTrue(missing.stderr.contains("no such checkpoint"), missing.stderr)
    }
}

/// Tone "speech" in `directory` (no espeak-ng needed): letters a, b, c as 500, 1500 and 3000 Hz
/// tones, six utterances in four audio formats, the same six as train, valid and test.
func writeToneCorpus(in directory: String) throws {
    let frequencies: [Character: Double] = ["a": 500, "b": 1500, "c": 3000]
    var lines: [String] = []
    for (k, text) in ["ab", "ca", "bca", "cab", "ba", "ac"].enumerated() {
        var samples: [Float] = []
        for letter in text {
            samples += (0..<1600).map { Float(0.5 * sin(2 * Double.pi * frequencies[letter]! * Double($0) / 16_000)) }
            samples += [Float](repeating: 0, count: 640)
        }
        let format = AudioFile.Format.allCases[k % 4]
        let name = "u\(k).\(format.fileExtension)"
        try AudioFile.write(samples, sampleRate: 16_000, format: format, to: directory + "/" + name)
        lines.append("\(name)\t\(text)")
    }
    for split in ["train", "valid", "test"] {
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(
            to: URL(fileURLWithPath: directory + "/\(split).tsv"))
    }
}
