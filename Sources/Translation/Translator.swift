import Foundation
import RNNEngine

/// One translation of a sentence, with what is needed to show how it was made.
public struct TranslatedSentence: Sendable {
    /// The detokenized text.
    public var text: String
    /// The model's tokens (subwords with BPE) of the source and of the output, for an attention map.
    public var sourceTokens: [String]
    public var targetTokens: [String]
    /// Σ log p of the output tokens (and its end token, when `finished`) with beam search; with
    /// greedy decoding (a beam of 1) the sum of their logits, which are not normalised.
    public var logProbability: Double
    /// The ranking score: log p / length^α (greedy: `logProbability`).
    public var score: Double
    /// False when the length limit cut it before the end token.
    public var finished: Bool
    /// Attention weights: one row per output token (the end token included when finished),
    /// one column per source token.
    public var attention: [[Float]]
    /// Source tokens not in the model's vocabulary, read as `<unk>`.
    public var unknownSourceTokens: Int
}

/// Decoding settings: greedy is `beamSize` 1.
public struct TranslationOptions: Sendable {
    public var beamSize: Int
    public var nBest: Int
    public var lengthNormalization: Double
    /// Output tokens at most: `maximumLengthRatio` × the source's length + `maximumLengthOffset`.
    public var maximumLengthRatio: Double
    public var maximumLengthOffset: Int
    /// Sentences decoded together.
    public var batchSize: Int

    public init(
        beamSize: Int = 1, nBest: Int = 1, lengthNormalization: Double = 1, maximumLengthRatio: Double = 2,
        maximumLengthOffset: Int = 10, batchSize: Int = 32
    ) {
        self.beamSize = beamSize
        self.nBest = nBest
        self.lengthNormalization = lengthNormalization
        self.maximumLengthRatio = maximumLengthRatio
        self.maximumLengthOffset = maximumLengthOffset
        self.batchSize = batchSize
    }

    public func validate() throws {
        guard beamSize >= 1 else { throw TranslationError.invalidOptions("--beam must be at least 1") }
        guard nBest >= 1 && nBest <= beamSize else {
            throw TranslationError.invalidOptions("--n-best must be between 1 and --beam (\(beamSize))")
        }
        guard batchSize >= 1 else { throw TranslationError.invalidOptions("the decoding batch size must be positive") }
    }
}

extension TranslationNetwork {
    /// Translates sentences with beam search (greedy when the beam is 1): per sentence, up to
    /// `nBest` translations, best first. An empty sentence translates to nothing.
    public func translate(_ sentences: [String], options: TranslationOptions = TranslationOptions()) throws
        -> [[TranslatedSentence]]
    {
        try options.validate()
        var results = [[TranslatedSentence]](repeating: [], count: sentences.count)
        let encoded = sentences.map { source.encode($0) }
        let order = encoded.indices.filter { !encoded[$0].ids.isEmpty }.sorted {
            encoded[$0].ids.count > encoded[$1].ids.count
        }
        for start in stride(from: 0, to: order.count, by: options.batchSize) {
            let items = Array(order[start..<min(start + options.batchSize, order.count)])
            let batch = try translateBatch(items.map { encoded[$0].ids }, options: options)
            for (k, item) in items.enumerated() {
                let sourceTokens = encoded[item].ids.map { source.displayToken($0) }
                results[item] = batch[k].map { hypothesis in
                    TranslatedSentence(
                        text: target.decode(hypothesis.tokens), sourceTokens: sourceTokens,
                        targetTokens: hypothesis.tokens.map { target.displayToken($0) }
                            + (hypothesis.finished ? [SentenceCodec.end] : []),
                        logProbability: hypothesis.logProbability, score: hypothesis.score,
                        finished: hypothesis.finished,
                        attention: hypothesis.trace.map { Array($0.prefix(sourceTokens.count)) },
                        unknownSourceTokens: encoded[item].unknown)
                }
            }
        }
        for index in sentences.indices where encoded[index].ids.isEmpty {
            results[index] = [
                TranslatedSentence(
                    text: "", sourceTokens: [], targetTokens: [], logProbability: 0, score: 0,
                    finished: true, attention: [], unknownSourceTokens: 0)
            ]
        }
        return results
    }

    /// Greedy decoding (a beam of 1) or beam search over a batch of encoded sources.
    func translateBatch(_ sources: [[Int32]], options: TranslationOptions) throws -> [[Hypothesis]] {
        // Each sentence's own limit, so that its translation does not depend on its batch.
        let limits = sources.map {
            max(1, Int(Double($0.count) * options.maximumLengthRatio) + options.maximumLengthOffset)
        }
        return try decodeBatch(
            sources, beamSize: options.beamSize, nBest: options.nBest,
            lengthNormalization: options.lengthNormalization, maximumLengths: limits)
    }

    /// Greedy decoding of exactly `steps` tokens for each source, never stopping at the end
    /// token: what the benchmark times, the same loop as `translate` with a beam of 1.
    public func greedyDecode(_ sources: [[Int32]], steps: Int) throws -> [[Int32]] {
        try decodeBatch(
            sources, beamSize: 1, lengthNormalization: 0,
            maximumLengths: [Int](repeating: steps, count: sources.count), stopAtEnd: false
        ).map(\.[0].tokens)
    }

    func decodeBatch(
        _ sources: [[Int32]], beamSize: Int, nBest: Int = 1, lengthNormalization: Double,
        maximumLengths: [Int], stopAtEnd: Bool = true
    ) throws -> [[Hypothesis]] {
        let tape = Tape.inference()
        var rng = RandomGenerator(seed: 0)  // no dropout at inference: never drawn from
        let encoded = try encode(sources, tape: tape, rng: &rng)
        let decoding = AttentionDecoding<DecoderState>(
            startToken: SentenceCodec.startId, endToken: SentenceCodec.endId,
            excluded: [SentenceCodec.paddingId, SentenceCodec.startId],  // never come next
            step: { tokens, state, memory in
                let embedded = try self.targetEmbedding(tokens, shape: [tokens.count], tape: tape)
                let (output, next, weights) = try self.step(
                    embedded, state: state, memory: memory, tape: tape, rng: &rng)
                return (self.generate(output, tape: tape).value, next, weights.value)
            },
            reorder: { state, rows in try state.selectingRows(rows, tape: tape) })
        let layers: [any PackableForDecoding] = decoderCells + [attention, attentionOut, generator]
        return try RNNEngine.decoding(with: layers, rows: sources.count * beamSize) {
            try decodeWithAttention(
                batch: sources.count, initialState: initialDecoderState(encoded), memory: encoded.memory,
                decoding: decoding, beamSize: beamSize, nBest: nBest,
                lengthNormalization: lengthNormalization, maximumLengths: maximumLengths,
                stopAtEnd: stopAtEnd, tape: tape)
        }
    }
}

extension TranslationNetwork.DecoderState {
    /// Beam search's reordering: every tensor's rows picked by index.
    func selectingRows(_ rows: [Int], tape: Tape) throws -> TranslationNetwork.DecoderState {
        TranslationNetwork.DecoderState(
            layers: try layers.map { try $0.selectingRows(rows, tape: tape) },
            feed: try indexSelect(feed, axis: 0, indices: rows, tape: tape))
    }
}
