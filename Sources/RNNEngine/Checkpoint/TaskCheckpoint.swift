import Foundation

extension SafeTensorsFile {
    /// The `zoo.config` of a checkpoint written for `task` (or one of `aliases`), decoded. A
    /// file without `zoo.task`, of another task, or with an unreadable config is an error naming
    /// `path` — what every task's `load(path:)` checks first.
    public func taskConfig<Config: Decodable>(_ type: Config.Type, task: String, aliases: [String] = [], path: String)
        throws -> Config
    {
        guard let found = metadata["zoo.task"] else {
            throw CheckpointError.missingMetadata(
                path: path,
                key: "zoo.task (is this a zoo checkpoint? see docs/reference.md for the metadata a PyTorch file needs)")
        }
        guard found == task || aliases.contains(found) else {
            throw CheckpointError.wrongTask(path: path, found: found, expected: task)
        }
        guard let text = metadata["zoo.config"],
            let config = try? JSONDecoder().decode(Config.self, from: Data(text.utf8))
        else {
            throw CheckpointError.missingMetadata(path: path, key: "zoo.config")
        }
        return config
    }
}

/// Builds a model from what a checkpoint says: an error about the checkpoint itself passes
/// through, any other (a configuration the model refuses) makes the checkpoint malformed.
public func modelFromCheckpoint<Model>(path: String, _ build: () throws -> Model) throws -> Model {
    do {
        return try build()
    } catch let error as CheckpointError {
        throw error
    } catch {
        throw CheckpointError.malformed(path: path, reason: "\(error)")
    }
}
