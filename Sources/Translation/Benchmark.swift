import Foundation
import RNNEngine

/// The `seq2seq-attn` workloads of the PyTorch reference benchmark (torch_bench.py), same sizes
/// and JSON fields: a bidirectional LSTM encoder (128 units per direction), an LSTM decoder of
/// 256 with input feeding and Luong general attention, vocabularies of 8000; 64 sentence pairs,
/// sources of 10 to 20 tokens padded to 20, 22 target steps.
public enum TranslationBenchmark {
    public static let name = "seq2seq-attn"
    static let batch = 64, sourceLength = 20, targetLength = 22, vocabulary = 8000, embedding = 128, hidden = 256

    /// One JSON line for training steps (forward, backward, clipping at 5, Adam) and one for
    /// greedy decoding of 22 tokens for the whole batch.
    public static func run(seconds: Double) throws -> [String] {
        let B = batch, S = sourceLength, T = targetLength, V = vocabulary
        var rng = RandomGenerator(seed: 0)
        let tokens =
            [SentenceCodec.padding, SentenceCodec.unknown, SentenceCodec.start, SentenceCodec.end]
            + (4..<V).map { "w\($0)" }
        let codec = SentenceCodec(vocabulary: Vocabulary(tokens: tokens), bytePairs: nil)
        let config = TranslationConfig(
            cell: .lstm, embeddingSize: embedding, hiddenSize: hidden, layers: 1, bidirectional: true,
            attention: .general, inputFeeding: true, dropout: 0, tied: false)
        let network = try TranslationNetwork(config: config, source: codec, target: codec, rng: &rng)
        let optimizer = Adam(store: network.parameters, learningRate: 1e-3)
        let sources = (0..<B).map { _ in
            (0..<(10 + rng.int(below: S - 9))).map { _ in Int32(1 + rng.int(below: V - 1)) }
        }
        // T decoder steps: the start token and T − 1 target tokens in, T tokens out (the last one the end token).
        let targets = (0..<B).map { _ in (0..<(T - 1)).map { _ in Int32(1 + rng.int(below: V - 1)) } }

        let trainStep = {
            _ = try optimizationStep(network.parameters, optimizer, clip: 5) { tape in
                try network.loss(sources: sources, targets: targets, tape: tape, rng: &rng).loss
            }
        }
        let decodeStep = { _ = try network.greedyDecode(sources, steps: T) }
        return try BenchmarkWorkloads.timedTaskSteps(
            name: name, seconds: seconds, steps: [("train", trainStep), ("decode", decodeStep)], unit: "tokens_per_s",
            itemsPerStep: Double(B * T),
            fields: [
                ("batch", .int(B)), ("source_length", .int(S)), ("target_length", .int(T)), ("vocab", .int(V)),
                ("embed", .int(embedding)), ("hidden", .int(hidden)), ("attention", .string("general"))
            ])
    }
}
