/// How a query is scored against each memory position.
public enum AttentionScore: String, Codable, CaseIterable, Sendable {
    /// Luong dot: qᵀ m (query and memory of one size).
    case dot
    /// Luong general: qᵀ W_a m.
    case general
    /// Bahdanau / Show-Attend-Tell additive: vᵀ tanh(W_k m + W_q q + b).
    case additive
}

/// The names of the additive score's three layers under the attention's prefix, and whether
/// the key and energy layers have a bias: the engine's own, or a model's (Show, Attend and
/// Tell's `att_feat`, `att_hidden`, `att_out`, each an `nn.Linear` with its bias; the energy's
/// bias shifts every score alike, so softmax ignores it, but the checkpoint holds it).
public struct AdditiveLayers: Sendable {
    public var key: String, query: String, energy: String
    public var keyBias: Bool, energyBias: Bool

    public init(key: String, query: String, energy: String, keyBias: Bool, energyBias: Bool) {
        self.key = key
        self.query = query
        self.energy = energy
        self.keyBias = keyBias
        self.energyBias = energyBias
    }

    public static let standard = AdditiveLayers(
        key: "key_layer", query: "query_layer", energy: "energy", keyBias: false, energyBias: false)
}

/// Soft attention of queries over a batch of memories of different lengths, as in Luong et al.
/// (dot, general) and Bahdanau et al. / Show, Attend and Tell (additive). Parameters, PyTorch
/// layout (out, in):
/// - general: `<prefix>.linear_in.weight` (Q, M): W_a;
/// - additive: `<prefix>.key_layer.weight` (A, M), `<prefix>.query_layer.weight` (A, Q) and
///   `<prefix>.query_layer.bias` (A), `<prefix>.energy.weight` (1, A): W_k, W_q, b and v.
///
/// Everything is matrix products over the whole batch. The memory's keys (W_a m or W_k m) are
/// computed once per memory by `prepare` and reused at every decoder step. Positions past a
/// memory's length get exactly zero weight and no gradient.
public final class Attention: PackableForDecoding {
    public let score: AttentionScore
    public let querySize: Int
    public let memorySize: Int
    public let attentionSize: Int
    let keyLayer: Linear?
    let queryLayer: Linear?
    let energy: Linear?

    /// A memory ready to be attended to: the values (B, S, M), their keys and the mask.
    public struct Memory {
        public let values: Variable
        public let keys: Variable
        public let lengths: [Int]
        public var batch: Int { values.shape[0] }
        public var positions: Int { values.shape[1] }

        /// The memory of the items `rows` (repeats allowed: beam search's K copies of each), its
        /// keys picked rather than computed again.
        public func selectingRows(_ rows: [Int], tape: Tape) throws -> Memory {
            let selectedValues = try indexSelect(values, axis: 0, indices: rows, tape: tape)
            let selectedKeys =
                keys === values ? selectedValues : try indexSelect(keys, axis: 0, indices: rows, tape: tape)
            return Memory(values: selectedValues, keys: selectedKeys, lengths: rows.map { lengths[$0] })
        }
    }

    /// - attentionSize: the width of the additive score's hidden layer (ignored otherwise).
    public init(
        _ score: AttentionScore, querySize: Int, memorySize: Int, attentionSize: Int? = nil,
        prefix: String, additive layers: AdditiveLayers = .standard, store: ParameterStore, rng: inout RandomGenerator
    ) {
        precondition(score != .dot || querySize == memorySize, "dot attention needs query and memory of one size")
        self.score = score
        self.querySize = querySize
        self.memorySize = memorySize
        self.attentionSize = attentionSize ?? querySize
        let dot = prefix.isEmpty ? "" : prefix + "."
        switch score {
        case .dot:
            keyLayer = nil
            queryLayer = nil
            energy = nil
        case .general:
            keyLayer = Linear(
                inputSize: memorySize, outputSize: querySize, bias: false, name: dot + "linear_in", store: store,
                rng: &rng)
            queryLayer = nil
            energy = nil
        case .additive:
            let A = self.attentionSize
            keyLayer = Linear(
                inputSize: memorySize, outputSize: A, bias: layers.keyBias, name: dot + layers.key, store: store,
                rng: &rng)
            queryLayer = Linear(inputSize: querySize, outputSize: A, name: dot + layers.query, store: store, rng: &rng)
            energy = Linear(
                inputSize: A, outputSize: 1, bias: layers.energyBias, name: dot + layers.energy, store: store, rng: &rng
            )
        }
    }

    /// Computes the keys of `memory` (B, S, M) once; `lengths` (nil: all S) masks the rest.
    public func prepare(memory: Variable, lengths: [Int]? = nil, tape: Tape) throws -> Memory {
        precondition(
            memory.shape.count == 3 && memory.shape[2] == memorySize,
            "attention memory must be (B, S, \(memorySize)), got \(memory.shape)")
        let B = memory.shape[0], S = memory.shape[1]
        if let lengths {
            precondition(lengths.count == B, "\(lengths.count) memory lengths for a batch of \(B)")
            for (b, length) in lengths.enumerated() where length < 1 || length > S {
                throw EngineError.lengthOutOfRange(item: b, length: length, maximum: S)
            }
        }
        let keys = keyLayer.map { $0(memory, tape: tape) } ?? memory
        return Memory(values: memory, keys: keys, lengths: lengths ?? Array(repeating: S, count: B))
    }

    /// Packs the layer a step applies to its query (additive attention's; the other scores
    /// apply theirs to the memory, once).
    public func decoding<T>(rows: Int, _ body: () throws -> T) rethrows -> T {
        guard let queryLayer else { return try body() }
        return try queryLayer.decoding(rows: rows, body)
    }

    /// Attends with `query` (B, Q), or (B, T, Q) for T queries per item at once.
    /// - Returns: the context vectors (B, M) or (B, T, M) and the weights (B, S) or (B, T, S).
    public func callAsFunction(query: Variable, memory: Memory, tape: Tape) throws -> (
        context: Variable, weights: Variable
    ) {
        let single = query.shape.count == 2
        let B = memory.batch, S = memory.positions
        precondition(
            query.shape[0] == B && query.shape.last == querySize,
            "attention query must be (\(B), [T,] \(querySize)), got \(query.shape)")
        let T = single ? 1 : query.shape[1]
        let queries = single ? reshape(query, [B, 1, querySize], tape: tape) : query
        let scores: Variable  // (B, T, S)
        switch score {
        case .dot, .general:
            scores = batchedMatmul(queries, transposed: false, memory.keys, transposed: true, tape: tape)
        case .additive:
            let projected = queryLayer!(queries, tape: tape)  // (B, T, A)
            scores = additiveScores(
                keys: memory.keys, queries: projected, energy: energy!.weight, bias: energy!.bias, tape: tape)
        }
        let mask =
            memory.lengths.allSatisfy { $0 == S }
            ? nil : lengthMask(lengths: memory.lengths, positions: S, rowsPerItem: T)
        let weights = try softmax(scores, axis: 2, mask: mask, tape: tape)
        let context = batchedMatmul(weights, memory.values, tape: tape)  // (B, T, M)
        if single {
            return (reshape(context, [B, memorySize], tape: tape), reshape(weights, [B, S], tape: tape))
        }
        return (context, weights)
    }
}
