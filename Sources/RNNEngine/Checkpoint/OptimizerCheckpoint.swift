/// The optimizer's state (and any training-loop state the caller adds as metadata) in a
/// safetensors file beside the model checkpoint, so that `--resume` continues exactly.
public enum OptimizerCheckpoint {
    /// `model.safetensors` → `model.optimizer.safetensors`.
    public static func path(besideCheckpoint checkpoint: String) -> String {
        let base = checkpoint.hasSuffix(".safetensors") ? String(checkpoint.dropLast(".safetensors".count)) : checkpoint
        return base + ".optimizer.safetensors"
    }

    public static func save(_ optimizer: Optimizer, extraMetadata: [String: String] = [:], to path: String) throws {
        var metadata = optimizer.stateMetadata()
        metadata["learning_rate"] = String(optimizer.learningRate)
        for (key, value) in extraMetadata { metadata[key] = value }
        try SafeTensors.write(optimizer.stateTensors(), metadata: metadata, to: path)
    }

    /// Restores the optimizer and returns the file's metadata (for the caller's own state).
    @discardableResult
    public static func load(into optimizer: Optimizer, from path: String) throws -> [String: String] {
        try load(into: optimizer, file: try SafeTensors.read(path: path), path: path)
    }

    /// The same from a file already read (`path` names it in errors).
    @discardableResult
    public static func load(into optimizer: Optimizer, file: SafeTensorsFile, path: String) throws -> [String: String] {
        guard let kind = file.metadata["optimizer"], kind == optimizer.stateMetadata()["optimizer"] else {
            throw CheckpointError.missingMetadata(
                path: path, key: "optimizer (\(optimizer.stateMetadata()["optimizer"] ?? "?"))")
        }
        try optimizer.loadState(tensors: file.tensors, metadata: file.metadata, path: path)
        if let lr = file.metadata["learning_rate"].flatMap(Float.init) { optimizer.learningRate = lr }
        return file.metadata
    }
}
