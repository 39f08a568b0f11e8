/// All trainable parameters of a model, in one flat value buffer and one flat gradient buffer.
///
/// Layers declare their parameters here while they are built; `pack()` then moves them into the
/// flat buffers, so the optimizer, zeroing, clipping and saving are single passes that need
/// not know the model's structure.
public final class ParameterStore {
    public private(set) var parameters: [Parameter] = []
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

    /// Moves every parameter into the flat buffers. Call once, after the model is built.
    public func pack() {
        precondition(!isPacked, "pack() called twice")
        let total = parameters.reduce(0) { $0 + $1.value.count }
        values = Tensor(zeros: [total])
        gradients = Tensor(zeros: [total])
        var offset = 0
        for p in parameters {
            let n = p.value.count
            p.rebind(value: Tensor(viewOf: values, offset: offset, shape: p.value.shape),
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
        for p in parameters { result.append(offset); offset += p.value.count }
        return result
    }
}
