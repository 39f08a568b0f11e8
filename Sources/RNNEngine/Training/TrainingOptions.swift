/// Settings of the shared training loop; the CLI fills them from its flags.
public struct TrainingOptions: Codable, Sendable {
    public enum OptimizerKind: String, Codable, Sendable, CaseIterable { case adam, adamw, sgd }

    public var steps: Int
    public var evaluateEvery: Int
    public var logEvery: Int
    public var learningRate: Float
    public var optimizer: OptimizerKind = .adam
    public var momentum: Float = 0
    public var weightDecay: Float = 0
    /// Global gradient-norm clipping (nil: none).
    public var clipNorm: Float? = 5
    /// How the learning rate changes over the run.
    public enum LearningRateScheduleKind: String, Codable, Sendable, CaseIterable {
        /// Multiplied by `plateauFactor` after `plateauPatience` + 1 evaluations in a row without
        /// improvement, never below `minimumLearningRate` (`ReduceLROnPlateau`).
        case plateau
        /// Kept as it is (after warmup).
        case constant
    }
    public var learningRateSchedule: LearningRateScheduleKind = .plateau
    public var plateauFactor: Float = 0.25
    /// Evaluations without improvement that are tolerated before a cut: one noisy validation
    /// (BLEU on a small split, WER while CTC still emits blanks) is no plateau.
    public var plateauPatience: Int = 2
    /// The floor of the plateau schedule (nil: `learningRate` / 100), so that a long run on
    /// small data keeps learning instead of decaying to zero.
    public var minimumLearningRate: Float? = nil
    /// The learning rate rises linearly from lr/warmupSteps to lr over the first steps (0: none).
    public var warmupSteps: Int = 0
    /// Stop after this many evaluations without improvement (nil: never).
    public var earlyStopPatience: Int? = nil
    /// Where the run's files go (checkpoints, metrics, plot); nil writes nothing (and cannot
    /// be resumed).
    public var outputDirectory: String?
    /// Stop (with a last evaluation and checkpoint) after this many seconds of the run.
    public var timeLimit: Double? = nil
    public var resume = false
    /// Replace a previous run in `outputDirectory` instead of refusing to.
    public var overwrite = false
    public var json = false
    public var seed: UInt64 = 1
    /// What defines the run beyond these options (model, data, batching): kept in the run
    /// directory as `run.json`, and compared with it when the run is resumed.
    public var runSettings: RunSettings? = nil

    public init(steps: Int, evaluateEvery: Int, logEvery: Int, learningRate: Float, outputDirectory: String? = nil) {
        self.steps = steps
        self.evaluateEvery = evaluateEvery
        self.logEvery = logEvery
        self.learningRate = learningRate
        self.outputDirectory = outputDirectory
    }
}

/// What a training run ended with.
public struct TrainingSummary: Codable, Sendable {
    public var steps: Int
    /// The best and the last value of the primary validation metric (`primaryMetric`).
    public var bestValidationScore: Double?
    public var lastValidationScore: Double?
    public var primaryMetric: String
    /// nil for a run without an output directory.
    public var bestCheckpoint: String?
    /// Whether the run ended before `steps` (early stop or time limit).
    public var stoppedEarly: Bool
    /// "steps", "time_limit" or "early_stop".
    public var stopReason: String
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case steps
        case bestValidationScore = "best_valid_score"
        case lastValidationScore = "last_valid_score"
        case primaryMetric = "primary_metric"
        case bestCheckpoint = "best_checkpoint"
        case stoppedEarly = "stopped_early"
        case stopReason = "stop_reason"
        case seconds
    }
}

/// Errors of the training loop, naming the directory or file concerned.
public enum TrainingError: Error, CustomStringConvertible {
    case runExists(directory: String)
    case nothingToResume(directory: String)
    case invalid(String)
    case diverged(step: Int, loss: Double)
    /// Stopped on request (Ctrl-C, SIGTERM) after `step`, saved there.
    case interrupted(directory: String, step: Int)
    /// A resumed run already at or past the steps asked for.
    case alreadyPast(directory: String, step: Int, steps: Int)
    /// A run's `run.json` that is not one.
    case unreadableSettings(path: String, reason: String)
    /// A setting given for a resumed run that differs from the one the run started with.
    case contradictsRun(directory: String, setting: String, given: String, kept: String)
    /// Resuming with settings that differ from the run's `run.json` in these keys.
    case settingsDiffer(directory: String, keys: [String])

    public var description: String {
        switch self {
        case .runExists(let d):
            return "\(d) already holds a training run; resume it, overwrite it, or choose another directory"
        case .nothingToResume(let d):
            return "\(d): nothing to resume (no last.safetensors); train without resuming first"
        case .invalid(let message):
            return message
        case .interrupted(let d, let step):
            return "stopped after step \(step)" + (d.isEmpty ? "" : " and saved it in \(d); resume the run to continue")
        case .alreadyPast(let d, let step, let steps):
            return
                "\(d) is already at step \(step), not below the \(steps) steps asked for; ask for more steps to train further"
        case .diverged(let step, let loss):
            return "training diverged at step \(step) (loss \(loss)); lower the learning rate or clip the gradient norm"
        case .unreadableSettings(let path, let reason):
            return "\(path): cannot read the run's settings (\(reason))"
        case .contradictsRun(let d, let setting, let given, let kept):
            return
                "\(setting) \(given) contradicts the run in \(d), which was started with \(kept); leave it out to resume that run, or start a new one"
        case .settingsDiffer(let d, let keys):
            return
                "\(d) was started with other settings (\(keys.joined(separator: ", ")) differ from its run.json); resume it with its own, or start a new run"
        }
    }
}

/// What the training loop reports as it goes (`Trainer.onEvent`).
public enum TrainingEvent: Sendable {
    /// A progress line: mean training loss since the last one, its readable forms, throughput,
    /// the learning rate and the estimated seconds left.
    case progress(
        step: Int, loss: Double, metrics: [(String, Double)], unitsPerSecond: Double, learningRate: Double,
        secondsLeft: Double)
    /// A validation: every metric, and whether the primary one improved (a new best checkpoint).
    case validation(step: Int, metrics: [(name: String, value: Double)], improved: Bool)
    /// Something about the run itself: "resumed", "lr_cut", "early_stop", "time_limit".
    case run(name: String, step: Int, message: String)
}
