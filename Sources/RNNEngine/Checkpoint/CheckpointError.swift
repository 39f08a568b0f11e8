/// What can go wrong reading or writing a checkpoint. Every case names the file.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unsupportedDType(path: String, name: String, dtype: String)
    case missingTensor(path: String, name: String)
    case unexpectedTensor(path: String, name: String)
    case shapeMismatch(path: String, name: String, found: [Int], expected: [Int])
    case missingMetadata(path: String, key: String)
    case wrongTask(path: String, found: String, expected: String)
    case writeFailed(path: String, reason: String)
    /// A run's optimizer-and-loop state file where a model checkpoint was expected.
    case trainingState(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "\(path): cannot read checkpoint: \(reason)"
        case .malformed(let path, let reason):
            return "\(path): not a valid safetensors file: \(reason)"
        case .unsupportedDType(let path, let name, let dtype):
            return
                "\(path): tensor '\(name)' has dtype \(dtype); the supported dtypes are F32, F16, BF16, F64, I64, I32, I16, I8, U8 and BOOL"
        case .missingTensor(let path, let name):
            return "\(path): tensor '\(name)' is missing (is this a checkpoint of a different model?)"
        case .unexpectedTensor(let path, let name):
            return "\(path): tensor '\(name)' is not part of this model (is this a checkpoint of a different model?)"
        case .shapeMismatch(let path, let name, let found, let expected):
            return "\(path): tensor '\(name)' has shape \(found) in the file but the model expects \(expected)"
        case .missingMetadata(let path, let key):
            return "\(path): metadata '\(key)' is missing or invalid"
        case .wrongTask(let path, let found, let expected):
            return "\(path): this is a '\(found)' checkpoint, not a '\(expected)' one"
        case .trainingState(let path):
            return
                "\(path): this is a run's training state (optimizer and loop), not a model; use best.safetensors or last.safetensors beside it"
        case .writeFailed(let path, let reason):
            return "\(path): cannot write: \(reason)"
        }
    }
}
