/// y = x Wᵀ + b over the last dimension: PyTorch's `nn.Linear` (weight (out, in), bias (out),
/// both initialised uniform ±1/√in, which is what its default Kaiming-uniform init amounts to).
public final class Linear: PackableForDecoding {
    public let weight: Parameter
    public let bias: Parameter?
    public let inputSize: Int
    public let outputSize: Int

    public init(
        inputSize: Int, outputSize: Int, bias: Bool = true, name: String,
        store: ParameterStore, rng: inout RandomGenerator
    ) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        let bound = 1 / Float(inputSize).squareRoot()
        weight = store.declare(name + ".weight", shape: [outputSize, inputSize]) { rng.fillUniform($0, -bound, bound) }
        self.bias =
            bias ? store.declare(name + ".bias", shape: [outputSize]) { rng.fillUniform($0, -bound, bound) } : nil
    }

    /// A linear layer over parameters declared elsewhere: a weight (out, in) shared with another
    /// layer (an output layer tied to the embedding table), and its bias if any.
    public init(weight: Parameter, bias: Parameter?) {
        precondition(weight.shape.count == 2, "a linear layer's weight is a matrix, got \(weight.shape)")
        precondition(bias == nil || bias!.shape == [weight.shape[0]], "bias \(bias!.shape) for weight \(weight.shape)")
        self.weight = weight
        self.bias = bias
        outputSize = weight.shape[0]
        inputSize = weight.shape[1]
    }

    /// W packed for the inference calls of one decoding (`decoding(rows:_:)`).
    private var packed: PackedWeight?

    public func callAsFunction(_ x: Variable, tape: Tape) -> Variable {
        linear(x, weight: weight, bias: bias, tape: tape, packed: packed)
    }

    /// Runs `body` with W packed once for the engine's own kernel, for the inference calls of a
    /// decoder's steps (`rows` rows each); W must not change inside `body`.
    public func decoding<T>(rows: Int, _ body: () throws -> T) rethrows -> T {
        guard packed == nil else { return try body() }
        packed = PackedWeight(weight.value, rows: rows)
        defer { packed = nil }
        return try body()
    }
}

/// y (…, out) = x (…, in) Wᵀ + b, with W (out, in). Every leading dimension is a row. `packed`
/// (W packed for a decoding) is used where no gradient is needed.
public func linear(
    _ x: Variable, weight: Variable, bias: Variable?, tape: Tape, packed: PackedWeight? = nil
) -> Variable {
    let outSize = weight.shape[0], inSize = weight.shape[1]
    precondition(x.shape.last == inSize, "linear: input \(x.shape) does not end in \(inSize)")
    let rows = x.value.count / inSize
    let y = Tensor(zeros: Array(x.shape.dropLast()) + [outSize])
    if let bias {
        for r in 0..<rows { (y.data + r * outSize).update(from: bias.value.data, count: outSize) }
    }
    let needsGradient = tape.needsGradient(x, weight, bias)
    if let packed, !needsGradient {
        packed.multiply(m: rows, a: x.value.data, lda: inSize, accumulate: bias != nil, c: y.data, ldc: outSize)
    } else {
        BLAS.parallelSgemm(
            transB: true, m: rows, n: outSize, k: inSize, a: x.value.data, lda: inSize,
            b: weight.value.data, ldb: inSize, beta: bias == nil ? 0 : 1, c: y.data, ldc: outSize)
    }
    let result = Variable(y, requiresGrad: needsGradient)
    if result.requiresGrad {
        tape.record { [unowned tape] in
            guard let dy = result.grad else { return }
            linearBackward(dy: dy, x: x, weight: weight, bias: bias, rows: rows, tape: tape)
        }
    }
    return result
}

/// dx += dy W, dW += dyᵀ x (at the end of the backward pass, for a parameter), db += Σ_rows dy.
func linearBackward(dy: Tensor, x: Variable, weight: Variable, bias: Variable?, rows: Int, tape: Tape) {
    let outSize = weight.shape[0], inSize = weight.shape[1]
    if x.requiresGrad {
        BLAS.parallelSgemm(
            m: rows, n: inSize, k: outSize, a: dy.data, lda: outSize, b: weight.value.data, ldb: inSize,
            beta: 1, c: x.gradient().data, ldc: inSize)
    }
    if weight.requiresGrad { tape.addWeightGradient(weight, dy: dy, x: x.value, rows: rows) }
    if let bias, bias.requiresGrad {
        accumulateColumnSums(dy.data, rows: rows, columns: outSize, ld: outSize, into: bias.gradient().data)
    }
}
