/// Word and character error rates as jiwer computes them by default, over a corpus: the
/// Levenshtein edit operations (substitutions + deletions + insertions) summed over all
/// sentences, divided by the reference words (characters) summed. WER splits on single spaces
/// after collapsing runs of whitespace and stripping the ends; CER strips the ends and counts
/// every character, spaces included. A corpus whose references are all empty scores the
/// number of insertions, as jiwer does. Fractions (jiwer's scale); the CLI prints percent.
public struct ErrorRate: Sendable, Equatable {
    public var substitutions = 0, deletions = 0, insertions = 0, hits = 0
    public var referenceLength: Int { substitutions + deletions + hits }
    public var rate: Double {
        let errors = substitutions + deletions + insertions
        return referenceLength == 0 ? Double(insertions) : Double(errors) / Double(referenceLength)
    }
}

/// WER of `hypotheses` against `references`, line by line.
public func wordErrorRate(hypotheses: [String], references: [String]) -> ErrorRate {
    errorRate(hypotheses: hypotheses, references: references) { sentence in
        // jiwer: RemoveMultipleSpaces (\s\s+ → " "), Strip, split(" ") keeping non-empty words.
        collapseWhitespaceRuns(sentence).split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    }
}

/// CER of `hypotheses` against `references`, line by line.
public func characterErrorRate(hypotheses: [String], references: [String]) -> ErrorRate {
    errorRate(hypotheses: hypotheses, references: references) { sentence in
        stripPythonWhitespace(Array(sentence.unicodeScalars)).map { String($0) }
    }
}

private func errorRate(hypotheses: [String], references: [String], units: (String) -> [String]) -> ErrorRate {
    precondition(
        hypotheses.count == references.count, "\(hypotheses.count) hypotheses for \(references.count) references")
    var total = ErrorRate()
    var ids: [String: Int] = [:]
    func encode(_ sentence: String) -> [Int] {
        units(sentence).map { unit in
            if let id = ids[unit] { return id }
            ids[unit] = ids.count
            return ids.count - 1
        }
    }
    for (hypothesis, reference) in zip(hypotheses, references) {
        let counts = editOperations(from: encode(reference), to: encode(hypothesis))
        total.substitutions += counts.substitutions
        total.deletions += counts.deletions
        total.insertions += counts.insertions
        total.hits += counts.hits
    }
    return total
}

/// A minimal edit script from `a` (reference) to `b` (hypothesis) and its operation counts.
/// Among scripts of minimal cost, it prefers a hit or substitution over a deletion and a
/// deletion over an insertion while tracing back; jiwer's rapidfuzz picks among equals too,
/// and any minimal script gives the same S + D + I, which is all WER and CER use.
func editOperations(from a: [Int], to b: [Int]) -> ErrorRate {
    let n = a.count, m = b.count
    var distance = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
    for i in 0...n { distance[i][0] = i }
    for j in 0...m { distance[0][j] = j }
    if n > 0 && m > 0 {
        for i in 1...n {
            for j in 1...m {
                let substitution = distance[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                distance[i][j] = min(substitution, distance[i - 1][j] + 1, distance[i][j - 1] + 1)
            }
        }
    }
    var result = ErrorRate()
    var i = n, j = m
    while i > 0 || j > 0 {
        if i > 0 && j > 0 && distance[i][j] == distance[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1) {
            if a[i - 1] == b[j - 1] { result.hits += 1 } else { result.substitutions += 1 }
            i -= 1
            j -= 1
        } else if i > 0 && distance[i][j] == distance[i - 1][j] + 1 {
            result.deletions += 1
            i -= 1
        } else {
            result.insertions += 1
            j -= 1
        }
    }
    return result
}

/// `re.sub(r"\s\s+", " ", s).strip()`.
private func collapseWhitespaceRuns(_ sentence: String) -> String {
    var out = String.UnicodeScalarView()
    var run: [Unicode.Scalar] = []
    func flush() {
        if run.count >= 2 { out.append(" ") } else { out.append(contentsOf: run) }
        run.removeAll()
    }
    for s in sentence.unicodeScalars {
        if isPythonWhitespace(s) {
            run.append(s)
        } else {
            flush()
            out.append(s)
        }
    }
    flush()
    var view = String.UnicodeScalarView()
    view.append(contentsOf: stripPythonWhitespace(Array(out)))
    return String(view)
}

/// Python's `str.strip()`.
private func stripPythonWhitespace(_ scalars: [Unicode.Scalar]) -> ArraySlice<Unicode.Scalar> {
    var start = 0, end = scalars.count
    while start < end && isPythonWhitespace(scalars[start]) { start += 1 }
    while end > start && isPythonWhitespace(scalars[end - 1]) { end -= 1 }
    return scalars[start..<end]
}
