import Foundation

/// Splits a sentence into words and punctuation, and joins tokens back into normal text.
///
/// Words are separated at whitespace; punctuation is split off as tokens of its own, except
/// where it belongs to a word: an apostrophe or hyphen between letters ("don't", "well-known")
/// and a point or comma between digits ("3.14", "1,000"). Detokenization undoes it: no space
/// before closing punctuation (. , ! ? ; : ) ] } % …), none after opening punctuation
/// (( [ { ¿ ¡), and straight quotes attached to the words they enclose.
public enum WordTokenizer {
    public static func tokens(_ sentence: String) -> [String] {
        var result: [String] = []
        for word in sentence.split(whereSeparator: { $0.isWhitespace }) {
            let characters = Array(word)
            var current = ""
            for (i, c) in characters.enumerated() {
                if isPunctuation(c)
                    && !joinsWord(
                        c, before: i > 0 ? characters[i - 1] : nil,
                        after: i + 1 < characters.count ? characters[i + 1] : nil)
                {
                    if !current.isEmpty {
                        result.append(current)
                        current = ""
                    }
                    result.append(String(c))
                } else {
                    current.append(c)
                }
            }
            if !current.isEmpty { result.append(current) }
        }
        return result
    }

    public static func detokenize(_ tokens: [String]) -> String {
        var text = ""
        var quoteOpen = false
        var attachNext = true  // no space before the first token
        for token in tokens {
            let isQuote = token == "\"" || token == "'"
            var attach = attachNext
            if closing.contains(token) { attach = true }
            if isQuote {
                // An opening quote takes a space before it and none after; a closing one the reverse.
                if quoteOpen { attach = true }
                attachNext = !quoteOpen
                quoteOpen.toggle()
            } else {
                attachNext = opening.contains(token)
            }
            if !attach { text += " " }
            text += token
        }
        return text
    }

    static let closing: Set<String> = [
        ".", ",", "!", "?", ";", ":", ")", "]", "}", "%", "…", "»", "”", "’", "。", "、", "！", "？"
    ]
    static let opening: Set<String> = ["(", "[", "{", "¿", "¡", "«", "“", "‘"]

    static func isPunctuation(_ c: Character) -> Bool {
        if let ascii = c.asciiValue {  // the common case, without a character-set lookup
            return (33...47).contains(ascii) || (58...64).contains(ascii) || (91...96).contains(ascii)
                || (123...126).contains(ascii)
        }
        return c.unicodeScalars.allSatisfy {
            CharacterSet.punctuationCharacters.contains($0) || CharacterSet.symbols.contains($0)
        }
    }

    /// Whether punctuation `c` is part of the word around it.
    static func joinsWord(_ c: Character, before: Character?, after: Character?) -> Bool {
        guard let before, let after else { return false }
        switch c {
        case "'", "’", "-": return before.isLetter && after.isLetter
        case ".", ",": return before.isNumber && after.isNumber
        default: return false
        }
    }
}
