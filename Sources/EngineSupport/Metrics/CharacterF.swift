/// Corpus chrF as sacreBLEU computes it by default (chrF2): character n-grams of orders 1 to 6
/// with whitespace removed, β = 2, for each segment the statistics of the reference with the
/// best F-score, summed over the corpus; the precisions and recalls of the orders that occur
/// on both sides are averaged before the F-score. On a 0–100 scale.
public struct CharacterFStatistics: Sendable, Equatable {
    public static let order = 6
    public static let beta = 2.0
    /// Per order: hypothesis n-grams, reference n-grams, matches.
    public var counts: [(hypothesis: Int, reference: Int, matches: Int)] =
        Array(repeating: (0, 0, 0), count: order)

    public init() {}

    public static func == (a: Self, b: Self) -> Bool {
        zip(a.counts, b.counts).allSatisfy { $0 == $1 }
    }

    public mutating func add(hypothesis: String, references: [String]) {
        let hypothesisGrams = characterNgrams(hypothesis)
        var best: [(Int, Int, Int)] = []
        var bestScore = -1.0
        for reference in references {
            let referenceGrams = characterNgrams(reference)
            let statistics = (0..<Self.order).map { n -> (Int, Int, Int) in
                var matches = 0, hypothesisCount = 0
                for (gram, count) in hypothesisGrams[n] {
                    hypothesisCount += count
                    matches += min(count, referenceGrams[n][gram] ?? 0)
                }
                // No reference n-grams of this order: its hypothesis n-grams do not count.
                return (referenceGrams[n].isEmpty ? 0 : hypothesisCount, referenceGrams[n].values.reduce(0, +), matches)
            }
            let score = Self.fScore(statistics)
            if score > bestScore {
                bestScore = score
                best = statistics
            }
        }
        for n in 0..<min(best.count, Self.order) {
            counts[n].hypothesis += best[n].0
            counts[n].reference += best[n].1
            counts[n].matches += best[n].2
        }
    }

    public var score: Double { Self.fScore(counts.map { ($0.hypothesis, $0.reference, $0.matches) }) }

    static func fScore(_ statistics: [(Int, Int, Int)]) -> Double {
        var precision = 0.0, recall = 0.0, orders = 0
        for (hypothesis, reference, matches) in statistics where hypothesis > 0 && reference > 0 {
            precision += Double(matches) / Double(hypothesis)
            recall += Double(matches) / Double(reference)
            orders += 1
        }
        guard orders > 0 else { return 0 }
        precision /= Double(orders)
        recall /= Double(orders)
        let factor = beta * beta
        guard precision + recall > 0 else { return 0 }
        return 100 * (1 + factor) * precision * recall / (factor * precision + recall)
    }
}

/// chrF2 of `hypotheses` against reference streams (`references[k][i]`, as for `corpusBLEU`).
public func corpusCharacterF(hypotheses: [String], references: [[String]]) -> Double {
    var statistics = CharacterFStatistics()
    for (i, hypothesis) in hypotheses.enumerated() {
        statistics.add(hypothesis: hypothesis, references: references.map { $0[i] })
    }
    return statistics.score
}

/// Counts of the character n-grams of orders 1...6 of `text` with its whitespace removed.
private func characterNgrams(_ text: String) -> [[String: Int]] {
    let scalars = Array(text.unicodeScalars.filter { !isPythonWhitespace($0) })
    return (1...CharacterFStatistics.order).map { n in
        var counts: [String: Int] = [:]
        if scalars.count >= n {
            for start in 0...(scalars.count - n) {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars[start..<(start + n)])
                counts[String(view), default: 0] += 1
            }
        }
        return counts
    }
}
