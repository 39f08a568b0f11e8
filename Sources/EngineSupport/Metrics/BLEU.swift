import Foundation

/// Corpus BLEU as sacreBLEU computes it by default: 13a tokenization, n-grams up to 4,
/// clipped counts against the most generous reference, the closest reference length (the
/// shorter on a tie) for the brevity penalty, and the "exp" smoothing of mteval-v13a for
/// orders with no match. Scores are on sacreBLEU's 0–100 scale.
public struct BLEUScore: Sendable, Equatable {
    public var score: Double
    /// Precision of each n-gram order, in percent (smoothed where there was no match).
    public var precisions: [Double]
    public var brevityPenalty: Double
    /// Tokens in all hypotheses, and in the references the brevity penalty compared them with.
    public var systemLength: Int
    public var referenceLength: Int
}

/// The counts BLEU sums over a corpus.
public struct BLEUStatistics: Sendable, Equatable {
    public var systemLength = 0
    public var referenceLength = 0
    public var matches: [Int]
    public var totals: [Int]

    public init(maxOrder: Int = 4) {
        matches = Array(repeating: 0, count: maxOrder)
        totals = Array(repeating: 0, count: maxOrder)
    }

    /// Adds one segment: a hypothesis and its references (as written, not yet tokenized).
    public mutating func add(hypothesis: String, references: [String]) {
        let maxOrder = matches.count
        let hypothesisTokens = bleuTokens(hypothesis)
        let hypothesisCounts = ngramCounts(hypothesisTokens, maxOrder: maxOrder)
        var referenceCounts: [[String]: Int] = [:]
        var referenceLengths: [Int] = []
        for reference in references {
            let tokens = bleuTokens(reference)
            referenceLengths.append(tokens.count)
            for (ngram, count) in ngramCounts(tokens, maxOrder: maxOrder) {
                referenceCounts[ngram] = max(referenceCounts[ngram] ?? 0, count)
            }
        }
        systemLength += hypothesisTokens.count
        referenceLength += closestLength(to: hypothesisTokens.count, among: referenceLengths)
        for (ngram, count) in hypothesisCounts {
            matches[ngram.count - 1] += min(count, referenceCounts[ngram] ?? 0)
        }
        for n in 1...maxOrder { totals[n - 1] += max(0, hypothesisTokens.count - n + 1) }
    }

    public var score: BLEUScore {
        let maxOrder = matches.count
        var brevityPenalty = 1.0
        if systemLength < referenceLength {
            brevityPenalty = systemLength > 0 ? exp(1 - Double(referenceLength) / Double(systemLength)) : 0
        }
        var precisions = [Double](repeating: 0, count: maxOrder)
        guard matches.contains(where: { $0 > 0 }) else {
            return BLEUScore(
                score: 0, precisions: precisions, brevityPenalty: brevityPenalty,
                systemLength: systemLength, referenceLength: referenceLength)
        }
        var smoothing = 1.0
        for n in 0..<maxOrder {
            guard totals[n] > 0 else { break }  // later orders keep precision 0
            if matches[n] == 0 {
                smoothing *= 2
                precisions[n] = 100 / (smoothing * Double(totals[n]))
            } else {
                precisions[n] = 100 * Double(matches[n]) / Double(totals[n])
            }
        }
        // log 0 counts as a huge negative number, as in sacreBLEU: the score is then 0.
        let logSum = precisions.reduce(0.0) { $0 + ($1 == 0 ? -9_999_999_999 : log($1)) }
        return BLEUScore(
            score: brevityPenalty * exp(logSum / Double(maxOrder)), precisions: precisions,
            brevityPenalty: brevityPenalty, systemLength: systemLength, referenceLength: referenceLength)
    }
}

/// BLEU of `hypotheses` against reference streams: `references[k][i]` is the k-th reference of
/// segment i (several files of references, as `sacrebleu -r ref1 ref2` reads them).
public func corpusBLEU(hypotheses: [String], references: [[String]]) -> BLEUScore {
    var statistics = BLEUStatistics()
    for (i, hypothesis) in hypotheses.enumerated() {
        statistics.add(hypothesis: hypothesis, references: references.map { $0[i] })
    }
    return statistics.score
}

/// sacreBLEU's preprocessing of a segment: trailing whitespace dropped, 13a, split.
private func bleuTokens(_ segment: String) -> [String] {
    var scalars = Array(segment.unicodeScalars)
    while let last = scalars.last, isPythonWhitespace(last) { scalars.removeLast() }
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars)
    return splitOnPythonWhitespace(tokenize13a(String(view)).unicodeScalars)
}

/// Counts of every n-gram of 1...maxOrder tokens (BLEU's and CIDEr's).
func ngramCounts(_ tokens: [String], maxOrder: Int) -> [[String]: Int] {
    var counts: [[String]: Int] = [:]
    for n in 1...maxOrder where tokens.count >= n {
        for start in 0...(tokens.count - n) { counts[Array(tokens[start..<(start + n)]), default: 0] += 1 }
    }
    return counts
}

/// The reference length closest to `length`, the shorter one on a tie.
private func closestLength(to length: Int, among lengths: [Int]) -> Int {
    var best: (difference: Int, length: Int)?
    for candidate in lengths {
        let difference = abs(length - candidate)
        if best == nil || difference < best!.difference || (difference == best!.difference && candidate < best!.length)
        {
            best = (difference, candidate)
        }
    }
    return best?.length ?? 0
}
