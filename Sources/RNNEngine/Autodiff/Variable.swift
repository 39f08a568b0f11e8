/// A tensor in a computation, with the gradient of the loss with respect to it.
///
/// Gradients are allocated on first use and accumulate (`+=`), so a variable used twice
/// receives the sum of both contributions.
public class Variable {
    public internal(set) var value: Tensor
    /// dLoss/dvalue, nil until a backward pass reaches this variable.
    public internal(set) var grad: Tensor?
    /// Whether gradients flow into this variable (parameters, and results of ops on them).
    public let requiresGrad: Bool

    public init(_ value: Tensor, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
    }

    public var shape: [Int] { value.shape }

    /// The gradient buffer, created as zeros when missing.
    public func gradient() -> Tensor {
        if let grad { return grad }
        let g = Tensor(zeros: value.shape)
        grad = g
        return g
    }

    /// Forgets the gradient (parameters override this to zero their slice of the flat buffer).
    public func clearGradient() { grad = nil }
}

/// A trainable tensor with a PyTorch-style name (`rnn.weight_ih_l0`). Its value and gradient
/// are views into the flat buffers of a `ParameterStore`.
public final class Parameter: Variable {
    public let name: String
    /// A frozen parameter still receives gradients but no optimizer changes it.
    public internal(set) var isFrozen = false

    init(name: String, value: Tensor) {
        self.name = name
        super.init(value, requiresGrad: true)
        self.grad = Tensor(zeros: value.shape)
    }

    public override func gradient() -> Tensor { grad! }
    public override func clearGradient() { grad!.zero() }

    /// Points value and gradient at slices of flat buffers (the store's packing step).
    func rebind(value: Tensor, grad: Tensor) {
        value.copy(from: self.value)
        self.value = value
        self.grad = grad
    }
}

/// A named, non-trainable tensor of a model that checkpoints save (batch norm's running mean
/// and variance, `num_batches_tracked`), PyTorch's `register_buffer`.
public final class Buffer {
    public let name: String
    public let value: Tensor
    /// The dtype checkpoints store it in ("F32" or "I64").
    public let dtype: String

    init(name: String, value: Tensor, dtype: String) {
        self.name = name
        self.value = value
        self.dtype = dtype
    }
}
