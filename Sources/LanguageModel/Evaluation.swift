import Foundation
import RNNEngine

/// The score of a split, scored as one stream.
public struct LanguageModelScore: Codable, Sendable {
    /// Mean negative log-likelihood in nats per predicted token.
    public var loss: Double
    public var perplexity: Double
    public var bitsPerToken: Double
    /// For character models: bits per character (each token is one character).
    public var bitsPerChar: Double?
    /// Predicted tokens (every token after the first).
    public var tokens: Int
    /// Tokens outside the vocabulary that were dropped (a vocabulary without `<unk>`).
    public var unknown: Int
    /// Tokens outside the vocabulary that were scored as `<unk>` (a vocabulary with one).
    public var mappedToUnknown: Int

    enum CodingKeys: String, CodingKey {
        case loss, perplexity
        case bitsPerToken = "bits_per_token"
        case bitsPerChar = "bits_per_char"
        case tokens, unknown
        case mappedToUnknown = "mapped_to_unk"
    }

    init(nats: Double, count: Int, unknown: Int, mappedToUnknown: Int, characters: Bool) {
        loss = nats / Double(max(count, 1))
        perplexity = Foundation.exp(loss)
        bitsPerToken = loss / Foundation.log(2)
        bitsPerChar = characters ? bitsPerToken : nil
        tokens = count
        self.unknown = unknown
        self.mappedToUnknown = mappedToUnknown
    }
}

extension LanguageModelNetwork {
    /// Scores `ids` as one stream: equal to a batch-size-1 pass from a zero state over the whole
    /// text, every token after the first predicted from all before it. Runs in chunks of
    /// `chunk` timesteps with the state carried, the output layer one GEMM per chunk.
    public func score(_ ids: [Int32], unknown: Int = 0, mappedToUnknown: Int = 0, chunk: Int = 256) throws
        -> LanguageModelScore
    {
        var rng = RandomGenerator(seed: 0)
        var state: RecurrentState? = nil
        var nats = 0.0
        var count = 0
        var start = 0
        let V = vocabularySize
        while start < ids.count - 1 {
            let T = min(chunk, ids.count - 1 - start)
            let inputs = Array(ids[start..<(start + T)])
            let targets = Array(ids[(start + 1)...(start + T)])
            let tape = Tape.inference()
            let (logits, newState) = try forward(inputs, steps: T, batch: 1, state: state, tape: tape, rng: &rng)
            let (sum, scored) = targets.withUnsafeBufferPointer { t in
                crossEntropyRows(logits: logits.value.data, rows: T, classes: V, targets: t.baseAddress!)
            }
            nats += sum
            count += scored
            state = newState
            start += T
        }
        return LanguageModelScore(
            nats: nats, count: count, unknown: unknown, mappedToUnknown: mappedToUnknown,
            characters: config.tokens == .char)
    }

    /// Scores a text: tokenised with the model's tokenization; unseen tokens map to `<unk>` or
    /// are dropped and counted.
    public func score(text: String) throws -> LanguageModelScore {
        let (ids, dropped, mapped) = Corpus.encode(config.tokens.tokens(text), vocabulary: vocabulary)
        return try score(ids, unknown: dropped, mappedToUnknown: mapped)
    }
}
