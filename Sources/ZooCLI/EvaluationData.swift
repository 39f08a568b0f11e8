import EngineSupport
import Foundation
import RNNEngine

/// The data an evaluation scores: `--data` when given, else the data the checkpoint's run was
/// trained on (its run.json, beside the checkpoint), else the task's built-in data set. A model
/// trained on the user's corpus is scored on that corpus, not on the built-in one, and the
/// command says which it was.
struct EvaluationData {
    /// The path to load, nil for the built-in data set.
    let path: String?
    /// The words a person reads: "/data/pairs.tsv (the run's data, from runs/x/run.json)".
    let description: String

    init(given: String?, checkpoint: String) throws {
        if let given {
            path = given
            description = given
            return
        }
        let directory = (checkpoint as NSString).deletingLastPathComponent
        let settingsPath = RunSettings.path(directory: directory.isEmpty ? "." : directory)
        guard FileManager.default.fileExists(atPath: settingsPath) else {
            path = nil
            description = "the built-in data set (no run.json beside the checkpoint; pass --data to score other data)"
            return
        }
        let settings: RunSettings
        do { settings = try RunSettings.read(path: settingsPath) } catch {
            throw RunError("\(error); pass --data to say what to score")
        }
        guard let data = settings.data else {
            path = nil
            description = "the built-in data set (the run's data, from \(settingsPath))"
            return
        }
        guard FileManager.default.fileExists(atPath: data) else {
            throw RunError(
                "\(data): the data this model was trained on (from \(settingsPath)) is gone; pass --data to score other data"
            )
        }
        path = data
        description = "\(data) (the run's data, from \(settingsPath))"
    }

    /// The line an evaluation prints before its score.
    var line: String { "data: \(description)" }
}

/// Prints `value` as one JSON object with sorted keys, with `extra` fields added beside its own.
func printJSON<T: Encodable>(_ value: T, adding extra: [String: String]) throws {
    let encoder = JSONEncoder()
    guard var object = try JSONSerialization.jsonObject(with: encoder.encode(value)) as? [String: Any] else {
        try printJSON(value)
        return
    }
    for (key, field) in extra { object[key] = field }
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}
