import EngineSupport
import Foundation
import ImageCaptioning
import LanguageModel
import RNNEngine
import SpeechRecognition
import Synchronization
import Translation

/// The four tasks a server can serve, with the names the API and the page use.
public enum ServedTask: String, CaseIterable, Codable, Sendable {
    case languageModel = "lm"
    case translation, speech, captioning

    /// The command that trains a model of the task, for the page and the API to show.
    public var trainCommand: String {
        switch self {
        case .languageModel: return "zoo train lm"
        case .translation: return "zoo train translation"
        case .speech: return "zoo train speech"
        case .captioning: return "zoo train captioning"
        }
    }

    /// Its run directory's name, as `zoo train` writes it.
    public var runName: String {
        switch self {
        case .languageModel: return LanguageModelNetwork.taskName
        case .translation: return TranslationNetwork.taskName
        case .speech: return SpeechNetwork.taskName
        case .captioning: return CaptionNetwork.taskName
        }
    }
}

/// Copies of one loaded model, one per inference slot: a model's inference buffers serve one
/// request at a time, so each request borrows a copy of its own.
final class ModelPool<Model>: @unchecked Sendable {
    private let free: Mutex<[Int]>
    private let copies: [Model]

    init(copies: [Model]) {
        self.copies = copies
        free = Mutex(Array(copies.indices))
    }

    /// Runs `body` with a copy no other request holds. The gate's slots never outnumber the
    /// copies, so one is always free for a request that holds a slot.
    func withModel<T>(_ body: (Model) throws -> T) throws -> T {
        guard let index = free.withLock({ $0.popLast() }) else {
            throw APIError(.serviceUnavailable, "every copy of the model is busy; try again shortly", retryAfter: 1)
        }
        defer { free.withLock { $0.append(index) } }
        return try body(copies[index])
    }
}

/// What `GET /v1/models` says of a loaded model.
public struct ModelDescription: Codable, Sendable {
    public var task: ServedTask
    public var checkpoint: String
    public var parameters: Int
    /// The checkpoint's step and its validation metrics when it was saved (`valid_bleu`, ...).
    public var step: Int?
    public var validation: [String: Double]
    /// Sizes that matter to a caller: vocabulary, hidden size, image size, sample rate.
    public var sizes: [String: Int]
}

/// The models a server answers with, each optional: a task without one says how to train it.
public final class ServedModels: Sendable {
    let languageModel: ModelPool<LanguageModelNetwork>?
    let translation: ModelPool<TranslationNetwork>?
    let speech: ModelPool<SpeechNetwork>?
    let captioning: ModelPool<CaptionNetwork>?
    public let descriptions: [ServedTask: ModelDescription]
    /// How uploads are resized for the captioner (its configuration's image size).
    let captionPreprocessor: ImagePreprocessor?

    /// Loads each given checkpoint `copies` times. A checkpoint that does not load is an error
    /// naming it (the server does not start half-configured).
    public init(checkpoints: [ServedTask: String], copies: Int) throws {
        let copies = max(1, copies)
        func pool<Model>(_ task: ServedTask, _ load: (String) throws -> Model) throws -> ModelPool<Model>? {
            guard let path = checkpoints[task] else { return nil }
            return ModelPool(copies: try (0..<copies).map { _ in try load(path) })
        }
        languageModel = try pool(.languageModel, LanguageModelNetwork.load)
        translation = try pool(.translation, TranslationNetwork.load)
        speech = try pool(.speech, SpeechNetwork.load)
        captioning = try pool(.captioning, CaptionNetwork.load)

        var descriptions: [ServedTask: ModelDescription] = [:]
        func describe(_ task: ServedTask, parameters: Int, sizes: [String: Int]) throws {
            guard let path = checkpoints[task] else { return }
            let metadata = try SafeTensors.read(path: path).metadata
            var validation: [String: Double] = [:]
            for (key, value) in metadata where key.hasPrefix("zoo.valid_") {
                validation[String(key.dropFirst("zoo.".count))] = Double(value)
            }
            descriptions[task] = ModelDescription(
                task: task, checkpoint: path, parameters: parameters, step: metadata["zoo.step"].flatMap { Int($0) },
                validation: validation, sizes: sizes)
        }
        try languageModel?.withModel {
            try describe(
                .languageModel, parameters: $0.parameters.count,
                sizes: ["vocabulary": $0.vocabularySize, "hidden": $0.config.hiddenSize, "layers": $0.config.layers])
        }
        try translation?.withModel {
            try describe(
                .translation, parameters: $0.parameters.count,
                sizes: ["hidden": $0.config.hiddenSize, "embedding": $0.config.embeddingSize])
        }
        try speech?.withModel {
            try describe(
                .speech, parameters: $0.parameters.count,
                sizes: [
                    "hidden": $0.config.hiddenSize, "layers": $0.config.layers,
                    "sample_rate": LogMelSettings().sampleRate
                ])
        }
        try captioning?.withModel {
            try describe(
                .captioning, parameters: $0.parameters.count,
                sizes: ["image_size": $0.config.imageSize, "hidden": $0.config.hiddenSize])
        }
        self.descriptions = descriptions
        captionPreprocessor = try captioning?.withModel { $0.preprocessor }
    }
}
