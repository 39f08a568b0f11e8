/// A model configuration or a task option that cannot work, in the words of the flag or field
/// concerned. Each task names it after itself (`TranslationError`, `SpeechError`, ...).
public enum SettingsError: Error, CustomStringConvertible {
    case invalidConfig(String)
    case invalidOptions(String)

    public var description: String {
        switch self {
        case .invalidConfig(let m): return "invalid model configuration: \(m)"
        case .invalidOptions(let m): return m
        }
    }
}
