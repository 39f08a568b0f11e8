import Foundation
import RNNEngine

/// The `caption` workloads of the PyTorch reference benchmark (torch_bench.py), same sizes and
/// JSON fields: 32 RGB images of 64×64, four 3×3 convolution blocks (32-64-128-256, max pooling
/// after the first three), a Show-Attend-Tell decoder (embedding 128, LSTM 256, attention 256,
/// gate), vocabulary 500, captions of 16 tokens, attention penalty 1.
public enum CaptionBenchmark {
    public static let name = "caption"
    static let batch = 32, imageSize = 64, captionLength = 16, vocabulary = 500, embedding = 128, hidden = 256,
        attentionSize = 256

    /// One JSON line for training steps (forward, cross-entropy and penalty, backward, clipping
    /// at 5, Adam) and one for greedy captions of 16 tokens for the whole batch.
    public static func run(seconds: Double) throws -> [String] {
        let B = batch, S = imageSize, T = captionLength, V = vocabulary
        var rng = RandomGenerator(seed: 0)
        let tokens =
            [CaptionCodec.padding, CaptionCodec.unknown, CaptionCodec.start, CaptionCodec.end]
            + (4..<V).map { "w\($0)" }
        let config = CaptionConfig(
            imageSize: S, embeddingSize: embedding, hiddenSize: hidden, attentionSize: attentionSize,
            dropout: 0, attentionPenalty: 1)
        let network = try CaptionNetwork(
            config: config, codec: CaptionCodec(vocabulary: Vocabulary(tokens: tokens)), rng: &rng)
        let optimizer = Adam(store: network.parameters, learningRate: 1e-3)
        let images = Tensor(zeros: [B, 3, S, S])
        rng.fillUniform(images, -1, 1)
        // T decoder steps: the start token and T − 1 words in, T tokens out (the last the end token).
        let captions = (0..<B).map { _ in (0..<(T - 1)).map { _ in Int32(1 + rng.int(below: V - 1)) } }

        let trainStep = {
            _ = try optimizationStep(network.parameters, optimizer, clip: 5) { tape in
                try network.loss(images: Variable(images), captions: captions, tape: tape, rng: &rng).loss
            }
        }
        let decodeStep = { _ = try network.greedyCaptions(images, steps: T) }
        return try BenchmarkWorkloads.timedTaskSteps(
            name: name, seconds: seconds, steps: [("train", trainStep), ("decode", decodeStep)], unit: "images_per_s",
            itemsPerStep: Double(B),
            fields: [
                ("batch", .int(B)), ("image_size", .int(S)), ("caption_length", .int(T)), ("vocab", .int(V)),
                ("embed", .int(embedding)), ("hidden", .int(hidden)), ("attention", .int(attentionSize))
            ])
    }
}
