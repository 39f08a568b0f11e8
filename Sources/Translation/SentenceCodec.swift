import Foundation
import RNNEngine

/// How sentences become tokens: words (punctuation split off), optionally cut into
/// byte-pair-encoded subwords.
public enum SubwordKind: String, Codable, Sendable, CaseIterable {
    case none
    case bpe
}

/// The vocabulary-building settings of a run (`--vocabulary-size`, `--min-frequency`, ...).
public struct VocabularySettings: Codable, Equatable, Sendable {
    public var subword: SubwordKind
    /// Byte-pair merges to learn (with `.bpe`).
    public var merges: Int
    /// One byte-pair encoding for both sides (true) or one per side.
    public var jointMerges: Bool
    /// Most tokens kept per side, special tokens included; the rest become `<unk>`.
    public var maximumSize: Int
    /// Tokens seen fewer times in the training split become `<unk>`.
    public var minimumFrequency: Int

    public init(
        subword: SubwordKind = .none, merges: Int = 8000, jointMerges: Bool = true,
        maximumSize: Int = 50_000, minimumFrequency: Int = 1
    ) {
        self.subword = subword
        self.merges = merges
        self.jointMerges = jointMerges
        self.maximumSize = maximumSize
        self.minimumFrequency = minimumFrequency
    }
}

/// One side's text ↔ ids: tokenization, byte-pair encoding (if any) and vocabulary, all stored
/// in the checkpoint so a model reads and writes text exactly as it was trained.
public final class SentenceCodec: @unchecked Sendable {
    public static let padding = "<pad>", unknown = "<unk>", start = "<s>", end = "</s>"
    public static let paddingId: Int32 = 0, unknownId: Int32 = 1, startId: Int32 = 2, endId: Int32 = 3

    public let vocabulary: Vocabulary
    public let bytePairs: BytePairEncoding?
    private var segmentCache: [String: [String]] = [:]
    private let lock = NSLock()

    public init(vocabulary: Vocabulary, bytePairs: BytePairEncoding?) {
        self.vocabulary = vocabulary
        self.bytePairs = bytePairs
    }

    /// Builds a side's vocabulary from its training sentences: the special tokens, then the
    /// tokens seen at least `minimumFrequency` times, most frequent first, up to `maximumSize`.
    public static func build(sentences: [String], bytePairs: BytePairEncoding?, settings: VocabularySettings)
        -> SentenceCodec
    {
        let provisional = SentenceCodec(vocabulary: Vocabulary(tokens: []), bytePairs: bytePairs)
        return build(tokenized: sentences.map { provisional.tokens($0) }, bytePairs: bytePairs, settings: settings)
    }

    /// The same from sentences already split into tokens (by `tokens(_:)` of a codec with these byte pairs).
    public static func build(tokenized: [[String]], bytePairs: BytePairEncoding?, settings: VocabularySettings)
        -> SentenceCodec
    {
        var counts: [String: Int] = [:]
        for tokens in tokenized { for token in tokens { counts[token, default: 0] += 1 } }
        let ranked = counts.filter { $0.value >= settings.minimumFrequency }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var vocabulary = Vocabulary(tokens: [padding, unknown, start, end])
        for (token, _) in ranked where vocabulary.count < max(settings.maximumSize, 5) { vocabulary.add(token) }
        return SentenceCodec(vocabulary: vocabulary, bytePairs: bytePairs)
    }

    /// The word counts byte-pair encoding learns from.
    public static func wordCounts(_ sentences: [String]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for sentence in sentences { for word in WordTokenizer.tokens(sentence) { counts[word, default: 0] += 1 } }
        return counts
    }

    /// The tokens of a sentence: words, or their subwords.
    public func tokens(_ sentence: String) -> [String] {
        let words = WordTokenizer.tokens(TextFile.removingByteOrderMarks(sentence))
        guard let bytePairs else { return words }
        lock.lock()
        defer { lock.unlock() }
        var result: [String] = []
        for word in words {
            if let cached = segmentCache[word] {
                result += cached
            } else {
                let pieces = bytePairs.segment(word)
                if segmentCache.count < 1_000_000 { segmentCache[word] = pieces }
                result += pieces
            }
        }
        return result
    }

    /// The ids of a sentence (no start or end token) and how many tokens became `<unk>`.
    public func encode(_ sentence: String) -> (ids: [Int32], unknown: Int) {
        encode(tokens: tokens(sentence))
    }

    /// The ids of tokens, and how many became `<unk>`.
    public func encode(tokens: [String]) -> (ids: [Int32], unknown: Int) {
        var unknown = 0
        let ids = tokens.map { token -> Int32 in
            if let id = vocabulary.id(of: token) { return id }
            unknown += 1
            return Self.unknownId
        }
        return (ids, unknown)
    }

    /// The tokens of ids, special tokens left out (`<unk>` kept, so a reader sees the gap).
    public func tokenStrings(_ ids: [Int32]) -> [String] {
        ids.filter { $0 != Self.paddingId && $0 != Self.startId && $0 != Self.endId && Int($0) < vocabulary.count }
            .map { vocabulary.token($0) }
    }

    /// Normal text from ids: subwords joined into words, words detokenized.
    public func decode(_ ids: [Int32]) -> String {
        WordTokenizer.detokenize(words(tokenStrings(ids)))
    }

    /// Tokens as words: byte-pair subwords joined, words unchanged.
    public func words(_ tokens: [String]) -> [String] {
        // `<unk>` stands for a whole word.
        bytePairs == nil
            ? tokens : BytePairEncoding.join(tokens.map { $0 == Self.unknown ? $0 + BytePairEncoding.endOfWord : $0 })
    }

    /// A token as a reader should see it (an attention map's axis): the end-of-word mark dropped.
    public func displayToken(_ id: Int32) -> String {
        let token = Int(id) < vocabulary.count ? vocabulary.token(id) : "?"
        guard bytePairs != nil else { return token }
        return token.hasSuffix(BytePairEncoding.endOfWord)
            ? String(token.dropLast(BytePairEncoding.endOfWord.count)) : token + "@@"
    }
}
