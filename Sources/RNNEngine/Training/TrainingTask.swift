/// What the shared training loop needs from a task (language model, translation, speech,
/// captioning). The task owns its data, model and batching; the loop owns steps, optimizer,
/// clipping, evaluation, checkpoints, logging and resumption.
public protocol TrainingTask: AnyObject {
    /// The task's name in checkpoints (`zoo.task`).
    var taskName: String { get }
    var parameters: ParameterStore { get }
    /// Optimizer steps in one pass over the training data.
    var stepsPerEpoch: Int { get }
    /// Builds the loss of the next training batch on `tape` (mean per scored unit); returns it
    /// and the number of units it scored (tokens, frames...).
    func trainingLoss(tape: Tape, rng: inout RandomGenerator) throws -> (loss: Variable, count: Int)
    /// Mean validation loss per scored unit.
    func validationLoss() throws -> Double
    /// Readable forms of a mean loss, e.g. [("bpc", 1.6)] or [("ppl", 120)].
    func metrics(forLoss loss: Double) -> [(String, Double)]
    /// What a checkpoint's `__metadata__` holds besides the tensors (task, config, vocabulary).
    var checkpointMetadata: [String: String] { get }
    /// The data position and carried state, for an exact resume.
    func saveProgress() -> (tensors: [(String, Tensor)], metadata: [String: String])
    func restoreProgress(tensors: [String: Tensor], metadata: [String: String], path: String) throws
}
