import Foundation
import RNNEngine

/// One utterance: an audio file and what is said in it, with where the pair was read.
public struct Utterance: Equatable, Sendable {
    public var audioPath: String
    public var transcript: String
    /// The manifest (or transcript file) and its line, for messages.
    public var origin: String

    public init(audioPath: String, transcript: String, origin: String) {
        self.audioPath = audioPath
        self.transcript = transcript
        self.origin = origin
    }
}

public enum SpeechCorpusError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    case unknownLayout(path: String)
    case badLine(origin: String, reason: String)
    case badAudio(origin: String, reason: String)
    case emptySplit(path: String, split: String)

    public var description: String {
        switch self {
        case .missing(let p): return "\(p): no such file or directory"
        case .unknownLayout(let p):
            return
                "\(p): not a speech data directory: expected train.tsv, valid.tsv and test.tsv (audio<TAB>transcript), an LJSpeech metadata.csv with wavs/, or LibriSpeech *.trans.txt files"
        case .badLine(let origin, let reason): return "\(origin): \(reason)"
        case .badAudio(let origin, let reason): return "\(origin): \(reason)"
        case .emptySplit(let p, let split): return "\(p): the \(split) split has no utterance"
        }
    }
}

/// The train, valid and test utterances of a speech data set, in any of the layouts zoo reads:
///
/// - `train.tsv`, `valid.tsv`, `test.tsv`: `audio-path<TAB>transcript` a line, the path relative
///   to the directory (further columns ignored);
/// - LJSpeech: `metadata.csv` (`id|text|normalised text`) and `wavs/<id>.wav`, split 90/5/5 by
///   a hash of the id;
/// - LibriSpeech: `*.trans.txt` files (`utterance-id TEXT` a line) beside `<utterance-id>.flac`,
///   anywhere below the directory; a tree whose top folders start with `train`, `dev` and `test`
///   keeps that split, otherwise speakers (the id's first field) are split 90/5/5 by hash.
public struct SpeechCorpus: Sendable {
    public var train: [Utterance]
    public var valid: [Utterance]
    public var test: [Utterance]

    public init(train: [Utterance], valid: [Utterance], test: [Utterance]) {
        self.train = train
        self.valid = valid
        self.test = test
    }

    public static func load(path: String) throws -> SpeechCorpus {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SpeechCorpusError.missing(path: path)
        }
        guard isDirectory.boolValue else { throw SpeechCorpusError.unknownLayout(path: path) }
        let join = { (name: String) in (path as NSString).appendingPathComponent(name) }
        let corpus: SpeechCorpus
        // Where each split came from, for an empty one: its own file in the TSV layout.
        var sources = [path, path, path]
        if FileManager.default.fileExists(atPath: join("train.tsv")) {
            sources = ["train.tsv", "valid.tsv", "test.tsv"].map(join)
            corpus = SpeechCorpus(
                train: try manifest(join("train.tsv"), directory: path),
                valid: try manifest(join("valid.tsv"), directory: path),
                test: try manifest(join("test.tsv"), directory: path))
        } else if FileManager.default.fileExists(atPath: join("metadata.csv")) {
            corpus = try ljSpeech(path)
        } else {
            corpus = try libriSpeech(path)
        }
        for (k, (split, name)) in [(corpus.train, "training"), (corpus.valid, "validation"), (corpus.test, "test")]
            .enumerated() where split.isEmpty
        {
            throw SpeechCorpusError.emptySplit(path: sources[k], split: name)
        }
        return corpus
    }

    static let reader = ManifestReader(
        missing: { SpeechCorpusError.missing(path: $0) },
        badLine: { SpeechCorpusError.badLine(origin: $0, reason: $1) })

    static func lines(_ path: String) throws -> [(number: Int, text: String)] { try reader.lines(path) }

    static func manifest(_ path: String, directory: String) throws -> [Utterance] {
        try reader.manifest(path, directory: directory, columns: ("audio", "transcript"), layout: "a speech directory")
            .map {
                Utterance(audioPath: $0.path, transcript: $0.text, origin: $0.origin)
            }
    }

    static func ljSpeech(_ directory: String) throws -> SpeechCorpus {
        let metadata = (directory as NSString).appendingPathComponent("metadata.csv")
        let utterances = try lines(metadata).map { number, line -> Utterance in
            let fields = line.split(separator: "|", omittingEmptySubsequences: false)
            let origin = "\(metadata) line \(number)"
            guard fields.count >= 2 else {
                throw SpeechCorpusError.badLine(origin: origin, reason: "expected `id|text|normalized text`")
            }
            let text = fields.count >= 3 && !fields[2].isEmpty ? fields[2] : fields[1]
            return Utterance(
                audioPath: (directory as NSString).appendingPathComponent("wavs/\(fields[0]).wav"),
                transcript: String(text), origin: origin)
        }
        return split(utterances) { URL(fileURLWithPath: $0.audioPath).lastPathComponent }
    }

    static func libriSpeech(_ directory: String) throws -> SpeechCorpus {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else {
            throw SpeechCorpusError.unknownLayout(path: directory)
        }
        var bySplit: [String: [Utterance]] = [:]
        var all: [Utterance] = []
        for case let relative as String in enumerator where relative.hasSuffix(".trans.txt") {
            let file = (directory as NSString).appendingPathComponent(relative)
            let folder = (file as NSString).deletingLastPathComponent
            for (number, line) in try lines(file) {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else {
                    throw SpeechCorpusError.badLine(
                        origin: "\(file) line \(number)", reason: "expected `utterance-id TEXT`")
                }
                let utterance = Utterance(
                    audioPath: (folder as NSString).appendingPathComponent("\(parts[0]).flac"),
                    transcript: String(parts[1]), origin: "\(file) line \(number)")
                all.append(utterance)
                let top = relative.split(separator: "/").first.map(String.init) ?? ""
                for prefix in ["train", "dev", "test"] where top.hasPrefix(prefix) {
                    bySplit[prefix, default: []].append(utterance)
                }
            }
        }
        guard !all.isEmpty else { throw SpeechCorpusError.unknownLayout(path: directory) }
        all.sort { $0.audioPath < $1.audioPath }
        if let train = bySplit["train"], let valid = bySplit["dev"], let test = bySplit["test"] {
            return SpeechCorpus(
                train: train.sorted { $0.audioPath < $1.audioPath },
                valid: valid.sorted { $0.audioPath < $1.audioPath },
                test: test.sorted { $0.audioPath < $1.audioPath })
        }
        // Speakers, not utterances, are split: the test voices are voices training never heard.
        return split(all) {
            URL(fileURLWithPath: $0.audioPath).lastPathComponent.split(separator: "-").first.map(String.init) ?? ""
        }
    }

    /// 90/5/5 by a stable hash of `key`.
    static func split(_ utterances: [Utterance], key: (Utterance) -> String) -> SpeechCorpus {
        var corpus = SpeechCorpus(train: [], valid: [], test: [])
        for utterance in utterances {
            switch stableHash(key(utterance)) % 20 {
            case 0: corpus.test.append(utterance)
            case 1: corpus.valid.append(utterance)
            default: corpus.train.append(utterance)
            }
        }
        return corpus
    }

    /// Opens every audio file's header before any training: a missing or unreadable file is
    /// reported with the manifest line that names it.
    public func checkAudio() throws {
        for utterance in train + valid + test {
            do {
                _ = try AudioFile.header(path: utterance.audioPath)
            } catch {
                throw SpeechCorpusError.badAudio(origin: utterance.origin, reason: "\(error)")
            }
        }
    }
}

extension Alphabet {
    /// A transcript in the alphabet's symbols: lowercased, letters with diacritics as their base
    /// letter (é → e), typographic apostrophes as ', other characters dropped (counted), runs of
    /// spaces as one.
    public func normalize(_ transcript: String) -> (text: String, dropped: Int) {
        var result = "", dropped = 0
        for character in transcript.lowercased().replacingOccurrences(of: "’", with: "'") {
            let candidate: Character? =
                id(of: character) != nil
                ? character
                : character.isWhitespace
                    ? " "
                    : String(character).decomposedStringWithCanonicalMapping.unicodeScalars.first
                        .map(Character.init).flatMap { id(of: $0) != nil ? $0 : nil }
            guard let symbol = candidate else {
                dropped += 1
                continue
            }
            if symbol == " " && (result.isEmpty || result.last == " ") { continue }
            result.append(symbol)
        }
        while result.last == " " { result.removeLast() }
        return (result, dropped)
    }

    /// The ids of a normalised transcript.
    public func ids(_ text: String) -> [Int32] { text.compactMap { id(of: $0) } }
}
