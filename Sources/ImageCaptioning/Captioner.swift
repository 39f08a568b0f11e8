import Foundation
import RNNEngine

/// A caption the model wrote for an image, with what is needed to show how.
public struct GeneratedCaption: Sendable {
    public var text: String
    /// The words generated (the end token included when `finished`), for an attention map.
    public var tokens: [String]
    /// Beam search: Σ log p of the tokens; greedy: the sum of their logits (not normalised).
    public var logProbability: Double
    /// What beam search ranks by: log p / length^α (greedy: `logProbability`).
    public var score: Double
    /// False when the length limit cut it before the end token.
    public var finished: Bool
    /// Per token, its attention over the feature grid (gridSize × gridSize, row by row).
    public var attention: [[Float]]
    public var gridSize: Int
}

/// Decoding settings: greedy is `beamSize` 1.
public struct CaptionOptions: Sendable {
    public var beamSize: Int
    /// Captions returned per image by `captionAlternatives`, best first (at most `beamSize`).
    public var nBest: Int
    /// Words at most, the end token included.
    public var maximumLength: Int
    public var lengthNormalization: Double
    /// Images decoded together.
    public var batchSize: Int

    public init(
        beamSize: Int = 1, nBest: Int = 1, maximumLength: Int = 20, lengthNormalization: Double = 1, batchSize: Int = 32
    ) {
        self.beamSize = beamSize
        self.nBest = nBest
        self.maximumLength = maximumLength
        self.lengthNormalization = lengthNormalization
        self.batchSize = batchSize
    }

    public func validate() throws {
        guard beamSize >= 1 else { throw CaptionError.invalidOptions("--beam must be at least 1") }
        guard (1...beamSize).contains(nBest) else {
            throw CaptionError.invalidOptions(
                "the captions asked for per image (\(nBest)) must be between 1 and the beam size")
        }
        guard maximumLength >= 1 else { throw CaptionError.invalidOptions("--max-length must be at least 1") }
        guard batchSize >= 1 else { throw CaptionError.invalidOptions("the decoding batch size must be positive") }
    }
}

extension CaptionNetwork {
    public var preprocessor: ImagePreprocessor { ImagePreprocessor(size: config.imageSize) }

    /// Captions of PNG files (any colour type; transparency over white).
    public func caption(pngFiles: [String], options: CaptionOptions = CaptionOptions()) throws -> [GeneratedCaption] {
        let resize = preprocessor
        return try caption(images: try pngFiles.map { resize.resize(try RGBImage(pngFile: $0)) }, options: options)
    }

    /// Captions of images already resized to the model's size (8-bit RGB rows).
    public func caption(images: [[UInt8]], options: CaptionOptions = CaptionOptions()) throws -> [GeneratedCaption] {
        var best = options
        best.nBest = 1
        return try captionAlternatives(images: images, options: best).map { $0[0] }
    }

    /// The `options.nBest` best captions of each image, best first, with their scores.
    public func captionAlternatives(images: [[UInt8]], options: CaptionOptions) throws -> [[GeneratedCaption]] {
        try options.validate()
        var results: [[GeneratedCaption]] = []
        for start in stride(from: 0, to: images.count, by: options.batchSize) {
            let batch = Variable(
                preprocessor.batch(Array(images[start..<min(start + options.batchSize, images.count)])))
            for hypotheses in try decode(batch, options: options) {
                results.append(
                    hypotheses.map { hypothesis in
                        let words =
                            hypothesis.tokens.map { codec.displayToken($0) }
                            + (hypothesis.finished ? [CaptionCodec.end] : [])
                        return GeneratedCaption(
                            text: codec.decode(hypothesis.tokens), tokens: words,
                            logProbability: hypothesis.logProbability, score: hypothesis.score,
                            finished: hypothesis.finished, attention: hypothesis.trace, gridSize: config.gridSize)
                    })
            }
        }
        return results
    }

    /// The `nBest` best hypotheses per image of a batch (N, 3, S, S): greedy for a beam of 1,
    /// else beam search.
    func decode(_ images: Variable, options: CaptionOptions) throws -> [[Hypothesis]] {
        let tape = Tape.inference()
        let encoded = try encode(images, tape: tape)
        let B = images.shape[0]
        return try RNNEngine.decoding(with: [cell, attention, gate, output], rows: B * options.beamSize) {
            try decodeWithAttention(
                batch: B, initialState: encoded.initialState, memory: encoded.memory,
                decoding: decoding(tape: tape), beamSize: options.beamSize, nBest: options.nBest,
                lengthNormalization: options.lengthNormalization,
                maximumLengths: [Int](repeating: options.maximumLength, count: B), tape: tape)
        }
    }

    /// The decoder as `decodeWithAttention` runs it: padding and the start token never come next.
    func decoding(tape: Tape) -> AttentionDecoding<RecurrentState> {
        AttentionDecoding(
            startToken: CaptionCodec.startId, endToken: CaptionCodec.endId,
            excluded: [CaptionCodec.paddingId, CaptionCodec.startId],
            step: { tokens, state, memory in
                let embedded = try self.embedding(tokens, shape: [tokens.count], tape: tape)
                let (next, weights) = try self.step(embedded, state: state, memory: memory, tape: tape)
                return (self.output(next.hidden, tape: tape).value, next, weights.value)
            },
            reorder: { state, rows in try state.selectingRows(rows, tape: tape) })
    }

    /// Greedy decoding of exactly `steps` words per image, never stopping at the end token:
    /// what the benchmark times, the same loop as `caption` with a beam of 1.
    public func greedyCaptions(_ images: Tensor, steps: Int) throws -> [[Int32]] {
        let tape = Tape.inference()
        let encoded = try encode(Variable(images), tape: tape)
        let B = images.shape[0]
        return try RNNEngine.decoding(with: [cell, attention, gate, output], rows: B) {
            try decodeWithAttention(
                batch: B, initialState: encoded.initialState, memory: encoded.memory,
                decoding: decoding(tape: tape), beamSize: 1, lengthNormalization: 0,
                maximumLengths: [Int](repeating: steps, count: B), stopAtEnd: false, tape: tape
            )
            .map(\.[0].tokens)
        }
    }
}
