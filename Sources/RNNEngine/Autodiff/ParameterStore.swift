/// All parameters of a model, in one flat value buffer and one flat gradient buffer, and its
/// non-trainable buffers (batch norm's running statistics).
///
/// Layers declare their parameters here while they are built; `pack()` then moves them into the
/// flat buffers, so the optimizer, zeroing, clipping and saving are single passes that need
/// not know the model's structure. Frozen parameters are packed after the trainable ones, so
/// optimizers and clipping work on the first `trainableCount` elements and never touch them.
public final class ParameterStore {
    /// In the order of the flat buffers: trainable parameters first, then frozen ones.
    public private(set) var parameters: [Parameter] = []
    /// State a model keeps and checkpoints save, but no optimizer updates.
    public private(set) var buffers: [Buffer] = []
    /// Elements of the flat buffers that belong to trainable parameters.
    public private(set) var trainableCount = 0
    public private(set) var values = Tensor(zeros: [0])
    public private(set) var gradients = Tensor(zeros: [0])
    public private(set) var isPacked = false

    public init() {}

    /// Declares a parameter, initialised by `initialize`. Names must be unique.
    @discardableResult
    public func declare(_ name: String, shape: [Int], initialize: (Tensor) -> Void) -> Parameter {
        precondition(!isPacked, "declare '\(name)' after pack()")
        precondition(!parameters.contains { $0.name == name }, "duplicate parameter '\(name)'")
        let value = Tensor(zeros: shape)
        initialize(value)
        let parameter = Parameter(name: name, value: value)
        parameters.append(parameter)
        return parameter
    }

    /// Declares a non-trainable buffer (saved in checkpoints under `name`). `dtype` is how
    /// checkpoints store it: "F32", or "I64" for counters such as `num_batches_tracked`.
    @discardableResult
    public func declareBuffer(
        _ name: String, shape: [Int], dtype: String = "F32", initialize: (Tensor) -> Void = { _ in }
    ) -> Buffer {
        precondition(
            !parameters.contains { $0.name == name } && !buffers.contains { $0.name == name },
            "duplicate name '\(name)'")
        let value = Tensor(zeros: shape)
        initialize(value)
        let buffer = Buffer(name: name, value: value, dtype: dtype)
        buffers.append(buffer)
        return buffer
    }

    /// Freezes the parameters whose names `matches` accepts: they keep their values (a
    /// pretrained embedding, an encoder being kept fixed). Call before `pack()`.
    public func freeze(where matches: (String) -> Bool) {
        precondition(!isPacked, "freeze before pack()")
        for p in parameters where matches(p.name) { p.isFrozen = true }
    }

    /// Moves every parameter into the flat buffers. Call once, after the model is built.
    public func pack() {
        precondition(!isPacked, "pack() called twice")
        parameters = parameters.filter { !$0.isFrozen } + parameters.filter(\.isFrozen)
        trainableCount = parameters.filter { !$0.isFrozen }.reduce(0) { $0 + $1.value.count }
        let total = parameters.reduce(0) { $0 + $1.value.count }
        values = Tensor(zeros: [total])
        gradients = Tensor(zeros: [total])
        var offset = 0
        for p in parameters {
            let n = p.value.count
            p.rebind(
                value: Tensor(viewOf: values, offset: offset, shape: p.value.shape),
                grad: Tensor(viewOf: gradients, offset: offset, shape: p.value.shape))
            offset += n
        }
        isPacked = true
    }

    public var count: Int { parameters.reduce(0) { $0 + $1.value.count } }

    public func zeroGradients() {
        let g = gradients.data
        parallelChunks(gradients.count, minimumPerChunk: 1 << 15) { range in
            (g + range.lowerBound).update(repeating: 0, count: range.count)
        }
    }

    public subscript(name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// The offset of each parameter in the flat buffers, in declaration order.
    public var offsets: [Int] {
        var result: [Int] = []
        var offset = 0
        for p in parameters {
            result.append(offset)
            offset += p.value.count
        }
        return result
    }
}
