import ImageCaptioning
import LanguageModel
import SpeechRecognition
import Translation

/// The defaults of the options whose value depends on the task, in one place: the training
/// commands use them and their help texts print them.
struct TaskDefaults {
    /// The task's name: its run directory is runs/<name>.
    let name: String
    /// What it trains on without --data, in a person's words.
    let builtInData: String
    /// What --data takes, in a person's words (docs/reference.md has the formats).
    let dataFormat: String
    /// The command that trains a model of the task.
    let trainCommand: String
    let steps: Int
    let batchSize: Int
    let learningRate: Float
    let hiddenSize: Int
    let embeddingSize: Int
    let dropout: Float
    /// The default validation interval is one epoch, at most this many steps (and at least
    /// `minimumEvaluationInterval`).
    let maximumEvaluationInterval: Int

    static let languageModel = TaskDefaults(
        name: LanguageModelNetwork.taskName,
        builtInData: "the built-in corpus", dataFormat: "a file or a train/valid/test directory",
        trainCommand: "zoo train lm",
        steps: 600, batchSize: 32, learningRate: 2e-3, hiddenSize: 256, embeddingSize: 64, dropout: 0,
        maximumEvaluationInterval: 200)
    static let translation = TaskDefaults(
        name: TranslationNetwork.taskName,
        builtInData: "the built-in corpus", dataFormat: "a TSV file or a train/valid/test directory",
        trainCommand: "zoo train translation",
        steps: 4000, batchSize: 64, learningRate: 1e-3, hiddenSize: 256, embeddingSize: 128, dropout: 0.1,
        maximumEvaluationInterval: 500)
    /// Speech has no embedding.
    static let speech = TaskDefaults(
        name: SpeechNetwork.taskName,
        builtInData: "the built-in corpus", dataFormat: "a speech data directory", trainCommand: "zoo train speech",
        steps: 2000, batchSize: 16, learningRate: 1e-3, hiddenSize: 256, embeddingSize: 0, dropout: 0.1,
        maximumEvaluationInterval: 500)
    static let captioning = TaskDefaults(
        name: CaptionNetwork.taskName,
        builtInData: "the built-in scenes", dataFormat: "a captioning data directory",
        trainCommand: "zoo train captioning",
        steps: 2500, batchSize: 32, learningRate: 1e-3, hiddenSize: 256, embeddingSize: 128, dropout: 0.3,
        maximumEvaluationInterval: 500)
    /// Timesteps per language-model batch.
    static let languageModelBPTT = 64
    /// Evaluate every epoch, but at least `minimumEvaluationInterval` and at most the task's
    /// `maximumEvaluationInterval` steps apart; log every min(50, evaluation interval / 4).
    static let minimumEvaluationInterval = 100
    static let maximumLogInterval = 50
}

/// The task a training command trains, as a type: the shared flags (`TrainingFlags`,
/// `ModelFlags`) are generic over it, so each command's help prints its own defaults.
protocol TrainingTaskKind {
    static var defaults: TaskDefaults { get }
}

enum LanguageModelKind: TrainingTaskKind { static var defaults: TaskDefaults { .languageModel } }
enum TranslationKind: TrainingTaskKind { static var defaults: TaskDefaults { .translation } }
enum SpeechKind: TrainingTaskKind { static var defaults: TaskDefaults { .speech } }
enum CaptioningKind: TrainingTaskKind { static var defaults: TaskDefaults { .captioning } }
