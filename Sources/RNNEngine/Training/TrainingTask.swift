/// What the shared training loop needs from a task (language model, translation, speech,
/// captioning). The task owns its data, model and batching; the loop owns steps, optimizer,
/// clipping, evaluation, checkpoints, logging and resumption.
public protocol TrainingTask: AnyObject {
    /// The task's name in checkpoints (`zoo.task`).
    var taskName: String { get }
    /// What the loss is averaged over, for labels: "token", "frame", ... (default "unit").
    var lossUnit: String { get }
    var parameters: ParameterStore { get }
    /// Optimizer steps in one pass over the training data.
    var stepsPerEpoch: Int { get }
    /// Builds the loss of the next training batch on `tape` (mean per scored unit); returns it
    /// and the number of units it scored (tokens, frames...).
    func trainingLoss(tape: Tape, rng: inout RandomGenerator) throws -> (loss: Variable, count: Int)
    /// The last `trainingLoss` in parts, when it adds terms (a penalty) to the per-unit loss
    /// that validation reports: progress lines and the loss plot then show that per-unit loss,
    /// comparable with validation's, and each extra term apart. nil (the default): the loss
    /// has no such terms.
    func lastTrainingLossParts() -> TrainingLossParts?
    /// Mean validation loss per scored unit.
    func validationLoss() throws -> Double
    /// Readable forms of a mean loss, e.g. [("bpc", 1.6)] or [("ppl", 120)].
    func metrics(forLoss loss: Double) -> [(String, Double)]
    /// Scores the validation split. The default is the loss (lower is better) and its readable
    /// forms; a task whose quality is not its loss (BLEU, WER) returns its own metrics.
    func validate() throws -> ValidationResult
    /// What a checkpoint's `__metadata__` holds besides the tensors (task, config, vocabulary).
    var checkpointMetadata: [String: String] { get }
    /// The tensors a checkpoint holds, under PyTorch's names: by default every parameter and
    /// buffer; a task adds what PyTorch's state_dict lists twice (a tied output layer).
    var checkpointTensors: [(String, Tensor)] { get }
    /// Loads what `checkpointTensors` saved (strictly: a missing or extra tensor is an error).
    func loadCheckpoint(_ file: SafeTensorsFile, path: String) throws
    /// Loads the checkpoint at `path` as `zoo eval` would, into a new model, and throws what
    /// would stop that. The loop calls it on the run's first checkpoint. Default: the file parses.
    func checkCheckpointLoads(path: String) throws
    /// The data position and carried state, for an exact resume.
    func saveProgress() -> (tensors: [(String, Tensor)], metadata: [String: String])
    func restoreProgress(tensors: [String: Tensor], metadata: [String: String], path: String) throws
    /// From now on, trains on this rank's share of each batch (`group.communicator.shard`),
    /// still drawing every batch whole, as one process would, so that all ranks agree on the
    /// data; `trainingLoss` then returns the mean over its share and the units it holds. The
    /// default throws: a task has to say how its batches split.
    func joinDataParallel(_ group: DataParallelGroup) throws
}

/// A training loss as the per-unit loss validation also reports plus named extra terms.
public struct TrainingLossParts: Sendable {
    public var perUnit: Double
    public var extras: [(name: String, value: Double)]

    public init(perUnit: Double, extras: [(name: String, value: Double)]) {
        self.perUnit = perUnit
        self.extras = extras
    }
}

extension TrainingTask {
    public var lossUnit: String { "unit" }

    public func lastTrainingLossParts() -> TrainingLossParts? { nil }

    public func checkCheckpointLoads(path: String) throws { _ = try SafeTensors.read(path: path) }

    public func joinDataParallel(_ group: DataParallelGroup) throws {
        throw TrainingError.invalid("the \(taskName) task does not train data-parallel")
    }

    public func validate() throws -> ValidationResult {
        let loss = try validationLoss()
        return ValidationResult(
            metrics: [("loss", loss)] + metrics(forLoss: loss), primary: "loss", higherIsBetter: false)
    }

    public var checkpointTensors: [(String, Tensor)] { parameters.namedTensors }

    public func loadCheckpoint(_ file: SafeTensorsFile, path: String) throws {
        try parameters.load(file, path: path)
    }
}

/// The metrics of one validation: named values in the order progress lines show them, and the
/// one that decides (best checkpoint, learning-rate decay on plateau, early stop).
public struct ValidationResult: Sendable {
    public var metrics: [(name: String, value: Double)]
    /// The name of the deciding metric; it must be one of `metrics`.
    public var primary: String
    /// BLEU: true; loss, WER: false.
    public var higherIsBetter: Bool

    public init(metrics: [(name: String, value: Double)], primary: String, higherIsBetter: Bool) {
        precondition(metrics.contains { $0.name == primary }, "primary metric '\(primary)' is not among the metrics")
        self.metrics = metrics
        self.primary = primary
        self.higherIsBetter = higherIsBetter
    }

    public var primaryValue: Double { metrics.first { $0.name == primary }!.value }

    /// Whether `value` of the primary metric is better than `best` (nil: nothing yet).
    public func isImprovement(_ value: Double, over best: Double?) -> Bool {
        guard let best else { return value.isFinite }
        return higherIsBetter ? value > best : value < best
    }

    /// The primary value as a quantity to minimise (the plateau schedule minimises).
    public var primaryAsLoss: Double { higherIsBetter ? -primaryValue : primaryValue }
}
