import Foundation

/// What can go wrong reading a data file line by line. Every case names the file.
public enum TextFileError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    case notUTF8(path: String, line: Int)

    public var description: String {
        switch self {
        case .missing(let path): return "\(path): no such file or directory"
        case .notUTF8(let path, let line): return "\(path) line \(line): not valid UTF-8"
        }
    }
}

/// Data files (manifests, caption lists) read as numbered lines.
public enum TextFile {
    /// A file's bytes, nil when it cannot be opened. An empty file is answered without reading
    /// it: Foundation's `FileManager.contents(atPath:)` leaks its 4 KB read buffer on one (found
    /// by fuzzing under LeakSanitizer).
    public static func bytes(atPath path: String) -> Data? {
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_size == 0 {
            return access(path, R_OK) == 0 ? Data() : nil
        }
        return FileManager.default.contents(atPath: path)
    }

    /// `text` without U+FEFF. It is a byte-order mark wherever it stands in a data file: at the
    /// start, at a line's start where files were joined (message catalogues have them), inside a
    /// line where a tool pasted one; its other meaning, a zero-width no-break space, is
    /// deprecated (U+2060 took it over). Left in, it made "\u{FEFF}HTTP-Proxy" a token of its
    /// own that looked like "HTTP-Proxy". Other format characters (ZWJ, ZWNJ, direction marks)
    /// stay: they change how a text reads.
    public static func removingByteOrderMarks(_ text: String) -> String {
        text.unicodeScalars.contains("\u{FEFF}")
            ? String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != "\u{FEFF}" })) : text
    }

    /// The non-blank lines with their 1-based numbers, a trailing carriage return removed.
    public static func numberedLines(_ path: String) throws -> [(number: Int, text: String)] {
        guard let data = bytes(atPath: path) else { throw TextFileError.missing(path: path) }
        var result: [(Int, String)] = []
        for (index, bytes) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            guard var line = String(data: Data(bytes), encoding: .utf8) else {
                throw TextFileError.notUTF8(path: path, line: index + 1)
            }
            if line.hasSuffix("\r") { line.removeLast() }
            line = removingByteOrderMarks(line)
            if !line.allSatisfy(\.isWhitespace) { result.append((index + 1, line)) }
        }
        return result
    }
}
