import ArgumentParser
import EngineSupport
import Foundation
import RNNEngine

/// Options every `zoo train <task>` takes (the shared training loop's), with the task's defaults.
struct TrainingFlags<Kind: TrainingTaskKind>: ParsableArguments {
    @Option(help: "Training data, in the task's format (docs/reference.md). (default: \(Kind.defaults.builtInData))")
    var data: String?
    @Option(help: "Output directory for checkpoints, metrics.jsonl and loss.png. (default: runs/\(Kind.defaults.name))")
    var out: String?
    @Option(
        parsing: .unconditional,
        help: "Total optimizer steps of the run, counted across resumes. (default: \(Kind.defaults.steps))") var steps:
        Int?
    @Option(parsing: .unconditional, help: "Passes over the training data, instead of --steps. (default: none)")
    var epochs: Int?
    @Option(
        parsing: .unconditional,
        help: "Stop after this many seconds, with a last evaluation and checkpoint. (default: none)") var timeLimit:
        Double?
    @Option(parsing: .unconditional, help: "Sequences per batch. (default: \(Kind.defaults.batchSize))") var batchSize:
        Int?
    @Option(parsing: .unconditional, help: "Learning rate. (default: \(Kind.defaults.learningRate))") var learningRate:
        Float?
    @Option(help: "Optimizer: adam, adamw or sgd. (default: adam)") var optimizer: String?
    @Option(parsing: .unconditional, help: "Momentum for sgd. (default: 0)") var momentum: Float?
    @Option(parsing: .unconditional, help: "Weight decay: L2 for adam and sgd, decoupled for adamw. (default: 0)")
    var weightDecay: Float?
    @Option(parsing: .unconditional, help: "Clip the global gradient norm to this value; 0: no clipping. (default: 5)")
    var clip: Float?
    @Option(
        parsing: .unconditional,
        help:
            "Evaluate on the validation split every N steps. (default: one epoch, at least \(TaskDefaults.minimumEvaluationInterval) steps, at most \(Kind.defaults.maximumEvaluationInterval))"
    ) var evalEvery: Int?
    @Option(
        parsing: .unconditional,
        help:
            "Print a progress line every N steps. (default: a quarter of --eval-every, at most \(TaskDefaults.maximumLogInterval))"
    ) var logEvery: Int?
    @Option(parsing: .unconditional, help: "Stop after N evaluations without improvement. (default: never)")
    var patience: Int?
    @Option(
        help: "Learning-rate schedule: plateau (cut it when validation stops improving) or constant. (default: plateau)"
    )
    var lrSchedule: String?
    @Option(
        parsing: .unconditional,
        help: "Evaluations without improvement tolerated before the plateau schedule cuts the rate. (default: 2)")
    var lrPatience: Int?
    @Option(parsing: .unconditional, help: "What a plateau cut multiplies the learning rate by. (default: 0.25)")
    var lrFactor: Float?
    @Option(
        parsing: .unconditional,
        help: "The lowest learning rate the plateau schedule cuts to. (default: --learning-rate / 100)") var minLr:
        Float?
    @Option(parsing: .unconditional, help: "Random seed. (default: 1)") var seed: UInt64?
    @OptionGroup var threads: ThreadsOption
    @Flag(help: "Continue the run in --out from its last checkpoint.") var resume = false
    @Flag(help: "Replace a previous run in --out.") var overwrite = false
    @Flag(help: "Print JSON lines instead of progress text.") var json = false
    @Flag(help: "A few steps of a tiny model: checks that data, model and checkpoints work.") var dryRun = false

    func validate() throws {
        if steps != nil && epochs != nil { throw ValidationError("give --steps or --epochs, not both") }
        if let steps, steps <= 0 { throw ValidationError("--steps must be positive") }
        if let epochs, epochs <= 0 { throw ValidationError("--epochs must be positive") }
        if let batchSize, batchSize <= 0 { throw ValidationError("--batch-size must be positive") }
        if let learningRate, !(learningRate > 0) { throw ValidationError("--learning-rate must be positive") }
        if let optimizer, TrainingOptions.OptimizerKind(rawValue: optimizer) == nil {
            throw ValidationError("--optimizer must be adam, adamw or sgd, not '\(optimizer)'")
        }
        if let evalEvery, evalEvery <= 0 { throw ValidationError("--eval-every must be positive") }
        if let logEvery, logEvery <= 0 { throw ValidationError("--log-every must be positive") }
        if let patience, patience <= 0 { throw ValidationError("--patience must be positive") }
        if let lrSchedule, TrainingOptions.LearningRateScheduleKind(rawValue: lrSchedule) == nil {
            throw ValidationError("--lr-schedule must be plateau or constant, not '\(lrSchedule)'")
        }
        if let lrPatience, lrPatience < 0 { throw ValidationError("--lr-patience must not be negative") }
        if let lrFactor, !(lrFactor > 0 && lrFactor < 1) {
            throw ValidationError("--lr-factor must be between 0 and 1")
        }
        if let minLr, !(minLr >= 0) { throw ValidationError("--min-lr must not be negative") }
        if let minLr, let learningRate, minLr > learningRate {
            throw ValidationError("--min-lr \(minLr) is above --learning-rate \(learningRate)")
        }
        if let momentum, !(momentum >= 0 && momentum < 1) { throw ValidationError("--momentum must be in [0, 1)") }
        if let weightDecay, !(weightDecay >= 0) { throw ValidationError("--weight-decay must not be negative") }
        if let clip, !(clip >= 0) { throw ValidationError("--clip must not be negative") }
        if let timeLimit, !(timeLimit > 0) { throw ValidationError("--time-limit must be positive") }
        if resume && overwrite { throw ValidationError("--resume and --overwrite contradict each other") }
    }

    /// The shared loop's options, from the run's schedule (flags, or the resumed run's own).
    /// The default evaluation interval is one epoch, at most the task's maximum and at least
    /// `TaskDefaults.minimumEvaluationInterval` steps, so that a small data set's few-step
    /// epochs do not evaluate, and cut the learning rate, every few steps.
    func trainingOptions(task: String, stepsPerEpoch: Int, schedule: TrainingSchedule) -> TrainingOptions {
        let totalSteps = dryRun ? 3 : (steps ?? epochs.map { $0 * stepsPerEpoch } ?? Kind.defaults.steps)
        let evaluateEvery =
            dryRun
            ? 3
            : (schedule.evalEvery
                ?? defaultEvaluationInterval(
                    stepsPerEpoch: stepsPerEpoch, maximum: Kind.defaults.maximumEvaluationInterval))
        let defaultLogInterval = max(1, min(TaskDefaults.maximumLogInterval, evaluateEvery / 4))
        var options = TrainingOptions(
            steps: totalSteps, evaluateEvery: evaluateEvery,
            logEvery: dryRun ? 1 : (schedule.logEvery ?? defaultLogInterval),
            learningRate: schedule.learningRate, outputDirectory: outputDirectory(task: task))
        options.optimizer = TrainingOptions.OptimizerKind(rawValue: schedule.optimizer) ?? .adam
        options.momentum = schedule.momentum
        options.weightDecay = schedule.weightDecay
        options.clipNorm = schedule.clip > 0 ? schedule.clip : nil
        options.earlyStopPatience = schedule.patience
        options.learningRateSchedule =
            TrainingOptions.LearningRateScheduleKind(rawValue: schedule.lrSchedule) ?? .plateau
        options.plateauPatience = schedule.lrPatience
        options.plateauFactor = schedule.lrFactor
        options.minimumLearningRate = schedule.minLr
        options.timeLimit = timeLimit
        options.resume = resume
        // A dry run replaces only its own default directory, never a run the user named.
        options.overwrite = overwrite || (dryRun && out == nil)
        options.json = json
        options.seed = schedule.seed
        return options
    }

    /// One epoch, between `TaskDefaults.minimumEvaluationInterval` and `maximum` steps.
    func defaultEvaluationInterval(stepsPerEpoch: Int, maximum: Int) -> Int {
        max(1, min(max(stepsPerEpoch, TaskDefaults.minimumEvaluationInterval), maximum))
    }

    /// The schedule: each flag, else what the resumed run kept, else the default.
    func schedule(resolver: RunSettingsResolver) throws -> TrainingSchedule {
        TrainingSchedule(
            learningRate: try resolver.value(
                "--learning-rate", learningRate, \.learningRate, default: Kind.defaults.learningRate),
            optimizer: try resolver.value("--optimizer", optimizer, \.optimizer, default: "adam"),
            momentum: try resolver.value("--momentum", momentum, \.momentum, default: 0),
            weightDecay: try resolver.value("--weight-decay", weightDecay, \.weightDecay, default: 0),
            clip: try resolver.value("--clip", clip, \.clip, default: 5),
            evalEvery: try resolver.optional("--eval-every", evalEvery, \.evalEvery),
            logEvery: try resolver.optional("--log-every", logEvery, \.logEvery),
            patience: try resolver.optional("--patience", patience, \.patience),
            lrSchedule: try resolver.value("--lr-schedule", lrSchedule, \.lrSchedule, default: "plateau"),
            lrPatience: try resolver.value("--lr-patience", lrPatience, \.lrPatience, default: 2),
            lrFactor: try resolver.value("--lr-factor", lrFactor, \.lrFactor, default: 0.25),
            minLr: try resolver.optional("--min-lr", minLr, \.minLr),
            seed: try resolver.value("--seed", seed, \.seed, default: 1))
    }

    /// Refuses early, before any data is read, to train over a previous run without
    /// --resume or --overwrite (the loop checks again when it starts).
    func checkOutputDirectory(task: String) throws {
        let directory = outputDirectory(task: task)
        let fileManager = FileManager.default
        let hasRun = ["last.safetensors", "best.safetensors"].contains {
            fileManager.fileExists(atPath: directory + "/" + $0)
        }
        if hasRun && !resume && !overwrite && !(dryRun && out == nil) {
            throw RunError(commandLineMessage(.runExists(directory: directory)))
        }
        if resume && !fileManager.fileExists(atPath: directory + "/last.safetensors")
            && !fileManager.fileExists(atPath: RunSettings.path(directory: directory))
        {
            throw RunError(commandLineMessage(.nothingToResume(directory: directory)))
        }
    }

    /// What every training command does first: size the threads, refuse to train over a run
    /// without --resume or --overwrite, read the resumed run's settings, and resolve the
    /// command's own (`resolve`) against them, in the command line's words.
    func startRun<Resolved>(task: String, _ resolve: (RunSettingsResolver) throws -> Resolved) throws -> Resolved {
        threads.apply()
        do {
            // Under mpirun, rank 0 alone looks at the run directory and reads its settings
            // (hosts need not share a disk); the others take its answer.
            var resolver: RunSettingsResolver?
            if Ranks.isRoot {
                try checkOutputDirectory(task: task)
                resolver = try RunSettingsResolver(resuming: resume, directory: outputDirectory(task: task))
            }
            if Ranks.mpi != nil {
                let saved = Ranks.fromRoot(Array((resolver?.saved?.json ?? "").utf8))
                resolver = RunSettingsResolver(
                    directory: outputDirectory(task: task),
                    saved: saved.isEmpty ? nil : try RunSettings.decode(Data(saved), path: "run.json from rank 0"))
            }
            return try resolve(resolver!)
        } catch let error as TrainingError {
            throw RunError(commandLineMessage(error))
        }
    }

    /// The schedule (flags, else the resumed run's, else the defaults), recorded in `settings`.
    func resolveSchedule(into settings: inout RunSettings, resolver: RunSettingsResolver) throws -> TrainingSchedule {
        let schedule = try schedule(resolver: resolver)
        schedule.record(into: &settings)
        return schedule
    }

    /// --data, kept absolute so that a resume from another directory reads the same data.
    func resolvedData(_ resolver: RunSettingsResolver) throws -> String? {
        try resolver.optional("--data", data.map { URL(fileURLWithPath: $0).standardizedFileURL.path }, \.data)
    }

    func outputDirectory(task: String) -> String {
        out ?? (dryRun ? "runs/\(task)-dry-run" : "runs/\(task)")
    }
}

/// Model-shape options shared by the language model and translation, with the task's defaults.
struct ModelFlags<Kind: TrainingTaskKind>: ParsableArguments {
    @Option(help: "Recurrent cell: lstm, gru, rnn (tanh) or rnn_relu. (default: lstm)") var cell: String?
    @Option(parsing: .unconditional, help: "Hidden units per layer. (default: \(Kind.defaults.hiddenSize))")
    var hiddenSize: Int?
    @Option(parsing: .unconditional, help: "Recurrent layers. (default: 1)") var layers: Int?
    @Option(
        parsing: .unconditional,
        help: "Embedding size. (default: \(Kind.defaults.embeddingSize); with --tied, the hidden size)")
    var embeddingSize: Int?
    @Option(
        parsing: .unconditional, help: "Dropout probability. (default: \(String(format: "%g", Kind.defaults.dropout)))")
    var dropout: Float?

    /// --cell, --layers, --dropout, --hidden-size and --embedding-size (with `tied`, the hidden
    /// size) into `settings`: each flag, else the resumed run's, else the task's default (a
    /// dry run's tiny sizes).
    func resolve(into settings: inout RunSettings, resolver: RunSettingsResolver, tied: Bool, dryRun: Bool) throws {
        let defaults = Kind.defaults
        settings.cell = try resolver.value("--cell", cell, \.cell, default: CellKind.lstm.rawValue)
        settings.layers = try resolver.value("--layers", layers, \.layers, default: 1)
        settings.dropout = try resolver.value("--dropout", dropout, \.dropout, default: defaults.dropout)
        // The sizes the real run would use are checked in a dry run too, which then shrinks them.
        let hidden = try resolver.value("--hidden-size", hiddenSize, \.hiddenSize, default: defaults.hiddenSize)
        let embedding = try resolver.value(
            "--embedding-size", embeddingSize, \.embeddingSize,
            default: tied ? hidden : defaults.embeddingSize)
        if tied && embedding != hidden {
            throw RunError("--tied needs --embedding-size equal to --hidden-size, not \(embedding) and \(hidden)")
        }
        let dryHidden = hiddenSize ?? 32
        settings.hiddenSize = dryRun ? dryHidden : hidden
        settings.embeddingSize = dryRun ? (tied ? dryHidden : embeddingSize ?? 16) : embedding
    }

    func validate() throws {
        if let cell, CellKind(name: cell) == nil {
            throw ValidationError("--cell must be lstm, gru, rnn or rnn_relu, not '\(cell)'")
        }
        if let layers, layers <= 0 { throw ValidationError("--layers must be positive") }
        if let hiddenSize, hiddenSize <= 0 { throw ValidationError("--hidden-size must be positive") }
        if let embeddingSize, embeddingSize <= 0 { throw ValidationError("--embedding-size must be positive") }
        if let dropout, !(dropout >= 0 && dropout < 1) { throw ValidationError("--dropout must be in [0, 1)") }
    }
}

/// The optimizer and schedule of a run, as flags give them or a resumed run kept them.
struct TrainingSchedule: Equatable {
    var learningRate: Float
    var optimizer: String
    var momentum: Float
    var weightDecay: Float
    var clip: Float
    var evalEvery: Int?
    var logEvery: Int?
    var patience: Int?
    var lrSchedule: String
    var lrPatience: Int
    var lrFactor: Float
    var minLr: Float?
    var seed: UInt64

    /// Its fields in run.json.
    func record(into settings: inout RunSettings) {
        settings.learningRate = learningRate
        settings.optimizer = optimizer
        settings.momentum = momentum
        settings.weightDecay = weightDecay
        settings.clip = clip
        settings.evalEvery = evalEvery
        settings.logEvery = logEvery
        settings.patience = patience
        settings.seed = seed
        settings.lrSchedule = lrSchedule
        settings.lrPatience = lrPatience
        settings.lrFactor = lrFactor
        settings.minLr = minLr
    }
}

/// The checkpoint a command reads: --checkpoint, or the best one of the task's default run.
func resolveCheckpoint(_ path: String?, for task: TaskDefaults) throws -> String {
    let resolved = path ?? "runs/\(task.name)/best.safetensors"
    guard FileManager.default.fileExists(atPath: resolved) else {
        if path == nil {
            throw RunError(
                "no checkpoint at \(resolved); train one first with `\(task.trainCommand)`, or pass --checkpoint")
        }
        throw RunError("\(resolved): no such checkpoint")
    }
    return resolved
}

/// Prints a JSON object with sorted keys.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// `--split` of the evaluation commands.
/// What every `zoo eval <task>` takes: the checkpoint, the data (by default the run's own), the
/// split, the threads and --json, with the task's defaults.
struct EvaluationFlags<Kind: TrainingTaskKind>: ParsableArguments {
    @Option(help: "Checkpoint. (default: runs/\(Kind.defaults.name)/best.safetensors)") var checkpoint: String?
    @Option(
        help:
            "Data: \(Kind.defaults.dataFormat). (default: the run's data, from run.json beside the checkpoint; else \(Kind.defaults.builtInData))"
    )
    var data: String?
    @OptionGroup var splitOption: SplitOption
    @OptionGroup var threads: ThreadsOption
    @Flag(help: "Print one JSON object.") var json = false

    /// Sizes the threads and finds the checkpoint to score.
    func checkpointPath() throws -> String {
        threads.apply()
        return try resolveCheckpoint(checkpoint, for: Kind.defaults)
    }

    /// The data to score: --data, else the run's (`EvaluationData`).
    func evaluationData(checkpoint path: String) throws -> EvaluationData {
        try EvaluationData(given: data, checkpoint: path)
    }
}

struct SplitOption: ParsableArguments {
    @Option(help: "Split to score: valid or test.") var split: String = "test"

    func validate() throws {
        guard ["valid", "test"].contains(split) else {
            throw ValidationError("--split must be valid or test, not '\(split)'")
        }
    }

    /// `valid` or `test` of a task's splits.
    func pick<T>(valid: T, test: T) -> T { split == "valid" ? valid : test }
}

/// `--threads`, the same in every command: positive, by default the CPUs the process may use
/// (its affinity mask and cgroup quota), and capped at those CPUs with a warning, since more
/// threads than CPUs only wait for each other. Each op forks only the threads its work pays for,
/// so decoding one sentence or image on many threads costs nothing over one.
struct ThreadsOption: ParsableArguments {
    @Option(
        parsing: .unconditional, help: "Threads for the engine and OpenBLAS. (default: the CPUs this process may use)")
    var threads: Int?

    func validate() throws {
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive, not \(threads)") }
    }

    /// Sizes the engine's team.
    func apply() {
        Engine.setThreads(effectiveThreads(requested: threads))
    }
}

/// `requested` (nil: the default), capped at the CPUs the process may use, with a warning.
func effectiveThreads(requested: Int?) -> Int {
    let available = AvailableProcessors.count
    guard let requested else { return Engine.defaultThreads }
    if requested > available {
        FileHandle.standardError.write(
            Data(
                "zoo: --threads \(requested) is more than the \(available) CPUs this process may use; using \(available)\n"
                    .utf8))
        return available
    }
    return requested
}

/// Runs a training loop that stops cleanly on Ctrl-C or SIGTERM: saved at the step it reached,
/// a message that says how to resume, and the exit status of the signal.
func runTraining(_ trainer: Trainer) throws -> TrainingSummary {
    Interruption.install()
    trainer.shouldStop = { Interruption.requested }
    trainer.output = {
        print($0)
        fflush(nil)
    }
    trainer.lossCurvePlotter = LossCurveChart()
    do {
        return try trainer.run()
    } catch let error as TrainingError {
        if case .interrupted = error {
            if Ranks.isRoot { FileHandle.standardError.write(Data("zoo: \(commandLineMessage(error))\n".utf8)) }
            throw ExitCode(Interruption.exitStatus)
        }
        throw RunError(commandLineMessage(error))
    }
}

/// The line a finished training run ends with: steps, time, the best validation value (with
/// `digits` decimals) and where its checkpoint is.
func printRunSummary(_ summary: TrainingSummary, digits: Int = 2) {
    let best = summary.bestValidationScore.map { String(format: "%.\(digits)f", $0) } ?? "?"
    print(
        "done: \(summary.steps) steps in \(String(format: "%.1f", summary.seconds)) s; best validation \(summary.primaryMetric) \(best); "
            + "checkpoint \(summary.bestCheckpoint ?? "none")")
}

/// The run's best checkpoint, loaded, to score the test split with; the network as trained when
/// the run wrote none.
func bestNetwork<Network>(_ summary: TrainingSummary, trained: Network, load: (String) throws -> Network) throws
    -> Network
{
    guard let path = summary.bestCheckpoint, FileManager.default.fileExists(atPath: path) else { return trained }
    return try load(path)
}

/// A training error in the command line's words: the flags that answer it.
func commandLineMessage(_ error: TrainingError) -> String {
    switch error {
    case .runExists(let d):
        return
            "\(d) already holds a training run; pass --resume to continue it, --overwrite to replace it, or choose another --out"
    case .nothingToResume(let d):
        return "\(d): nothing to resume (no last.safetensors); train without --resume first"
    case .interrupted(let d, let step):
        return "stopped after step \(step) and saved it in \(d); run the same command with --resume to continue"
    case .alreadyPast(let d, let step, let steps):
        return
            "\(d) is already at step \(step), not below the \(steps) steps asked for; pass a larger --steps to train further"
    case .diverged(let step, let loss):
        return "training diverged at step \(step) (loss \(loss)); lower --learning-rate or keep --clip on"
    case .unreadableSettings:
        return "\(error); start a new run with --overwrite"
    case .contradictsRun(let d, let setting, let given, let kept):
        return
            "\(setting) \(given) contradicts the run in \(d), which was started with \(kept); leave the flag out to resume that run, or start a new one with --overwrite"
    case .settingsDiffer(let d, let keys):
        return
            "\(d) was started with other settings (\(keys.joined(separator: ", ")) differ from its run.json); leave those flags out to resume it, or start a new run with --overwrite"
    case .invalid:
        return error.description
    }
}

/// A failure found while running a command (not in its flags' syntax): printed as
/// "Error: …" without the usage line that a mistyped flag gets.
struct RunError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// "out.png", 2 → "out-2.png": one output file per input when a command is given several.
func numberedPath(_ path: String, _ number: Int) -> String {
    let url = URL(fileURLWithPath: path)
    let ext = url.pathExtension.isEmpty ? "png" : url.pathExtension
    return url.deletingPathExtension().path + "-\(number)." + ext
}
