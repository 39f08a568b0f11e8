import Foundation
import RNNEngine

/// Captions as the model reads and writes them: lower-cased words (letters, digits and inner
/// apostrophes; every other character separates words, as the COCO caption tools tokenize),
/// ids from a vocabulary built on the training captions.
public struct CaptionCodec: Sendable {
    public static let padding = "<pad>", unknown = "<unk>", start = "<start>", end = "<end>"
    public static let paddingId: Int32 = 0, unknownId: Int32 = 1, startId: Int32 = 2, endId: Int32 = 3

    public let vocabulary: Vocabulary

    public init(vocabulary: Vocabulary) { self.vocabulary = vocabulary }

    /// The words of a caption.
    public static func words(_ caption: String) -> [String] {
        var words: [String] = [], current = ""
        for character in caption.lowercased() {
            if character.isLetter || character.isNumber || (character == "'" && !current.isEmpty) {
                current.append(character)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words.map { $0.hasSuffix("'") ? String($0.dropLast()) : $0 }
    }

    /// A vocabulary of the words seen at least `minimumFrequency` times, most frequent first
    /// (ties alphabetically), at most `maximumSize` entries with the four special tokens.
    public static func build(captions: [String], minimumFrequency: Int = 1, maximumSize: Int = 50_000) -> CaptionCodec {
        var counts: [String: Int] = [:]
        for caption in captions { for word in words(caption) { counts[word, default: 0] += 1 } }
        let kept = counts.filter { $0.value >= minimumFrequency }.sorted {
            $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key
        }
        let tokens = [padding, unknown, start, end] + kept.prefix(max(0, maximumSize - 4)).map(\.key)
        return CaptionCodec(vocabulary: Vocabulary(tokens: tokens))
    }

    /// Ids of a caption's words (unknown words as `<unk>`), without start or end.
    public func encode(_ caption: String) -> [Int32] {
        Self.words(caption).map { vocabulary.id(of: $0) ?? Self.unknownId }
    }

    /// The text of ids, stopping at the end token, special tokens left out.
    public func decode(_ ids: [Int32]) -> String {
        var words: [String] = []
        for id in ids {
            if id == Self.endId { break }
            if id == Self.paddingId || id == Self.startId || Int(id) >= vocabulary.count { continue }
            words.append(vocabulary.token(id))
        }
        return words.joined(separator: " ")
    }

    /// A token for display (attention maps): the word, or its special name.
    public func displayToken(_ id: Int32) -> String { Int(id) < vocabulary.count ? vocabulary.token(id) : "?" }
}
