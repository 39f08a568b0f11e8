import Foundation

/// Everything that defines a run besides its length, kept in the run directory as `run.json`
/// (snake_case keys) when the run starts, so that resuming continues the same run: the data,
/// the model's shape, the batching and the schedule. Fields a task does not use stay nil.
///
/// The rules for resuming (`RunSettingsResolver`) live beside it, and `Trainer` refuses to resume
/// a run with settings that differ from the ones its `run.json` holds, so a program that trains
/// through the library is held to the same rules as `zoo train`.
public struct RunSettings: Codable, Equatable, Sendable {
    public var task: String
    public var data: String?
    public var tokens: String?
    public var cell: String?
    public var hiddenSize: Int?
    public var embeddingSize: Int?
    public var layers: Int?
    public var dropout: Float?
    public var tied: Bool?
    public var bidirectional: Bool?
    public var attention: String?
    public var inputFeeding: Bool?
    public var labelSmoothing: Float?
    public var subword: String?
    public var merges: Int?
    public var jointBpe: Bool?
    public var vocabularySize: Int?
    public var minFrequency: Int?
    public var maxLength: Int?
    public var stacking: Int?
    public var specAugment: Bool?
    public var normalization: String?
    public var zeroInfinity: Bool?
    public var imageSize: Int?
    public var attentionSize: Int?
    public var batchNorm: Bool?
    public var attentionPenalty: Float?
    public var flip: Bool?
    public var shift: Int?
    public var batchSize: Int?
    public var bptt: Int?
    public var learningRate: Float?
    public var optimizer: String?
    public var momentum: Float?
    public var weightDecay: Float?
    public var clip: Float?
    public var evalEvery: Int?
    public var logEvery: Int?
    public var patience: Int?
    public var lrSchedule: String?
    public var lrPatience: Int?
    public var lrFactor: Float?
    public var minLr: Float?
    public var seed: UInt64?

    public init(task: String) { self.task = task }

    /// `directory/run.json`.
    public static func path(directory: String) -> String { directory + "/run.json" }

    /// A run's settings file; anything but a JSON object of these fields is
    /// `TrainingError.unreadableSettings`, naming the file.
    public static func read(path: String) throws -> RunSettings {
        // A run.json is a few hundred bytes; a larger file is not one (and is not read whole).
        let limit = 1 << 20
        var status = stat()
        if stat(path, &status) == 0, status.st_size > limit {
            throw TrainingError.unreadableSettings(
                path: path, reason: "\(status.st_size) bytes, more than a run's settings (\(limit))")
        }
        guard let bytes = TextFile.bytes(atPath: path) else {
            throw TrainingError.unreadableSettings(path: path, reason: "cannot be read")
        }
        return try decode(bytes, path: path)
    }

    /// Parses run.json's bytes; `path` names them in errors.
    public static func decode(_ bytes: Data, path: String) throws -> RunSettings {
        do {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try decoder.decode(RunSettings.self, from: bytes)
        } catch {
            throw TrainingError.unreadableSettings(path: path, reason: jsonErrorReason(error))
        }
    }

    /// The settings as run.json holds them: sorted snake_case keys, one per line.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        // Every field is a plain value (floats are finite: the flags refuse NaN), so encoding
        // cannot fail; "{}" would only hide a bug, and would be refused at resume.
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }

    /// The run.json keys whose values differ between the two, sorted. Compared field by field
    /// (not through JSONSerialization, which drops a U+FEFF that begins a string).
    public func differences(from other: RunSettings) -> [String] {
        zip(Mirror(reflecting: self).children, Mirror(reflecting: other).children).compactMap { mine, theirs in
            guard let label = mine.label, String(describing: mine.value) != String(describing: theirs.value) else {
                return nil
            }
            return Self.snakeCase(label)
        }.sorted()
    }

    /// "hiddenSize" → "hidden_size", as run.json spells the field.
    static func snakeCase(_ name: String) -> String {
        name.reduce(into: "") { result, character in
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
    }
}

/// Resolves each setting of a run: the value given (a flag, a program's argument), else what the
/// resumed run kept in its run.json, else the default. A given value that contradicts the resumed
/// run is refused, naming it: resuming with another model or schedule would not continue that run.
public struct RunSettingsResolver {
    public let directory: String
    /// The resumed run's settings; nil for a new run.
    public let saved: RunSettings?

    public init(directory: String, saved: RunSettings?) {
        self.directory = directory
        self.saved = saved
    }

    /// Reads `directory/run.json` when resuming and the file exists.
    public init(resuming: Bool, directory: String) throws {
        self.directory = directory
        let path = RunSettings.path(directory: directory)
        guard resuming, FileManager.default.fileExists(atPath: path) else {
            saved = nil
            return
        }
        saved = try RunSettings.read(path: path)
    }

    /// `given`, else the resumed run's value, else `fallback`; `name` is how the caller calls
    /// the setting (a flag such as "--hidden-size") in the error.
    public func value<T: Codable & Equatable>(
        _ name: String, _ given: T?, _ field: KeyPath<RunSettings, T?>, default fallback: T
    ) throws -> T {
        try optional(name, given, field) ?? fallback
    }

    /// `given`, else the resumed run's value (nil when neither has one).
    public func optional<T: Codable & Equatable>(_ name: String, _ given: T?, _ field: KeyPath<RunSettings, T?>) throws
        -> T?
    {
        guard let saved else { return given }
        let kept = saved[keyPath: field]
        if let given, given != kept {
            throw TrainingError.contradictsRun(
                directory: directory, setting: name, given: "\(given)",
                kept: kept.map { "\($0)" } ?? "its default")
        }
        return kept
    }
}
