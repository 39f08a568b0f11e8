import Foundation
import RNNEngine

/// A captioner's hyperparameters: `zoo.config` in its checkpoints.
public struct CaptionConfig: Codable, Equatable, Sendable {
    /// Images are resized to imageSize × imageSize.
    public var imageSize: Int
    /// Output channels of each 3×3 convolution block; every block but the last ends with 2×2
    /// max pooling, so the grid the decoder attends over is imageSize / 2^(blocks − 1) a side.
    public var channels: [Int]
    public var batchNorm: Bool
    public var embeddingSize: Int
    public var hiddenSize: Int
    public var attentionSize: Int
    /// Dropout before the output layer.
    public var dropout: Float
    /// λ of the doubly stochastic attention penalty λ · Σ_positions (1 − Σ_steps α)².
    public var attentionPenalty: Float

    enum CodingKeys: String, CodingKey {
        case imageSize = "image_size"
        case channels
        case batchNorm = "batch_norm"
        case embeddingSize = "embedding_size"
        case hiddenSize = "hidden_size"
        case attentionSize = "attention_size"
        case dropout
        case attentionPenalty = "attention_penalty"
    }

    public init(
        imageSize: Int = 64, channels: [Int] = [32, 64, 128, 256], batchNorm: Bool = false, embeddingSize: Int = 128,
        hiddenSize: Int = 256, attentionSize: Int = 256, dropout: Float = 0.3, attentionPenalty: Float = 1
    ) {
        self.imageSize = imageSize
        self.channels = channels
        self.batchNorm = batchNorm
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.attentionSize = attentionSize
        self.dropout = dropout
        self.attentionPenalty = attentionPenalty
    }

    /// Positions of the feature grid a side.
    public var gridSize: Int { imageSize >> max(0, channels.count - 1) }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public func validate() throws {
        guard imageSize > 0, !channels.isEmpty, channels.allSatisfy({ $0 > 0 }), embeddingSize > 0, hiddenSize > 0,
            attentionSize > 0
        else {
            throw CaptionError.invalidConfig("sizes and channels must be positive")
        }
        guard gridSize >= 1, imageSize % (1 << (channels.count - 1)) == 0 else {
            throw CaptionError.invalidConfig(
                "--image-size \(imageSize) must be a multiple of \(1 << (channels.count - 1)) for \(channels.count) convolution blocks"
            )
        }
        guard dropout >= 0, dropout < 1 else { throw CaptionError.invalidConfig("dropout must be in [0, 1)") }
        guard attentionPenalty >= 0 else {
            throw CaptionError.invalidConfig("the attention penalty must not be negative")
        }
    }
}

public typealias CaptionError = SettingsError

/// Show, Attend and Tell (Xu et al. 2015), trained from scratch: a convolutional encoder gives a
/// grid of feature vectors; an LSTM decoder attends over the grid at every step (additive
/// attention, the context scaled by a sigmoid gate of the state), reads the previous word and
/// the gated context, and predicts the next word. Names are those of PyTorch modules built the
/// same way: `cnn.<index>.weight` (an `nn.Sequential` of Conv2d, [BatchNorm2d,] ReLU, [MaxPool2d]),
/// `embedding`, `init_h`, `init_c`, `att_feat`, `att_hidden`, `att_out`, `gate`, `cell` (an
/// `nn.LSTMCell`), `output`.
public final class CaptionNetwork {
    public static let taskName = "captioning"

    public let config: CaptionConfig
    public let codec: CaptionCodec
    public let parameters = ParameterStore()
    let convolutions: [Conv2d]
    let norms: [BatchNorm?]
    let embedding: Embedding
    let initialHidden: Linear, initialCell: Linear
    let attention: Attention
    let gate: Linear
    let cell: RecurrentCell
    let output: Linear

    public init(config: CaptionConfig, codec: CaptionCodec, rng: inout RandomGenerator) throws {
        try config.validate()
        self.config = config
        self.codec = codec
        var convolutions: [Conv2d] = [], norms: [BatchNorm?] = []
        var index = 0, inputChannels = 3
        for (block, channels) in config.channels.enumerated() {
            convolutions.append(
                Conv2d(
                    inputChannels: inputChannels, outputChannels: channels, kernelSize: 3, padding: 1,
                    name: "cnn.\(index)", store: parameters, rng: &rng))
            index += 1
            if config.batchNorm {
                norms.append(BatchNorm(channels: channels, name: "cnn.\(index)", store: parameters))
                index += 1
            } else {
                norms.append(nil)
            }
            index += block < config.channels.count - 1 ? 2 : 1  // ReLU, and max pooling but after the last block
            inputChannels = channels
        }
        self.convolutions = convolutions
        self.norms = norms
        let D = inputChannels, E = config.embeddingSize, H = config.hiddenSize, V = codec.vocabulary.count
        embedding = Embedding(
            vocabularySize: V, embeddingSize: E, paddingIndex: Int(CaptionCodec.paddingId),
            name: "embedding", store: parameters, rng: &rng)
        initialHidden = Linear(inputSize: D, outputSize: H, name: "init_h", store: parameters, rng: &rng)
        initialCell = Linear(inputSize: D, outputSize: H, name: "init_c", store: parameters, rng: &rng)
        attention = Attention(
            .additive, querySize: H, memorySize: D, attentionSize: config.attentionSize, prefix: "",
            additive: AdditiveLayers(
                key: "att_feat", query: "att_hidden", energy: "att_out", keyBias: true, energyBias: true),
            store: parameters, rng: &rng)
        gate = Linear(inputSize: H, outputSize: D, name: "gate", store: parameters, rng: &rng)
        cell = RecurrentCell(.lstm, inputSize: E + D, hiddenSize: H, prefix: "cell", store: parameters, rng: &rng)
        output = Linear(inputSize: H, outputSize: V, name: "output", store: parameters, rng: &rng)
        parameters.pack()
    }

    /// Channels of the feature grid.
    public var featureSize: Int { config.channels.last! }

    // MARK: Encoder

    /// What the decoder reads of a batch of images.
    public struct EncodedImages {
        /// The grid (B, positions, D) with its attention keys.
        public let memory: Attention.Memory
        public let initialState: RecurrentState
        public var batch: Int { memory.batch }
    }

    /// Encodes images (B, 3, S, S) scaled to −1…1.
    public func encode(_ images: Variable, tape: Tape) throws -> EncodedImages {
        var x = images
        for (block, convolution) in convolutions.enumerated() {
            if let norm = norms[block] {
                x = relu(norm(convolution(x, tape: tape), tape: tape), tape: tape)
            } else {
                x = convolution(x, activation: .relu, tape: tape)
            }
            if block < convolutions.count - 1 { x = maxPool2d(x, kernelSize: 2, tape: tape) }
        }
        let B = x.shape[0], D = x.shape[1], L = x.shape[2] * x.shape[3]
        let grid = permute(reshape(x, [B, D, L], tape: tape), [0, 2, 1], tape: tape)  // (B, L, D)
        let average = mean(grid, axis: 1, tape: tape)
        let state = RecurrentState(
            hidden: tanh(initialHidden(average, tape: tape), tape: tape),
            cell: tanh(initialCell(average, tape: tape), tape: tape))
        return EncodedImages(memory: try attention.prepare(memory: grid, tape: tape), initialState: state)
    }

    // MARK: Decoder

    /// One decoder step for embedded previous words (B, E): the new state and the attention
    /// weights over the grid (B, positions).
    func step(
        _ embedded: Variable, state: RecurrentState, memory: Attention.Memory,
        tape: Tape
    ) throws -> (state: RecurrentState, weights: Variable) {
        let (context, weights) = try attention(query: state.hidden, memory: memory, tape: tape)
        let gated = multiply(sigmoid(gate(state.hidden, tape: tape), tape: tape), context, tape: tape)
        let next = cell(concatenate([embedded, gated], axis: 1, tape: tape), state: state, tape: tape)
        return (next, weights)
    }

    /// Teacher-forced logits (T·B, V), time-major, for `captions` (ids without start or end),
    /// the matching expected ids (padding 0), and the attention weights of every step (T, B, L).
    public func forward(
        images: Variable, captions: [[Int32]], tape: Tape,
        rng: inout RandomGenerator
    ) throws -> (logits: Variable, targets: [Int32], weights: Variable) {
        precondition(images.shape[0] == captions.count, "\(images.shape[0]) images for \(captions.count) captions")
        let encoded = try encode(images, tape: tape)
        let inputs = PaddedBatch(captions.map { [CaptionCodec.startId] + $0 }, padding: CaptionCodec.paddingId)
        let expected = PaddedBatch(captions.map { $0 + [CaptionCodec.endId] }, padding: CaptionCodec.paddingId)
        let T = inputs.steps, B = inputs.batch, E = config.embeddingSize
        let embedded = try embedding(inputs.ids, shape: [T, B], tape: tape)
        var state = encoded.initialState
        var hidden: [Variable] = [], weights: [Variable] = []
        for t in 0..<T {
            let x = reshape(slice(embedded, axis: 0, t..<(t + 1), tape: tape), [B, E], tape: tape)
            let result = try step(x, state: state, memory: encoded.memory, tape: tape)
            state = result.state
            hidden.append(result.state.hidden)
            weights.append(result.weights)
        }
        let outputs = dropout(
            concatenate(hidden, axis: 0, tape: tape), probability: config.dropout, tape: tape, rng: &rng)
        let L = encoded.memory.positions
        return (
            output(outputs, tape: tape), expected.ids,
            reshape(concatenate(weights, axis: 0, tape: tape), [T, B, L], tape: tape)
        )
    }

    /// Mean cross-entropy per caption token (end included, padding excluded) plus the doubly
    /// stochastic penalty λ · mean over images of Σ_positions (1 − Σ_t α_t)², the sum over each
    /// caption's own steps. Returns the loss and the token count.
    /// With `penalty` false, the cross-entropy alone (what validation reports).
    public func loss(
        images: Variable, captions: [[Int32]], penalty: Bool = true, tape: Tape,
        rng: inout RandomGenerator
    ) throws -> (loss: Variable, count: Int) {
        let parts = try lossParts(images: images, captions: captions, penalty: penalty, tape: tape, rng: &rng)
        guard let weighted = parts.penalty else { return (parts.crossEntropy, parts.count) }
        return (add(parts.crossEntropy, weighted, tape: tape), parts.count)
    }

    /// The two terms of `loss`: the mean cross-entropy per token, and the attention penalty
    /// already multiplied by λ (nil when `penalty` is false or λ is 0).
    public func lossParts(
        images: Variable, captions: [[Int32]], penalty: Bool = true, tape: Tape,
        rng: inout RandomGenerator
    ) throws -> (crossEntropy: Variable, penalty: Variable?, count: Int) {
        let (logits, expected, weights) = try forward(images: images, captions: captions, tape: tape, rng: &rng)
        let tokens = expected.reduce(0) { $0 + ($1 == CaptionCodec.paddingId ? 0 : 1) }
        let crossEntropy = softmaxCrossEntropy(
            logits, targets: expected, ignoreIndex: CaptionCodec.paddingId, tape: tape)
        guard penalty && config.attentionPenalty > 0 else { return (crossEntropy, nil, tokens) }
        let T = weights.shape[0], B = weights.shape[1]
        let steps = Tensor(zeros: [T, B, 1])
        for (b, caption) in captions.enumerated() { for t in 0...caption.count where t < T { steps[t * B + b] = 1 } }
        let attended = sum(multiply(weights, Variable(steps), tape: tape), axis: 0, tape: tape)  // (B, L)
        let missing = subtract(Variable(Tensor(shape: [1, 1], values: [1])), attended, tape: tape)
        let penalty = mean(sum(multiply(missing, missing, tape: tape), axis: 1, tape: tape), axis: 0, tape: tape)
        return (crossEntropy, reshape(scale(penalty, by: config.attentionPenalty, tape: tape), [1], tape: tape), tokens)
    }

    // MARK: Checkpoints

    public var checkpointMetadata: [String: String] {
        ["zoo.task": Self.taskName, "zoo.config": config.json, "zoo.vocabulary": codec.vocabulary.json]
    }

    public func save(to path: String) throws {
        try SafeTensors.write(parameters.namedTensors, metadata: checkpointMetadata, to: path)
    }

    /// Loads a captioning checkpoint, naming the file in every error.
    public static func load(path: String) throws -> CaptionNetwork {
        let file = try SafeTensors.read(path: path)
        let config = try file.taskConfig(CaptionConfig.self, task: taskName, path: path)
        guard let text = file.metadata["zoo.vocabulary"] else {
            throw CheckpointError.missingMetadata(path: path, key: "zoo.vocabulary")
        }
        let vocabulary = try Vocabulary(json: text, path: path)
        var rng = RandomGenerator(seed: 0)
        let network = try modelFromCheckpoint(path: path) {
            try CaptionNetwork(config: config, codec: CaptionCodec(vocabulary: vocabulary), rng: &rng)
        }
        try network.parameters.load(file, path: path)
        return network
    }
}
