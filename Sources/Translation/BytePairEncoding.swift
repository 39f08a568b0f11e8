import Foundation

/// Byte-pair encoding (Sennrich et al., 2016): learned from a corpus' word counts by merging
/// the most frequent adjacent pair of symbols, again and again; applied to a word by replaying
/// the merges in the order they were learned. A word's last symbol carries `endOfWord`, so
/// subwords join back into words without any other marker.
///
///     learned: "l o", "lo w</w>", ...     segment("lower") = ["low", "er</w>"]
public struct BytePairEncoding: Codable, Equatable, Sendable {
    public static let endOfWord = "</w>"

    /// The merges, first learned first.
    public let merges: [[String]]
    private let ranks: [String: Int]

    public init(merges: [[String]]) {
        self.merges = merges
        var ranks: [String: Int] = [:]
        for (rank, pair) in merges.enumerated() where pair.count == 2 {
            ranks[pair[0] + " " + pair[1]] = ranks[pair[0] + " " + pair[1]] ?? rank
        }
        self.ranks = ranks
    }

    enum CodingKeys: String, CodingKey { case merges }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(merges: try container.decode([[String]].self, forKey: .merges))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(merges, forKey: .merges)
    }

    /// Learns up to `merges` merges from word counts; stops early when no pair occurs twice.
    /// Ties go to the pair that sorts first, so the result does not depend on dictionary order.
    public static func learn(wordCounts: [String: Int], merges maximum: Int) -> BytePairEncoding {
        struct Pair: Hashable { let left: String, right: String }
        // Words sorted for a deterministic order; each as its symbols.
        let entries = wordCounts.filter { !$0.key.isEmpty }.sorted { $0.key < $1.key }
        var words = entries.map { initialSymbols($0.key) }
        let counts = entries.map(\.value)
        var pairCounts: [Pair: Int] = [:]
        var wordsWithPair: [Pair: Set<Int>] = [:]
        func account(_ index: Int, sign: Int) {
            let symbols = words[index]
            guard symbols.count > 1 else { return }
            for k in 0..<(symbols.count - 1) {
                let pair = Pair(left: symbols[k], right: symbols[k + 1])
                pairCounts[pair, default: 0] += sign * counts[index]
                if sign > 0 { wordsWithPair[pair, default: []].insert(index) }
            }
        }
        for index in words.indices { account(index, sign: 1) }

        var learned: [[String]] = []
        while learned.count < maximum {
            var best: (pair: Pair, count: Int)?
            for (pair, count) in pairCounts where count >= 2 {
                if let b = best {
                    if count > b.count || (count == b.count && (pair.left, pair.right) < (b.pair.left, b.pair.right)) {
                        best = (pair, count)
                    }
                } else {
                    best = (pair, count)
                }
            }
            guard let (pair, _) = best else { break }
            learned.append([pair.left, pair.right])
            let merged = pair.left + pair.right
            for index in wordsWithPair[pair] ?? [] {
                account(index, sign: -1)
                words[index] = applyMerge(words[index], left: pair.left, right: pair.right, merged: merged)
                account(index, sign: 1)
            }
            pairCounts[pair] = nil
            wordsWithPair[pair] = nil
        }
        return BytePairEncoding(merges: learned)
    }

    /// The subwords of one word (no whitespace in it).
    public func segment(_ word: String) -> [String] {
        var symbols = Self.initialSymbols(word)
        while symbols.count > 1 {
            var bestRank = Int.max, bestIndex = -1
            for k in 0..<(symbols.count - 1) {
                if let rank = ranks[symbols[k] + " " + symbols[k + 1]], rank < bestRank {
                    bestRank = rank
                    bestIndex = k
                }
            }
            guard bestIndex >= 0 else { break }
            let left = symbols[bestIndex], right = symbols[bestIndex + 1]
            symbols = Self.applyMerge(symbols, left: left, right: right, merged: left + right)
        }
        return symbols
    }

    /// Joins subwords back into words: a word ends at a subword carrying `endOfWord` (and at the
    /// end, should a model's output stop inside a word).
    public static func join(_ subwords: [String]) -> [String] {
        var words: [String] = []
        var current = ""
        for piece in subwords {
            if piece.hasSuffix(endOfWord) {
                words.append(current + piece.dropLast(endOfWord.count))
                current = ""
            } else {
                current += piece
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// A word's characters, the last one marked as the end of the word.
    static func initialSymbols(_ word: String) -> [String] {
        var symbols = word.map(String.init)
        if !symbols.isEmpty { symbols[symbols.count - 1] += endOfWord }
        return symbols
    }

    /// Replaces every adjacent (left, right), from the left, with `merged`.
    static func applyMerge(_ symbols: [String], left: String, right: String, merged: String) -> [String] {
        var result: [String] = []
        result.reserveCapacity(symbols.count)
        var k = 0
        while k < symbols.count {
            if k + 1 < symbols.count && symbols[k] == left && symbols[k + 1] == right {
                result.append(merged)
                k += 2
            } else {
                result.append(symbols[k])
                k += 1
            }
        }
        return result
    }
}
