import ArgumentParser
import Foundation
import RNNEngine
import TestSupport
import XCTest

@testable import ZooCLI

/// Runs the built `zoo` executable as a user would.
final class ZooCLITests: XCTestCase {
    /// Each training command's help prints its own task's defaults, each once (they used to list
    /// all four tasks' steps, and `--dropout (default: 0)` for translation, which uses 0.1).
    func testHelpShowsEachTasksOwnDefaultsOnce() throws {
        let tasks: [(String, ParsableCommand.Type, TaskDefaults)] = [
            ("lm", TrainLanguageModel.self, .languageModel), ("translation", TrainTranslation.self, .translation),
            ("speech", TrainSpeech.self, .speech), ("captioning", TrainCaptioning.self, .captioning)
        ]
        for (name, command, defaults) in tasks {
            let message = ZooCommand.helpMessage(for: command, columns: 10_000)
            let lines = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            // An option's line, with its description when a long name pushed that to the next.
            func line(_ option: String) -> String {
                guard let index = lines.firstIndex(where: { $0.hasPrefix(option + " ") }) else { return "" }
                let next = index + 1 < lines.count && !lines[index + 1].hasPrefix("-") ? " " + lines[index + 1] : ""
                return lines[index] + next
            }
            XCTAssertTrue(line("--steps").hasSuffix("(default: \(defaults.steps))"), "\(name): \(line("--steps"))")
            XCTAssertTrue(
                line("--batch-size").hasSuffix("(default: \(defaults.batchSize))"), "\(name): \(line("--batch-size"))")
            XCTAssertTrue(
                line("--learning-rate").hasSuffix("(default: \(defaults.learningRate))"),
                "\(name): \(line("--learning-rate"))")
            XCTAssertTrue(
                line("--eval-every").hasSuffix("at most \(defaults.maximumEvaluationInterval))"),
                "\(name): \(line("--eval-every"))")
            XCTAssertTrue(
                line("--dropout").hasSuffix("(default: \(String(format: "%g", defaults.dropout)))"),
                "\(name): \(line("--dropout"))")
            XCTAssertFalse(message.contains("language-model,"), "\(name) lists other tasks' defaults")
            for text in message.split(separator: "\n") {
                XCTAssertLessThanOrEqual(text.components(separatedBy: "(default:").count, 2, "\(name): \(text)")
            }
        }
        let version = try zoo(["--version"])
        XCTAssertEqual(version.status, 0, version.stderr)
        XCTAssertEqual(version.stdout, zooVersion + "\n")
    }

    func testInfoJSON() throws {
        let result = try zoo(["info", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertNotNil(object["kernel"] as? String)
        XCTAssertGreaterThan(object["sgemm_gflops"] as? Double ?? 0, 0)
        XCTAssertEqual(object["threads"] as? Int, 2)
        // The engine's kernels follow the CPU's features.
        let features = object["cpu_features"] as? [String] ?? []
        let vector = features.contains("avx2") && features.contains("fma")
        let expected = !vector ? "baseline" : features.contains("avx512f") ? "avx512" : "avx2_fma"
        XCTAssertEqual(object["engine_kernels"] as? String, expected)
    }

    func testBenchPrintsReferenceFields() throws {
        let result = try zoo(["bench", "--only", "ctc-loss", "--seconds", "0.05"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["bench"] as? String, "ctc-loss")
        for key in ["frames_per_s", "ms_per_step", "batch", "frames", "symbols", "label_length"] {
            XCTAssertNotNil(object[key], key)
        }
    }

    func testBenchRejectsUnknownWorkload() throws {
        let result = try zoo(["bench", "--only", "transformer"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("unknown workload 'transformer'"), result.stderr)
    }

    func testScoreMatchesTheGoldenAndNamesBadFiles() throws {
        let metrics = repositoryPath("Tests/EngineSupportTests/Golden/metrics")
        let bleu = try zoo([
            "score", "bleu", "--hypotheses", metrics + "/hypotheses.txt", "--references", metrics + "/references1.txt",
            "--references", metrics + "/references2.txt", "--json"
        ])
        XCTAssertEqual(bleu.status, 0, bleu.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bleu.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["bleu"] as? Double ?? 0, 85.3690, accuracy: 0.001)  // sacreBLEU: 85.36897
        let short = NSTemporaryDirectory() + "zoo-short-\(UUID().uuidString).txt"
        try "one line\n".write(toFile: short, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: short) }
        let misaligned = try zoo(["score", "wer", "--hypotheses", metrics + "/hypotheses.txt", "--references", short])
        XCTAssertNotEqual(misaligned.status, 0)
        XCTAssertTrue(misaligned.stderr.contains("has 1 lines but"), misaligned.stderr)
        let missing = try zoo(["score", "chrf", "--hypotheses", "/nonexistent.txt", "--references", short])
        XCTAssertTrue(missing.stderr.contains("/nonexistent.txt: no such file"), missing.stderr)
    }

    func testGradientsWritesAPlotAndJSON() throws {
        let plot = NSTemporaryDirectory() + "zoo-gradients-\(UUID().uuidString).png"
        defer { try? FileManager.default.removeItem(atPath: plot) }
        let result = try zoo(["gradients", "--cell", "rnn", "--length", "12", "--steps", "2", "--out", plot, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((object["initial"] as? [Double])?.count, 12)
        XCTAssertEqual((object["trained"] as? [Double])?.count, 12)
        XCTAssertNotNil(object["exploding_initial"])
        XCTAssertLessThan(
            object["first_to_last_initial"] as? Double ?? 1, 1, "the plain RNN's gradient shrinks going back")
        XCTAssertTrue(FileManager.default.fileExists(atPath: plot))
    }

    func testUserChosenKernelIsKept() throws {
        let result = try zoo(["info", "--json"], environment: ["OPENBLAS_CORETYPE": "Haswell"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("\"openblas_coretype\":\"Haswell\""), result.stdout)
    }
}

/// One dry run per task through the CLI, and the errors a user sees for bad input.
final class LanguageModelCLITests: TemporaryDirectoryTestCase {
    func testDryRunTrainEvalAndSample() throws {
        let out = directory + "/run"
        let train = try zoo(["train", "lm", "--dry-run", "--out", out])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stdout.contains("saved best"), train.stdout)
        for file in ["best.safetensors", "last.safetensors", "last.optimizer.safetensors", "metrics.jsonl", "loss.png"]
        {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + file), file)
        }
        let eval = try zoo(["eval", "language-model", "--checkpoint", out + "/best.safetensors", "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let score = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        for key in ["loss", "perplexity", "bits_per_token", "bits_per_char", "tokens"] {
            XCTAssertNotNil(score[key], key)
        }
        let again = try zoo(["train", "lm", "--steps", "2", "--out", out])
        XCTAssertNotEqual(again.status, 0, "a second run must not replace the first")
        XCTAssertTrue(again.stderr.contains("already holds a training run"), again.stderr)
        let sample = try zoo(["sample", "--checkpoint", out + "/best.safetensors", "--prompt", "The ", "--length", "20"]
        )
        XCTAssertEqual(sample.status, 0, sample.stderr)
        XCTAssertTrue(sample.stdout.hasPrefix("The "))
        // A prompt the model cannot read is refused before anything is printed (it used to be
        // echoed, then fail); one it reads in part is warned about.
        let foreign = try zoo(["sample", "--checkpoint", out + "/best.safetensors", "--prompt", "☃☃", "--length", "5"])
        XCTAssertNotEqual(foreign.status, 0)
        XCTAssertEqual(foreign.stdout, "")
        XCTAssertTrue(foreign.stderr.contains("the model knows none of the prompt's characters (☃)"), foreign.stderr)
        let partly = try zoo(["sample", "--checkpoint", out + "/best.safetensors", "--prompt", "The ☃", "--length", "5"]
        )
        XCTAssertEqual(partly.status, 0, partly.stderr)
        XCTAssertTrue(
            partly.stderr.contains(
                "1 of the prompt's characters (☃) are not in the model's vocabulary and are left out"), partly.stderr)
    }

    func testBadInputExitsNonZeroWithTheFileNamed() throws {
        let missing = try zoo([
            "train", "lm", "--dry-run", "--data", directory + "/missing.txt", "--out", directory + "/r"
        ])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains(directory + "/missing.txt: no such file"), missing.stderr)

        let binary = directory + "/bin.dat"
        XCTAssertTrue(FileManager.default.createFile(atPath: binary, contents: Data([1, 0, 2, 0, 3])))
        let notText = try zoo(["train", "lm", "--dry-run", "--data", binary, "--out", directory + "/r"])
        XCTAssertNotEqual(notText.status, 0)
        XCTAssertTrue(notText.stderr.contains("\(binary): not a text file"), notText.stderr)

        let other = directory + "/other.safetensors"
        XCTAssertTrue(
            FileManager.default.createFile(
                atPath: other, contents: Data([8, 0, 0, 0, 0, 0, 0, 0]) + Data("{\"__meta".utf8)))
        let corrupt = try zoo(["eval", "lm", "--checkpoint", other])
        XCTAssertNotEqual(corrupt.status, 0)
        XCTAssertTrue(corrupt.stderr.contains("\(other): not a valid safetensors file"), corrupt.stderr)

        let none = try zoo(["sample", "--checkpoint", directory + "/none.safetensors"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("none.safetensors: no such checkpoint"), none.stderr)
    }
}
