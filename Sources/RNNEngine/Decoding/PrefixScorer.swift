/// Scores the next character of a text from the text so far: what a decoder adds to its own
/// scores in shallow fusion (`ctcPrefixBeamSearch` in SpeechRecognition). A character language
/// model is one (`CharacterLanguageModelScorer` in LanguageModel); a decoder needs only this,
/// not the model behind it, so the tasks do not depend on each other.
public protocol PrefixScorer: AnyObject {
    /// The characters scored, in the order of `logProbabilities(after:)`'s values.
    var symbols: [Character] { get }
    /// log p(symbol | prefix) for every symbol of `symbols`.
    func logProbabilities(after prefix: String) throws -> [Float]
    /// The same for several prefixes at once (a beam's new ones, frame by frame), so that a
    /// scorer can run them as one batch.
    func logProbabilities(afterEach prefixes: [String]) throws -> [[Float]]
}

extension PrefixScorer {
    /// One prefix after another.
    public func logProbabilities(afterEach prefixes: [String]) throws -> [[Float]] {
        try prefixes.map { try logProbabilities(after: $0) }
    }
}
