import Foundation
import RNNEngine
import TestSupport
import XCTest

/// `mpirun -np 2 zoo train <task>`: the same losses and weights as one process at the same
/// global batch, a Ctrl-C that stops every rank at one step and resumes under one process, and
/// a killed rank that ends the job naming it. Skipped where Open MPI is not installed
/// (scripts/setup.sh installs it).
final class DataParallelTests: TemporaryDirectoryTestCase {
    private func mpirun() throws -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(directory)/mpirun"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw XCTSkip("mpirun is not installed (scripts/setup.sh installs openmpi-bin): data-parallel tests skipped")
    }

    /// `mpirun -np <count> zoo <arguments>`, started (not waited for).
    private func startRanks(_ arguments: [String], count: Int = 2) throws -> (
        process: Process, stdout: Pipe, stderr: Pipe
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try mpirun())
        // As root (containers, CI) mpirun needs --allow-run-as-root; --oversubscribe lets the
        // ranks start on a machine with fewer free cores.
        process.arguments =
            ["--allow-run-as-root", "--oversubscribe", "-np", String(count), zooExecutable.path] + arguments
        var environment = ProcessInfo.processInfo.environment
        // Containers often forbid the cross-memory attach that shared-memory transfers try first.
        environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
        process.environment = environment
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        return (process, stdout, stderr)
    }

    private func ranks(_ arguments: [String], count: Int = 2) throws -> (status: Int32, stdout: String, stderr: String)
    {
        let (process, stdout, stderr) = try startRanks(arguments, count: count)
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    private func writeCorpus() throws -> String {
        let path = directory + "/corpus.txt"
        try String(repeating: "the cat sat on the mat and the dog sat on the log\n", count: 400)
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Each line of a run's metrics.jsonl: its step and its losses and validation metrics
    /// (not its speeds, which differ).
    private func losses(_ run: String) throws -> [(step: Int, values: [String: Double])] {
        let text = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            var values: [String: Double] = [:]
            for (key, value) in object where key.hasPrefix("train_") || key.hasPrefix("valid_") {
                if let number = value as? Double { values[key] = number }
            }
            return (try XCTUnwrap(object["step"] as? Int), values)
        }
    }

    private func assertSameLosses(
        _ one: [(step: Int, values: [String: Double])], _ two: [(step: Int, values: [String: Double])],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(one.map(\.step), two.map(\.step), file: file, line: line)
        XCTAssertGreaterThan(one.count, 2, file: file, line: line)
        for (a, b) in zip(one, two) {
            XCTAssertEqual(a.values.keys.sorted(), b.values.keys.sorted(), file: file, line: line)
            for (key, x) in a.values {
                let y = b.values[key] ?? .nan
                XCTAssertLessThanOrEqual(
                    abs(x - y), 1e-4 * max(abs(x), 1e-3), "step \(a.step) \(key): \(x) vs \(y)", file: file, line: line)
            }
        }
    }

    private func assertSameWeights(
        _ one: String, _ two: String, ignoring ignored: Set<String> = [], file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let a = try SafeTensors.read(path: one), b = try SafeTensors.read(path: two)
        XCTAssertEqual(a.tensors.keys.sorted(), b.tensors.keys.sorted(), file: file, line: line)
        XCTAssertEqual(a.metadata["zoo.step"], b.metadata["zoo.step"], file: file, line: line)
        for (name, x) in a.tensors where !ignored.contains(name) {
            let y = try XCTUnwrap(b.tensors[name], file: file, line: line)
            let worst = zip(x.array, y.array).map { abs($0 - $1) / max(abs($0), 1e-2) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-3, "\(name) differs by \(worst) (relative)", file: file, line: line)
        }
    }

    /// Trains with one process and with two (or `count`) ranks; the losses, validation metrics
    /// and final weights agree (float summation order apart).
    private func assertRanksTrainAsOne(
        _ arguments: [String], count: Int = 2, ignoringWeights ignored: Set<String> = [],
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let one = directory + "/one-\(line)", two = directory + "/two-\(line)"
        let single = try zoo(arguments + ["--out", one, "--threads", "1"])
        XCTAssertEqual(single.status, 0, single.stderr, file: file, line: line)
        let parallel = try ranks(arguments + ["--out", two], count: count)
        XCTAssertEqual(parallel.status, 0, parallel.stderr, file: file, line: line)
        // Rank 0 alone prints: one summary line, not two.
        XCTAssertEqual(
            parallel.stdout.components(separatedBy: "done: ").count, 2, parallel.stdout, file: file, line: line)
        XCTAssertTrue(parallel.stdout.contains("\(count) ranks, allreduce"), parallel.stdout, file: file, line: line)
        assertSameLosses(try losses(one), try losses(two), file: file, line: line)
        try assertSameWeights(
            one + "/last.safetensors", two + "/last.safetensors", ignoring: ignored, file: file, line: line)
    }

    func testLanguageModelOnTwoRanksFollowsTheOneProcessCurve() throws {
        _ = try mpirun()
        try assertRanksTrainAsOne([
            "train", "lm", "--data", try writeCorpus(), "--hidden-size", "16", "--embedding-size", "8",
            "--batch-size", "7", "--bptt", "16", "--steps", "12", "--eval-every", "6", "--log-every", "1",
            "--dropout", "0"
        ])
    }

    /// A model of 20k parameters goes over the ring sum (below 16k floats it is one
    /// MPI_Allreduce), on three ranks: blocks of unequal size, 7 streams split 2, 2, 3.
    func testLanguageModelOnThreeRanksFollowsTheOneProcessCurve() throws {
        _ = try mpirun()
        try assertRanksTrainAsOne(
            [
                "train", "lm", "--data", try writeCorpus(), "--hidden-size", "64", "--embedding-size", "8",
                "--batch-size", "7", "--bptt", "16", "--steps", "12", "--eval-every", "6", "--log-every", "1",
                "--dropout", "0"
            ], count: 3)
    }

    func testTranslationSpeechAndCaptioningOnTwoRanksFollowTheOneProcessCurve() throws {
        _ = try mpirun()
        try assertRanksTrainAsOne(["train", "translation", "--dry-run", "--dropout", "0"])
        let speech = directory + "/speech"
        try FileManager.default.createDirectory(atPath: speech, withIntermediateDirectories: true)
        try writeToneCorpus(in: speech)
        try assertRanksTrainAsOne(["train", "speech", "--data", speech, "--dry-run", "--dropout", "0"])
        let captions = directory + "/captions"
        XCTAssertEqual(try zoo(["data", "captioning", "--out", captions, "--images", "40"]).status, 0)
        // The score bias of additive attention adds the same to every position's score, which
        // the softmax over positions cancels: its gradient is rounding noise, which Adam (dividing
        // by the gradient's own size) turns into steps of the full learning rate, a random walk
        // that two summation orders do not share. The losses above still agree.
        try assertRanksTrainAsOne(
            ["train", "captioning", "--data", captions, "--dry-run", "--dropout", "0", "--flip", "--shift", "2"],
            ignoringWeights: ["att_out.bias"])
    }

    /// With batch normalisation each rank's running statistics follow its own rows; the
    /// validation split over two ranks still scores what the checkpoint holds (rank 0's), so
    /// it equals one process's `zoo eval` of that checkpoint.
    func testBatchNormValidationOnTwoRanksEqualsEvaluatingTheCheckpoint() throws {
        _ = try mpirun()
        let captions = directory + "/captions", out = directory + "/run"
        XCTAssertEqual(try zoo(["data", "captioning", "--out", captions, "--images", "400"]).status, 0)
        let trained = try ranks([
            "train", "captioning", "--data", captions, "--batch-norm", "--steps", "10", "--eval-every", "10",
            "--hidden-size", "32", "--embedding-size", "16", "--attention-size", "16", "--image-size", "24",
            "--batch-size", "16", "--out", out
        ])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let validation = try XCTUnwrap(try losses(out).last { $0.values["valid_bleu1"] != nil }).values
        let evaluated = try zoo([
            "eval", "captioning", "--checkpoint", out + "/last.safetensors", "--split", "valid", "--beam", "1", "--json"
        ])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        let scores = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as? [String: Any])
        for metric in ["bleu1", "bleu4", "cider"] {
            let logged = try XCTUnwrap(validation["valid_" + metric]), scored = try XCTUnwrap(scores[metric] as? Double)
            // metrics.jsonl keeps six significant digits.
            XCTAssertEqual(logged, scored, accuracy: 1e-5 * max(abs(scored), 1), metric)
        }
    }

    /// Ctrl-C to mpirun stops both ranks at one step; rank 0 saves it, one process resumes the
    /// run and ends it where an uninterrupted one-process run ends, and two ranks resume that.
    func testCtrlCUnderMPIRunStopsEveryRankAndOneProcessResumes() throws {
        let corpus = try writeCorpus(), out = directory + "/run", straight = directory + "/straight"
        let arguments = [
            "train", "lm", "--data", corpus, "--hidden-size", "16", "--embedding-size", "8", "--batch-size", "6",
            "--bptt", "16", "--eval-every", "1000", "--log-every", "1", "--dropout", "0", "--json"
        ]
        let (process, stdout, stderr) = try startRanks(arguments + ["--steps", "100000", "--out", out])
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains(#""step": 4,"#) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        process.interrupt()
        seen += stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertNotEqual(process.terminationStatus, 0, errors)
        XCTAssertTrue(errors.contains("--resume"), errors)
        let lines = String(decoding: seen, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("{") }
        let last = try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any]
        let stopped = try XCTUnwrap(last?["step"] as? Int)
        let saved = try SafeTensors.read(path: out + "/last.safetensors")
        XCTAssertEqual(saved.metadata["zoo.step"], String(stopped))

        let steps = String(stopped + 3)
        let resumed = try zoo(arguments + ["--steps", steps, "--out", out, "--resume", "--threads", "1"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let reference = try zoo(arguments + ["--steps", steps, "--out", straight, "--threads", "1"])
        XCTAssertEqual(reference.status, 0, reference.stderr)
        assertSameLosses(try losses(straight), try losses(out))
        try assertSameWeights(straight + "/last.safetensors", out + "/last.safetensors")

        // And back: two ranks resume the one-process run's checkpoint.
        let further = String(stopped + 6)
        let twoRanks = try ranks(arguments + ["--steps", further, "--out", out, "--resume"])
        XCTAssertEqual(twoRanks.status, 0, twoRanks.stderr)
        let oneProcess = try zoo(arguments + ["--steps", further, "--out", straight, "--resume", "--threads", "1"])
        XCTAssertEqual(oneProcess.status, 0, oneProcess.stderr)
        assertSameLosses(try losses(straight), try losses(out))
        try assertSameWeights(straight + "/last.safetensors", out + "/last.safetensors")
    }

    /// A rank killed mid-run ends the whole job (no rank left waiting in a collective), the
    /// message names the rank, and the last checkpoint still loads and resumes.
    func testAKilledRankEndsTheJobNamingItAndTheCheckpointLoads() throws {
        let corpus = try writeCorpus(), out = directory + "/run"
        let arguments = [
            "train", "lm", "--data", corpus, "--hidden-size", "16", "--embedding-size", "8", "--batch-size", "6",
            "--bptt", "16", "--eval-every", "2", "--log-every", "1", "--dropout", "0", "--json", "--out", out
        ]
        let (process, stdout, stderr) = try startRanks(arguments + ["--steps", "100000"])
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains(#""step": 5,"#) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        let rank1 = try XCTUnwrap(childProcesses(of: process.processIdentifier).first { rank(of: $0) == 1 })
        kill(rank1, SIGKILL)
        let started = Date()
        let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        _ = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
        XCTAssertNotEqual(process.terminationStatus, 0)
        XCTAssertTrue(errors.contains("rank 1"), errors)
        let evaluated = try zoo(["eval", "lm", "--checkpoint", out + "/last.safetensors", "--data", corpus])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        let resumed = try zoo(arguments + ["--steps", "12", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
    }

    private func childProcesses(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent
        }
    }

    private func rank(of pid: Int32) -> Int? {
        guard let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return nil }
        for entry in environment.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            if text.hasPrefix("OMPI_COMM_WORLD_RANK=") { return Int(text.dropFirst("OMPI_COMM_WORLD_RANK=".count)) }
        }
        return nil
    }
}
