import Foundation

/// One line of a `file<TAB>text` manifest: the file's path (a relative one resolved against the
/// data directory), the text, and where the line is ("PATH line N") for errors.
public struct ManifestLine: Sendable, Equatable {
    public let path: String
    public let text: String
    public let origin: String
}

/// The `train.tsv`, `valid.tsv` and `test.tsv` manifests of speech and captioning data
/// directories, and the numbered lines of their other layouts' text files (LJSpeech's
/// metadata.csv, LibriSpeech's transcripts, Flickr8k's token file). Errors come back in the
/// caller's own error type: `missing(path)` for a file that is not there, `badLine(origin,
/// reason)` for a line or a file that cannot be used.
public struct ManifestReader: Sendable {
    public let missing: @Sendable (_ path: String) -> Error
    public let badLine: @Sendable (_ origin: String, _ reason: String) -> Error

    public init(
        missing: @escaping @Sendable (_ path: String) -> Error,
        badLine: @escaping @Sendable (_ origin: String, _ reason: String) -> Error
    ) {
        self.missing = missing
        self.badLine = badLine
    }

    /// The non-blank lines of a data file with their 1-based numbers.
    public func lines(_ path: String) throws -> [(number: Int, text: String)] {
        do {
            return try TextFile.numberedLines(path)
        } catch TextFileError.missing(let path) {
            throw missing(path)
        } catch TextFileError.notUTF8(let path, let line) {
            throw badLine("\(path) line \(line)", "not valid UTF-8")
        }
    }

    /// The lines of the manifest `path`, each `file<TAB>text` (further columns ignored); `columns`
    /// names the two fields in errors ("audio", "transcript"), `layout` the directory that needs
    /// the manifest ("a speech directory").
    public func manifest(_ path: String, directory: String, columns: (file: String, text: String), layout: String)
        throws -> [ManifestLine]
    {
        guard FileManager.default.fileExists(atPath: path) else {
            throw badLine(path, "missing: \(layout) needs train.tsv, valid.tsv and test.tsv")
        }
        return try lines(path).map { number, line in
            let fields = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            let origin = "\(path) line \(number)"
            guard fields.count >= 2 else {
                throw badLine(origin, "expected `\(columns.file)<TAB>\(columns.text)`, found no tab")
            }
            let file = String(fields[0]).trimmingCharacters(in: .whitespaces)
            guard !file.isEmpty else { throw badLine(origin, "the \(columns.file) path is empty") }
            return ManifestLine(
                path: file.hasPrefix("/") ? file : (directory as NSString).appendingPathComponent(file),
                text: String(fields[1]), origin: origin)
        }
    }
}
