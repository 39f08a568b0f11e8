import Foundation

/// The training loop every task shares: steps, learning-rate warmup, clipping, the optimizer,
/// evaluation every N steps, the best checkpoint by the task's primary validation metric (loss,
/// BLEU, WER: `TrainingTask.validate`), learning-rate decay on plateau of that metric, early
/// stop, exact resumption, a progress line, a JSON-lines metrics log and a loss-curve PNG.
///
/// Files in the output directory:
/// - `best.safetensors`: the model with the best primary validation metric so far
/// - `last.safetensors`, `last.optimizer.safetensors`: where `--resume` continues from
/// - `metrics.jsonl`: one JSON object per log line and per evaluation
/// - `loss.png`: training and validation loss against steps, when `lossCurvePlotter` is set
///
/// Data-parallel (`communicator` with more than one rank, as under `mpirun`): every rank starts
/// from rank 0's weights, computes the loss of its share of each batch, and the gradients,
/// weighted by each rank's share of the batch's units, are summed over the ranks before
/// clipping, so every rank takes the step one process would take on the whole batch. Rank 0
/// alone reads and writes the run's files and prints; the others receive what it read.
public final class Trainer {
    public let task: TrainingTask
    public let options: TrainingOptions
    /// The ranks of the run (`SingleProcess` unless data-parallel).
    public let communicator: any Communicator
    private let group: DataParallelGroup?
    /// Receives each progress, evaluation or event line as text (JSON with `options.json`).
    /// Nothing is printed unless a caller prints here: the CLI does.
    public var output: (String) -> Void = { _ in }
    /// Receives the same as values, for programs that show progress their own way.
    public var onEvent: ((TrainingEvent) -> Void)?
    /// Asked after every step: true ends the run cleanly there (the CLI answers Ctrl-C and
    /// SIGTERM with it). The loop saves `last` and its state at that step and throws
    /// `TrainingError.interrupted`; a resumed run ends exactly where an uninterrupted one does.
    public var shouldStop: () -> Bool = { false }
    /// Draws `loss.png` after every progress line and evaluation (nil: no picture; the curves are
    /// in `metrics.jsonl` either way). EngineSupport's `LossCurveChart()` is the usual one.
    public var lossCurvePlotter: (any LossCurvePlotter)?

    /// The output directory, "" for a run that writes no files (every write checks `writesFiles`).
    private var directory: String { options.outputDirectory ?? "" }
    private var writesFiles: Bool { options.outputDirectory != nil && communicator.isRoot }
    public var bestPath: String { directory + "/best.safetensors" }
    public var lastPath: String { directory + "/last.safetensors" }
    var statePath: String { OptimizerCheckpoint.path(besideCheckpoint: lastPath) }
    /// The next `last.safetensors`, complete, while its state file is written (see `save`).
    var pendingPath: String { directory + "/last.pending.safetensors" }
    var metricsPath: String { directory + "/metrics.jsonl" }
    var plotPath: String { directory + "/loss.png" }
    var settingsPath: String { RunSettings.path(directory: directory) }

    // Loop state, all of it saved for resumption.
    private var step = 0
    private var rng: RandomGenerator
    private var plateau: PlateauDecay
    /// The best value of the primary validation metric so far.
    private var bestScore: Double?
    private var primaryMetric = "loss"
    private var evaluationsWithoutImprovement = 0
    private var trainCurve: [(x: Double, y: Double)] = []
    private var validCurve: [(x: Double, y: Double)] = []
    /// The progress line's running sums since the last line: loss · units, units, steps.
    private var interval = (loss: 0.0, count: 0, steps: 0)
    /// The same sums of the extra loss terms (`TrainingTask.lastTrainingLossParts`), in order.
    private var intervalExtras: [(name: String, sum: Double)] = []
    /// Seconds spent summing gradients over the ranks since the last progress line.
    private var intervalAllReduceSeconds = 0.0

    public init(task: TrainingTask, options: TrainingOptions, communicator: any Communicator = SingleProcess()) {
        self.task = task
        self.options = options
        self.communicator = communicator
        group = communicator.size > 1 ? DataParallelGroup(communicator: communicator) : nil
        rng = RandomGenerator(seed: options.seed)
        plateau = PlateauDecay(
            factor: options.plateauFactor, patience: options.plateauPatience,
            minimumLearningRate: options.minimumLearningRate ?? options.learningRate / 100)
    }

    private func makeOptimizer() -> Optimizer {
        let store = task.parameters
        switch options.optimizer {
        case .adam: return Adam(store: store, learningRate: options.learningRate, weightDecay: options.weightDecay)
        case .adamw:
            return Adam.adamW(store: store, learningRate: options.learningRate, weightDecay: options.weightDecay)
        case .sgd:
            return SGD(
                store: store, learningRate: options.learningRate, momentum: options.momentum,
                weightDecay: options.weightDecay)
        }
    }

    @discardableResult
    public func run() throws -> TrainingSummary {
        guard options.steps > 0, options.evaluateEvery > 0, options.logEvery > 0 else {
            throw TrainingError.invalid("steps, evaluation interval and log interval must be positive")
        }
        if let floor = options.minimumLearningRate, floor > options.learningRate {
            throw TrainingError.invalid(
                "the learning-rate floor \(floor) is above the learning rate \(options.learningRate)")
        }
        let optimizer = makeOptimizer()
        if let group { try task.joinDataParallel(group) }
        var checkpoint = try prepareDirectory()
        if group != nil { checkpoint = shareCheckpoint(checkpoint) }
        if let checkpoint {
            try restore(model: checkpoint.model, state: checkpoint.state, into: optimizer)
            guard step < options.steps else {
                throw TrainingError.alreadyPast(directory: directory, step: step, steps: options.steps)
            }
            event("resumed", "resuming \(directory) at step \(step)", [("directory", .string(directory))])
        }
        if group != nil {
            // Rank 0's weights everywhere, whatever each rank initialised or loaded.
            communicator.broadcast(task.parameters.values)
            for buffer in task.parameters.buffers { communicator.broadcast(buffer.value) }
        }
        let metricsLog = writesFiles ? try MetricsLog(path: metricsPath, keepingStepsUpTo: step) : nil

        let start = Date()
        var intervalSeconds = 0.0  // training time only: evaluations and saving are not counted
        var lastValidation: Double?
        var stopReason = StopReason.steps

        while step < options.steps {
            intervalSeconds += try trainStep(optimizer)
            if let limit = options.timeLimit, agreed(Date().timeIntervalSince(start) >= limit) {
                stopReason = .timeLimit
            }
            let last = step == options.steps || stopReason == .timeLimit

            if step % options.logEvery == 0 || last {
                var eta = Double(options.steps - step) * intervalSeconds / Double(max(interval.steps, 1))
                if let limit = options.timeLimit { eta = min(eta, max(0, limit - Date().timeIntervalSince(start))) }
                try reportProgress(optimizer, seconds: intervalSeconds, secondsLeft: eta, metricsLog: metricsLog)
                intervalSeconds = 0
            }

            if !last && step % options.evaluateEvery != 0 && agreed(shouldStop()) {
                // Saved at this step, validation or not, so nothing since the last save is lost.
                try save(optimizer, validation: nil)
                try? renderPlot()
                throw TrainingError.interrupted(directory: directory, step: step)
            }

            let scheduled = step % options.evaluateEvery == 0
            if scheduled || last {
                lastValidation = try evaluate(optimizer, scheduled: scheduled, metricsLog: metricsLog)
                if scheduled, let patience = options.earlyStopPatience, evaluationsWithoutImprovement >= patience {
                    event(
                        "early_stop", "early stop: no improvement in \(evaluationsWithoutImprovement) evaluations",
                        [("evaluations_without_improvement", .int(evaluationsWithoutImprovement))])
                    stopReason = .earlyStop
                    break
                }
                if stopReason == .timeLimit { break }
                if agreed(shouldStop()) && step < options.steps {
                    throw TrainingError.interrupted(directory: directory, step: step)
                }
            }
        }
        if stopReason == .timeLimit { event("time_limit", "stopped at the time limit after \(step) steps", []) }
        return TrainingSummary(
            steps: step, bestValidationScore: bestScore,
            lastValidationScore: lastValidation, primaryMetric: primaryMetric,
            bestCheckpoint: writesFiles ? bestPath : nil,
            stoppedEarly: step < options.steps, stopReason: stopReason.rawValue,
            seconds: Date().timeIntervalSince(start))
    }

    /// Whether every rank says the same: true when any rank does (a Ctrl-C one rank saw
    /// first, a time limit one reached first), so that all stop at the same step.
    private func agreed(_ flag: Bool) -> Bool {
        group == nil ? flag : communicator.any([flag])[0]
    }

    /// Makes the run directory ready: finds the checkpoint to resume from (checking the run's
    /// settings), or refuses to touch a previous run unless asked to overwrite it, then writes
    /// `run.json`. Returns the resumed checkpoint's bytes (model, state), nil for a new run.
    /// Rank 0's work: the other ranks return nil.
    private func prepareDirectory() throws -> (model: Data, state: Data)? {
        guard options.outputDirectory != nil || !options.resume else {
            throw TrainingError.invalid("resuming a run needs its output directory")
        }
        guard writesFiles else { return nil }
        try createDirectory(directory)
        let fileManager = FileManager.default
        let runFiles = [lastPath, pendingPath, statePath, bestPath, metricsPath, plotPath, settingsPath]
        removeStaleTemporaryFiles()
        if options.resume { try finishInterruptedSave() }
        // A run stopped (kill -9, power cut) before its first checkpoint has its run.json and
        // nothing to continue from: resuming it starts it again from step 0.
        if options.resume, let settings = options.runSettings, fileManager.fileExists(atPath: settingsPath) {
            let differing = settings.differences(from: try RunSettings.read(path: settingsPath))
            guard differing.isEmpty else { throw TrainingError.settingsDiffer(directory: directory, keys: differing) }
        }
        let startedWithoutCheckpoint =
            options.resume && !fileManager.fileExists(atPath: lastPath)
            && fileManager.fileExists(atPath: settingsPath)
        var checkpoint: (model: Data, state: Data)?
        if startedWithoutCheckpoint {
            for file in [statePath, metricsPath, plotPath] where fileManager.fileExists(atPath: file) {
                do { try fileManager.removeItem(atPath: file) } catch {
                    throw CheckpointError.writeFailed(path: file, reason: "cannot remove the stopped run's file")
                }
            }
            event(
                "resumed",
                "\(directory) has no checkpoint yet (stopped before its first): starting it again from step 0",
                [("directory", .string(directory))])
        } else if options.resume {
            guard fileManager.fileExists(atPath: lastPath) else {
                throw TrainingError.nothingToResume(directory: directory)
            }
            checkpoint = (try readWhole(lastPath), try readWhole(statePath))
        } else if runFiles.contains(where: fileManager.fileExists) {
            guard options.overwrite else { throw TrainingError.runExists(directory: directory) }
            // The old run goes before the new one writes anything: the directory never holds
            // parts of two runs, even if this one is cut short.
            for file in runFiles where fileManager.fileExists(atPath: file) {
                do { try fileManager.removeItem(atPath: file) } catch {
                    throw CheckpointError.writeFailed(path: file, reason: "cannot remove the previous run's file")
                }
            }
        }
        if !options.resume, let settings = options.runSettings {
            try writeAtomically(Data(settings.json.utf8), to: settingsPath)
        }
        return checkpoint
    }

    private func readWhole(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw CheckpointError.unreadable(path: path, reason: exists ? "cannot be read" : "no such file")
        }
        return data
    }

    /// Rank 0's resumed checkpoint on every rank: hosts need not share a disk.
    private func shareCheckpoint(_ checkpoint: (model: Data, state: Data)?) -> (model: Data, state: Data)? {
        var flag: [UInt8] = [checkpoint == nil ? 0 : 1]
        communicator.broadcast(&flag, from: 0)
        guard flag == [1] else { return nil }
        var model = checkpoint.map { [UInt8]($0.model) } ?? []
        var state = checkpoint.map { [UInt8]($0.state) } ?? []
        communicator.broadcast(&model, from: 0)
        communicator.broadcast(&state, from: 0)
        return (Data(model), Data(state))
    }

    /// One optimizer step; adds its loss to the progress line's sums and returns its seconds.
    private func trainStep(_ optimizer: Optimizer) throws -> Double {
        let stepStart = DispatchTime.now().uptimeNanoseconds
        let tape = Tape()
        task.parameters.zeroGradients()
        group?.step = step
        let (loss, count) = try task.trainingLoss(tape: tape, rng: &rng)
        let value = Double(loss.value[0])
        let parts = task.lastTrainingLossParts()
        // The step's sums over the ranks: loss · units, units, the parts likewise, and whether
        // any rank's loss is not finite (then every rank stops here).
        var sums = [value.isFinite ? 0 : 1, Double(count), (parts?.perUnit ?? value) * Double(count)]
        sums += (parts?.extras ?? []).map { $0.value * Double(count) }
        if group != nil { communicator.sum(&sums) }
        guard sums[0] == 0 else { throw TrainingError.diverged(step: step + 1, loss: value.isFinite ? .nan : value) }
        if group != nil {
            // This rank's share of the batch's units weights its gradient (seeded into the
            // backward pass), so that the sum over the ranks is the whole batch's gradient.
            tape.backward(from: loss, seed: sums[1] > 0 ? Float(Double(count) / sums[1]) : 0)
            sumGradients()
        } else {
            tape.backward(from: loss)
        }
        if let clip = options.clipNorm { clipGradientNorm(task.parameters, maxNorm: clip) }
        // Warmup scales this step's rate; the schedule's own rate (what plateaus decay and
        // checkpoints save) stays as it is.
        let scheduledRate = optimizer.learningRate
        if step < options.warmupSteps {
            optimizer.learningRate = scheduledRate * Float(step + 1) / Float(options.warmupSteps)
        }
        optimizer.step()
        optimizer.learningRate = scheduledRate
        step += 1
        interval.loss += sums[2]
        for (index, extra) in (parts?.extras ?? []).enumerated() {
            if let at = intervalExtras.firstIndex(where: { $0.name == extra.name }) {
                intervalExtras[at].sum += sums[3 + index]
            } else {
                intervalExtras.append((extra.name, sums[3 + index]))
            }
        }
        interval.count += Int(sums[1])
        interval.steps += 1
        return Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9
    }

    /// The gradients summed over the ranks, in one fused buffer (the parameter store's flat
    /// gradients), timed for the progress line.
    private func sumGradients() {
        let gradients = task.parameters.gradients
        let start = DispatchTime.now().uptimeNanoseconds
        communicator.sum(UnsafeMutableBufferPointer(start: gradients.data, count: gradients.count))
        intervalAllReduceSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// The progress line of the steps since the last one (`seconds` of training), to the
    /// metrics log, `onEvent` and `output`; then starts the next interval.
    private func reportProgress(
        _ optimizer: Optimizer, seconds: Double, secondsLeft eta: Double, metricsLog: MetricsLog?
    ) throws {
        let mean = interval.loss / Double(max(interval.count, 1))
        let rate = Double(interval.count) / max(seconds, 1e-9)
        trainCurve.append((Double(step), mean))
        let extras = intervalExtras.map { ($0.name, $0.sum / Double(max(interval.count, 1))) }
        var fields: [(String, JSONValue)] = [("step", .int(step)), ("train_loss", .double(mean))]
        fields += (task.metrics(forLoss: mean) + extras).map { ("train_\($0.0)", .double($0.1)) }
        fields += [("units_per_s", .double(rate)), ("learning_rate", .double(Double(optimizer.learningRate)))]
        // Under data-parallel the allreduce's share of a step says what the ranks cost each other.
        let steps = Double(max(interval.steps, 1))
        let allReduceMilliseconds = 1000 * intervalAllReduceSeconds / steps
        let stepMilliseconds = 1000 * seconds / steps
        if group != nil {
            fields += [
                ("ranks", .int(communicator.size)), ("ms_per_step", .double(stepMilliseconds)),
                ("allreduce_ms_per_step", .double(allReduceMilliseconds))
            ]
        }
        try metricsLog?.append(fields)
        notify(
            .progress(
                step: step, loss: mean, metrics: task.metrics(forLoss: mean), unitsPerSecond: rate,
                learningRate: Double(optimizer.learningRate), secondsLeft: eta))
        if options.json {
            say(jsonLine(fields + [("eta_s", .double(eta))]))
        } else {
            let named = (task.metrics(forLoss: mean) + extras).map { String(format: " | %@ %.4f", $0.0, $0.1) }.joined()
            let ranks =
                group == nil
                ? ""
                : String(
                    format: " | %d ranks, allreduce %.1f of %.1f ms/step", communicator.size, allReduceMilliseconds,
                    stepMilliseconds)
            say(
                String(
                    format: "step %d/%d | loss %.4f%@ | %@/s | lr %.3g%@ | ETA %@", step, options.steps, mean,
                    named, formatCount(rate), Double(optimizer.learningRate), ranks, formatDuration(eta)))
        }
        interval = (0, 0, 0)
        intervalExtras = []
        intervalAllReduceSeconds = 0
    }

    /// Validates; saves a new best checkpoint, steps the plateau schedule (scheduled
    /// evaluations only), logs, saves `last` and redraws the plot. Returns the primary metric.
    private func evaluate(_ optimizer: Optimizer, scheduled: Bool, metricsLog: MetricsLog?) throws -> Double {
        if group != nil {
            // Each rank's running statistics (batch norm) followed its own rows; validation,
            // split over the ranks, uses rank 0's, the ones its checkpoint holds (as
            // DistributedDataParallel's buffer broadcast does).
            for buffer in task.parameters.buffers { communicator.broadcast(buffer.value) }
        }
        var validation = try task.validate()
        if group != nil {
            // Rank 0's values everywhere, so that every rank takes the same decisions.
            let values = communicator.broadcast(validation.metrics.map(\.value))
            for index in validation.metrics.indices { validation.metrics[index].value = values[index] }
        }
        let score = validation.primaryValue
        primaryMetric = validation.primary
        validCurve.append((Double(step), validation.metrics.first { $0.name == "loss" }?.value ?? score))
        let improved = validation.isImprovement(score, over: bestScore)
        if improved {
            bestScore = score
            if writesFiles {
                try SafeTensors.write(
                    task.checkpointTensors, metadata: checkpointMetadata(validation),
                    dtypes: task.parameters.namedDTypes, to: bestPath)
                try checkFirstCheckpoint(bestPath)
            }
        }
        // Only scheduled evaluations steer the run, so a run cut at any step and resumed
        // takes the same path as one that was never cut.
        var cut: (from: Float, to: Float)?
        if scheduled {
            evaluationsWithoutImprovement = improved ? 0 : evaluationsWithoutImprovement + 1
            if options.learningRateSchedule == .plateau {
                let rate = optimizer.learningRate
                optimizer.learningRate = plateau.update(loss: Float(validation.primaryAsLoss), learningRate: rate)
                if optimizer.learningRate < rate { cut = (rate, optimizer.learningRate) }
            }
        }
        var fields: [(String, JSONValue)] = [("step", .int(step))]
        fields += validation.metrics.map { ("valid_\($0.name)", .double($0.value)) }
        fields.append(("best", .bool(improved)))
        try metricsLog?.append(fields)
        notify(.validation(step: step, metrics: validation.metrics, improved: improved))
        if options.json {
            say(jsonLine(fields))
        } else {
            let named = validation.metrics.map { String(format: "%@ %.4f", $0.name, $0.value) }.joined(separator: " | ")
            say(String(format: "valid step %d | %@%@", step, named, improved ? " | saved best" : ""))
        }
        if let cut {
            let floor = plateau.minimumLearningRate
            event(
                "lr_cut",
                String(
                    format: "learning rate cut from %.3g to %.3g: no better %@ in %d evaluations%@", cut.from, cut.to,
                    primaryMetric, plateau.patience + 1, cut.to <= floor ? " (its floor)" : ""),
                [
                    ("from", .double(Double(cut.from))), ("to", .double(Double(cut.to))),
                    ("floor", .double(Double(floor)))
                ])
        }
        try save(optimizer, validation: validation)
        try? renderPlot()
        return score
    }

    /// Whether this process has loaded one of the run's checkpoints back.
    private var checkpointChecked = false

    /// Loads the run's first checkpoint back as `zoo eval` would: a checkpoint that cannot be
    /// loaded (a vocabulary whose JSON did not round-trip) stops the run in its first minute,
    /// not after its last step, and is removed rather than left as the best one.
    private func checkFirstCheckpoint(_ path: String) throws {
        guard !checkpointChecked else { return }
        do {
            try task.checkCheckpointLoads(path: path)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw TrainingError.invalid(
                "the run's first checkpoint does not load back (\(error)); it was removed and the run "
                    + "stopped. This is a bug in zoo: please report it, with the data that caused it")
        }
        checkpointChecked = true
    }

    private enum StopReason: String {
        case steps
        case timeLimit = "time_limit"
        case earlyStop = "early_stop"
    }

    /// A line about the run itself (resumed, learning-rate cut, early stop, time limit): text, or with `--json`
    /// a JSON object `{"event": name, "step": …, …}`, so that stdout stays JSON lines.
    private func event(_ name: String, _ text: String, _ fields: [(String, JSONValue)]) {
        notify(.run(name: name, step: step, message: text))
        say(options.json ? jsonLine([("event", .string(name)), ("step", .int(step))] + fields) : text)
    }

    /// Output and events come from rank 0 alone.
    private func say(_ line: String) { if communicator.isRoot { output(line) } }
    private func notify(_ event: TrainingEvent) { if communicator.isRoot { onEvent?(event) } }

    private func checkpointMetadata(_ validation: ValidationResult?) -> [String: String] {
        var metadata = task.checkpointMetadata
        metadata["zoo.task"] = task.taskName
        metadata["zoo.step"] = String(step)
        for (name, value) in validation?.metrics ?? [] { metadata["zoo.valid_" + name] = String(value) }
        metadata["zoo.version"] = zooVersion
        return metadata
    }

    /// Writes `last.safetensors` and its state file: optimizer, loop state, RNG and the task's
    /// data position, so that `--resume` continues exactly.
    ///
    /// The model and its state are two files, and a kill between their writes must not leave
    /// them at different steps (which cannot resume). So the new model is first written whole
    /// as `last.pending.safetensors`, then the state file replaces the old one (the commit
    /// point), then the pending model is renamed over `last.safetensors`. A resume finds either
    /// a stale pending file (the state is older: dropped) or a committed one (renamed into place).
    private func save(_ optimizer: Optimizer, validation: ValidationResult?) throws {
        // Every rank takes part: a task's progress may be spread over the ranks (gathered here).
        let progress = task.saveProgress()
        guard writesFiles else { return }
        try SafeTensors.write(
            task.checkpointTensors, metadata: checkpointMetadata(validation),
            dtypes: task.parameters.namedDTypes, to: pendingPath)
        var metadata = progress.metadata.reduce(into: [String: String]()) { $0["progress." + $1.key] = $1.value }
        metadata["trainer.step"] = String(step)
        metadata["trainer.best_score"] = bestScore.map { String($0) } ?? "none"
        metadata["trainer.primary_metric"] = primaryMetric
        metadata["trainer.bad_evaluations"] = String(evaluationsWithoutImprovement)
        metadata["trainer.plateau"] = String(decoding: try Self.stateEncoder.encode(plateau), as: UTF8.self)
        metadata["trainer.rng"] = rng.stateWords.map(String.init).joined(separator: ",")
        metadata["trainer.train_curve"] = trainCurve.map { "\($0.x):\($0.y)" }.joined(separator: ",")
        metadata["trainer.valid_curve"] = validCurve.map { "\($0.x):\($0.y)" }.joined(separator: ",")
        metadata["trainer.interval"] = "\(interval.loss),\(interval.count),\(interval.steps)"
        metadata["trainer.interval_extras"] = intervalExtras.map { "\($0.name):\($0.sum)" }.joined(separator: ",")
        var tensors = optimizer.stateTensors()
        tensors += progress.tensors.map { ("progress." + $0.0, $0.1) }
        var full = optimizer.stateMetadata()
        full["learning_rate"] = String(optimizer.learningRate)
        for (k, v) in metadata { full[k] = v }
        try SafeTensors.write(tensors, metadata: full, to: statePath)
        guard rename(pendingPath, lastPath) == 0 else {
            throw CheckpointError.writeFailed(path: lastPath, reason: String(cString: strerror(errno)))
        }
    }

    /// Completes or drops a save that a kill interrupted (see `save`): a pending model at the
    /// state file's step was committed and takes `last.safetensors`' place; any other is stale.
    private func finishInterruptedSave() throws {
        let fileManager = FileManager.default
        guard fileManager.fileExists(atPath: pendingPath) else { return }
        let pendingStep = (try? SafeTensors.read(path: pendingPath))?.metadata["zoo.step"]
        let stateStep = (try? SafeTensors.read(path: statePath))?.metadata["trainer.step"]
        if let pendingStep, pendingStep == stateStep {
            guard rename(pendingPath, lastPath) == 0 else {
                throw CheckpointError.writeFailed(path: lastPath, reason: String(cString: strerror(errno)))
            }
        } else {
            try? fileManager.removeItem(atPath: pendingPath)
        }
    }

    /// Temporary files of atomic writes whose process is gone (killed mid-write): removed, so
    /// a run directory killed many times does not fill up with them.
    private func removeStaleTemporaryFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix(".") {
            guard let marker = name.range(of: ".tmp-", options: .backwards), let pid = Int32(name[marker.upperBound...])
            else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH { unlink(directory + "/" + name) }
        }
    }

    private func restore(model modelBytes: Data, state stateBytes: Data, into optimizer: Optimizer) throws {
        let model = try SafeTensors.decode(modelBytes, path: lastPath)
        let state = try SafeTensors.decode(stateBytes, path: statePath)
        if let task = model.metadata["zoo.task"], task != self.task.taskName {
            throw CheckpointError.wrongTask(path: lastPath, found: task, expected: self.task.taskName)
        }
        try task.loadCheckpoint(model, path: lastPath)
        let metadata = try OptimizerCheckpoint.load(into: optimizer, file: state, path: statePath)
        func value(_ key: String) throws -> String {
            guard let v = metadata[key] else { throw CheckpointError.missingMetadata(path: statePath, key: key) }
            return v
        }
        // Runs saved before metrics were named kept their best loss as `trainer.best_loss`.
        let bestText = metadata["trainer.best_score"] ?? metadata["trainer.best_loss"] ?? "none"
        let best = Double(bestText).flatMap { $0.isFinite ? $0 : nil }
        guard let savedStep = Int(try value("trainer.step")), best != nil || bestText == "none" || bestText == "inf",
            let bad = Int(try value("trainer.bad_evaluations"))
        else {
            throw CheckpointError.missingMetadata(path: statePath, key: "trainer.*")
        }
        primaryMetric = metadata["trainer.primary_metric"] ?? "loss"
        let words = try value("trainer.rng").split(separator: ",").compactMap { UInt64($0) }
        guard words.count == 4 else { throw CheckpointError.missingMetadata(path: statePath, key: "trainer.rng") }
        step = savedStep
        bestScore = best
        evaluationsWithoutImprovement = bad
        rng = RandomGenerator(stateWords: words)
        plateau = try Self.stateDecoder.decode(PlateauDecay.self, from: Data(try value("trainer.plateau").utf8))
        func curve(_ text: String?) -> [(x: Double, y: Double)] {
            (text ?? "").split(separator: ",").compactMap { pair in
                let parts = pair.split(separator: ":")
                guard parts.count == 2, let x = Double(parts[0]), let y = Double(parts[1]) else { return nil }
                return (x, y)
            }
        }
        trainCurve = curve(metadata["trainer.train_curve"])
        validCurve = curve(metadata["trainer.valid_curve"])
        let sums = (metadata["trainer.interval"] ?? "0,0,0").split(separator: ",")
        if sums.count == 3, let loss = Double(sums[0]), let count = Int(sums[1]), let steps = Int(sums[2]) {
            interval = (loss, count, steps)
        }
        intervalExtras = (metadata["trainer.interval_extras"] ?? "").split(separator: ",").compactMap { pair in
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let sum = Double(parts[1]) else { return nil }
            return (String(parts[0]), sum)
        }
        // The model and its state are two files: a process killed between the two writes leaves
        // them at different steps, which must not resume as one run.
        if let modelStep = model.metadata["zoo.step"], modelStep != String(savedStep) {
            throw CheckpointError.malformed(
                path: statePath,
                reason:
                    "it is at step \(savedStep) but last.safetensors at step \(modelStep) (the run was killed while saving); resume from best.safetensors is not possible, start again with --overwrite"
            )
        }
        var progressTensors: [String: Tensor] = [:]
        for (name, t) in state.tensors where name.hasPrefix("progress.") {
            progressTensors[String(name.dropFirst(9))] = t
        }
        var progressMetadata: [String: String] = [:]
        for (k, v) in metadata where k.hasPrefix("progress.") { progressMetadata[String(k.dropFirst(9))] = v }
        try task.restoreProgress(tensors: progressTensors, metadata: progressMetadata, path: statePath)
    }

    // Loop state holds infinities (no best loss yet), which plain JSON cannot.
    private static var stateEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    private static var stateDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    private func renderPlot() throws {
        guard writesFiles, let plotter = lossCurvePlotter else { return }
        let curves = LossCurves(
            title: "\(task.taskName): loss", unit: "nats per \(task.lossUnit)",
            training: trainCurve, validation: validCurve)
        try plotter.plot(curves, to: plotPath)
    }
}

func formatCount(_ x: Double) -> String {
    x >= 1e6
        ? String(format: "%.2fM", x / 1e6) : x >= 1e3 ? String(format: "%.1fk", x / 1e3) : String(format: "%.0f", x)
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let s = Int(seconds.rounded())
    return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
}
