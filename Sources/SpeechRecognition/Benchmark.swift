import Foundation
import RNNEngine

/// The `asr-ctc` workloads of the PyTorch reference benchmark, same sizes and JSON fields: 16
/// utterances of up to 200 steps of 240 features (80 log-mel × 3 stacked), lengths 100 to 200
/// (the first 200, longest first), a 3-layer bidirectional LSTM of 256, a linear layer to 29 classes, CTC
/// against 40 labels each (with zero-infinity).
public enum SpeechBenchmark {
    public static let name = "asr-ctc"
    static let batch = 16, frames = 200, features = 240, hidden = 256, layers = 3, symbols = 29, labels = 40

    /// One JSON line for training steps (forward, CTC, backward, clipping at 5, Adam) and one
    /// for inference (forward and best path).
    public static func run(seconds: Double) throws -> [String] {
        let B = batch, T = frames
        var rng = RandomGenerator(seed: 0)
        let alphabet = Alphabet(symbols: Array(Alphabet.english.symbols.prefix(symbols - 1)))
        let network = try SpeechNetwork(
            config: SpeechConfig(
                features: features, stacking: 1, hiddenSize: hidden, layers: layers,
                dropout: 0, alphabet: alphabet), rng: &rng)
        let optimizer = Adam(store: network.parameters, learningRate: 1e-3)
        var lengths = (0..<B).map { _ in T / 2 + rng.int(below: T / 2 + 1) }
        lengths[0] = T
        // Longest first, as the recogniser's batches come (the bucketed sampler's order, and
        // decoding sorts too): finished utterances then drop out of the recurrent products.
        lengths.sort(by: >)
        let input = Variable(Tensor(zeros: [T, B, features]))
        rng.fillNormal(input.value)
        let targets = (0..<B).map { _ in (0..<labels).map { _ in Int32(1 + rng.int(below: symbols - 1)) } }

        let trainStep = {
            _ = try optimizationStep(network.parameters, optimizer, clip: 5) { tape in
                let logits = try network.logits(input, lengths: lengths, tape: tape, rng: &rng)
                return try ctcLoss(logits, targets: targets, inputLengths: lengths, zeroInfinity: true, tape: tape)
            }
        }
        let inferStep = {
            _ = SpeechNetwork.greedyPaths(
                try network.logits(input, lengths: lengths, tape: Tape.inference(), rng: &rng).value,
                lengths: lengths)
        }
        return try BenchmarkWorkloads.timedTaskSteps(
            name: name, seconds: seconds, steps: [("train", trainStep), ("infer", inferStep)], unit: "frames_per_s",
            itemsPerStep: Double(lengths.reduce(0, +)),
            fields: [
                ("batch", .int(B)), ("frames", .int(T)), ("features", .int(features)), ("hidden", .int(hidden)),
                ("layers", .int(layers)), ("bidirectional", .bool(true)), ("symbols", .int(symbols))
            ])
    }
}
