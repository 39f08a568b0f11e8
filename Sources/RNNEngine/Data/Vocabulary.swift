import Foundation

/// Tokens ↔ ids. Built from a training split, saved in checkpoints as a JSON array in id order
/// (`zoo.vocabulary`), so any corpus, script or vocabulary size round-trips.
public struct Vocabulary: Equatable, Sendable {
    public private(set) var tokens: [String]
    private var ids: [String: Int32]

    public init(tokens: [String]) {
        self.tokens = []
        self.ids = [:]
        for token in tokens { add(token) }
    }

    /// Adds a token if it is new and returns its id.
    @discardableResult
    public mutating func add(_ token: String) -> Int32 {
        if let id = ids[token] { return id }
        let id = Int32(tokens.count)
        tokens.append(token)
        ids[token] = id
        return id
    }

    public var count: Int { tokens.count }

    public func id(of token: String) -> Int32? { ids[token] }

    public func token(_ id: Int32) -> String { tokens[Int(id)] }

    /// The JSON array stored in checkpoint metadata. JSONEncoder and JSONDecoder, not
    /// JSONSerialization, which drops a U+FEFF that begins a string: a token from a line that
    /// carried a byte-order mark came back as another token, and the checkpoint did not load.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let data = (try? encoder.encode(tokens)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads the JSON array of a checkpoint's metadata; `path` names the file in errors.
    public init(json: String, path: String, key: String = "zoo.vocabulary") throws {
        guard let array = try? JSONDecoder().decode([String].self, from: Data(json.utf8)), !array.isEmpty
        else { throw CheckpointError.missingMetadata(path: path, key: key) }
        self.init(tokens: array)
        guard count == array.count else {
            throw CheckpointError.missingMetadata(path: path, key: "\(key) (duplicate tokens)")
        }
    }
}
