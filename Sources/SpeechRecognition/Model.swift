import Foundation
import RNNEngine

/// The characters a recogniser writes: CTC's blank (id 0), then the symbols. Stored in the
/// checkpoint, so a model trained on another alphabet reads and writes its own.
public struct Alphabet: Codable, Equatable, Sendable {
    /// Symbols for ids 1, 2, ... (id 0 is the blank).
    public let symbols: [Character]
    private let ids: [Character: Int32]

    /// English: space, apostrophe and the 26 letters (28 symbols, 29 classes with the blank).
    public static let english = Alphabet(symbols: Array(" 'abcdefghijklmnopqrstuvwxyz"))

    public init(symbols: [Character]) {
        self.symbols = symbols
        var ids: [Character: Int32] = [:]
        for (index, symbol) in symbols.enumerated() { ids[symbol] = Int32(index + 1) }
        self.ids = ids
    }

    enum CodingKeys: String, CodingKey { case symbols }
    public init(from decoder: Decoder) throws {
        let text = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .symbols)
        self.init(symbols: Array(text))
    }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(String(symbols), forKey: .symbols)
    }

    /// Classes of the output layer: the blank and every symbol.
    public var classes: Int { symbols.count + 1 }

    /// The id of a character, nil when it is not in the alphabet.
    public func id(of character: Character) -> Int32? { ids[character] }

    /// Text from ids (blank and unknown ids skipped).
    public func text(_ ids: [Int32]) -> String {
        String(ids.compactMap { $0 > 0 && Int($0) <= symbols.count ? symbols[Int($0) - 1] : nil })
    }
}

/// A recogniser's hyperparameters: `zoo.config` in its checkpoints.
public struct SpeechConfig: Codable, Equatable, Sendable {
    public var cell: CellKind
    /// Log-mel features per frame.
    public var features: Int
    /// Consecutive frames stacked into one model step (the step rate divides by it).
    public var stacking: Int
    public var hiddenSize: Int
    public var layers: Int
    public var dropout: Float
    public var alphabet: Alphabet
    /// How features are normalised before the network reads them.
    public var normalization: FeatureNormalization

    enum CodingKeys: String, CodingKey {
        case cell, features, stacking
        case hiddenSize = "hidden_size"
        case layers, dropout, alphabet, normalization
    }

    public init(
        cell: CellKind = .lstm, features: Int = 80, stacking: Int = 3, hiddenSize: Int = 256, layers: Int = 3,
        dropout: Float = 0.1, alphabet: Alphabet = .english, normalization: FeatureNormalization = .utterance
    ) {
        self.cell = cell
        self.features = features
        self.stacking = stacking
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.dropout = dropout
        self.alphabet = alphabet
        self.normalization = normalization
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            cell: try c.decode(CellKind.self, forKey: .cell), features: try c.decode(Int.self, forKey: .features),
            stacking: try c.decode(Int.self, forKey: .stacking),
            hiddenSize: try c.decode(Int.self, forKey: .hiddenSize),
            layers: try c.decode(Int.self, forKey: .layers), dropout: try c.decode(Float.self, forKey: .dropout),
            alphabet: try c.decode(Alphabet.self, forKey: .alphabet),
            normalization: try c.decodeIfPresent(FeatureNormalization.self, forKey: .normalization) ?? .utterance)
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public func validate() throws {
        guard features > 0, stacking > 0, hiddenSize > 0, layers > 0 else {
            throw SpeechError.invalidConfig("sizes, layers and stacking must be positive")
        }
        guard dropout >= 0, dropout < 1 else { throw SpeechError.invalidConfig("dropout must be in [0, 1)") }
        guard !alphabet.symbols.isEmpty else { throw SpeechError.invalidConfig("the alphabet is empty") }
    }
}

/// Per-utterance statistics (each utterance to zero mean and unit variance per feature), or
/// global ones measured on the training split and kept in the checkpoint (`normalizer.mean`,
/// `normalizer.std`), as ESPnet's global CMVN.
public enum FeatureNormalization: String, Codable, Sendable, CaseIterable {
    case utterance, global
}

public typealias SpeechError = SettingsError

/// Stacked log-mel frames → a bidirectional multi-layer LSTM/GRU → a linear layer over the
/// alphabet and CTC's blank. Names are PyTorch's (`rnn.weight_ih_l0_reverse`, ...,
/// `output.weight`, `output.bias`).
public final class SpeechNetwork {
    public static let taskName = "speech"

    public let config: SpeechConfig
    public let parameters = ParameterStore()
    let rnn: RecurrentLayer
    let output: Linear
    /// Global normalisation statistics (features), saved with the model; unused per utterance.
    let featureMean: Buffer
    let featureDeviation: Buffer

    public init(config: SpeechConfig, rng: inout RandomGenerator) throws {
        try config.validate()
        self.config = config
        rnn = RecurrentLayer(
            config.cell, inputSize: config.features * config.stacking, hiddenSize: config.hiddenSize,
            layers: config.layers, bidirectional: true, dropout: config.dropout, prefix: "rnn",
            store: parameters, rng: &rng)
        output = Linear(
            inputSize: 2 * config.hiddenSize, outputSize: config.alphabet.classes, name: "output",
            store: parameters, rng: &rng)
        featureMean = parameters.declareBuffer("normalizer.mean", shape: [config.features])
        featureDeviation = parameters.declareBuffer("normalizer.std", shape: [config.features]) { $0.fill(1) }
        parameters.pack()
    }

    /// Logits (T, B, classes) for model inputs (T, B, features · stacking) of `lengths` steps each.
    public func logits(_ input: Variable, lengths: [Int], tape: Tape, rng: inout RandomGenerator) throws -> Variable {
        let (hidden, _) = try rnn(input, lengths: lengths, tape: tape, rng: &rng)
        return output(dropout(hidden, probability: config.dropout, tape: tape, rng: &rng), tape: tape)
    }

    /// Features as the network reads them (see `FeatureNormalization`).
    public func normalize(_ features: Tensor) -> Tensor {
        guard config.normalization == .global else { return LogMelExtractor.normalize(features) }
        let M = features.shape[1]
        let out = Tensor(uninitialized: features.shape)
        let mean = featureMean.value.data, deviation = featureDeviation.value.data
        for f in 0..<features.shape[0] {
            for m in 0..<M { out[f * M + m] = (features[f * M + m] - mean[m]) / deviation[m] }
        }
        return out
    }

    /// Measures the global statistics on (training) features.
    public func fitNormalization(_ features: [Tensor]) {
        let M = config.features
        var sum = [Double](repeating: 0, count: M), square = [Double](repeating: 0, count: M)
        var frames = 0
        for utterance in features {
            for f in 0..<utterance.shape[0] {
                for m in 0..<M {
                    let v = Double(utterance[f * M + m])
                    sum[m] += v
                    square[m] += v * v
                }
            }
            frames += utterance.shape[0]
        }
        for m in 0..<M {
            let mean = sum[m] / Double(max(frames, 1))
            featureMean.value[m] = Float(mean)
            featureDeviation.value[m] = Float(max(square[m] / Double(max(frames, 1)) - mean * mean, 1e-10).squareRoot())
        }
    }

    // MARK: Checkpoints

    public var checkpointMetadata: [String: String] { ["zoo.task": Self.taskName, "zoo.config": config.json] }

    public func save(to path: String) throws {
        try SafeTensors.write(parameters.namedTensors, metadata: checkpointMetadata, to: path)
    }

    /// Loads a speech checkpoint, naming the file in every error.
    public static func load(path: String) throws -> SpeechNetwork {
        let file = try SafeTensors.read(path: path)
        let config = try file.taskConfig(SpeechConfig.self, task: taskName, path: path)
        var rng = RandomGenerator(seed: 0)
        let network = try modelFromCheckpoint(path: path) { try SpeechNetwork(config: config, rng: &rng) }
        var tensors = file
        if config.normalization == .utterance && file.tensors["normalizer.mean"] == nil {
            // Written before the statistics were part of the model: per-utterance runs never read them.
            for (name, value) in [
                ("normalizer.mean", network.featureMean.value), ("normalizer.std", network.featureDeviation.value)
            ] {
                tensors.names.append(name)
                tensors.tensors[name] = value.copy()
            }
        }
        try network.parameters.load(tensors, path: path)
        return network
    }

    /// Transcribes audio files (any format and rate libsndfile reads).
    public func transcribe(
        files: [String], batchSize: Int = 16, beam: PrefixBeamOptions? = nil,
        scorer: (any PrefixScorer)? = nil
    ) throws -> [String] {
        try transcribe(
            clips: try files.map { try AudioFile.read(path: $0) }, batchSize: batchSize, beam: beam, scorer: scorer)
    }

    /// Transcripts of clips already read (any sample rate: resampled to the features' rate).
    public func transcribe(
        clips: [AudioClip], batchSize: Int = 16, beam: PrefixBeamOptions? = nil, scorer: (any PrefixScorer)? = nil
    ) throws -> [String] {
        let extractor = LogMelExtractor()
        return try transcribe(
            features: clips.map { extractor.features($0) }, batchSize: batchSize, beam: beam, scorer: scorer)
    }

    /// A clip's log-mel spectrogram with the characters of its best path placed where the model
    /// emits them (the first step of each), as a PNG.
    public func plotAlignment(of clip: AudioClip, title: String, to path: String) throws {
        let extractor = LogMelExtractor()
        let features = extractor.features(clip)
        let (input, lengths) = stackedBatch([normalize(features)], stacking: config.stacking)
        var rng = RandomGenerator(seed: 0)
        let logits = try self.logits(input, lengths: lengths, tape: Tape.inference(), rng: &rng).value
        let marks = Self.bestPathEmissions(logits, lengths: lengths)[0].map {
            (frame: $0.step * config.stacking, text: String(config.alphabet.symbols[Int($0.id) - 1]))
        }
        let M = features.shape[1]
        let values = (0..<features.shape[0]).map { f in
            Array(UnsafeBufferPointer(start: features.data + f * M, count: M))
        }
        let hop = Double(extractor.settings.hop) / Double(extractor.settings.sampleRate)
        try SpectrogramPlot(values: values, secondsPerFrame: hop, marks: marks, title: title).render().writePNG(
            to: path)
    }

    /// Best path per utterance: the most likely class at each step, repeats merged, blanks removed.
    public static func greedyPaths(_ logits: Tensor, lengths: [Int]) -> [[Int32]] {
        bestPathEmissions(logits, lengths: lengths).map { $0.map(\.id) }
    }

    /// The best path's characters per utterance with the step where each is first emitted: the
    /// most likely class at each step of (T, B, C) logits, repeats merged, blanks removed.
    static func bestPathEmissions(_ logits: Tensor, lengths: [Int]) -> [[(step: Int, id: Int32)]] {
        let T = logits.shape[0], B = logits.shape[1], C = logits.shape[2]
        return (0..<B).map { b in
            var emissions: [(step: Int, id: Int32)] = []
            var previous: Int32 = -1
            for t in 0..<min(T, lengths[b]) {
                let row = logits.data + (t * B + b) * C
                var best = 0
                for c in 1..<C where row[c] > row[best] { best = c }
                if best != previous && best != 0 { emissions.append((t, Int32(best))) }
                previous = Int32(best)
            }
            return emissions
        }
    }
}
