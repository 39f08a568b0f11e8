// One direction of one recurrent layer over a whole sequence: the matrix products around
// the pointwise cell steps. The input projection of all timesteps is one GEMM before the
// time loop, the loop has one recurrent GEMM per step and allocates nothing, and the weight
// gradients of all timesteps are one GEMM each after the backward loop.

/// The four PyTorch tensors of one direction of one layer.
public struct DirectionWeights {
    public let inputWeight: Parameter  // weight_ih: (G·H, I)
    public let hiddenWeight: Parameter  // weight_hh: (G·H, H)
    public let inputBias: Parameter  // bias_ih: (G·H)
    public let hiddenBias: Parameter  // bias_hh: (G·H)

    /// Declares `<prefix>weight_ih<suffix>`, ... with PyTorch's shapes and initialisation
    /// (uniform ±1/√H): the stack's `rnn.weight_ih_l0_reverse`, a cell's `cell.weight_ih`.
    init(
        _ kind: CellKind, inputSize: Int, hiddenSize: Int, prefix: String, suffix: String,
        store: ParameterStore, rng: inout RandomGenerator
    ) {
        let bound = 1 / Float(hiddenSize).squareRoot()
        let G = kind.gateCount * hiddenSize
        func declare(_ name: String, _ shape: [Int]) -> Parameter {
            store.declare(prefix + name + suffix, shape: shape) { rng.fillUniform($0, -bound, bound) }
        }
        inputWeight = declare("weight_ih", [G, inputSize])
        hiddenWeight = declare("weight_hh", [G, hiddenSize])
        inputBias = declare("bias_ih", [G])
        hiddenBias = declare("bias_hh", [G])
    }

    /// Adds `value` to an LSTM's forget-gate bias (the second of the gate blocks i, f, g, o),
    /// as Keras's `unit_forget_bias` does with 1: a forget gate starting near 1 keeps the cell
    /// state, and its gradient, across many steps. PyTorch adds nothing.
    public func addForgetGateBias(_ value: Float) {
        let H = inputBias.value.count / 4
        precondition(hiddenWeight.value.shape[0] == 4 * H, "a forget gate is an LSTM's")
        for k in H..<(2 * H) { inputBias.value.data[k] += value }
    }
}

/// What the forward pass of one direction keeps for its backward pass.
///
/// `states` holds T+1 hidden states laid out so that the state *before* timestep t and the
/// state *after* it are both contiguous (T, B, H) views: for the forward direction
/// states[0] = h0 and states[t+1] = h_t; for the reverse direction states[T] = h0 and
/// states[t] = h_t. `cells` does the same for the LSTM's c.
final class DirectionCache {
    let kind: CellKind
    let steps: Int, batch: Int, hiddenSize: Int
    let reverse: Bool
    let gates: Tensor  // (T, B, G·H): activated gates; their gradients after backward
    let hiddenProjection: Tensor?  // GRU only: (T, B, 3H) h W_hhᵀ (+ b_hn in the n block)
    let states: Tensor  // (T+1, B, H)
    let cells: Tensor?  // (T+1, B, H), LSTM only

    init(kind: CellKind, steps: Int, batch: Int, hiddenSize: Int, reverse: Bool) {
        self.kind = kind
        self.steps = steps
        self.batch = batch
        self.hiddenSize = hiddenSize
        self.reverse = reverse
        // Every element is written by the forward pass (the initial state by the caller), so
        // nothing is zero-filled first.
        gates = Tensor(uninitialized: [steps, batch, kind.gateCount * hiddenSize])
        hiddenProjection = kind == .gru ? Tensor(uninitialized: [steps, batch, 3 * hiddenSize]) : nil
        states = Tensor(uninitialized: [steps + 1, batch, hiddenSize])
        cells = kind.hasCellState ? Tensor(uninitialized: [steps + 1, batch, hiddenSize]) : nil
    }

    /// Index in `states` of the state before timestep t, and of the state after it.
    @inline(__always) func previousIndex(_ t: Int) -> Int { reverse ? t + 1 : t }
    @inline(__always) func nextIndex(_ t: Int) -> Int { reverse ? t : t + 1 }
    /// Index in `states` of the initial and of the final state.
    var initialIndex: Int { reverse ? steps : 0 }
    var finalIndex: Int { reverse ? 0 : steps }

    /// The state before every timestep, as a (T·B, H) matrix aligned with the inputs.
    var previousStates: UnsafeMutablePointer<Float> { states.data + (reverse ? batch * hiddenSize : 0) }
    /// The state after every timestep (the outputs, before masking), (T·B, H).
    var nextStates: UnsafeMutablePointer<Float> { states.data + (reverse ? 0 : batch * hiddenSize) }
}

/// Where a direction's inputs come from.
enum DirectionInput {
    /// A dense (T, B, I) input.
    case dense(UnsafePointer<Float>, size: Int)
    /// Token ids (T·B, time-major) into an embedding table (V, E). Each token's input projection
    /// is a row of table · W_ihᵀ, computed once for the vocabulary instead of once per position:
    /// far fewer flops when V < T·B (character models).
    case tokens(UnsafePointer<Int32>, table: Tensor)

    var size: Int {
        switch self {
        case .dense(_, let size): return size
        case .tokens(_, let table): return table.shape[1]
        }
    }
}

/// How many rows of a batch are still inside their sequence at each timestep. When the lengths
/// never increase along the batch (longest first, as the bucketed sampler and the decoders
/// order it), those rows are a prefix, and the recurrent products skip the rest as PyTorch's
/// packed sequences do; the cell steps already carry a finished row's state and zero its gates,
/// so the skipped products are exactly the ones whose result was thrown away.
struct ActiveRows {
    private let counts: [Int]?
    let batch: Int

    init(lengths: UnsafePointer<Int32>?, batch: Int, steps: Int) {
        self.batch = batch
        guard let lengths, batch > 1, (1..<batch).allSatisfy({ lengths[$0] <= lengths[$0 - 1] }) else {
            counts = nil
            return
        }
        var counts = [Int](repeating: 0, count: steps)
        for b in 0..<batch { for t in 0..<min(steps, max(0, Int(lengths[b]))) { counts[t] = b + 1 } }
        self.counts = counts
    }

    /// Rows 0..<count(t) need the recurrent product at timestep t.
    func count(_ t: Int) -> Int { counts?[t] ?? batch }
}

/// The hidden units' chunks of a time loop whose timesteps each cost `flops`, and their queues:
/// as many shares as that work pays for, and no more than there are chunks.
private func timestepChunks(hiddenSize: Int, flops: Int) -> ([Range<Int>], ChunkQueues) {
    let shares = Engine.shares(work: flops, grain: Engine.timestepGrain)
    let chunks = workChunks(count: hiddenSize, members: shares)
    return (chunks, ChunkQueues(count: chunks.count, shares: min(shares, chunks.count)))
}

/// Runs one direction forward. `h0`/`c0` are (B, H) or nil for zeros.
///
/// The hidden units are cut into chunks (`workChunks`), owned in runs by the shares of the
/// fork (as many as a timestep's work pays for): per timestep a member computes the recurrent
/// product for its chunks' gate columns and then their pointwise update, so one fork-join per
/// timestep is the only synchronisation; a member keeps its part of W_hh in its cache, and one
/// slowed by a busy core leaves chunks to the others (`ChunkQueues`).
func recurrentDirectionForward(
    _ cache: DirectionCache, input: DirectionInput, weights w: DirectionWeights,
    h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?, lengths: UnsafePointer<Int32>?
) {
    let T = cache.steps, B = cache.batch, H = cache.hiddenSize
    let G = cache.kind.gateCount * H
    let gates = cache.gates.data
    let bih = w.inputBias.value.data, bhh = w.hiddenBias.value.data
    let whh = w.hiddenWeight.value.data
    let kind = cache.kind

    // Biases first, then all timesteps' input projections in one GEMM: (T·B, I) × (I, G·H).
    // The GRU keeps b_hh on the hidden side, where r multiplies its n block.
    let rowBias = Tensor(zeros: [G])
    for j in 0..<G { rowBias[j] = kind == .gru ? bih[j] : bih[j] + bhh[j] }
    switch input {
    case .dense(let x, let I):
        parallelChunks(T * B, minimumPerChunk: 16) { rows in
            for row in rows { (gates + row * G).update(from: rowBias.data, count: G) }
        }
        BLAS.parallelSgemm(
            transB: true, m: T * B, n: G, k: I, a: x, lda: I,
            b: w.inputWeight.value.data, ldb: I, beta: 1, c: gates, ldc: G)
    case .tokens(let ids, let table):
        // projections (V, G·H) = bias + table · W_ihᵀ, then one row copy per position.
        let V = table.shape[0], E = table.shape[1]
        let projections = Tensor(zeros: [V, G])
        for v in 0..<V { (projections.data + v * G).update(from: rowBias.data, count: G) }
        BLAS.parallelSgemm(
            transB: true, m: V, n: G, k: E, a: table.data, lda: E,
            b: w.inputWeight.value.data, ldb: E, beta: 1, c: projections.data, ldc: G)
        parallelChunks(T * B, minimumPerChunk: 16) { rows in
            for row in rows { (gates + row * G).update(from: projections.data + Int(ids[row]) * G, count: G) }
        }
    }

    let initial = cache.states.data + cache.initialIndex * B * H
    if let h0 { initial.update(from: h0, count: B * H) } else { initial.update(repeating: 0, count: B * H) }
    if let cells = cache.cells {
        let initialCell = cells.data + cache.initialIndex * B * H
        if let c0 { initialCell.update(from: c0, count: B * H) } else { initialCell.update(repeating: 0, count: B * H) }
    }

    let team = Engine.team
    let gateCount = kind.gateCount
    let (chunks, queues) = timestepChunks(hiddenSize: H, flops: 2 * B * H * G)
    // W_hh packed once for the whole sequence, one block per (chunk, gate): the rows of the
    // chunk's units in each gate block.
    let recurrent = PackedColumns(
        whh, leadingDimension: H, transposed: true, k: H,
        columnBlocks: (0..<chunks.count * gateCount).map { index in
            let units = chunks[index / gateCount]
            let offset = (index % gateCount) * H
            return (offset + units.lowerBound)..<(offset + units.upperBound)
        },
        rows: B, uses: T, shares: queues.shares, owner: { queues.share(of: $0 / gateCount) })
    let active = ActiveRows(lengths: lengths, batch: B, steps: T)
    for s in 0..<T {
        let t = cache.reverse ? T - 1 - s : s
        let g = gates + t * B * G
        let hPrev = cache.states.data + cache.previousIndex(t) * B * H
        let hNext = cache.states.data + cache.nextIndex(t) * B * H
        queues.reset()
        team.run(shares: queues.shares) { share in
            while let chunk = queues.next(for: share) {
                let units = chunks[chunk]
                let j0 = units.lowerBound
                // The recurrent product for this chunk's units, one product per gate block.
                let target = kind == .gru ? cache.hiddenProjection!.data + t * B * G : g
                for gate in 0..<gateCount {
                    recurrent.multiply(
                        block: chunk * gateCount + gate, m: active.count(t), a: hPrev, lda: H,
                        accumulate: kind != .gru, c: target + gate * H + j0, ldc: G)
                }
                switch kind {
                case .lstm:
                    let cells = cache.cells!.data
                    lstmStepForward(
                        gates: g, cPrev: cells + cache.previousIndex(t) * B * H, hPrev: hPrev,
                        cNext: cells + cache.nextIndex(t) * B * H, hNext: hNext,
                        batch: B, hiddenSize: H, units: units, time: t, lengths: lengths)
                case .gru:
                    gruStepForward(
                        gates: g, hidden: target, hiddenBias: bhh, hPrev: hPrev, hNext: hNext,
                        batch: B, hiddenSize: H, units: units, time: t, lengths: lengths)
                case .rnnTanh, .rnnRelu:
                    simpleRNNStepForward(
                        gates: g, hPrev: hPrev, hNext: hNext, batch: B, hiddenSize: H,
                        relu: kind == .rnnRelu, units: units, time: t, lengths: lengths)
                }
            }
        }
    }
}

/// Scratch buffers of the backward time loop, (B, H) each, allocated once per call.
struct DirectionBackwardScratch {
    let carry: [Tensor], dc: Tensor
    init(batch: Int, hiddenSize: Int) {
        carry = [Tensor(zeros: [batch, hiddenSize]), Tensor(zeros: [batch, hiddenSize])]
        dc = Tensor(zeros: [batch, hiddenSize])
    }
}

/// Runs one direction backward.
///
/// - `dOutput` (T, B, H): dLoss/d(output of this direction), zero on padded rows.
/// - `dFinalH`/`dFinalC` (B, H): dLoss/d(final state), or nil.
/// - Accumulates the weight gradients, adds dLoss/dinput into `dInput` when given — (T, B, I)
///   for a dense input, the embedding table's gradient (V, E) for tokens — and adds
///   dLoss/dh0 (and dc0) into `dh0`/`dc0` when given.
///
/// Per timestep, each chunk of units (taken by whichever member is free) first finishes the
/// previous step's dh for its units (its columns of dGates · W_hh), then runs the pointwise
/// backward of its units; both touch only its own columns, so one fork-join per timestep
/// suffices.
func recurrentDirectionBackward(
    _ cache: DirectionCache, input: DirectionInput, weights w: DirectionWeights,
    dOutput: UnsafePointer<Float>, dFinalH: UnsafePointer<Float>?, dFinalC: UnsafePointer<Float>?,
    dInput: UnsafeMutablePointer<Float>?, dh0: UnsafeMutablePointer<Float>?, dc0: UnsafeMutablePointer<Float>?,
    lengths: UnsafePointer<Int32>?, scratch: DirectionBackwardScratch
) {
    let T = cache.steps, B = cache.batch, H = cache.hiddenSize
    let G = cache.kind.gateCount * H
    let kind = cache.kind
    let gates = cache.gates.data
    let whh = w.hiddenWeight.value.data
    // The hidden-side gate gradients are `gates` itself, except for the GRU's (`hiddenProjection`).
    let hiddenSide = cache.hiddenProjection?.data ?? gates
    let carry = [scratch.carry[0].data, scratch.carry[1].data]
    let dc = scratch.dc.data
    if let dFinalH { carry[0].update(from: dFinalH, count: B * H) } else { carry[0].update(repeating: 0, count: B * H) }
    if let dFinalC { dc.update(from: dFinalC, count: B * H) } else { dc.update(repeating: 0, count: B * H) }

    let team = Engine.team
    func timeAt(_ s: Int) -> Int { cache.reverse ? s : T - 1 - s }  // the forward order, reversed
    let (chunks, queues) = timestepChunks(hiddenSize: H, flops: 2 * B * H * G)
    // W_hh (G·H × H) packed once, one block per chunk: the columns of its units.
    let recurrent = PackedColumns(
        whh, leadingDimension: H, transposed: false, k: G,
        columnBlocks: chunks, rows: B, uses: T, shares: queues.shares, owner: { queues.share(of: $0) })
    let active = ActiveRows(lengths: lengths, batch: B, steps: T)

    for s in 0...T {
        queues.reset()
        team.run(shares: queues.shares) { share in
            while let chunk = queues.next(for: share) {
                let units = chunks[chunk]
                let j0 = units.lowerBound
                if s > 0 {
                    // dh_{prev} (this chunk's columns) += dHidden(t_{s−1}) · W_hh[:, units]
                    let previous = hiddenSide + timeAt(s - 1) * B * G
                    recurrent.multiply(
                        block: chunk, m: active.count(timeAt(s - 1)), a: previous, lda: G, accumulate: true,
                        c: carry[s % 2] + j0, ldc: H)
                }
                guard s < T else { continue }
                let t = timeAt(s)
                let g = gates + t * B * G
                let dh = carry[s % 2], dhPrev = carry[(s + 1) % 2]
                let dy = dOutput + t * B * H
                for b in 0..<B {
                    for j in units { dh[b * H + j] += dy[b * H + j] }
                }
                switch kind {
                case .lstm:
                    let cells = cache.cells!.data
                    lstmStepBackward(
                        gates: g, cPrev: cells + cache.previousIndex(t) * B * H,
                        cNext: cells + cache.nextIndex(t) * B * H, dh: dh, dc: dc, dhPrev: dhPrev,
                        batch: B, hiddenSize: H, units: units, time: t, lengths: lengths)
                case .gru:
                    gruStepBackward(
                        gates: g, hidden: hiddenSide + t * B * G,
                        hPrev: cache.states.data + cache.previousIndex(t) * B * H,
                        dh: dh, dhPrev: dhPrev, batch: B, hiddenSize: H, units: units, time: t, lengths: lengths)
                case .rnnTanh, .rnnRelu:
                    simpleRNNStepBackward(
                        gates: g, dh: dh, dhPrev: dhPrev, batch: B, hiddenSize: H,
                        relu: kind == .rnnRelu, units: units, time: t, lengths: lengths)
                }
            }
        }
    }
    // Added, not written: another op may have used the initial state too.
    if let dh0 {
        let d = carry[T % 2]
        for k in 0..<B * H { dh0[k] += d[k] }
    }
    if let dc0 { for k in 0..<B * H { dc0[k] += dc[k] } }

    // Weight gradients of all timesteps at once.
    let rows = T * B
    BLAS.parallelSgemm(
        transA: true, m: G, n: H, k: rows, a: hiddenSide, lda: G, b: cache.previousStates, ldb: H,
        beta: 1, c: w.hiddenWeight.grad!.data, ldc: H)
    accumulateColumnSums(hiddenSide, rows: rows, columns: G, ld: G, into: w.hiddenBias.grad!.data)
    switch input {
    case .dense(let x, let I):
        BLAS.parallelSgemm(
            transA: true, m: G, n: I, k: rows, a: gates, lda: G, b: x, ldb: I,
            beta: 1, c: w.inputWeight.grad!.data, ldc: I)
        accumulateColumnSums(gates, rows: rows, columns: G, ld: G, into: w.inputBias.grad!.data)
        if let dInput {
            BLAS.parallelSgemm(
                m: rows, n: I, k: G, a: gates, lda: G, b: w.inputWeight.value.data, ldb: I,
                beta: 1, c: dInput, ldc: I)
        }
    case .tokens(let ids, let table):
        // Sum the gate gradients of each token (V, G·H); then dW_ih = sumsᵀ · table,
        // db_ih = Σ sums, dTable = sums · W_ih: vocabulary-sized products, not position-sized.
        let V = table.shape[0], E = table.shape[1]
        let sums = Tensor(zeros: [V, G])
        parallelChunks(G, minimumPerChunk: 64) { columns in
            for row in 0..<rows {
                let source = gates + row * G, target = sums.data + Int(ids[row]) * G
                for j in columns { target[j] += source[j] }
            }
        }
        BLAS.parallelSgemm(
            transA: true, m: G, n: E, k: V, a: sums.data, lda: G, b: table.data, ldb: E,
            beta: 1, c: w.inputWeight.grad!.data, ldc: E)
        accumulateColumnSums(sums.data, rows: V, columns: G, ld: G, into: w.inputBias.grad!.data)
        if let dInput {
            BLAS.parallelSgemm(
                m: V, n: E, k: G, a: sums.data, lda: G, b: w.inputWeight.value.data, ldb: E,
                beta: 1, c: dInput, ldc: E)
        }
    }
}
