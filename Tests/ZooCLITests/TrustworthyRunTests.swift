import Foundation
import RNNEngine
import TestSupport
import XCTest

/// What a user must be able to count on: Ctrl-C stops cleanly and resumes, nothing of an
/// existing run or data set is replaced without --overwrite, --json prints only JSON.
final class TrustworthyRunTests: TemporaryDirectoryTestCase {
    private func writeCorpus() throws -> String {
        let path = directory + "/corpus.txt"
        try String(repeating: "the cat sat on the mat and the dog sat on the log\n", count: 400)
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A long training run of a tiny model (no checkpoint before step 1000), started and
    /// followed until its progress reaches `step`: the process, its pipes and what it printed.
    private func startTraining(out: String, corpus: String, until step: Int) throws
        -> (process: Process, stdout: Pipe, stderr: Pipe, seen: Data, arguments: [String])
    {
        let arguments = [
            "train", "lm", "--data", corpus, "--out", out, "--hidden-size", "16", "--embedding-size", "8",
            "--batch-size", "4", "--bptt", "16", "--steps", "100000", "--eval-every", "1000", "--log-every", "1",
            "--json"
        ]
        let process = Process()
        process.executableURL = zooExecutable
        process.arguments = arguments
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains(#""step": \#(step),"#) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        return (process, stdout, stderr, seen, arguments)
    }

    func testCtrlCSavesTheStepAndResumeFinishesTheRun() throws {
        let corpus = try writeCorpus()
        let out = directory + "/run"
        // Training under way, then Ctrl-C.
        let (process, stdout, stderr, started, arguments) = try startTraining(out: out, corpus: corpus, until: 3)
        var seen = started
        process.interrupt()
        seen += stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130, errors)
        XCTAssertTrue(errors.contains("--resume"), errors)
        let lines = String(decoding: seen, as: UTF8.self).split(separator: "\n")
        for line in lines {
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(line.utf8)), "not JSON: \(line)")
        }
        let last = try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any]
        let stopped = try XCTUnwrap(last?["step"] as? Int)
        // The checkpoint holds the step the run stopped at, and the run resumes from there.
        let header = try String(contentsOfFile: out + "/last.safetensors", encoding: .isoLatin1)
        XCTAssertTrue(header.contains(#""zoo.step":"\#(stopped)""#), "saved at step \(stopped)")
        let resumed = try zoo(arguments.map { $0 == "100000" ? String(stopped + 2) : $0 } + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let resumedLines = resumed.stdout.split(separator: "\n")
        XCTAssertTrue(
            resumedLines.first?.contains(#""event": "resumed", "step": \#(stopped)"#) ?? false, resumed.stdout)
        for line in resumedLines {
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(line.utf8)), "not JSON: \(line)")
        }
    }

    /// kill -9 before the first checkpoint leaves run.json and no last.safetensors: resuming
    /// starts the run again from step 0 (it used to say "nothing to resume", and training
    /// without --resume "already holds a training run": a loop).
    func testAKillBeforeTheFirstCheckpointCanBeResumed() throws {
        let corpus = try writeCorpus()
        let out = directory + "/run"
        let (process, _, _, _, arguments) = try startTraining(out: out, corpus: corpus, until: 2)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/run.json"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/last.safetensors"))

        let again = try zoo(arguments)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("--resume") && again.stderr.contains("--overwrite"), again.stderr)
        let resumed = try zoo(["train", "lm", "--out", out, "--steps", "5", "--resume", "--json"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.hasPrefix(#"{"event": "resumed", "step": 0"#), resumed.stdout)
        let last = try SafeTensors.read(path: out + "/last.safetensors")
        XCTAssertEqual(last.metadata["zoo.step"], "5")
    }

    /// A kill between the two files of a save (model, then state) used to leave them at
    /// different steps, which could not resume. The model is now written whole as a pending
    /// file first: a resume finishes a committed save and drops an uncommitted one.
    func testAKillInsideASaveResumes() throws {
        let corpus = try writeCorpus()
        let out = directory + "/run"
        let common = [
            "--hidden-size", "16", "--embedding-size", "8", "--batch-size", "4", "--bptt", "16", "--eval-every", "2"
        ]
        XCTAssertEqual(try zoo(["train", "lm", "--data", corpus, "--out", out, "--steps", "2"] + common).status, 0)
        let fileManager = FileManager.default
        try fileManager.copyItem(atPath: out + "/last.safetensors", toPath: directory + "/last-2")
        try fileManager.copyItem(atPath: out + "/last.optimizer.safetensors", toPath: directory + "/state-2")
        XCTAssertEqual(try zoo(["train", "lm", "--out", out, "--resume", "--steps", "4"]).status, 0)
        func step(_ path: String, _ key: String) throws -> String? { try SafeTensors.read(path: path).metadata[key] }

        // Killed after the state (step 4) was committed, before the model was renamed.
        try fileManager.moveItem(atPath: out + "/last.safetensors", toPath: out + "/last.pending.safetensors")
        try fileManager.copyItem(atPath: directory + "/last-2", toPath: out + "/last.safetensors")
        let committed = try zoo(["train", "lm", "--out", out, "--resume", "--steps", "6", "--json"])
        XCTAssertEqual(committed.status, 0, committed.stderr)
        XCTAssertTrue(committed.stdout.hasPrefix(#"{"event": "resumed", "step": 4"#), committed.stdout)

        // Killed after the model was written whole, before the state: the old pair (step 2) resumes.
        try fileManager.moveItem(atPath: out + "/last.safetensors", toPath: out + "/last.pending.safetensors")
        try fileManager.removeItem(atPath: out + "/last.optimizer.safetensors")
        try fileManager.copyItem(atPath: directory + "/last-2", toPath: out + "/last.safetensors")
        try fileManager.copyItem(atPath: directory + "/state-2", toPath: out + "/last.optimizer.safetensors")
        let stale = try zoo(["train", "lm", "--out", out, "--resume", "--steps", "8", "--json"])
        XCTAssertEqual(stale.status, 0, stale.stderr)
        XCTAssertTrue(stale.stdout.hasPrefix(#"{"event": "resumed", "step": 2"#), stale.stdout)
        XCTAssertEqual(try step(out + "/last.safetensors", "zoo.step"), "8")
        XCTAssertFalse(fileManager.fileExists(atPath: out + "/last.pending.safetensors"))
    }

    /// kill -9 at random moments (steps, validations, saves), each followed by --resume: every
    /// time the run resumes, every checkpoint on disk loads (`zoo eval`) and the saved step never
    /// goes back; resumed once more, the run ends at the step asked for. Each kill comes a random
    /// time after the run wrote its run.json (before it, while it reads its data, there is no run
    /// to resume and none to damage). `arguments` train a
    /// small model that validates and saves every step or few. scripts/kill-storm.sh does the
    /// same with 20 kills per task.
    private func killAndResume(
        task: String, _ arguments: [String], out: String, rounds: Int,
        milliseconds: ClosedRange<UInt32>
    ) throws {
        var generator = SystemRandomNumberGenerator()
        var previous = 0
        func savedStep() throws -> Int {
            guard FileManager.default.fileExists(atPath: out + "/last.safetensors") else { return 0 }
            return Int(try SafeTensors.read(path: out + "/last.safetensors").metadata["zoo.step"] ?? "") ?? -1
        }
        for round in 0..<rounds {
            let process = Process()
            process.executableURL = zooExecutable
            process.arguments =
                ["train", task, "--out", out, "--steps", "100000", "--threads", "1"] + arguments
                + (round == 0 ? [] : ["--resume"])
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let begun = Date()
            while !FileManager.default.fileExists(atPath: out + "/run.json") && process.isRunning
                && Date().timeIntervalSince(begun) < 120
            {
                usleep(10_000)
            }
            usleep(1000 * UInt32.random(in: milliseconds, using: &generator))
            XCTAssertTrue(process.isRunning, "\(task) round \(round): the run ended before the kill")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            for name in try FileManager.default.contentsOfDirectory(atPath: out) where name.hasSuffix(".safetensors") {
                XCTAssertNoThrow(try SafeTensors.read(path: out + "/" + name), "\(task) round \(round): \(name)")
                if name == "best.safetensors" || name == "last.safetensors" {
                    let evaluation = try zoo(["eval", task, "--checkpoint", out + "/" + name, "--split", "valid"])
                    XCTAssertEqual(evaluation.status, 0, "\(task) round \(round): \(name): \(evaluation.stderr)")
                }
            }
            let step = try savedStep()
            XCTAssertGreaterThanOrEqual(step, previous, "\(task) round \(round): the saved step went back")
            previous = step
        }
        let finished = try zoo(
            ["train", task, "--out", out, "--resume", "--steps", "\(previous + 2)", "--threads", "1"] + arguments)
        XCTAssertEqual(finished.status, 0, "\(task): \(finished.stderr)")
        XCTAssertEqual(try savedStep(), previous + 2, task)
    }

    func testKillsAtRandomMomentsAlwaysResume() throws {
        let corpus = try writeCorpus()
        try killAndResume(
            task: "lm",
            [
                "--data", corpus, "--hidden-size", "16", "--embedding-size", "8", "--batch-size", "4",
                "--bptt", "16", "--eval-every", "1", "--log-every", "1"
            ],
            out: directory + "/run", rounds: 4, milliseconds: 150...900)
    }

    /// The same for the other three tasks, twice each, on data written here.
    func testKillsResumeEveryTask() throws {
        let pairs = directory + "/pairs.tsv"
        let words = ["red", "cat", "sees", "a", "big", "dog", "the", "house"]
        let lines = (0..<200).map { i in
            let sentence = (0..<3).map { words[(i >> (3 * $0)) % words.count] }
            return sentence.joined(separator: " ") + "\t"
                + sentence.reversed().map { $0.uppercased() }.joined(separator: " ")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: pairs, atomically: true, encoding: .utf8)
        try killAndResume(
            task: "translation",
            [
                "--data", pairs, "--hidden-size", "16", "--embedding-size", "8", "--batch-size", "4",
                "--eval-every", "2", "--log-every", "1"
            ],
            out: directory + "/translation", rounds: 2, milliseconds: 300...1500)
        let speech = directory + "/speech"
        try FileManager.default.createDirectory(atPath: speech, withIntermediateDirectories: true)
        try writeToneCorpus(in: speech)
        try killAndResume(
            task: "speech",
            [
                "--data", speech, "--hidden-size", "16", "--layers", "1", "--batch-size", "2",
                "--eval-every", "2", "--log-every", "1"
            ],
            out: directory + "/speech-run", rounds: 2, milliseconds: 300...1500)
        let scenes = directory + "/scenes"
        XCTAssertEqual(try zoo(["data", "captioning", "--out", scenes, "--images", "20"]).status, 0)
        try killAndResume(
            task: "captioning",
            [
                "--data", scenes, "--hidden-size", "16", "--embedding-size", "8",
                "--attention-size", "8", "--batch-size", "4", "--eval-every", "2", "--log-every", "1"
            ],
            out: directory + "/captioning", rounds: 2, milliseconds: 300...1500)
    }

    /// zoo under `ulimit -f blocks` (512-byte blocks), which refuses a write past that size as a
    /// full disk does: it must exit non-zero (not be killed by SIGXFSZ); what it printed on stderr.
    private func zooUnderFileSizeLimit(blocks: Int, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -f \(blocks) && exec \"$@\"", "sh", zooExecutable.path] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if message.contains("ThreadSanitizer:DEADLYSIGNAL") {  // scripts/sanitizers.sh thread
            throw XCTSkip("ThreadSanitizer's own runtime faults under a file-size limit")
        }
        XCTAssertEqual(process.terminationReason, .exit, "not killed by SIGXFSZ: \(message)")
        XCTAssertNotEqual(process.terminationStatus, 0, message)
        return message
    }

    /// A checkpoint write that the disk refuses (here the file-size limit, `ulimit -f`, which
    /// fails writes as a full disk does) stops the run with an error naming the file, and the
    /// previous checkpoint is intact and loads.
    func testAFailedCheckpointWriteKeepsThePreviousOne() throws {
        let corpus = try writeCorpus()
        let out = directory + "/run"
        let first = try zoo([
            "train", "lm", "--data", corpus, "--out", out, "--hidden-size", "16", "--embedding-size", "8",
            "--batch-size", "4", "--bptt", "16", "--steps", "4", "--eval-every", "2"
        ])
        XCTAssertEqual(first.status, 0, first.stderr)
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/last.safetensors"))
        // 8 blocks of 512 bytes: metrics lines fit, checkpoints (tens of KB) do not.
        let refused = try zooUnderFileSizeLimit(blocks: 8, ["train", "lm", "--out", out, "--resume", "--steps", "8"])
        XCTAssertTrue(refused.contains(out + "/") && refused.contains("File too large"), refused)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/last.safetensors")), before)
        XCTAssertNoThrow(try SafeTensors.read(path: out + "/last.safetensors"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "no temporary file left behind")
    }

    func testNothingIsReplacedWithoutOverwrite() throws {
        let corpus = try writeCorpus()
        let out = directory + "/run"
        XCTAssertEqual(try zoo(["train", "lm", "--dry-run", "--data", corpus, "--out", out]).status, 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/best.safetensors"))
        // A dry run into a directory that holds a run is refused, and leaves it as it was.
        let dry = try zoo(["train", "lm", "--dry-run", "--data", corpus, "--out", out])
        XCTAssertNotEqual(dry.status, 0)
        XCTAssertTrue(dry.stderr.contains("already holds a training run"), dry.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/best.safetensors")), before)

        // zoo data refuses to replace an edited file.
        let data = directory + "/data"
        XCTAssertEqual(try zoo(["data", "lm", "--out", data]).status, 0)
        try "my own text\n".write(toFile: data + "/train.txt", atomically: true, encoding: .utf8)
        let again = try zoo(["data", "lm", "--out", data])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("train.txt already exists"), again.stderr)
        XCTAssertEqual(try String(contentsOfFile: data + "/train.txt", encoding: .utf8), "my own text\n")
        XCTAssertEqual(try zoo(["data", "lm", "--out", data, "--overwrite"]).status, 0)
    }

    func testThreadCountsAreChecked() throws {
        for command in [
            ["info"], ["eval", "lm"], ["sample"], ["train", "lm", "--dry-run"], ["bench", "--only", "ctc-loss"]
        ] {
            let result = try zoo(command + ["--threads", "0"])
            XCTAssertNotEqual(result.status, 0, "\(command)")
            XCTAssertTrue(result.stderr.contains("--threads must be positive"), "\(command): \(result.stderr)")
        }
        let many = try zoo(["info", "--threads", "4096", "--json"])
        XCTAssertEqual(many.status, 0, many.stderr)
        XCTAssertTrue(many.stderr.contains("more than the"), many.stderr)
    }

    func testResumeTakesTheRunsOwnSettingsAndRefusesContradictions() throws {
        let corpus = try writeCorpus()
        let out = directory + "/run"
        let first = try zoo([
            "train", "lm", "--data", corpus, "--out", out, "--hidden-size", "12", "--embedding-size", "6",
            "--batch-size", "4", "--bptt", "8", "--steps", "4", "--eval-every", "2"
        ])
        XCTAssertEqual(first.status, 0, first.stderr)
        let resumed = try zoo(["train", "lm", "--out", out, "--resume", "--steps", "6", "--json"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains(#""event": "resumed", "step": 4"#), resumed.stdout)
        let contradicting = try zoo(["train", "lm", "--out", out, "--resume", "--steps", "8", "--hidden-size", "16"])
        XCTAssertNotEqual(contradicting.status, 0)
        XCTAssertTrue(contradicting.stderr.contains("--hidden-size 16 contradicts the run"), contradicting.stderr)
        let behind = try zoo(["train", "lm", "--out", out, "--resume", "--steps", "5"])
        XCTAssertNotEqual(behind.status, 0)
        XCTAssertTrue(behind.stderr.contains("already at step 6"), behind.stderr)
    }

    /// A metrics.jsonl append and a `zoo data` file that the disk refuses: an error naming the
    /// file, and nothing the run had is lost (it resumes once there is room).
    func testAFullDiskDuringMetricsAndDataWrites() throws {
        let corpus = try writeCorpus()
        let out = directory + "/run"
        // A 226-parameter model: checkpoints of 2 KB, a metrics log of 30 KB after 300 steps.
        let arguments = [
            "train", "lm", "--data", corpus, "--out", out, "--hidden-size", "4", "--embedding-size", "2",
            "--batch-size", "2", "--bptt", "8", "--eval-every", "300", "--log-every", "1"
        ]
        XCTAssertEqual(try zoo(arguments + ["--steps", "300"]).status, 0)
        let files = ["last.safetensors", "last.optimizer.safetensors", "best.safetensors", "metrics.jsonl", "run.json"]
        let before = try files.map { try Data(contentsOf: URL(fileURLWithPath: out + "/" + $0)) }
        XCTAssertGreaterThan(before[3].count, 24 * 512)
        XCTAssertLessThan(before[1].count, 24 * 512)
        let refused = try zooUnderFileSizeLimit(blocks: 24, arguments + ["--steps", "310", "--resume"])
        XCTAssertTrue(refused.contains(out + "/metrics.jsonl: cannot write: File too large"), refused)
        XCTAssertEqual(try files.map { try Data(contentsOf: URL(fileURLWithPath: out + "/" + $0)) }, before)
        let resumed = try zoo(arguments + ["--steps", "310", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)

        let data = try zooUnderFileSizeLimit(blocks: 8, ["data", "lm", "--out", "corpus"])
        XCTAssertTrue(data.contains("corpus/train.txt: cannot write: File too large"), data)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: directory + "/corpus"), [], "no partial file")
    }

    /// An output directory that cannot be made, and read-only checkpoints: errors that name the
    /// path; a run whose files are read-only still resumes (each save replaces its file whole).
    func testUnwritableDirectoriesAndReadOnlyCheckpoints() throws {
        let corpus = try writeCorpus()
        let file = directory + "/afile"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        let underFile = try zoo(["train", "lm", "--data", corpus, "--dry-run", "--out", file + "/run"])
        XCTAssertNotEqual(underFile.status, 0)
        XCTAssertTrue(
            underFile.stderr.contains("\(file)/run: cannot write: \(file) is a file, not a directory"), underFile.stderr
        )
        if getuid() != 0 {  // permissions do not stop root
            let locked = directory + "/locked"
            try FileManager.default.createDirectory(
                atPath: locked, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o555])
            let denied = try zoo(["train", "lm", "--data", corpus, "--dry-run", "--out", locked + "/run"])
            XCTAssertNotEqual(denied.status, 0)
            XCTAssertTrue(denied.stderr.contains(locked + "/run: cannot write"), denied.stderr)
        }

        let out = directory + "/run"
        let arguments = [
            "train", "lm", "--data", corpus, "--out", out, "--hidden-size", "8", "--embedding-size", "4",
            "--eval-every", "2"
        ]
        XCTAssertEqual(try zoo(arguments + ["--steps", "2"]).status, 0)
        for name in try FileManager.default.contentsOfDirectory(atPath: out) {
            try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: out + "/" + name)
        }
        let resumed = try zoo(arguments + ["--steps", "4", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try SafeTensors.read(path: out + "/last.safetensors").metadata["zoo.step"], "4")
        let evaluation = try zoo(["eval", "lm", "--checkpoint", out + "/best.safetensors"])
        XCTAssertEqual(evaluation.status, 0, evaluation.stderr)
    }

    /// A checkpoint rewritten in place (`cp` over it) while `zoo eval` reads it: every evaluation
    /// ends with a score or an error naming the file, never a crash (a mapped file that shrinks
    /// under its reader faults it with SIGBUS).
    func testACheckpointRewrittenWhileReadIsAnErrorNotACrash() throws {
        let corpus = try writeCorpus()
        for (name, hidden) in [("small", "8"), ("large", "256")] {
            XCTAssertEqual(
                try zoo([
                    "train", "lm", "--data", corpus, "--out", directory + "/" + name, "--hidden-size", hidden,
                    "--embedding-size", "4", "--steps", "1", "--eval-every", "1"
                ]).status, 0)
        }
        let small = try Data(contentsOf: URL(fileURLWithPath: directory + "/small/best.safetensors"))
        let large = try Data(contentsOf: URL(fileURLWithPath: directory + "/large/best.safetensors"))
        let checkpoint = directory + "/model.safetensors"
        try large.write(to: URL(fileURLWithPath: checkpoint))
        let writer = Thread {
            var flip = false
            while !Thread.current.isCancelled {
                // In place, as cp does: truncate, then write.
                if let handle = FileHandle(forWritingAtPath: checkpoint) {
                    try? handle.truncate(atOffset: 0)
                    try? handle.write(contentsOf: flip ? large : small)
                    try? handle.close()
                }
                flip.toggle()
            }
        }
        writer.start()
        defer { writer.cancel() }
        for _ in 0..<6 {
            let evaluation = try zoo(["eval", "lm", "--checkpoint", checkpoint, "--data", corpus, "--split", "valid"])
            XCTAssertTrue(
                evaluation.status == 0 || evaluation.stderr.contains("Error: \(checkpoint):"),
                "status \(evaluation.status): \(evaluation.stderr)")
        }
    }
}
