/// The "13a" tokenization of mteval-v13a.pl, as sacreBLEU applies it before BLEU: entities
/// unescaped, punctuation split from words, periods and commas split unless next to a digit,
/// a dash split after a digit, runs of whitespace collapsed. Works on Unicode scalars, as
/// Python's strings do, so every script is handled alike.
public func tokenize13a(_ line: String) -> String {
    var text = line.replacingOccurrences(of: "<skipped>", with: "")
        .replacingOccurrences(of: "-\n", with: "")
        .replacingOccurrences(of: "\n", with: " ")
    if text.contains("&") {
        text = text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
    }
    var scalars = Array((" " + text + " ").unicodeScalars)
    let space: Unicode.Scalar = " "
    // Symbols and punctuation other than . , ' - become tokens of their own.
    scalars = scalars.flatMap { isSeparatedSymbol($0) ? [space, $0, space] : [$0] }
    // The two-scalar rules, each applied left to right without overlap (as re.sub does).
    scalars = substitutePairs(scalars, where: { !isDigit($0) && isPeriodOrComma($1) }, with: { [$0, space, $1, space] })
    scalars = substitutePairs(scalars, where: { isPeriodOrComma($0) && !isDigit($1) }, with: { [space, $0, space, $1] })
    scalars = substitutePairs(scalars, where: { isDigit($0) && $1 == "-" }, with: { [$0, space, $1, space] })
    return splitOnPythonWhitespace(scalars).joined(separator: " ")
}

/// The scalars of the character class [{-~[-` -&(-+:-@/] of the 13a rules.
private func isSeparatedSymbol(_ s: Unicode.Scalar) -> Bool {
    switch s.value {
    case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F: return true
    default: return false
    }
}

private func isDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 0x30 && s.value <= 0x39 }
private func isPeriodOrComma(_ s: Unicode.Scalar) -> Bool { s == "." || s == "," }

/// Replaces each non-overlapping pair (a, b) that `matches`, scanning left to right.
private func substitutePairs(
    _ scalars: [Unicode.Scalar], where matches: (Unicode.Scalar, Unicode.Scalar) -> Bool,
    with replacement: (Unicode.Scalar, Unicode.Scalar) -> [Unicode.Scalar]
) -> [Unicode.Scalar] {
    var result: [Unicode.Scalar] = []
    result.reserveCapacity(scalars.count + 8)
    var i = 0
    while i < scalars.count {
        if i + 1 < scalars.count && matches(scalars[i], scalars[i + 1]) {
            result += replacement(scalars[i], scalars[i + 1])
            i += 2
        } else {
            result.append(scalars[i])
            i += 1
        }
    }
    return result
}

/// Whitespace as Python's `str.split()` sees it: Unicode White_Space and the separators
/// U+001C to U+001F.
func isPythonWhitespace(_ s: Unicode.Scalar) -> Bool {
    s.properties.isWhitespace || (0x1C...0x1F).contains(s.value)
}

/// `str.split()`: the non-empty runs between whitespace.
func splitOnPythonWhitespace<S: Sequence<Unicode.Scalar>>(_ scalars: S) -> [String] {
    var words: [String] = []
    var current = String.UnicodeScalarView()
    for s in scalars {
        if isPythonWhitespace(s) {
            if !current.isEmpty {
                words.append(String(current))
                current = String.UnicodeScalarView()
            }
        } else {
            current.append(s)
        }
    }
    if !current.isEmpty { words.append(String(current)) }
    return words
}
