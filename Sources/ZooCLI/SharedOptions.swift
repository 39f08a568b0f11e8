import ArgumentParser
import Foundation
import RNNEngine

/// Options every `zoo train <task>` takes (the shared training loop's).
struct TrainingFlags: ParsableArguments {
    @Option(help: "Training data, in the task's format (docs/reference.md). (default: the task's built-in data set)")
    var data: String?
    @Option(help: "Output directory for checkpoints, metrics.jsonl and loss.png. (default: runs/<task>)")
    var out: String?
    @Option(help: "Total optimizer steps of the run, counted across resumes. (\(TaskDefaults.help { $0.steps }))") var steps: Int?
    @Option(help: "Passes over the training data, instead of --steps. (default: none)") var epochs: Int?
    @Option(help: "Stop after this many seconds, with a last evaluation and checkpoint. (default: none)") var timeLimit: Double?
    @Option(help: "Sequences per batch. (\(TaskDefaults.help { $0.batchSize }))") var batchSize: Int?
    @Option(help: "Learning rate. (\(TaskDefaults.help { $0.learningRate }))") var learningRate: Float?
    @Option(help: "Optimizer: adam, adamw or sgd.") var optimizer: String = "adam"
    @Option(help: "Momentum for sgd.") var momentum: Float = 0
    @Option(help: "Weight decay (L2 for adam and sgd, decoupled for adamw).") var weightDecay: Float = 0
    @Option(help: "Clip the global gradient norm to this value (0: no clipping).") var clip: Float = 5
    @Option(help: "Evaluate on the validation split every N steps. (default: one epoch, at most \(TaskDefaults.maximumEvaluationInterval))") var evalEvery: Int?
    @Option(help: "Print a progress line every N steps. (default: a quarter of --eval-every, at most \(TaskDefaults.maximumLogInterval))") var logEvery: Int?
    @Option(help: "Stop after N evaluations without improvement. (default: never)") var patience: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 1
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
        if TrainingOptions.OptimizerKind(rawValue: optimizer) == nil {
            throw ValidationError("--optimizer must be adam, adamw or sgd, not '\(optimizer)'")
        }
        if let timeLimit, !(timeLimit > 0) { throw ValidationError("--time-limit must be positive") }
        if resume && overwrite { throw ValidationError("--resume and --overwrite contradict each other") }
    }

    /// The shared loop's options, given the task's defaults.
    func trainingOptions(task: String, stepsPerEpoch: Int, defaultSteps: Int, defaultLearningRate: Float) -> TrainingOptions {
        let totalSteps = dryRun ? 3 : (steps ?? epochs.map { $0 * stepsPerEpoch } ?? defaultSteps)
        let evaluateEvery = dryRun ? 3 : (evalEvery ?? max(1, min(stepsPerEpoch, TaskDefaults.maximumEvaluationInterval)))
        let defaultLogInterval = max(1, min(TaskDefaults.maximumLogInterval, evaluateEvery / 4))
        var options = TrainingOptions(
            steps: totalSteps, evaluateEvery: evaluateEvery, logEvery: dryRun ? 1 : (logEvery ?? defaultLogInterval),
            learningRate: learningRate ?? defaultLearningRate, outputDirectory: outputDirectory(task: task))
        options.optimizer = TrainingOptions.OptimizerKind(rawValue: optimizer) ?? .adam
        options.momentum = momentum
        options.weightDecay = weightDecay
        options.clipNorm = clip > 0 ? clip : nil
        options.earlyStopPatience = patience
        options.timeLimit = timeLimit
        options.resume = resume
        // A dry run replaces only its own default directory, never a run the user named.
        options.overwrite = overwrite || (dryRun && out == nil)
        options.json = json
        options.seed = seed
        return options
    }

    /// Refuses early, before any data is read, to train over a previous run without
    /// --resume or --overwrite (the loop checks again when it starts).
    func checkOutputDirectory(task: String) throws {
        let directory = outputDirectory(task: task)
        let fileManager = FileManager.default
        let hasRun = ["last.safetensors", "best.safetensors"].contains { fileManager.fileExists(atPath: directory + "/" + $0) }
        if hasRun && !resume && !overwrite && !(dryRun && out == nil) { throw TrainingError.runExists(directory: directory) }
        if resume && !fileManager.fileExists(atPath: directory + "/last.safetensors") {
            throw TrainingError.nothingToResume(directory: directory)
        }
    }

    func outputDirectory(task: String) -> String {
        out ?? (dryRun ? "runs/\(task)-dry-run" : "runs/\(task)")
    }
}

/// Model-shape options shared by the recurrent tasks.
struct ModelFlags: ParsableArguments {
    @Option(help: "Recurrent cell: lstm, gru, rnn (tanh) or rnn_relu.") var cell: String = "lstm"
    @Option(help: "Hidden units per layer. (\(TaskDefaults.help { $0.hiddenSize }))") var hiddenSize: Int?
    @Option(help: "Recurrent layers.") var layers: Int = 1
    @Option(help: "Embedding size. (\(TaskDefaults.help { $0.embeddingSize }); with --tied, the hidden size)") var embeddingSize: Int?
    @Option(help: "Dropout probability.") var dropout: Float = 0

    func validate() throws {
        if CellKind(name: cell) == nil { throw ValidationError("--cell must be lstm, gru, rnn or rnn_relu, not '\(cell)'") }
        if layers <= 0 { throw ValidationError("--layers must be positive") }
        if let hiddenSize, hiddenSize <= 0 { throw ValidationError("--hidden-size must be positive") }
        if let embeddingSize, embeddingSize <= 0 { throw ValidationError("--embedding-size must be positive") }
        if !(dropout >= 0 && dropout < 1) { throw ValidationError("--dropout must be in [0, 1)") }
    }

    var cellKind: CellKind { CellKind(name: cell) ?? .lstm }
}

/// The checkpoint a command reads: --checkpoint, or the best one of the task's default run.
func resolveCheckpoint(_ path: String?, task: String, trainCommand: String) throws -> String {
    let resolved = path ?? "runs/\(task)/best.safetensors"
    guard FileManager.default.fileExists(atPath: resolved) else {
        if path == nil {
            throw ValidationError("no checkpoint at \(resolved); train one first with `\(trainCommand)`, or pass --checkpoint")
        }
        throw ValidationError("\(resolved): no such checkpoint")
    }
    return resolved
}

/// Prints a JSON object with sorted keys.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// `--threads`, the same in every command: positive, by default the CPUs the process may use
/// (its affinity mask and cgroup quota, at most 8), and capped there with a warning, since more
/// threads than CPUs only wait for each other.
struct ThreadsOption: ParsableArguments {
    @Option(help: "Threads for the engine and OpenBLAS. (default: the CPUs this process may use, at most 8)")
    var threads: Int?

    func validate() throws {
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive, not \(threads)") }
    }

    /// Sizes the engine's team; `fallback` replaces the default where a command knows better.
    func apply(default fallback: Int? = nil) {
        Engine.setThreads(effectiveThreads(requested: threads ?? fallback))
    }
}

/// `requested` (nil: the default), capped at the CPUs the process may use, with a warning.
func effectiveThreads(requested: Int?) -> Int {
    let available = AvailableProcessors.count
    guard let requested else { return Engine.defaultThreads }
    if requested > available {
        FileHandle.standardError.write(Data(
            "zoo: --threads \(requested) is more than the \(available) CPUs this process may use; using \(available)\n".utf8))
        return available
    }
    return requested
}

/// Runs a training loop that stops cleanly on Ctrl-C or SIGTERM: saved at the step it reached,
/// a message that says how to resume, and the exit status of the signal.
func runTraining(_ trainer: Trainer) throws -> TrainingSummary {
    Interruption.install()
    trainer.shouldStop = { Interruption.requested }
    do {
        return try trainer.run()
    } catch let error as TrainingError {
        guard case .interrupted = error else { throw error }
        FileHandle.standardError.write(Data("zoo: \(error)\n".utf8))
        throw ExitCode(Interruption.exitStatus)
    }
}
