import Foundation
import TestSupport
import XCTest

@testable import RNNEngine

/// The shared loop with a task whose primary metric is to be maximised, warmup, frozen
/// parameters and buffers.
final class TrainerTests: TemporaryDirectoryTestCase {
    /// Loss Σ p over a trainable and a frozen parameter (gradient 1 everywhere), a batch-norm
    /// layer whose running statistics are buffers, and scripted validation scores.
    final class ScriptedTask: TrainingTask {
        let parameters = ParameterStore()
        let trainable: Parameter, frozen: Parameter
        let norm: BatchNorm
        var scores: [Double]
        var evaluations = 0
        /// What loading a checkpoint back throws, if anything.
        var loadError: Error?

        init(scores: [Double]) {
            self.scores = scores
            trainable = parameters.declare("layer.weight", shape: [3]) { $0.fill(1) }
            frozen = parameters.declare("embedding.weight", shape: [2]) { $0.fill(5) }
            norm = BatchNorm(channels: 2, name: "norm", store: parameters)
            parameters.freeze { $0.hasPrefix("embedding.") }
            parameters.pack()
        }

        var taskName: String { "scripted" }
        func checkCheckpointLoads(path: String) throws {
            _ = try SafeTensors.read(path: path)
            if let loadError { throw loadError }
        }
        var stepsPerEpoch: Int { 10 }
        func trainingLoss(tape: Tape, rng: inout RandomGenerator) throws -> (loss: Variable, count: Int) {
            let x = Variable(Tensor(shape: [2, 2], values: [1, 2, 3, 5]))
            _ = norm(x, tape: tape)  // moves the running statistics
            let loss = add(sum(trainable, tape: tape), sum(frozen, tape: tape), tape: tape)
            return (loss, 1)
        }
        func validationLoss() throws -> Double { 1 }
        func metrics(forLoss loss: Double) -> [(String, Double)] { [] }
        func validate() throws -> ValidationResult {
            defer { evaluations += 1 }
            return ValidationResult(
                metrics: [("loss", 1), ("accuracy", scores[min(evaluations, scores.count - 1)])],
                primary: "accuracy", higherIsBetter: true)
        }
        var checkpointMetadata: [String: String] { [:] }
        func saveProgress() -> (tensors: [(String, Tensor)], metadata: [String: String]) { ([], [:]) }
        func restoreProgress(tensors: [String: Tensor], metadata: [String: String], path: String) throws {}
    }

    private func options(steps: Int, out: String) -> TrainingOptions {
        var options = TrainingOptions(
            steps: steps, evaluateEvery: 10, logEvery: 10, learningRate: 1, outputDirectory: out)
        options.optimizer = .sgd
        options.clipNorm = nil
        options.json = true
        return options
    }

    func testPrimaryMetricChoosesBestDrivesPlateauAndEarlyStop() throws {
        let task = ScriptedTask(scores: [0.5, 0.7, 0.6, 0.65, 0.9])
        var options = options(steps: 100, out: directory + "/run")
        options.earlyStopPatience = 2
        options.plateauPatience = 0
        var lines: [String] = []
        let trainer = Trainer(task: task, options: options)
        trainer.output = { lines.append($0) }
        let summary = try trainer.run()
        // 0.5, 0.7 (best), then 0.6 and 0.65 are not better: patience 2 stops after the second.
        XCTAssertEqual(summary.steps, 40)
        XCTAssertTrue(summary.stoppedEarly)
        XCTAssertEqual(summary.primaryMetric, "accuracy")
        XCTAssertEqual(summary.bestValidationScore, 0.7)
        let best = try SafeTensors.read(path: directory + "/run/best.safetensors")
        XCTAssertEqual(best.metadata["zoo.step"], "20")
        XCTAssertEqual(best.metadata["zoo.valid_accuracy"], "0.7")
        let rates = lines.compactMap { line -> Double? in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["learning_rate"] as? Double
        }
        // Decayed (× 0.25) by the evaluation at step 30 that did not improve; a progress line
        // comes before its step's evaluation, so step 40's shows it.
        XCTAssertEqual(rates, [1, 1, 1, 0.25], "\(lines)")
        XCTAssertTrue(
            lines.contains { $0.contains(#""valid_accuracy": 0.7"#) && $0.contains(#""best": true"#) }, "\(lines)")
    }

    /// The default plateau schedule waits two evaluations, says when it cuts, and stops at its
    /// floor (a hundredth of the rate); `constant` never cuts.
    func testPlateauScheduleHasPatienceAFloorAndALine() throws {
        func run(_ schedule: TrainingOptions.LearningRateScheduleKind) throws -> (rates: [Double], lines: [String]) {
            var options = options(steps: 200, out: directory + "/\(schedule)")
            options.learningRateSchedule = schedule
            var lines: [String] = []
            let trainer = Trainer(task: ScriptedTask(scores: [0.5]), options: options)  // never better
            trainer.output = { lines.append($0) }
            try trainer.run()
            let rates = lines.compactMap { line -> Double? in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["learning_rate"]
                    as? Double
            }
            return (rates, lines)
        }
        let plateau = try run(.plateau)
        // Evaluations at 10, 20, …: the first sets the best; the rate is cut after the 3rd, 6th,
        // 9th and 12th that do not improve on it, down to 0.01 and no further.
        XCTAssertEqual(plateau.rates.count, 20)
        XCTAssertEqual(Array(plateau.rates.prefix(5)), [1, 1, 1, 1, 0.25])
        XCTAssertEqual(plateau.rates.last ?? 0, 0.01, accuracy: 1e-9)
        XCTAssertEqual(plateau.rates.min() ?? 0, 0.01, accuracy: 1e-9, "never below the floor")
        let cuts = plateau.lines.filter { $0.contains(#""event":"lr_cut""#) || $0.contains(#""event": "lr_cut""#) }
        XCTAssertEqual(cuts.count, 4, "\(plateau.lines)")
        let constant = try run(.constant)
        XCTAssertEqual(Set(constant.rates), [1])
        XCTAssertFalse(constant.lines.contains { $0.contains("lr_cut") })
    }

    /// A first checkpoint that does not load back stops the run at its first validation and is
    /// not left as the best one.
    func testAnUnloadableFirstCheckpointStopsTheRun() throws {
        let task = ScriptedTask(scores: [0.5, 0.6])
        task.loadError = CheckpointError.missingMetadata(path: "best", key: "zoo.vocabulary (duplicate tokens)")
        let trainer = Trainer(task: task, options: options(steps: 100, out: directory + "/run"))
        trainer.output = { _ in }
        XCTAssertThrowsError(try trainer.run()) { error in
            XCTAssertTrue("\(error)".contains("the run's first checkpoint does not load back"), "\(error)")
            XCTAssertTrue("\(error)".contains("duplicate tokens"), "\(error)")
        }
        XCTAssertEqual(task.evaluations, 1, "stopped at the first validation")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/run/best.safetensors"))
    }

    /// On resume, a metrics log that cannot be read is an error, and stays as it was (it was
    /// read as empty and replaced by an empty file).
    func testAnUnreadableMetricsLogIsNotReplaced() throws {
        let out = directory + "/run"
        let first = Trainer(task: ScriptedTask(scores: [0.5]), options: options(steps: 10, out: out))
        first.output = { _ in }
        try first.run()
        let damaged = Data([0x7B, 0xFF, 0xFE, 0x0A])
        try damaged.write(to: URL(fileURLWithPath: out + "/metrics.jsonl"))
        var more = options(steps: 20, out: out)
        more.resume = true
        let second = Trainer(task: ScriptedTask(scores: [0.5]), options: more)
        second.output = { _ in }
        XCTAssertThrowsError(try second.run()) {
            XCTAssertTrue("\($0)".contains("cannot read the run's metrics log"), "\($0)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/metrics.jsonl")), damaged)
    }

    func testWarmupFrozenParametersAndBuffersInCheckpoints() throws {
        let task = ScriptedTask(scores: [0.5])
        var options = options(steps: 4, out: directory + "/warm")
        options.warmupSteps = 4
        let trainer = Trainer(task: task, options: options)
        trainer.output = { _ in }
        try trainer.run()
        // SGD with gradient 1: the steps are lr·1/4, 2/4, 3/4, 4/4.
        assertClose(task.trainable.value, Tensor(shape: [3], repeating: 1 - 2.5))
        XCTAssertEqual(task.frozen.value.array, [5, 5], "a frozen parameter keeps its value")
        XCTAssertEqual(task.norm.batchesTracked.value[0], 4)
        let last = try SafeTensors.read(path: directory + "/warm/last.safetensors")
        XCTAssertEqual(last.tensors["norm.num_batches_tracked"]?.array, [4])
        assertClose(try XCTUnwrap(last.tensors["norm.running_mean"]), task.norm.runningMean.value)
        XCTAssertEqual(last.tensors["embedding.weight"]?.array, [5, 5])

        // Resuming restores the buffers with the parameters.
        let resumed = ScriptedTask(scores: [0.5])
        var more = options
        more.steps = 5
        more.resume = true
        let second = Trainer(task: resumed, options: more)
        second.output = { _ in }
        try second.run()
        XCTAssertEqual(resumed.norm.batchesTracked.value[0], 5)
        assertClose(resumed.trainable.value, Tensor(shape: [3], repeating: 1 - 3.5))
    }

    /// --overwrite removes the old run before the new one writes anything: a new run cut short
    /// leaves only its own files.
    func testOverwriteClearsTheOldRunFirst() throws {
        let out = directory + "/run"
        let first = Trainer(task: ScriptedTask(scores: [0.5, 0.9]), options: options(steps: 20, out: out))
        first.output = { _ in }
        try first.run()
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/best.safetensors"))
        var again = options(steps: 20, out: out)
        again.overwrite = true
        let second = Trainer(task: ScriptedTask(scores: [0.5]), options: again)
        second.output = { _ in }
        var steps = 0
        second.shouldStop = {
            steps += 1
            return steps >= 3
        }
        XCTAssertThrowsError(try second.run())
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: out + "/best.safetensors"), "the old run's best checkpoint is gone")
        XCTAssertEqual(try SafeTensors.read(path: out + "/last.safetensors").metadata["zoo.step"], "3")
        let log = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
        XCTAssertFalse(log.contains(#""step": 20"#) || log.contains(#""step": 10"#), log)
    }

    /// A program that trains through the library keeps a run's settings in run.json and is held
    /// to the same resume rules as `zoo train`: the same settings continue the run, other ones
    /// are refused by name, and the file is left as it was.
    func testResumingChecksTheRunSettings() throws {
        let out = directory + "/run"
        var settings = RunSettings(task: "scripted")
        settings.hiddenSize = 64
        settings.data = "\u{FEFF}/data/corpus é.txt"
        var first = options(steps: 10, out: out)
        first.runSettings = settings
        let trainer = Trainer(task: ScriptedTask(scores: [0.5]), options: first)
        trainer.output = { _ in }
        try trainer.run()
        let saved = try RunSettings.read(path: out + "/run.json")
        XCTAssertEqual(saved, settings, "run.json round-trips every field, byte for byte")

        var other = settings
        other.hiddenSize = 128
        other.seed = 7
        var resumed = options(steps: 20, out: out)
        resumed.resume = true
        resumed.runSettings = other
        let refused = Trainer(task: ScriptedTask(scores: [0.5]), options: resumed)
        refused.output = { _ in }
        XCTAssertThrowsError(try refused.run()) {
            guard case .settingsDiffer(_, let keys)? = $0 as? TrainingError else { return XCTFail("\($0)") }
            XCTAssertEqual(keys, ["hidden_size", "seed"])
        }
        XCTAssertEqual(try RunSettings.read(path: out + "/run.json"), settings)
        var unmarked = settings
        unmarked.data = "/data/corpus é.txt"  // the same path without its leading byte-order mark
        XCTAssertEqual(unmarked.differences(from: settings), ["data"])
        XCTAssertEqual(settings.differences(from: settings), [])

        resumed.runSettings = settings
        let same = Trainer(task: ScriptedTask(scores: [0.5]), options: resumed)
        same.output = { _ in }
        XCTAssertEqual(try same.run().steps, 20)

        // The resolver: a value given that contradicts the run is refused with both values.
        let resolver = try RunSettingsResolver(resuming: true, directory: out)
        XCTAssertEqual(try resolver.value("--hidden-size", nil, \.hiddenSize, default: 32), 64)
        XCTAssertEqual(try resolver.value("--layers", nil, \.layers, default: 3), 3)
        XCTAssertThrowsError(try resolver.value("--hidden-size", 65, \.hiddenSize, default: 32)) {
            XCTAssertEqual(
                "\($0)",
                "--hidden-size 65 contradicts the run in \(out), which was started with 64; leave it out to resume that run, or start a new one"
            )
        }
    }

    /// A run.json that is not one (not JSON, a wrong type, a huge file) is an error naming it.
    func testAnUnreadableRunSettingsFileIsNamed() throws {
        let path = directory + "/run.json"
        for (bytes, reason) in [
            (Array("{\"task\": 3}".utf8), "task"), (Array("[1, 2".utf8), "JSON"),
            ([UInt8](repeating: 0x20, count: 1 << 20 + 1), "more than a run's settings")
        ] {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try RunSettings.read(path: path)) {
                XCTAssertTrue("\($0)".hasPrefix(path + ": cannot read the run's settings"), "\($0)")
                XCTAssertTrue("\($0)".contains(reason), "\($0)")
            }
        }
        XCTAssertThrowsError(try RunSettingsResolver(resuming: true, directory: directory))
        XCTAssertNil(try RunSettingsResolver(resuming: false, directory: directory).saved, "a new run does not read it")
    }
}
