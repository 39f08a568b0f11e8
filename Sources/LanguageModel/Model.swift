import Foundation
import RNNEngine

/// A language model's hyperparameters: `zoo.config` in its checkpoints (docs/reference.md).
public struct LanguageModelConfig: Codable, Equatable, Sendable {
    public var cell: CellKind
    public var embeddingSize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var tokens: Tokenization
    public var tied: Bool
    /// Dropout on the embeddings, between layers and on the recurrent outputs (training only).
    public var dropout: Float

    enum CodingKeys: String, CodingKey {
        case cell
        case embeddingSize = "embedding_size"
        case hiddenSize = "hidden_size"
        case layers, tokens, tied, dropout
    }

    /// The defaults are `zoo train lm`'s.
    public init(
        cell: CellKind = .lstm, embeddingSize: Int = 64, hiddenSize: Int = 256, layers: Int = 1,
        tokens: Tokenization = .char, tied: Bool = false, dropout: Float = 0
    ) {
        self.cell = cell
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.tokens = tokens
        self.tied = tied
        self.dropout = dropout
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cell = try c.decode(CellKind.self, forKey: .cell)
        embeddingSize = try c.decode(Int.self, forKey: .embeddingSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        layers = try c.decode(Int.self, forKey: .layers)
        tokens = try c.decode(Tokenization.self, forKey: .tokens)
        tied = try c.decodeIfPresent(Bool.self, forKey: .tied) ?? false
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Checks sizes a user can get wrong.
    public func validate() throws {
        guard embeddingSize > 0, hiddenSize > 0, layers > 0 else {
            throw LanguageModelError.invalidConfig("sizes and layers must be positive")
        }
        guard dropout >= 0, dropout < 1 else { throw LanguageModelError.invalidConfig("dropout must be in [0, 1)") }
        if tied && embeddingSize != hiddenSize {
            throw LanguageModelError.invalidConfig(
                "tied weights need --embedding-size equal to --hidden-size (\(embeddingSize) ≠ \(hiddenSize))")
        }
    }
}

public enum LanguageModelError: Error, CustomStringConvertible {
    case invalidConfig(String)
    case emptyPrompt
    public var description: String {
        switch self {
        case .invalidConfig(let m): return "invalid model configuration: \(m)"
        case .emptyPrompt: return "none of the prompt's tokens is in the model's vocabulary"
        }
    }
}

/// Embedding → RNN/LSTM/GRU → Linear, with the names and layouts of pytorch/examples'
/// word_language_model (`encoder.weight`, `rnn.*`, `decoder.weight`, `decoder.bias`), so its
/// checkpoints load in PyTorch and PyTorch's load here.
public final class LanguageModelNetwork {
    public static let taskName = "language-model"

    public let config: LanguageModelConfig
    public let vocabulary: Vocabulary
    public let parameters = ParameterStore()
    let encoder: Embedding
    let rnn: RecurrentLayer
    let decoderWeight: Parameter
    let decoderBias: Parameter

    public var vocabularySize: Int { vocabulary.count }

    public init(config: LanguageModelConfig, vocabulary: Vocabulary, rng: inout RandomGenerator) throws {
        try config.validate()
        self.config = config
        self.vocabulary = vocabulary
        let V = vocabulary.count
        // pytorch/examples' init: encoder and decoder weights uniform ±0.1, decoder bias 0.
        encoder = Embedding(
            vocabularySize: V, embeddingSize: config.embeddingSize, name: "encoder", store: parameters, rng: &rng)
        rng.fillUniform(encoder.weight.value, -0.1, 0.1)
        rnn = RecurrentLayer(
            config.cell, inputSize: config.embeddingSize, hiddenSize: config.hiddenSize,
            layers: config.layers, dropout: config.dropout, prefix: "rnn", store: parameters, rng: &rng)
        if config.tied {
            decoderWeight = encoder.weight
        } else {
            decoderWeight = parameters.declare("decoder.weight", shape: [V, config.hiddenSize]) {
                rng.fillUniform($0, -0.1, 0.1)
            }
        }
        decoderBias = parameters.declare("decoder.bias", shape: [V]) { $0.zero() }
        parameters.pack()
    }

    /// A zero state for `batch` streams.
    public func zeroState(batch: Int) -> RecurrentState { rnn.zeroState(batch: batch) }

    /// Logits (T, B, V) for token ids laid out (T, B), time-major.
    public func forward(
        _ ids: [Int32], steps T: Int, batch B: Int, state: RecurrentState?,
        tape: Tape, rng: inout RandomGenerator
    ) throws -> (logits: Variable, state: RecurrentState) {
        let (hidden, newState) = try rnn(
            tokens: ids, steps: T, batch: B, embedding: encoder, inputDropout: config.dropout,
            initialState: state, tape: tape, rng: &rng)
        let h = dropout(hidden, probability: config.dropout, tape: tape, rng: &rng)
        return (linear(h, weight: decoderWeight, bias: decoderBias, tape: tape), newState)
    }

    // MARK: Checkpoints

    /// The tensors as PyTorch's state_dict has them (a tied model lists the shared weight twice).
    public var stateDictionary: [(String, Tensor)] {
        var tensors = parameters.namedTensors
        if config.tied { tensors.append(("decoder.weight", encoder.weight.value)) }
        return tensors
    }

    public var checkpointMetadata: [String: String] {
        ["zoo.task": Self.taskName, "zoo.config": config.json, "zoo.vocabulary": vocabulary.json]
    }

    public func save(to path: String, extraMetadata: [String: String] = [:]) throws {
        try SafeTensors.write(stateDictionary, metadata: checkpointMetadata.merging(extraMetadata) { $1 }, to: path)
    }

    /// Loads a language-model checkpoint (ours, or PyTorch's with the metadata of docs/reference.md).
    public static func load(path: String) throws -> LanguageModelNetwork {
        let file = try SafeTensors.read(path: path)
        if file.metadata["optimizer"] != nil && file.metadata["zoo.task"] == nil {
            throw CheckpointError.trainingState(path: path)
        }
        let config = try file.taskConfig(LanguageModelConfig.self, task: taskName, aliases: ["lm"], path: path)
        guard let vocabularyText = file.metadata["zoo.vocabulary"] else {
            throw CheckpointError.missingMetadata(path: path, key: "zoo.vocabulary")
        }
        let vocabulary = try Vocabulary(json: vocabularyText, path: path)
        var rng = RandomGenerator(seed: 0)
        let network = try modelFromCheckpoint(path: path) {
            try LanguageModelNetwork(config: config, vocabulary: vocabulary, rng: &rng)
        }
        try network.loadState(file, path: path)
        return network
    }

    /// Copies the tensors of a state dictionary (`stateDictionary`'s names) into the model. A
    /// tied model's `decoder.weight` is the embedding, which the file holds under its own name.
    public func loadState(_ file: SafeTensorsFile, path: String) throws {
        try parameters.load(file, path: path, aliases: config.tied ? ["decoder.weight"] : [])
    }
}
