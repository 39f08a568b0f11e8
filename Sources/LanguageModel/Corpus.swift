import Foundation
import RNNEngine

/// How text becomes tokens.
public enum Tokenization: String, Codable, Sendable, CaseIterable {
    /// Unicode scalars: any script, UTF-8 safe; newlines are tokens.
    case char
    /// Whitespace-separated words with `<eos>` closing each line (pytorch/examples' convention).
    case word

    public static let endOfSentence = "<eos>"
    public static let unknown = "<unk>"

    /// The tokens of `text`.
    public func tokens(_ text: String) -> [String] {
        switch self {
        case .char:
            return text.unicodeScalars.map { String($0) }
        case .word:
            var result: [String] = []
            text.enumerateLines { line, _ in
                result += line.split(whereSeparator: { $0.isWhitespace }).map(String.init)
                result.append(Tokenization.endOfSentence)
            }
            return result
        }
    }

    /// Joins tokens back into text.
    public func detokenize(_ tokens: [String]) -> String {
        switch self {
        case .char: return tokens.joined()
        case .word: return tokens.map { $0 == Tokenization.endOfSentence ? "\n" : $0 + " " }.joined()
        }
    }
}

/// Errors about the user's data, each naming the file and what is wrong.
public enum CorpusError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    case empty(path: String)
    case notText(path: String, reason: String)
    case missingSplit(directory: String, file: String)
    case tooSmall(path: String, tokens: Int, needed: Int)
    case wouldOverwrite(path: String)

    public var description: String {
        switch self {
        case .missing(let p): return "\(p): no such file or directory"
        case .empty(let p): return "\(p): the corpus is empty"
        case .notText(let p, let reason): return "\(p): not a text file (\(reason))"
        case .missingSplit(let d, let f):
            return "\(d): a corpus directory needs train.txt, valid.txt and test.txt; \(f) is missing"
        case .wouldOverwrite(let p):
            return "\(p) already exists; pass --overwrite to replace it, or choose another --out"
        case .tooSmall(let p, let tokens, let needed):
            return
                "\(p): \(tokens) tokens, too few (at least \(needed) are needed; a single file is split 90/5/5 by characters)"
        }
    }
}

/// The three splits of a language-model corpus, as text.
public struct CorpusText: Sendable {
    public var train: String
    public var valid: String
    public var test: String
    /// Where each split came from, for error messages.
    public var trainSource: String, validSource: String, testSource: String

    public init(
        train: String, valid: String, test: String, trainSource: String, validSource: String, testSource: String
    ) {
        self.train = train
        self.valid = valid
        self.test = test
        self.trainSource = trainSource
        self.validSource = validSource
        self.testSource = testSource
    }

    /// Reads `path`: a directory with train.txt, valid.txt and test.txt, or one file split
    /// 90/5/5 in order (at line boundaries).
    public static func load(path: String) throws -> CorpusText {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CorpusError.missing(path: path)
        }
        if isDirectory.boolValue {
            var texts: [String] = []
            for name in ["train.txt", "valid.txt", "test.txt"] {
                let file = (path as NSString).appendingPathComponent(name)
                guard FileManager.default.fileExists(atPath: file) else {
                    throw CorpusError.missingSplit(directory: path, file: name)
                }
                texts.append(try readText(file))
            }
            let join = { (name: String) in (path as NSString).appendingPathComponent(name) }
            return CorpusText(
                train: texts[0], valid: texts[1], test: texts[2],
                trainSource: join("train.txt"), validSource: join("valid.txt"), testSource: join("test.txt"))
        }
        return split(try readText(path), source: path)
    }

    /// Splits one text 90/5/5, in order, at line boundaries where there are lines.
    public static func split(_ text: String, source: String) -> CorpusText {
        let scalars = Array(text.unicodeScalars)
        func cut(_ fraction: Double) -> Int {
            var index = Int(Double(scalars.count) * fraction)
            // Move forward to the next line start, if one is near.
            var probe = index
            while probe < scalars.count, probe - index < 2000 {
                if scalars[probe] == "\n" {
                    index = probe + 1
                    break
                }
                probe += 1
            }
            return min(index, scalars.count)
        }
        let a = cut(0.90), b = max(a, cut(0.95))
        func string(_ range: Range<Int>) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            return String(view)
        }
        return CorpusText(
            train: string(0..<a), valid: string(a..<b), test: string(b..<scalars.count),
            trainSource: source + " (first 90%)", validSource: source + " (next 5%)", testSource: source + " (last 5%)")
    }

    /// Reads a UTF-8 text file; rejects binary files with a clear reason.
    public static func readText(_ path: String) throws -> String {
        guard let data = TextFile.bytes(atPath: path) else {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw CorpusError.notText(path: path, reason: "it is a directory")
            }
            throw CorpusError.missing(path: path)
        }
        if data.isEmpty { throw CorpusError.empty(path: path) }
        if data.contains(0) { throw CorpusError.notText(path: path, reason: "it contains NUL bytes") }
        guard let decoded = String(data: data, encoding: .utf8) else {
            throw CorpusError.notText(path: path, reason: "it is not valid UTF-8")
        }
        let text = TextFile.removingByteOrderMarks(decoded)
        if text.allSatisfy(\.isWhitespace) { throw CorpusError.empty(path: path) }
        return text
    }
}

/// A corpus as token ids, with the vocabulary built from its training split.
public struct Corpus: Sendable {
    public let tokenization: Tokenization
    public let vocabulary: Vocabulary
    public let train: [Int32]
    public let valid: [Int32]
    public let test: [Int32]

    public init(text: CorpusText, tokenization: Tokenization) throws {
        self.tokenization = tokenization
        let trainTokens = tokenization.tokens(text.train)
        guard trainTokens.count >= 2 else {
            throw CorpusError.tooSmall(path: text.trainSource, tokens: trainTokens.count, needed: 2)
        }
        var vocabulary = Vocabulary(tokens: [])
        if tokenization == .word { vocabulary.add(Tokenization.unknown) }
        for token in trainTokens { vocabulary.add(token) }
        self.vocabulary = vocabulary
        train = trainTokens.map { vocabulary.id(of: $0)! }
        valid = Corpus.encode(tokenization.tokens(text.valid), vocabulary: vocabulary).ids
        test = Corpus.encode(tokenization.tokens(text.test), vocabulary: vocabulary).ids
        // Validation needs a token to predict from another: refuse now, not after an epoch.
        guard valid.count >= 2 else {
            throw CorpusError.tooSmall(path: text.validSource, tokens: valid.count, needed: 2)
        }
    }

    /// Maps tokens to ids: an unseen token becomes `<unk>` when the vocabulary has one
    /// (counted in `mappedToUnknown`) and is dropped otherwise (counted in `dropped`).
    public static func encode(_ tokens: [String], vocabulary: Vocabulary) -> (
        ids: [Int32], dropped: Int, mappedToUnknown: Int
    ) {
        let unk = vocabulary.id(of: Tokenization.unknown)
        var ids: [Int32] = []
        ids.reserveCapacity(tokens.count)
        var dropped = 0, mapped = 0
        for token in tokens {
            if let id = vocabulary.id(of: token) {
                ids.append(id)
            } else if let unk {
                ids.append(unk)
                mapped += 1
            } else {
                dropped += 1
            }
        }
        return (ids, dropped, mapped)
    }
}
