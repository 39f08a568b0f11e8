/// A lookup table of vectors, PyTorch's `nn.Embedding`: weight (V, E) initialised N(0, 1),
/// the padding row (if any) zero and never updated by gradients.
public final class Embedding {
    public let weight: Parameter
    public let paddingIndex: Int?
    public var vocabularySize: Int { weight.shape[0] }
    public var embeddingSize: Int { weight.shape[1] }

    public init(
        vocabularySize: Int, embeddingSize: Int, paddingIndex: Int? = nil, name: String,
        store: ParameterStore, rng: inout RandomGenerator
    ) {
        self.paddingIndex = paddingIndex
        weight = store.declare(name + ".weight", shape: [vocabularySize, embeddingSize]) { table in
            rng.fillNormal(table)
            if let paddingIndex {
                (table.data + paddingIndex * embeddingSize).update(repeating: 0, count: embeddingSize)
            }
        }
    }

    /// Looks up `ids`, giving `shape + [E]`; an id outside the table throws, naming it.
    public func callAsFunction(_ ids: [Int32], shape: [Int], tape: Tape) throws -> Variable {
        try embeddingLookup(ids, shape: shape, table: weight, paddingIndex: paddingIndex, tape: tape)
    }
}

/// out (…, E) = table[ids]. An id outside 0..<V throws `EngineError.indexOutOfRange`.
public func embeddingLookup(_ ids: [Int32], shape: [Int], table: Variable, paddingIndex: Int?, tape: Tape) throws
    -> Variable
{
    let V = table.shape[0], E = table.shape[1]
    precondition(shape.reduce(1, *) == ids.count, "embedding: \(ids.count) ids for shape \(shape)")
    try checkTokenIds(ids, below: V)
    let out = Tensor(zeros: shape + [E])
    for (n, id) in ids.enumerated() {
        (out.data + n * E).update(from: table.value.data + Int(id) * E, count: E)
    }
    let result = Variable(out, requiresGrad: tape.needsGradient(table))
    if result.requiresGrad {
        tape.record {
            guard let dOut = result.grad else { return }
            let dTable = table.gradient().data
            for (n, id) in ids.enumerated() where Int(id) != paddingIndex {
                let row = dTable + Int(id) * E, d = dOut.data + n * E
                for j in 0..<E { row[j] += d[j] }
            }
        }
    }
    return result
}

/// Throws for the first id outside 0..<V: ids come from user data and vocabularies.
func checkTokenIds(_ ids: [Int32], below V: Int) throws {
    if let bad = ids.first(where: { $0 < 0 || Int($0) >= V }) {
        throw EngineError.indexOutOfRange(what: "token id", index: Int(bad), bound: V)
    }
}
