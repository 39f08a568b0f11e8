/// The defaults of the options whose value depends on the task, in one place: the training
/// commands use them and the help texts print them.
struct TaskDefaults {
    let steps: Int
    let batchSize: Int
    let learningRate: Float
    let hiddenSize: Int
    let embeddingSize: Int

    static let languageModel = TaskDefaults(steps: 600, batchSize: 32, learningRate: 2e-3, hiddenSize: 256, embeddingSize: 64)
    static let translation = TaskDefaults(steps: 4000, batchSize: 64, learningRate: 1e-3, hiddenSize: 256, embeddingSize: 128)
    /// Speech has no embedding.
    static let speech = TaskDefaults(steps: 2000, batchSize: 16, learningRate: 1e-3, hiddenSize: 256, embeddingSize: 0)
    static let captioning = TaskDefaults(steps: 2500, batchSize: 32, learningRate: 1e-3, hiddenSize: 256, embeddingSize: 128)
    /// Timesteps per language-model batch.
    static let languageModelBPTT = 64
    /// Evaluate every epoch, but at least `minimumEvaluationInterval` and at most
    /// `maximumEvaluationInterval` steps apart; log every min(50, evaluation interval / 4).
    static let minimumEvaluationInterval = 100
    static let maximumEvaluationInterval = 200
    static let maximumLogInterval = 50

    /// "600 for language-model, 4000 for translation", for a help text.
    static func help(_ value: (TaskDefaults) -> CustomStringConvertible) -> String {
        "default: \(value(languageModel)) for language-model, \(value(translation)) for translation, \(value(speech)) for speech, \(value(captioning)) for captioning"
    }
}
