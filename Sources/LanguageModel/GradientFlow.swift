import Foundation

/// The vanishing-gradient experiment: how much of the loss at the last step of a sequence
/// reaches each earlier hidden state, ‖∂L_T/∂h_t‖ for t = 1…T, in a character model
/// (embedding → one recurrent cell → linear) on windows of real text, at initialisation and
/// after training on a task (`GradientFlowTask`). The recurrence multiplies the gradient by one
/// Jacobian per step, so a plain RNN's shrinks geometrically going back in time, while the
/// LSTM's cell state and the GRU's update gate carry it across.
public struct GradientFlow: Sendable {
    public let cell: CellKind
    public let length: Int
    /// ‖∂L_T/∂h_t‖ (Frobenius over the batch) for t = 1…T, before and after training.
    public let initial: [Double]
    public let trained: [Double]
    /// The mean training loss of each step.
    public let trainingLosses: [Double]
}

/// What the model learns to predict in the experiment.
public enum GradientFlowTask: String, Sendable, CaseIterable {
    /// The next character at every step (a character language model); the loss measured is the
    /// last step's. On text, the last character depends little on one 100 steps back, so even a
    /// cell that could carry the gradient has little reason to learn to.
    case next
    /// The first character of the window, predicted at the last step only: nothing but a memory
    /// kept across all T steps can do it, so the gradient must reach h_1 for the model to learn.
    case recall
}

/// Settings of the experiment.
public struct GradientFlowSettings: Sendable {
    public var task = GradientFlowTask.recall
    public var length = 100
    public var batchSize = 16
    public var hiddenSize = 128
    public var embeddingSize = 32
    public var trainingSteps = 1000
    public var learningRate: Float = 2e-3
    /// Global gradient-norm clipping while training (nil: none).
    public var clip: Float? = 5
    /// Plain SGD instead of Adam (Adam rescales every step, which hides an explosion).
    public var sgd = false
    /// Multiplies the initial recurrent weights: above ~1.7 a ReLU RNN's gradient explodes.
    public var recurrentScale: Float = 1
    /// Added to the LSTM's forget-gate bias at initialisation (PyTorch adds nothing, Keras 1):
    /// with sigmoid(3) ≈ 0.95 the cell state, and its gradient, lasts across the window; with
    /// PyTorch's forget gates near 0.5 it vanishes as fast as a plain RNN's.
    public var forgetBias: Float = 3
    public var seed: UInt64 = 1

    public init() {}
}

/// Runs the experiment for `cell` on `text` (a training split's ids).
public func measureGradientFlow(
    _ cell: CellKind, ids: [Int32], vocabularySize: Int,
    settings: GradientFlowSettings
) throws -> GradientFlow {
    let T = settings.length, B = settings.batchSize
    guard ids.count > T + 1 else {
        throw TrainingError.invalid("the text has \(ids.count) tokens, too few for sequences of \(T + 1)")
    }
    var rng = RandomGenerator(seed: settings.seed)
    let store = ParameterStore()
    let embedding = Embedding(
        vocabularySize: vocabularySize, embeddingSize: settings.embeddingSize, name: "encoder",
        store: store, rng: &rng)
    let recurrent = RecurrentCell(
        cell, inputSize: settings.embeddingSize, hiddenSize: settings.hiddenSize, prefix: "rnn",
        store: store, rng: &rng)
    let output = Linear(
        inputSize: settings.hiddenSize, outputSize: vocabularySize, name: "decoder", store: store, rng: &rng)
    store.pack()
    let w = recurrent.weights.hiddenWeight.value
    for k in 0..<w.count { w.data[k] *= settings.recurrentScale }
    if cell == .lstm { recurrent.weights.addForgetGateBias(settings.forgetBias) }

    /// B windows of T + 1 tokens at random places; the targets of every step (next) or of the
    /// last step only (recall: the window's first character).
    func batch(_ rng: inout RandomGenerator) -> (inputs: [[Int32]], targets: [[Int32]]) {
        var inputs = [[Int32]](repeating: [], count: T), targets = [[Int32]](repeating: [], count: T)
        for _ in 0..<B {
            let start = rng.int(below: ids.count - T - 1)
            for t in 0..<T {
                inputs[t].append(ids[start + t])
                targets[t].append(settings.task == .next ? ids[start + t + 1] : ids[start])
            }
        }
        return (inputs, targets)
    }

    /// The states h_1…h_T and the logits of every step.
    func unroll(_ inputs: [[Int32]], tape: Tape) throws -> (states: [Variable], logits: [Variable]) {
        var state = recurrent.zeroState(batch: B)
        var states: [Variable] = [], logits: [Variable] = []
        for t in 0..<T {
            state = recurrent(try embedding(inputs[t], shape: [B], tape: tape), state: state, tape: tape)
            states.append(state.hidden)
            logits.append(output(state.hidden, tape: tape))
        }
        return (states, logits)
    }

    var measureRNG = RandomGenerator(seed: settings.seed &+ 1)
    let probe = batch(&measureRNG)  // the same batch before and after training
    func measure() throws -> [Double] {
        store.zeroGradients()
        let tape = Tape(recording: true, training: false)
        let (states, logits) = try unroll(probe.inputs, tape: tape)
        tape.backward(from: softmaxCrossEntropy(logits[T - 1], targets: probe.targets[T - 1], tape: tape))
        return states.map { state in
            guard let g = state.grad else { return 0 }
            return g.buffer.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        }
    }

    let initial = try measure()
    let optimizer: Optimizer =
        settings.sgd
        ? SGD(store: store, learningRate: settings.learningRate)
        : Adam(store: store, learningRate: settings.learningRate)
    var losses: [Double] = []
    for _ in 0..<settings.trainingSteps {
        let (inputs, targets) = batch(&rng)
        let loss = try optimizationStep(store, optimizer, clip: settings.clip) { tape in
            let (_, logits) = try unroll(inputs, tape: tape)
            return settings.task == .next
                ? softmaxCrossEntropy(
                    concatenate(logits, axis: 0, tape: tape), targets: targets.flatMap { $0 }, tape: tape)
                : softmaxCrossEntropy(logits[T - 1], targets: targets[T - 1], tape: tape)
        }
        losses.append(loss)
        guard loss.isFinite else { break }  // diverged: the curve shows where
    }
    let trained = losses.last?.isFinite == false ? [] : try measure()
    return GradientFlow(cell: cell, length: T, initial: initial, trained: trained, trainingLosses: losses)
}
