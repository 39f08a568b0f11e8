import Foundation
import RNNEngine

/// A translation model's hyperparameters: `zoo.config` in its checkpoints.
public struct TranslationConfig: Codable, Equatable, Sendable {
    public var cell: CellKind
    public var embeddingSize: Int
    /// The decoder's hidden size; a bidirectional encoder has half of it per direction.
    public var hiddenSize: Int
    /// Encoder layers, and decoder layers (each decoder layer starts from its encoder layer's state).
    public var layers: Int
    public var bidirectional: Bool
    public var attention: AttentionScore
    /// Luong's input feeding: the previous attentional vector is part of the next input.
    public var inputFeeding: Bool
    /// On embeddings, between layers and on the attentional vectors (training only).
    public var dropout: Float
    /// The output layer shares the target embedding (needs embedding size = hidden size).
    public var tied: Bool

    enum CodingKeys: String, CodingKey {
        case cell
        case embeddingSize = "embedding_size"
        case hiddenSize = "hidden_size"
        case layers, bidirectional, attention
        case inputFeeding = "input_feeding"
        case dropout, tied
    }

    /// The defaults are `zoo train translation`'s.
    public init(
        cell: CellKind = .lstm, embeddingSize: Int = 128, hiddenSize: Int = 256, layers: Int = 1,
        bidirectional: Bool = true, attention: AttentionScore = .general, inputFeeding: Bool = true,
        dropout: Float = 0.1, tied: Bool = false
    ) {
        self.cell = cell
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.bidirectional = bidirectional
        self.attention = attention
        self.inputFeeding = inputFeeding
        self.dropout = dropout
        self.tied = tied
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public func validate() throws {
        guard embeddingSize > 0, hiddenSize > 0, layers > 0 else {
            throw TranslationError.invalidConfig("sizes and layers must be positive")
        }
        guard dropout >= 0, dropout < 1 else { throw TranslationError.invalidConfig("dropout must be in [0, 1)") }
        if bidirectional && hiddenSize % 2 != 0 {
            throw TranslationError.invalidConfig(
                "a bidirectional encoder needs an even --hidden-size (half per direction), not \(hiddenSize)")
        }
        if tied && embeddingSize != hiddenSize {
            throw TranslationError.invalidConfig(
                "tied weights need --embedding-size equal to --hidden-size (\(embeddingSize) ≠ \(hiddenSize))")
        }
    }
}

public typealias TranslationError = SettingsError

/// Luong et al. (2015)'s attentional encoder-decoder, as OpenNMT-py builds it:
///
///     source ids → src_embedding → encoder (bi)LSTM/GRU ─┬─ memory (B, S, H) ─────────┐
///                                                       └─ final state → decoder init │
///     y_{t-1} → tgt_embedding ⊕ feed_{t-1} → decoder cells → h_t → attention(h_t, memory) → c_t
///     feed_t = tanh(W_c [c_t; h_t]) → generator → p(y_t)
///
/// Names are PyTorch's (`src_embedding.weight`, `encoder.weight_ih_l0_reverse`,
/// `decoder.0.weight_ih`, `attention.linear_in.weight`, `attention_out.weight`,
/// `generator.weight`), so a module built like scripts/reference/torch_translation.py loads
/// the checkpoint. Padding (id 0) is masked out of the encoder (packed-sequence semantics: the
/// final state is at each source's own end), the attention weights and the loss.
public final class TranslationNetwork {
    public static let taskName = "translation"

    public let config: TranslationConfig
    public let source: SentenceCodec
    public let target: SentenceCodec
    public let parameters = ParameterStore()
    let sourceEmbedding: Embedding
    let targetEmbedding: Embedding
    let encoder: RecurrentLayer
    let decoderCells: [RecurrentCell]
    let attention: Attention
    let attentionOut: Linear
    /// Attentional vector → logits; its weight is the target embedding table when tied.
    let generator: Linear

    public init(config: TranslationConfig, source: SentenceCodec, target: SentenceCodec, rng: inout RandomGenerator)
        throws
    {
        try config.validate()
        self.config = config
        self.source = source
        self.target = target
        let E = config.embeddingSize, H = config.hiddenSize
        sourceEmbedding = Embedding(
            vocabularySize: source.vocabulary.count, embeddingSize: E, paddingIndex: 0,
            name: "src_embedding", store: parameters, rng: &rng)
        targetEmbedding = Embedding(
            vocabularySize: target.vocabulary.count, embeddingSize: E, paddingIndex: 0,
            name: "tgt_embedding", store: parameters, rng: &rng)
        encoder = RecurrentLayer(
            config.cell, inputSize: E, hiddenSize: config.bidirectional ? H / 2 : H, layers: config.layers,
            bidirectional: config.bidirectional, dropout: config.dropout, prefix: "encoder",
            store: parameters, rng: &rng)
        var cells: [RecurrentCell] = []
        for layer in 0..<config.layers {
            cells.append(
                RecurrentCell(
                    config.cell, inputSize: layer == 0 ? E + (config.inputFeeding ? H : 0) : H, hiddenSize: H,
                    prefix: "decoder.\(layer)", store: parameters, rng: &rng))
        }
        decoderCells = cells
        attention = Attention(
            config.attention, querySize: H, memorySize: H, prefix: "attention", store: parameters, rng: &rng)
        attentionOut = Linear(
            inputSize: 2 * H, outputSize: H, bias: false, name: "attention_out", store: parameters, rng: &rng)
        generator = Linear(
            weight: config.tied
                ? targetEmbedding.weight
                : parameters.declare("generator.weight", shape: [target.vocabulary.count, H]) { _ in },
            bias: parameters.declare("generator.bias", shape: [target.vocabulary.count]) { _ in })
        // OpenNMT-py's initialisation: every parameter uniform ±0.1, the padding rows zero.
        for parameter in parameters.parameters { rng.fillUniform(parameter.value, -0.1, 0.1) }
        for table in [sourceEmbedding.weight, targetEmbedding.weight] {
            (table.value.data).update(repeating: 0, count: E)
        }
        parameters.pack()
    }

    // MARK: Encoder

    /// What the decoder reads of a batch of sources.
    public struct EncodedSource {
        public let memory: Attention.Memory
        /// Each decoder layer's initial state (B, H).
        public let initialStates: [RecurrentState]
        public var batch: Int { memory.batch }
    }

    /// Encodes sources (ids without start or end token, each at least one id).
    public func encode(_ sources: [[Int32]], tape: Tape, rng: inout RandomGenerator) throws -> EncodedSource {
        let padded = PaddedBatch(sources, padding: SentenceCodec.paddingId)
        let S = padded.steps, B = padded.batch
        let embedded = dropout(
            try sourceEmbedding(padded.ids, shape: [S, B], tape: tape),
            probability: config.dropout, tape: tape, rng: &rng)
        let (output, state) = try encoder(embedded, lengths: padded.lengths, tape: tape, rng: &rng)
        let memory = try attention.prepare(
            memory: permute(output, [1, 0, 2], tape: tape), lengths: padded.lengths, tape: tape)
        let directions = encoder.directions, half = encoder.hiddenSize
        // Decoder layer l starts from encoder layer l: both directions' final states side by side.
        func layerState(_ stacked: Variable, _ layer: Int) -> Variable {
            // (D, B, H/D)
            let rows = slice(stacked, axis: 0, (layer * directions)..<((layer + 1) * directions), tape: tape)
            if directions == 1 { return reshape(rows, [B, half], tape: tape) }
            return reshape(permute(rows, [1, 0, 2], tape: tape), [B, directions * half], tape: tape)
        }
        let initial = (0..<config.layers).map { layer in
            RecurrentState(hidden: layerState(state.hidden, layer), cell: state.cell.map { layerState($0, layer) })
        }
        return EncodedSource(memory: memory, initialStates: initial)
    }

    // MARK: Decoder

    /// The decoder's state between steps: each layer's (h, c) and the last attentional vector.
    public struct DecoderState {
        public var layers: [RecurrentState]
        public var feed: Variable
    }

    public func initialDecoderState(_ encoded: EncodedSource) -> DecoderState {
        DecoderState(layers: encoded.initialStates, feed: Variable(Tensor(zeros: [encoded.batch, config.hiddenSize])))
    }

    /// One decoder step for embedded inputs (B, E): the attentional vector (B, H), the new state
    /// and the attention weights (B, S).
    func step(
        _ embedded: Variable, state: DecoderState, memory: Attention.Memory, tape: Tape,
        rng: inout RandomGenerator
    ) throws -> (output: Variable, state: DecoderState, weights: Variable) {
        var x = config.inputFeeding ? concatenate([embedded, state.feed], axis: 1, tape: tape) : embedded
        var layers: [RecurrentState] = []
        for (l, cell) in decoderCells.enumerated() {
            let next = cell(x, state: state.layers[l], tape: tape)
            layers.append(next)
            x =
                l + 1 < decoderCells.count
                ? dropout(next.hidden, probability: config.dropout, tape: tape, rng: &rng) : next.hidden
        }
        let (context, weights) = try attention(query: x, memory: memory, tape: tape)
        let output = tanh(attentionOut(concatenate([context, x], axis: 1, tape: tape), tape: tape), tape: tape)
        return (output, DecoderState(layers: layers, feed: output), weights)
    }

    /// Logits (rows, V) of attentional vectors (rows, H).
    func generate(_ outputs: Variable, tape: Tape) -> Variable {
        generator(outputs, tape: tape)
    }

    /// Teacher-forced logits ((T+1)·B, V), time-major, for `targets` (ids without start or end
    /// token), and the matching target ids with padding 0 — what the loss compares.
    public func forward(
        sources: [[Int32]], targets: [[Int32]], tape: Tape,
        rng: inout RandomGenerator
    ) throws -> (logits: Variable, targets: [Int32]) {
        precondition(sources.count == targets.count, "\(sources.count) sources for \(targets.count) targets")
        let encoded = try encode(sources, tape: tape, rng: &rng)
        let inputs = PaddedBatch(targets.map { [SentenceCodec.startId] + $0 }, padding: SentenceCodec.paddingId)
        let expected = PaddedBatch(targets.map { $0 + [SentenceCodec.endId] }, padding: SentenceCodec.paddingId)
        let T = inputs.steps, B = inputs.batch
        let embedded = dropout(
            try targetEmbedding(inputs.ids, shape: [T, B], tape: tape),
            probability: config.dropout, tape: tape, rng: &rng)
        var state = initialDecoderState(encoded)
        var outputs: [Variable] = []
        for t in 0..<T {
            let x = reshape(slice(embedded, axis: 0, t..<(t + 1), tape: tape), [B, config.embeddingSize], tape: tape)
            let result = try step(x, state: state, memory: encoded.memory, tape: tape, rng: &rng)
            outputs.append(result.output)
            state = result.state
        }
        let hidden = dropout(
            concatenate(outputs, axis: 0, tape: tape), probability: config.dropout, tape: tape, rng: &rng)
        return (generate(hidden, tape: tape), expected.ids)
    }

    /// Mean cross-entropy per target token (end token included, padding excluded).
    public func loss(
        sources: [[Int32]], targets: [[Int32]], labelSmoothing: Float = 0, tape: Tape,
        rng: inout RandomGenerator
    ) throws -> (loss: Variable, count: Int) {
        let (logits, expected) = try forward(sources: sources, targets: targets, tape: tape, rng: &rng)
        let tokens = expected.reduce(0) { $0 + ($1 == SentenceCodec.paddingId ? 0 : 1) }
        return (
            softmaxCrossEntropy(
                logits, targets: expected, ignoreIndex: SentenceCodec.paddingId,
                labelSmoothing: labelSmoothing, tape: tape), tokens
        )
    }

    // MARK: Checkpoints

    /// The tensors as PyTorch's state_dict has them (a tied model lists the shared weight twice).
    public var stateDictionary: [(String, Tensor)] {
        var tensors = parameters.namedTensors
        if config.tied { tensors.append(("generator.weight", targetEmbedding.weight.value)) }
        return tensors
    }

    public var checkpointMetadata: [String: String] {
        var metadata = [
            "zoo.task": Self.taskName, "zoo.config": config.json,
            "zoo.source_vocabulary": source.vocabulary.json, "zoo.target_vocabulary": target.vocabulary.json
        ]
        if let bpe = source.bytePairs { metadata["zoo.source_bpe"] = Self.json(bpe) }
        if let bpe = target.bytePairs { metadata["zoo.target_bpe"] = Self.json(bpe) }
        return metadata
    }

    static func json(_ bpe: BytePairEncoding) -> String {
        String(decoding: (try? JSONEncoder().encode(bpe)) ?? Data(), as: UTF8.self)
    }

    public func save(to path: String) throws {
        try SafeTensors.write(stateDictionary, metadata: checkpointMetadata, to: path)
    }

    /// Loads a translation checkpoint, naming the file in every error.
    public static func load(path: String) throws -> TranslationNetwork {
        let file = try SafeTensors.read(path: path)
        let config = try file.taskConfig(TranslationConfig.self, task: taskName, path: path)
        func codec(_ side: String) throws -> SentenceCodec {
            guard let text = file.metadata["zoo.\(side)_vocabulary"] else {
                throw CheckpointError.missingMetadata(path: path, key: "zoo.\(side)_vocabulary")
            }
            let vocabulary = try Vocabulary(json: text, path: path, key: "zoo.\(side)_vocabulary")
            var bpe: BytePairEncoding?
            if let bpeText = file.metadata["zoo.\(side)_bpe"] {
                guard let decoded = try? JSONDecoder().decode(BytePairEncoding.self, from: Data(bpeText.utf8)) else {
                    throw CheckpointError.missingMetadata(path: path, key: "zoo.\(side)_bpe (unreadable merges)")
                }
                bpe = decoded
            }
            return SentenceCodec(vocabulary: vocabulary, bytePairs: bpe)
        }
        var rng = RandomGenerator(seed: 0)
        let network = try modelFromCheckpoint(path: path) {
            try TranslationNetwork(config: config, source: try codec("source"), target: try codec("target"), rng: &rng)
        }
        try network.loadState(file, path: path)
        return network
    }

    /// Copies a state dictionary's tensors in; a tied model's `generator.weight` is the embedding.
    public func loadState(_ file: SafeTensorsFile, path: String) throws {
        try parameters.load(file, path: path, aliases: config.tied ? ["generator.weight"] : [])
    }
}
