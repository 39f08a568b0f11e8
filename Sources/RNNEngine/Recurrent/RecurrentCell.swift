import CKernels

/// One timestep of an LSTM, GRU or Elman RNN: PyTorch's `nn.LSTMCell` / `nn.GRUCell` /
/// `nn.RNNCell`, with the same parameter names (`<prefix>.weight_ih`, `weight_hh`, `bias_ih`,
/// `bias_hh`), shapes, gate orders (i, f, g, o; r, z, n) and initialisation (uniform ±1/√H).
///
/// For decoders that must run step by step (attention with input feeding, beam search). The
/// state is (B, H) for h and c. A step records one op on the tape and allocates only what it
/// returns and, while recording, the gate activations its backward needs; at inference the
/// gates live in a buffer the cell reuses, so one cell must not step two batches at once.
public final class RecurrentCell: PackableForDecoding {
    public let kind: CellKind
    public let inputSize: Int
    public let hiddenSize: Int
    public let weights: DirectionWeights
    private var inferenceGates = Tensor(zeros: [0])
    private var inferenceHidden = Tensor(zeros: [0])
    /// W_ih and W_hh packed for the inference steps of one decoding (`decoding(rows:_:)`).
    private var packed: (input: PackedWeight, hidden: PackedWeight)?

    public init(
        _ kind: CellKind, inputSize: Int, hiddenSize: Int, prefix: String, store: ParameterStore,
        rng: inout RandomGenerator
    ) {
        precondition(inputSize > 0 && hiddenSize > 0, "recurrent cell sizes must be positive")
        self.kind = kind
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        weights = DirectionWeights(
            kind, inputSize: inputSize, hiddenSize: hiddenSize,
            prefix: prefix.isEmpty ? "" : prefix + ".", suffix: "", store: store, rng: &rng)
    }

    /// A zero state for `batch` sequences: h (and c) of shape (B, H).
    public func zeroState(batch: Int) -> RecurrentState {
        let shape = [batch, hiddenSize]
        return RecurrentState(
            hidden: Variable(Tensor(zeros: shape)),
            cell: kind.hasCellState ? Variable(Tensor(zeros: shape)) : nil)
    }

    /// Runs `body` with W_ih and W_hh packed once for the engine's own kernel, so that each
    /// inference step inside it streams them where BLAS would repack both at every call (a
    /// decoder steps tens of times per sentence with the same weights; for a beam of a few rows
    /// the repacking costs more than the product). `rows` is the batch the steps will run. The
    /// weights must not change inside `body`; steps recorded for training ignore the packing.
    public func decoding<T>(rows: Int, _ body: () throws -> T) rethrows -> T {
        guard packed == nil else { return try body() }
        // Both cut into the same blocks: a step runs block b of each on one share.
        let G = kind.gateCount * hiddenSize
        let shares = Engine.shares(work: 2 * rows * G * (inputSize + hiddenSize), grain: Engine.productGrain)
        packed = (
            PackedWeight(weights.inputWeight.value, rows: rows, shares: shares),
            PackedWeight(weights.hiddenWeight.value, rows: rows, shares: shares)
        )
        defer { packed = nil }
        return try body()
    }

    /// One step: input x (B, I) and state (B, H) → the next state (its `hidden` is the output).
    public func callAsFunction(_ x: Variable, state: RecurrentState, tape: Tape) -> RecurrentState {
        let B = x.shape[0], H = hiddenSize, G = kind.gateCount * H
        precondition(x.shape == [B, inputSize], "cell input must be (B, \(inputSize)), got \(x.shape)")
        precondition(state.hidden.shape == [B, H], "cell state must be (\(B), \(H)), got \(state.hidden.shape)")
        precondition(kind.hasCellState == (state.cell != nil), "a cell state c is given exactly for LSTM")
        let w = weights
        let recording = tape.isRecording
        let gates = recording ? Tensor(uninitialized: [B, G]) : reuse(&inferenceGates, [B, G])
        // The GRU keeps h W_hhᵀ apart: r multiplies its n block.
        let hidden: Tensor? =
            kind == .gru ? (recording ? Tensor(uninitialized: [B, G]) : reuse(&inferenceHidden, [B, G])) : nil

        let bih = w.inputBias.value.data, bhh = w.hiddenBias.value.data
        for b in 0..<B {
            let row = gates.data + b * G
            for j in 0..<G { row[j] = kind == .gru ? bih[j] : bih[j] + bhh[j] }
        }
        // Inference inside `decoding(rows:)`, or a recorded step: its pass packs the weights
        // once for all its steps (BLAS would repack them at every step, forward and backward).
        let packed = recording ? passPacking(tape, rows: B).forward : self.packed
        if let packed {
            // gates += x W_ihᵀ and += h W_hhᵀ (the GRU's kept apart), each block its columns.
            let hiddenSide = hidden?.data ?? gates.data
            packed.input.forEachBlock(flops: 2 * B * G * (inputSize + H)) { block in
                packed.input.multiply(
                    block: block, m: B, a: x.value.data, lda: self.inputSize, accumulate: true, c: gates.data, ldc: G)
                packed.hidden.multiply(
                    block: block, m: B, a: state.hidden.value.data, lda: H, accumulate: hidden == nil, c: hiddenSide,
                    ldc: G)
            }
        } else {
            BLAS.parallelSgemm(
                transB: true, m: B, n: G, k: inputSize, a: x.value.data, lda: inputSize,
                b: w.inputWeight.value.data, ldb: inputSize, beta: 1, c: gates.data, ldc: G)
            BLAS.parallelSgemm(
                transB: true, m: B, n: G, k: H, a: state.hidden.value.data, lda: H,
                b: w.hiddenWeight.value.data, ldb: H, beta: hidden == nil ? 1 : 0,
                c: hidden?.data ?? gates.data, ldc: G)
        }

        let hNext = Tensor(uninitialized: [B, H])
        let cNext: Tensor? = kind.hasCellState ? Tensor(uninitialized: [B, H]) : nil
        let hPrev = state.hidden.value.data
        for b in 0..<B {
            let g = gates.data + b * G
            switch kind {
            case .lstm:
                zoo_lstm_forward_row(
                    g, H, state.cell!.value.data + b * H, cNext!.data + b * H, hNext.data + b * H, 0, H)
            case .gru:
                zoo_gru_forward_row(g, hidden!.data + b * G, bhh, H, hPrev + b * H, hNext.data + b * H, 0, H)
            case .rnnTanh, .rnnRelu:
                zoo_rnn_forward_row(g, hNext.data + b * H, kind == .rnnRelu ? 1 : 0, 0, H)
            }
        }
        let h = Variable(hNext, requiresGrad: recording)
        let c = cNext.map { Variable($0, requiresGrad: recording) }
        if recording {
            tape.record { [self, unowned tape] in
                guard h.grad != nil || c?.grad != nil else { return }
                stepBackward(
                    x: x, state: state, gates: gates, hidden: hidden, nextCell: cNext,
                    dh: h.grad ?? Tensor(zeros: [B, H]), dc: c?.grad?.copy() ?? Tensor(zeros: [B, H]), tape: tape)
            }
        }
        return RecurrentState(hidden: h, cell: c)
    }

    /// The gradients of one step from dh and dc (dLoss/d of the next state; `dc` is overwritten
    /// with dLoss/dc_prev): the gates' in place, then the input's, the previous state's and the
    /// weights' through the two products.
    private func stepBackward(
        x: Variable, state: RecurrentState, gates: Tensor, hidden: Tensor?, nextCell cNext: Tensor?,
        dh: Tensor, dc: Tensor, tape: Tape
    ) {
        let B = x.shape[0], H = hiddenSize, G = kind.gateCount * H
        let w = weights
        let hPrev = state.hidden.value.data
        let dhPrev = Tensor(zeros: [B, H])  // the part that skips W_hh
        for b in 0..<B {
            let g = gates.data + b * G
            switch kind {
            case .lstm:
                zoo_lstm_backward_row(
                    g, H, state.cell!.value.data + b * H, cNext!.data + b * H,
                    dh.data + b * H, dc.data + b * H, dhPrev.data + b * H, 0, H)
            case .gru:
                zoo_gru_backward_row(
                    g, hidden!.data + b * G, H, hPrev + b * H, dh.data + b * H, dhPrev.data + b * H, 0, H)
            case .rnnTanh, .rnnRelu:
                zoo_rnn_backward_row(g, dh.data + b * H, dhPrev.data + b * H, kind == .rnnRelu ? 1 : 0, 0, H)
            }
        }
        // gates: dLoss/d(input-side pre-activations); the hidden side is the same
        // except for the GRU, whose backward wrote it into `hidden`.
        let dHiddenSide = hidden?.data ?? gates.data
        let packing = passPacking(tape, rows: B)
        if state.hidden.requiresGrad {
            packing.backwardHidden.multiply(m: B, a: dHiddenSide, lda: G, accumulate: true, c: dhPrev.data, ldc: H)
            state.hidden.gradient().add(dhPrev)
        }
        if let cell = state.cell, cell.requiresGrad { cell.gradient().add(dc) }
        if x.requiresGrad {
            packing.backwardInput.multiply(
                m: B, a: gates.data, lda: G, accumulate: true, c: x.gradient().data, ldc: inputSize)
        }
        // dW_ih and dW_hh: one product each over every step, at the end of the backward pass.
        tape.addWeightGradient(w.inputWeight, dy: gates, x: x.value, rows: B)
        tape.addWeightGradient(w.hiddenWeight, dy: hidden ?? gates, x: state.hidden.value, rows: B)
        accumulateColumnSums(gates.data, rows: B, columns: G, ld: G, into: w.inputBias.gradient().data)
        accumulateColumnSums(dHiddenSide, rows: B, columns: G, ld: G, into: w.hiddenBias.gradient().data)
    }

    /// W_ih and W_hh packed for one training pass's steps: forward (x Wᵀ) and backward (dy W).
    final class PassPacking {
        let forward: (input: PackedWeight, hidden: PackedWeight)
        let backwardInput: PackedWeight
        let backwardHidden: PackedWeight

        init(_ weights: DirectionWeights, kind: CellKind, inputSize: Int, hiddenSize: Int, rows: Int) {
            let G = kind.gateCount * hiddenSize
            let shares = Engine.shares(work: 2 * rows * G * (inputSize + hiddenSize), grain: Engine.productGrain)
            forward = (
                PackedWeight(weights.inputWeight.value, rows: rows, shares: shares),
                PackedWeight(weights.hiddenWeight.value, rows: rows, shares: shares)
            )
            backwardInput = .asStored(weights.inputWeight.value, rows: rows)
            backwardHidden = .asStored(weights.hiddenWeight.value, rows: rows)
        }
    }

    private func passPacking(_ tape: Tape, rows: Int) -> PassPacking {
        tape.kept(for: self) {
            PassPacking(weights, kind: kind, inputSize: inputSize, hiddenSize: hiddenSize, rows: rows)
        }
    }

    /// `buffer` when it already has `shape`, else a new one stored there.
    private func reuse(_ buffer: inout Tensor, _ shape: [Int]) -> Tensor {
        if buffer.shape != shape { buffer = Tensor(uninitialized: shape) }
        return buffer
    }
}

extension RecurrentState {
    /// The rows `rows` of the batch, in that order (repeats allowed): beam search's reordering.
    /// `batchAxis` is 0 for a step cell's (B, H) state, 1 for a stack's (layers · directions, B, H).
    public func selectingRows(_ rows: [Int], batchAxis: Int = 0, tape: Tape) throws -> RecurrentState {
        RecurrentState(
            hidden: try indexSelect(hidden, axis: batchAxis, indices: rows, tape: tape),
            cell: try cell.map { try indexSelect($0, axis: batchAxis, indices: rows, tape: tape) })
    }

    /// The states of several batches as one, in order along `batchAxis` (the converse of
    /// `selectingRows`): separate sequences stepped together.
    public static func joining(_ states: [RecurrentState], batchAxis: Int = 0, tape: Tape) -> RecurrentState {
        RecurrentState(
            hidden: concatenate(states.map(\.hidden), axis: batchAxis, tape: tape),
            cell: states.first?.cell == nil ? nil : concatenate(states.map { $0.cell! }, axis: batchAxis, tape: tape))
    }
}
