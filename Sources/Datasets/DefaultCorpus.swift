import Foundation
import LanguageModel

/// The built-in demo corpus: the licence texts every Debian and Ubuntu system ships under
/// /usr/share/common-licenses (about 200 kB of English), read at run time, never committed.
public enum DefaultCorpus {
    public static let directory = "/usr/share/common-licenses"

    /// The licence texts, each once (the unversioned names are links to versioned files),
    /// concatenated in name order.
    public static func text() throws -> String {
        let fileManager = FileManager.default
        guard let names = try? fileManager.contentsOfDirectory(atPath: directory) else {
            throw CorpusError.missing(path: directory)
        }
        var seen = Set<String>()
        var parts: [String] = []
        for name in names.sorted() {
            let path = directory + "/" + name
            let resolved = (path as NSString).resolvingSymlinksInPath
            guard seen.insert(resolved).inserted, let text = try? CorpusText.readText(path) else { continue }
            parts.append(text)
        }
        guard !parts.isEmpty else { throw CorpusError.empty(path: directory) }
        return parts.joined(separator: "\n")
    }

    /// The default corpus split 90/5/5.
    public static func load() throws -> CorpusText {
        CorpusText.split(try text(), source: directory)
    }

    /// Writes train.txt, valid.txt and test.txt into `directory` (`zoo data lm --out DIR`).
    /// Writes the splits as train.txt, valid.txt and test.txt; refuses to replace an existing
    /// file (it may hold the user's edits) unless `overwrite`.
    public static func write(to outputDirectory: String, overwrite: Bool = false) throws -> [String] {
        let corpus = try load()
        let files = [("train.txt", corpus.train), ("valid.txt", corpus.valid), ("test.txt", corpus.test)].map {
            ((outputDirectory as NSString).appendingPathComponent($0.0), $0.1)
        }
        if !overwrite, let existing = files.first(where: { FileManager.default.fileExists(atPath: $0.0) }) {
            throw CorpusError.wouldOverwrite(path: existing.0)
        }
        try createDirectory(outputDirectory)
        for (path, text) in files {
            try writeAtomically(Data(text.utf8), to: path)
        }
        return files.map(\.0)
    }
}
