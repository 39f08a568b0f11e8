import Foundation
import RNNEngine

/// A character language model's next-character log-probabilities over given symbols (a speech
/// recogniser's alphabet), for shallow fusion: the state after each prefix is computed once and
/// kept.
public final class CharacterLanguageModelScorer: PrefixScorer {
    let model: LanguageModelNetwork
    public let symbols: [Character]
    /// LM token id of each symbol, nil when the LM never saw it.
    let symbolIds: [Int32?]
    private var cache: [String: (state: RecurrentState?, logProbabilities: [Float])] = [:]
    /// Prefixes kept at most (each holds the LM's state: about 2 KB for a 256-unit LSTM): the
    /// cache held every prefix of a whole split, and of every sweep of `zoo tune speech`. When
    /// full it starts again; a prefix whose parent was dropped recomputes the parent.
    let capacity: Int
    var cachedPrefixes: Int { cache.count }
    /// Log-probability given to a symbol the LM does not know.
    static let unknownLogProbability: Float = -10

    public init(model: LanguageModelNetwork, symbols: [Character], capacity: Int = 20_000) throws {
        guard model.config.tokens == .char else {
            throw LanguageModelError.invalidConfig(
                "shallow fusion needs a character language model (zoo train lm --tokens char)")
        }
        self.model = model
        self.symbols = symbols
        self.capacity = max(1, capacity)
        symbolIds = symbols.map { model.vocabulary.id(of: String($0)) }
    }

    /// log p(symbol | prefix) for every symbol.
    public func logProbabilities(after prefix: String) throws -> [Float] {
        if let cached = cache[prefix] { return cached.logProbabilities }
        return try advance([prefix])[0]
    }

    /// The same for several prefixes: those not cached yet advance together, as one batch of
    /// the LM (in sorted order, so that a run scores them the same way every time).
    public func logProbabilities(afterEach prefixes: [String]) throws -> [[Float]] {
        let missing = Set(prefixes.filter { cache[$0] == nil }).sorted()
        var computed: [String: [Float]] = [:]
        if !missing.isEmpty {
            for (prefix, values) in zip(missing, try advance(missing)) { computed[prefix] = values }
        }
        // A prefix cached before may have been dropped since (the cache starts again when full).
        return try prefixes.map { try computed[$0] ?? logProbabilities(after: $0) }
    }

    /// Runs one LM step for each prefix from its parent's state (the prefix without its last
    /// character, computed first where it is missing) with the last character as input; a line
    /// break starts the text, as the LM saw lines begin. Caches and returns the results.
    private func advance(_ prefixes: [String]) throws -> [[Float]] {
        var parents: [RecurrentState?] = [], inputs: [Int32] = []
        for prefix in prefixes {
            if prefix.isEmpty {
                parents.append(nil)
                inputs.append(model.vocabulary.id(of: "\n") ?? 0)
            } else {
                let parent = String(prefix.dropLast())
                if cache[parent] == nil { _ = try advance([parent]) }
                parents.append(cache[parent]?.state)
                inputs.append(model.vocabulary.id(of: String(prefix.last!)) ?? model.vocabulary.id(of: " ") ?? 0)
            }
        }
        var rng = RandomGenerator(seed: 0)
        let tape = Tape.inference()
        // One prefix alone keeps its parent's state as it is (nil: the LM's zero state).
        let state =
            prefixes.count == 1
            ? parents[0]
            : RecurrentState.joining(parents.map { $0 ?? model.zeroState(batch: 1) }, batchAxis: 1, tape: tape)
        let (logits, next) = try model.forward(
            inputs, steps: 1, batch: prefixes.count, state: state, tape: tape, rng: &rng)
        let normalized = try logSoftmax(logits, axis: 2, tape: tape).value
        let V = normalized.shape[2]
        var results: [[Float]] = []
        for (row, prefix) in prefixes.enumerated() {
            let values = symbolIds.map { id in id.map { normalized[row * V + Int($0)] } ?? Self.unknownLogProbability }
            if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }
            let own = prefixes.count == 1 ? next : try next.selectingRows([row], batchAxis: 1, tape: tape)
            cache[prefix] = (own, values)
            results.append(values)
        }
        return results
    }
}
