import Foundation

/// What can go wrong reading a data file line by line. Every case names the file.
public enum TextFileError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    case notUTF8(path: String, line: Int)

    public var description: String {
        switch self {
        case .missing(let path): return "\(path): no such file or directory"
        case let .notUTF8(path, line): return "\(path) line \(line): not valid UTF-8"
        }
    }
}

/// Data files (manifests, caption lists) read as numbered lines.
public enum TextFile {
    /// The non-blank lines with their 1-based numbers, a trailing carriage return removed.
    public static func numberedLines(_ path: String) throws -> [(number: Int, text: String)] {
        guard let data = FileManager.default.contents(atPath: path) else { throw TextFileError.missing(path: path) }
        var result: [(Int, String)] = []
        for (index, bytes) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            guard var line = String(data: Data(bytes), encoding: .utf8) else { throw TextFileError.notUTF8(path: path, line: index + 1) }
            if line.hasSuffix("\r") { line.removeLast() }
            if !line.allSatisfy(\.isWhitespace) { result.append((index + 1, line)) }
        }
        return result
    }
}
