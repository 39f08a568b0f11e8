import Foundation
import RNNEngine

/// The throughput workloads of the PyTorch reference benchmark (torch_bench.py), with the same
/// names, shapes and JSON fields, so the two print comparable lines.
public enum BenchmarkWorkloads {
    public struct LanguageModelWorkload: Sendable {
        public let name: String
        public let cell: CellKind
        public let batch, sequenceLength, embeddingSize, hiddenSize, vocabularySize, layers: Int
    }

    public static let languageModels: [LanguageModelWorkload] = [
        .init(
            name: "lstm-lm", cell: .lstm, batch: 32, sequenceLength: 64, embeddingSize: 128, hiddenSize: 512,
            vocabularySize: 96, layers: 1),
        .init(
            name: "lstm-lm-2layer", cell: .lstm, batch: 32, sequenceLength: 64, embeddingSize: 128, hiddenSize: 512,
            vocabularySize: 96, layers: 2),
        .init(
            name: "lstm-lm-large", cell: .lstm, batch: 64, sequenceLength: 100, embeddingSize: 256, hiddenSize: 1024,
            vocabularySize: 96, layers: 1),
        .init(
            name: "lstm-lm-batch1", cell: .lstm, batch: 1, sequenceLength: 64, embeddingSize: 128, hiddenSize: 512,
            vocabularySize: 96, layers: 1),
        .init(
            name: "gru-lm", cell: .gru, batch: 32, sequenceLength: 64, embeddingSize: 128, hiddenSize: 512,
            vocabularySize: 96, layers: 1)
    ]

    public static var names: [String] { languageModels.map(\.name) + ["ctc-loss"] }

    /// Runs `step` three times to warm up, then for at least `seconds`; returns seconds per step.
    public static func timed(seconds: Double, _ step: () -> Void) -> Double {
        for _ in 0..<3 { step() }
        let start = DispatchTime.now().uptimeNanoseconds
        var n = 0
        var elapsed = 0.0
        repeat {
            step()
            n += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        } while elapsed < seconds
        return elapsed / Double(n)
    }

    /// A task model's workloads: each (kind, step) timed as `timed` does, one JSON line each:
    /// `bench` "<name>-<kind>", `<unit>` = itemsPerStep / seconds per step, `ms_per_step`, then
    /// `fields` (the sizes). The first error a step throws is rethrown.
    public static func timedTaskSteps(
        name: String, seconds: Double, steps: [(kind: String, step: () throws -> Void)],
        unit: String, itemsPerStep: Double, fields: [(String, JSONValue)]
    ) throws -> [String] {
        var lines: [String] = []
        for (kind, step) in steps {
            var failure: Error?
            let dt = timed(seconds: seconds) {
                guard failure == nil else { return }
                do { try step() } catch { failure = error }
            }
            if let failure { throw failure }
            lines.append(
                jsonLine(
                    [
                        ("bench", .string("\(name)-\(kind)")), (unit, .fixed(itemsPerStep / dt, decimals: 1)),
                        ("ms_per_step", .fixed(dt * 1000, decimals: 3))
                    ] + fields))
        }
        return lines
    }

    /// Multiply-adds ×2 of one forward pass over one token.
    static func forwardFlopsPerToken(_ w: LanguageModelWorkload) -> Double {
        let G = Double(w.cell.gateCount * w.hiddenSize)
        var flops = 0.0
        for layer in 0..<w.layers {
            let input = Double(layer == 0 ? w.embeddingSize : w.hiddenSize)
            flops += 2 * (input + Double(w.hiddenSize)) * G
        }
        return flops + 2 * Double(w.hiddenSize * w.vocabularySize)
    }

    /// One JSON line per kind ("train", "infer") for a language-model workload.
    public static func runLanguageModel(_ w: LanguageModelWorkload, seconds: Double, sgemmPeak: Double) -> [String] {
        var rng = RandomGenerator(seed: 0)
        let store = ParameterStore()
        let embedding = Embedding(
            vocabularySize: w.vocabularySize, embeddingSize: w.embeddingSize, name: "encoder", store: store, rng: &rng)
        let rnn = RecurrentLayer(
            w.cell, inputSize: w.embeddingSize, hiddenSize: w.hiddenSize, layers: w.layers,
            prefix: "rnn", store: store, rng: &rng)
        let decoder = Linear(
            inputSize: w.hiddenSize, outputSize: w.vocabularySize, name: "decoder", store: store, rng: &rng)
        store.pack()
        let optimizer = Adam(store: store, learningRate: 1e-3)
        let T = w.sequenceLength, B = w.batch
        let inputs = (0..<(T * B)).map { _ in Int32(rng.int(below: w.vocabularySize)) }
        let targets = (0..<(T * B)).map { _ in Int32(rng.int(below: w.vocabularySize)) }

        // The ids are drawn inside the vocabulary: the lookup cannot fail.
        func forward(_ tape: Tape) -> Variable {
            guard let (h, _) = try? rnn(tokens: inputs, steps: T, batch: B, embedding: embedding, tape: tape, rng: &rng)
            else {
                preconditionFailure("benchmark ids outside the vocabulary")
            }
            return decoder(h, tape: tape)
        }
        let trainStep = {
            _ = optimizationStep(store, optimizer, clip: 5) { tape in
                softmaxCrossEntropy(forward(tape), targets: targets, tape: tape)
            }
        }
        let inferStep = { _ = forward(Tape.inference()) }
        let flops = forwardFlopsPerToken(w)
        var lines: [String] = []
        for (kind, step, multiplier) in [("train", trainStep, 3.0), ("infer", inferStep, 1.0)] {
            let dt = timed(seconds: seconds, step)
            let tokensPerSecond = Double(T * B) / dt
            lines.append(
                jsonLine([
                    ("bench", .string("\(w.name)-\(kind)")), ("tokens_per_s", .fixed(tokensPerSecond, decimals: 1)),
                    ("ms_per_step", .fixed(dt * 1000, decimals: 3)),
                    ("cell", .string(w.cell == .lstm ? "lstm" : "gru")),
                    ("batch", .int(B)), ("seq", .int(T)), ("embed", .int(w.embeddingSize)),
                    ("hidden", .int(w.hiddenSize)), ("vocab", .int(w.vocabularySize)), ("layers", .int(w.layers)),
                    ("gflops", .fixed(tokensPerSecond * flops * multiplier / 1e9, decimals: 1)),
                    ("sgemm_peak_gflops", .fixed(sgemmPeak, decimals: 1))
                ]))
        }
        return lines
    }

    /// CTC loss forward and backward alone: 16 utterances, 200 frames, 29 symbols, 40 labels each.
    public static func runCTC(seconds: Double) -> String {
        let B = 16, T = 200, C = 29, S = 40
        var rng = RandomGenerator(seed: 0)
        let logits = Variable(Tensor(zeros: [T, B, C]), requiresGrad: true)
        rng.fillNormal(logits.value)
        let targets = (0..<B).map { _ in (0..<S).map { _ in Int32(1 + rng.int(below: C - 1)) } }
        let lengths = [Int](repeating: T, count: B)
        let dt = timed(seconds: seconds) {
            logits.clearGradient()
            let tape = Tape()
            // 40 labels in 200 frames, none blank: always a valid alignment.
            guard let loss = try? ctcLoss(logits, targets: targets, inputLengths: lengths, tape: tape) else {
                preconditionFailure("benchmark CTC targets do not fit")
            }
            tape.backward(from: loss)
        }
        return jsonLine([
            ("bench", .string("ctc-loss")), ("frames_per_s", .fixed(Double(B * T) / dt, decimals: 1)),
            ("ms_per_step", .fixed(dt * 1000, decimals: 3)), ("batch", .int(B)), ("frames", .int(T)),
            ("symbols", .int(C)), ("label_length", .int(S))
        ])
    }
}
