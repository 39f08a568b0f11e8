import Foundation
import RNNEngine

/// One sentence and its translation.
public struct SentencePair: Equatable, Sendable {
    public var source: String
    public var target: String
    public init(source: String, target: String) {
        self.source = source
        self.target = target
    }
}

/// Errors about the user's parallel data, each naming the file (and line) and what is wrong.
public enum ParallelCorpusError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    case empty(path: String)
    case missingSplit(directory: String, file: String)
    case noTab(path: String, line: Int)
    case invalidUTF8(path: String, line: Int)
    case notText(path: String, reason: String)
    case noPairs(path: String, reason: String)
    case wouldOverwrite(path: String)

    public var description: String {
        switch self {
        case .missing(let p): return "\(p): no such file or directory"
        case .empty(let p): return "\(p): the file is empty"
        case .missingSplit(let d, let f):
            return "\(d): a translation data directory needs train.tsv, valid.tsv and test.tsv; \(f) is missing"
        case .noTab(let p, let line): return "\(p) line \(line): expected `source<TAB>target`, found no tab"
        case .invalidUTF8(let p, let line): return "\(p) line \(line): not valid UTF-8"
        case .notText(let p, let reason): return "\(p): not a text file (\(reason))"
        case .noPairs(let p, let reason): return "\(p): no usable sentence pair (\(reason))"
        case .wouldOverwrite(let p):
            return "\(p) already exists; pass --overwrite to replace it, or choose another --out"
        }
    }
}

/// A line that was read but not used, with why: reported to the user, counted.
public struct SkippedLine: Equatable, Sendable {
    public var path: String
    public var line: Int
    public var reason: String
}

/// The train, valid and test splits of a parallel corpus.
public struct ParallelCorpus: Sendable {
    public var train: [SentencePair]
    public var valid: [SentencePair]
    public var test: [SentencePair]
    /// Where each split came from, for messages.
    public var trainSource: String, validSource: String, testSource: String
    /// Lines with an empty source or target, skipped.
    public var skipped: [SkippedLine]

    public init(
        train: [SentencePair], valid: [SentencePair], test: [SentencePair],
        trainSource: String, validSource: String, testSource: String, skipped: [SkippedLine] = []
    ) {
        self.train = train
        self.valid = valid
        self.test = test
        self.trainSource = trainSource
        self.validSource = validSource
        self.testSource = testSource
        self.skipped = skipped
    }

    /// Reads `path`: a directory with train.tsv, valid.tsv and test.tsv, or one TSV file split
    /// 90/5/5 by a hash of the source sentence (so that a sentence with several translations
    /// stays in one split, and a file sorted by length still gives every split all lengths).
    public static func load(path: String) throws -> ParallelCorpus {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ParallelCorpusError.missing(path: path)
        }
        if isDirectory.boolValue {
            let files = ["train.tsv", "valid.tsv", "test.tsv"].map { (path as NSString).appendingPathComponent($0) }
            for (file, name) in zip(files, ["train.tsv", "valid.tsv", "test.tsv"])
            where !FileManager.default.fileExists(atPath: file) {
                throw ParallelCorpusError.missingSplit(directory: path, file: name)
            }
            var skipped: [SkippedLine] = []
            var splits: [[SentencePair]] = []
            for file in files {
                let (pairs, skips) = try readPairs(file)
                guard !pairs.isEmpty else {
                    throw ParallelCorpusError.noPairs(path: file, reason: "every line has an empty side")
                }
                splits.append(pairs)
                skipped += skips
            }
            return ParallelCorpus(
                train: splits[0], valid: splits[1], test: splits[2],
                trainSource: files[0], validSource: files[1], testSource: files[2], skipped: skipped)
        }
        let (pairs, skipped) = try readPairs(path)
        var corpus = split(pairs, source: path)
        corpus.skipped = skipped
        for (split, name) in [(corpus.train, "training"), (corpus.valid, "validation"), (corpus.test, "test")]
        where split.isEmpty {
            throw ParallelCorpusError.noPairs(
                path: path,
                reason:
                    "\(pairs.count) pairs leave the \(name) split empty; a single file is split 90/5/5, so give it more pairs or a directory of three files"
            )
        }
        return corpus
    }

    /// Splits pairs 90/5/5 by a stable hash of the source sentence.
    public static func split(_ pairs: [SentencePair], source: String) -> ParallelCorpus {
        var train: [SentencePair] = [], valid: [SentencePair] = [], test: [SentencePair] = []
        for pair in pairs {
            switch stableHash(pair.source) % 20 {
            case 0: test.append(pair)
            case 1: valid.append(pair)
            default: train.append(pair)
            }
        }
        return ParallelCorpus(
            train: train, valid: valid, test: test, trainSource: source + " (90% by source hash)",
            validSource: source + " (5% by source hash)", testSource: source + " (5% by source hash)")
    }

    /// The pairs of one TSV file. A line without a tab or with invalid UTF-8 is an error naming
    /// the line; a pair with an empty side is skipped and reported; blank lines are ignored.
    public static func readPairs(_ path: String) throws -> (pairs: [SentencePair], skipped: [SkippedLine]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ParallelCorpusError.missing(path: path)
        }
        if isDirectory.boolValue { throw ParallelCorpusError.notText(path: path, reason: "it is a directory") }
        guard let data = TextFile.bytes(atPath: path) else {
            throw ParallelCorpusError.notText(path: path, reason: "it cannot be read")
        }
        if data.isEmpty { throw ParallelCorpusError.empty(path: path) }
        if data.contains(0) { throw ParallelCorpusError.notText(path: path, reason: "it contains NUL bytes") }
        var pairs: [SentencePair] = []
        var skipped: [SkippedLine] = []
        var lineNumber = 0
        for lineBytes in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            guard var line = String(data: Data(lineBytes), encoding: .utf8) else {
                throw ParallelCorpusError.invalidUTF8(path: path, line: lineNumber)
            }
            if line.hasSuffix("\r") { line.removeLast() }
            line = TextFile.removingByteOrderMarks(line)
            if line.allSatisfy(\.isWhitespace) { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 2 else { throw ParallelCorpusError.noTab(path: path, line: lineNumber) }
            let source = fields[0].trimmingCharacters(in: .whitespaces)
            let target = fields[1].trimmingCharacters(in: .whitespaces)
            if source.isEmpty || target.isEmpty {
                skipped.append(
                    SkippedLine(path: path, line: lineNumber, reason: source.isEmpty ? "empty source" : "empty target"))
                continue
            }
            pairs.append(SentencePair(source: source, target: target))
        }
        if pairs.isEmpty && skipped.isEmpty { throw ParallelCorpusError.empty(path: path) }
        return (pairs, skipped)
    }

    /// Writes pairs as a TSV file (`source<TAB>target` lines), atomically.
    public static func writeTSV(_ pairs: [SentencePair], to path: String) throws {
        var text = ""
        for pair in pairs { text += pair.source + "\t" + pair.target + "\n" }
        try writeAtomically(Data(text.utf8), to: path)
    }
}
