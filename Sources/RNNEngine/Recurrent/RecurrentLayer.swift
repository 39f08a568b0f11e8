import Foundation

/// The state a recurrent stack carries between sequences: h (and c for LSTM), each
/// (layers · directions, B, H), PyTorch's `h_n`/`c_n` layout.
public struct RecurrentState {
    public var hidden: Variable
    public var cell: Variable?

    public init(hidden: Variable, cell: Variable? = nil) {
        self.hidden = hidden
        self.cell = cell
    }

    /// The same values, cut from the computation (truncated backpropagation through time).
    public func detached() -> RecurrentState {
        RecurrentState(hidden: Variable(hidden.value.copy()), cell: cell.map { Variable($0.value.copy()) })
    }
}

/// A multi-layer, optionally bidirectional RNN, LSTM or GRU over whole sequences: PyTorch's
/// `nn.LSTM`/`nn.GRU`/`nn.RNN` with time-major input (T, B, I), the same parameter names,
/// shapes, gate orders and default initialisation (uniform ±1/√H).
///
/// One call is one operation on the tape, whatever the number of layers and timesteps.
/// Padded batches pass `lengths`: a sequence's state stops changing after its length, its
/// outputs there are zero, and the reverse direction starts at its last real timestep, as
/// with `pack_padded_sequence`.
public final class RecurrentLayer {
    public let kind: CellKind
    public let inputSize: Int
    public let hiddenSize: Int
    public let layers: Int
    public let bidirectional: Bool
    /// Dropout on the outputs of every layer but the last, while training.
    public let dropout: Float
    /// weights[layer][direction]
    public let weights: [[DirectionWeights]]

    public var directions: Int { bidirectional ? 2 : 1 }
    public var outputSize: Int { hiddenSize * directions }

    /// Declares the parameters in `store` as `<prefix>.weight_ih_l0`, ... (prefix "" for none).
    public init(
        _ kind: CellKind, inputSize: Int, hiddenSize: Int, layers: Int = 1, bidirectional: Bool = false,
        dropout: Float = 0, prefix: String, store: ParameterStore, rng: inout RandomGenerator
    ) {
        precondition(inputSize > 0 && hiddenSize > 0 && layers > 0, "recurrent layer sizes must be positive")
        self.kind = kind
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        let dot = prefix.isEmpty ? "" : prefix + "."
        var all: [[DirectionWeights]] = []
        for layer in 0..<layers {
            let layerInput = layer == 0 ? inputSize : hiddenSize * (bidirectional ? 2 : 1)
            var perDirection: [DirectionWeights] = []
            for direction in 0..<(bidirectional ? 2 : 1) {
                perDirection.append(
                    DirectionWeights(
                        kind, inputSize: layerInput, hiddenSize: hiddenSize, prefix: dot,
                        suffix: "_l\(layer)" + (direction == 1 ? "_reverse" : ""), store: store, rng: &rng))
            }
            all.append(perDirection)
        }
        weights = all
    }

    /// A zero state for a batch of `batch` sequences.
    public func zeroState(batch: Int) -> RecurrentState {
        let shape = [layers * directions, batch, hiddenSize]
        return RecurrentState(
            hidden: Variable(Tensor(zeros: shape)),
            cell: kind.hasCellState ? Variable(Tensor(zeros: shape)) : nil)
    }

    /// Runs the stack over `input` (T, B, I).
    ///
    /// - Parameters:
    ///   - lengths: each sequence's length (≤ T), or nil when every sequence fills T.
    ///   - initialState: (layers · directions, B, H) each; nil for zeros.
    ///   - rng: draws the dropout masks between layers while training.
    /// - Returns: the last layer's outputs (T, B, directions · H) and the final state.
    public func callAsFunction(
        _ input: Variable, lengths: [Int]? = nil, initialState: RecurrentState? = nil,
        tape: Tape, rng: inout RandomGenerator
    ) throws -> (output: Variable, state: RecurrentState) {
        precondition(
            input.shape.count == 3 && input.shape[2] == inputSize,
            "recurrent input must be (T, B, \(inputSize)), got \(input.shape)")
        return try run(
            .dense(input), steps: input.shape[0], batch: input.shape[1], lengths: lengths,
            initialState: initialState, tape: tape, rng: &rng)
    }

    /// Runs the stack over the embeddings of token `ids` (T·B, time-major) in `table` (V, I):
    /// the same result as `self(embeddingLookup(ids, ...))`, but the first layer's input
    /// projection is computed once per vocabulary entry (V · I · G·H flops instead of
    /// T · B · I · G·H), and so is the table's gradient. Worth it when V < T · B. The table must
    /// not have a padding row (its gradient here is not masked).
    public func callAsFunction(
        tokens ids: [Int32], steps T: Int, batch B: Int, embedding table: Variable, lengths: [Int]? = nil,
        initialState: RecurrentState? = nil, tape: Tape, rng: inout RandomGenerator
    ) throws -> (output: Variable, state: RecurrentState) {
        precondition(ids.count == T * B, "\(ids.count) token ids for \(T) × \(B)")
        precondition(table.shape.count == 2 && table.shape[1] == inputSize, "embedding table must be (V, \(inputSize))")
        try checkTokenIds(ids, below: table.shape[0])
        return try run(
            .tokens(ids, table: table), steps: T, batch: B, lengths: lengths,
            initialState: initialState, tape: tape, rng: &rng)
    }

    /// Embeds token `ids` (T·B, time-major) with `embedding`, applies `inputDropout` to the
    /// embeddings while training, and runs the stack. When nothing stands between lookup and
    /// first layer (no dropout at this moment) and the vocabulary is smaller than T·B, the lookup
    /// is fused into the first layer's input projection; otherwise it is a separate op. Both
    /// give the same result.
    public func callAsFunction(
        tokens ids: [Int32], steps T: Int, batch B: Int, embedding: Embedding, inputDropout: Float = 0,
        initialState: RecurrentState? = nil, tape: Tape, rng: inout RandomGenerator
    ) throws -> (output: Variable, state: RecurrentState) {
        let dropoutActive = tape.isTraining && inputDropout > 0
        if embedding.paddingIndex == nil && embedding.vocabularySize < T * B && !dropoutActive {
            return try self(
                tokens: ids, steps: T, batch: B, embedding: embedding.weight,
                initialState: initialState, tape: tape, rng: &rng)
        }
        let x = RNNEngine.dropout(
            try embedding(ids, shape: [T, B], tape: tape), probability: inputDropout, tape: tape, rng: &rng)
        return try self(x, initialState: initialState, tape: tape, rng: &rng)
    }

    /// The first layer's input: a dense sequence or token ids into an embedding table.
    private enum FirstInput {
        case dense(Variable)
        case tokens([Int32], table: Variable)

        var variable: Variable {
            switch self {
            case .dense(let v): return v
            case .tokens(_, let table): return table
            }
        }

        /// Calls `body` with the kernel's view of this input.
        func withDirectionInput<R>(_ body: (DirectionInput) -> R) -> R {
            switch self {
            case .dense(let v): return body(.dense(v.value.data, size: v.shape[2]))
            case .tokens(let ids, let table):
                return ids.withUnsafeBufferPointer { body(.tokens($0.baseAddress!, table: table.value)) }
            }
        }
    }

    /// Runs the stack over `first`: checks the lengths and the initial state, runs `forward`,
    /// and records `backward` on the tape.
    private func run(
        _ first: FirstInput, steps T: Int, batch B: Int, lengths: [Int]?, initialState: RecurrentState?,
        tape: Tape, rng: inout RandomGenerator
    ) throws -> (output: Variable, state: RecurrentState) {
        let H = hiddenSize
        if let lengths {
            precondition(lengths.count == B, "\(lengths.count) lengths for a batch of \(B)")
            for (b, length) in lengths.enumerated() where length < 0 || length > T {
                throw EngineError.lengthOutOfRange(item: b, length: length, maximum: T)
            }
        }
        if let initialState {
            precondition(
                initialState.hidden.shape == [layers * directions, B, H],
                "initial h must be \([layers * directions, B, H])")
            precondition(kind.hasCellState == (initialState.cell != nil), "initial c must be given exactly for LSTM")
        }
        let pass = StackPass(first: first, steps: T, batch: B, lengths: lengths, initialState: initialState)
        let finalH = Tensor(zeros: [layers * directions, B, H])
        let finalC: Tensor? = kind.hasCellState ? Tensor(zeros: [layers * directions, B, H]) : nil
        let output = forward(
            pass, finalH: finalH, finalC: finalC, dropout: tape.isTraining && dropout > 0 && layers > 1, rng: &rng)

        // The weights always take gradients, so a recording tape always records this op.
        let result = Variable(output, requiresGrad: tape.isRecording)
        let hN = Variable(finalH, requiresGrad: result.requiresGrad)
        let cN = finalC.map { Variable($0, requiresGrad: result.requiresGrad) }
        if result.requiresGrad {
            tape.record { [self] in
                guard result.grad != nil || hN.grad != nil || cN?.grad != nil else { return }
                backward(pass, dOutput: result.grad ?? Tensor(zeros: result.shape), dFinalH: hN.grad, dFinalC: cN?.grad)
            }
        }
        return (result, RecurrentState(hidden: hN, cell: cN))
    }

    /// What one run of the stack keeps for its backward pass: the input, each later layer's
    /// input (the previous layer's output after dropout), each direction's cache, the masks.
    private final class StackPass {
        let first: FirstInput
        let steps: Int, batch: Int
        let lengths: [Int]?
        let lengths32: [Int32]?
        let initialState: RecurrentState?
        var layerInputs: [Tensor] = []
        var caches: [[DirectionCache]] = []
        var dropoutMasks: [Tensor?] = []

        init(first: FirstInput, steps: Int, batch: Int, lengths: [Int]?, initialState: RecurrentState?) {
            self.first = first
            self.steps = steps
            self.batch = batch
            self.lengths = lengths
            self.lengths32 = lengths?.map { Int32($0) }
            self.initialState = initialState
        }

        /// Calls `body` with layer `layer`'s input as the kernels see it, and the lengths.
        func withLayerInput<R>(_ layer: Int, _ body: (DirectionInput, UnsafePointer<Int32>?) -> R) -> R {
            withOptionalPointer(lengths32) { lengthPointer in
                if layer == 0 { return first.withDirectionInput { body($0, lengthPointer) } }
                let x = layerInputs[layer - 1]
                return body(.dense(x.data, size: x.shape[2]), lengthPointer)
            }
        }
    }

    /// Runs every layer and direction over the sequence; returns the last layer's output
    /// (T, B, D·H) and writes each direction's final states into `finalH` and `finalC`.
    private func forward(
        _ pass: StackPass, finalH: Tensor, finalC: Tensor?, dropout applyDropout: Bool,
        rng: inout RandomGenerator
    ) -> Tensor {
        let T = pass.steps, B = pass.batch, H = hiddenSize, D = directions
        var output = Tensor(zeros: [0])
        for layer in 0..<layers {
            // Every row is written below, except padded ones, which must read as zeros.
            output = pass.lengths == nil ? Tensor(uninitialized: [T, B, D * H]) : Tensor(zeros: [T, B, D * H])
            var layerCaches: [DirectionCache] = []
            for direction in 0..<D {
                let index = layer * D + direction
                let cache = DirectionCache(kind: kind, steps: T, batch: B, hiddenSize: H, reverse: direction == 1)
                let h0 = pass.initialState.map { UnsafePointer($0.hidden.value.data + index * B * H) }
                let c0 = pass.initialState?.cell.map { UnsafePointer($0.value.data + index * B * H) }
                pass.withLayerInput(layer) { layerInput, lengths in
                    recurrentDirectionForward(
                        cache, input: layerInput, weights: weights[layer][direction], h0: h0, c0: c0, lengths: lengths)
                }
                scatterDirectionOutput(cache, into: output, direction: direction, lengths: pass.lengths)
                (finalH.data + index * B * H).update(from: cache.states.data + cache.finalIndex * B * H, count: B * H)
                if let finalC, let cells = cache.cells {
                    (finalC.data + index * B * H).update(from: cells.data + cache.finalIndex * B * H, count: B * H)
                }
                layerCaches.append(cache)
            }
            pass.caches.append(layerCaches)
            if layer < layers - 1 {
                if applyDropout {
                    let mask = dropoutMask(shape: output.shape, probability: dropout, rng: &rng)
                    for k in 0..<output.count { output.data[k] *= mask.data[k] }
                    pass.dropoutMasks.append(mask)
                } else {
                    pass.dropoutMasks.append(nil)
                }
                pass.layerInputs.append(output)
            }
        }
        return output
    }

    /// The gradients of `forward`, from the last layer down: each layer's output gradient
    /// (plus the final states') into its weights' and its input's, through the dropout masks,
    /// and the first input's into its variable (the embedding table for tokens).
    private func backward(_ pass: StackPass, dOutput dLastOutput: Tensor, dFinalH: Tensor?, dFinalC: Tensor?) {
        let T = pass.steps, B = pass.batch, H = hiddenSize, D = directions
        var dOutput = dLastOutput
        let scratch = DirectionBackwardScratch(batch: B, hiddenSize: H)
        let dDirection = Tensor(uninitialized: [T, B, H])  // filled by gatherDirectionGradient
        for layer in stride(from: layers - 1, through: 0, by: -1) {
            // dLoss/d(this layer's input): (T, B, I), or the embedding table's shape for tokens.
            let inputShape = layer > 0 ? pass.layerInputs[layer - 1].shape : pass.first.variable.shape
            let needInputGrad = layer > 0 || pass.first.variable.requiresGrad
            let dInput: Tensor? = needInputGrad ? Tensor(zeros: inputShape) : nil
            for direction in 0..<D {
                let index = layer * D + direction
                gatherDirectionGradient(
                    dOutput, direction: direction, hiddenSize: H, into: dDirection, lengths: pass.lengths)
                let dh0 = pass.initialState.map { $0.hidden.gradient().data + index * B * H }
                let dc0 = pass.initialState?.cell.map { $0.gradient().data + index * B * H }
                pass.withLayerInput(layer) { layerInput, lengths in
                    recurrentDirectionBackward(
                        pass.caches[layer][direction], input: layerInput, weights: weights[layer][direction],
                        dOutput: dDirection.data,
                        dFinalH: dFinalH.map { UnsafePointer($0.data + index * B * H) },
                        dFinalC: dFinalC.map { UnsafePointer($0.data + index * B * H) },
                        dInput: dInput?.data, dh0: dh0, dc0: dc0, lengths: lengths, scratch: scratch)
                }
            }
            guard let dInput else { continue }
            if layer > 0 {
                if let mask = pass.dropoutMasks[layer - 1] {
                    for k in 0..<dInput.count { dInput.data[k] *= mask.data[k] }
                }
                dOutput = dInput
            } else {
                pass.first.variable.gradient().add(dInput)
            }
        }
    }

}

/// Copies a direction's per-timestep states into its half of the layer output (T, B, D·H),
/// leaving zeros on padded rows.
private func scatterDirectionOutput(_ cache: DirectionCache, into output: Tensor, direction: Int, lengths: [Int]?) {
    let T = cache.steps, B = cache.batch, H = cache.hiddenSize
    let width = output.shape[2]
    let states = cache.nextStates
    for t in 0..<T {
        for b in 0..<B where lengths.map({ t < $0[b] }) ?? true {
            (output.data + (t * B + b) * width + direction * H).update(from: states + (t * B + b) * H, count: H)
        }
    }
}

/// The inverse: a direction's half of the output gradient as (T, B, H), zero on padded rows.
private func gatherDirectionGradient(
    _ dOutput: Tensor, direction: Int, hiddenSize H: Int, into result: Tensor, lengths: [Int]?
) {
    let T = dOutput.shape[0], B = dOutput.shape[1], width = dOutput.shape[2]
    for t in 0..<T {
        for b in 0..<B {
            let target = result.data + (t * B + b) * H
            if let lengths, t >= lengths[b] {
                target.update(repeating: 0, count: H)
            } else {
                target.update(from: dOutput.data + (t * B + b) * width + direction * H, count: H)
            }
        }
    }
}

/// Calls `body` with a pointer to the array's elements, or nil.
@inline(__always)
func withOptionalPointer<R>(_ array: [Int32]?, _ body: (UnsafePointer<Int32>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}
