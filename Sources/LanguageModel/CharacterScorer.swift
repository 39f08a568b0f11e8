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
        // The prefix's state: its parent's, advanced by its last character (a line break
        // starts the text, as the LM saw lines begin).
        var rng = RandomGenerator(seed: 0)
        let parentState: RecurrentState?
        let input: Int32
        if prefix.isEmpty {
            parentState = nil
            input = model.vocabulary.id(of: "\n") ?? 0
        } else {
            _ = try logProbabilities(after: String(prefix.dropLast()))
            parentState = cache[String(prefix.dropLast())]?.state
            input = model.vocabulary.id(of: String(prefix.last!)) ?? model.vocabulary.id(of: " ") ?? 0
        }
        let (logits, state) = try model.forward(
            [input], steps: 1, batch: 1, state: parentState, tape: Tape.inference(), rng: &rng)
        let normalized = try logSoftmax(logits, axis: 2, tape: Tape.inference()).value
        let values = symbolIds.map { id in id.map { normalized[Int($0)] } ?? Self.unknownLogProbability }
        if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }
        cache[prefix] = (state, values)
        return values
    }
}
