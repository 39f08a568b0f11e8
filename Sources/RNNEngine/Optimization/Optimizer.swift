/// Updates a model's parameters from their gradients. Optimizers work on the flat buffers of a
/// `ParameterStore`, one pass each, without knowing the model's structure.
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    /// Applies one update from the gradients in the store.
    func step()
    /// Number of updates applied so far.
    var stepCount: Int { get }
    /// The state needed to resume exactly, named per parameter (`exp_avg.rnn.weight_ih_l0`).
    func stateTensors() -> [(String, Tensor)]
    /// Scalar state (step count, ...) as checkpoint metadata strings.
    func stateMetadata() -> [String: String]
    /// Restores what `stateTensors`/`stateMetadata` saved; throws on a missing or misshapen tensor.
    func loadState(tensors: [String: Tensor], metadata: [String: String], path: String) throws
}

/// Per-parameter named views of a flat state buffer, for saving it with readable names.
func namedViews(of buffer: Tensor, prefix: String, store: ParameterStore) -> [(String, Tensor)] {
    zip(store.parameters, store.offsets).map { p, offset in
        (prefix + "." + p.name, Tensor(viewOf: buffer, offset: offset, shape: p.value.shape))
    }
}

/// Copies the per-parameter tensors `prefix.<name>` back into a flat state buffer.
func loadNamedViews(
    _ tensors: [String: Tensor], into buffer: Tensor, prefix: String,
    store: ParameterStore, path: String
) throws {
    for (p, offset) in zip(store.parameters, store.offsets) {
        let key = prefix + "." + p.name
        guard let t = tensors[key] else { throw CheckpointError.missingTensor(path: path, name: key) }
        guard t.shape == p.value.shape else {
            throw CheckpointError.shapeMismatch(path: path, name: key, found: t.shape, expected: p.value.shape)
        }
        (buffer.data + offset).update(from: t.data, count: t.count)
    }
}

func intMetadata(_ metadata: [String: String], _ key: String, path: String) throws -> Int {
    guard let text = metadata[key], let value = Int(text) else {
        throw CheckpointError.missingMetadata(path: path, key: key)
    }
    return value
}

/// One plain optimisation step: zero the gradients, build `loss` on a fresh tape, backpropagate,
/// clip the global gradient norm (when `clip` is given) and update. A loss that is not finite
/// leaves the parameters as they were. Returns the loss. (The Trainer runs its own step: it adds
/// warm-up and turns divergence into an error.)
@discardableResult
public func optimizationStep(
    _ store: ParameterStore, _ optimizer: Optimizer, clip: Float?,
    loss: (Tape) throws -> Variable
) rethrows -> Double {
    store.zeroGradients()
    let tape = Tape()
    let value = try loss(tape)
    let result = Double(value.value[0])
    guard result.isFinite else { return result }
    tape.backward(from: value)
    if let clip { clipGradientNorm(store, maxNorm: clip) }
    optimizer.step()
    return result
}
