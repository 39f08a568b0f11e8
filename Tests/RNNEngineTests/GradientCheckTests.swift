import TestSupport
import XCTest

@testable import RNNEngine

/// Finite-difference checks of every operation's backward pass.
final class GradientCheckTests: XCTestCase {
    func testLinear() {
        var rng = RandomGenerator(seed: 1)
        let store = ParameterStore()
        let layer = Linear(inputSize: 4, outputSize: 3, name: "fc", store: store, rng: &rng)
        store.pack()
        let x = Variable(randomTensor([2, 5, 4], &rng), requiresGrad: true)
        let w = randomTensor([2, 5, 3], &rng)
        checkGradients(of: [x, layer.weight, layer.bias!]) { tape in
            weightedSum(layer(x, tape: tape), w, tape: tape)
        }
    }

    func testEmbeddingSkipsPaddingRow() throws {
        var rng = RandomGenerator(seed: 2)
        let store = ParameterStore()
        let embedding = Embedding(
            vocabularySize: 5, embeddingSize: 3, paddingIndex: 0, name: "encoder", store: store, rng: &rng)
        let plain = Embedding(vocabularySize: 5, embeddingSize: 3, name: "plain", store: store, rng: &rng)
        store.pack()
        XCTAssertEqual(Array(embedding.weight.value.buffer.prefix(3)), [0, 0, 0])
        let ids: [Int32] = [1, 0, 3, 3, 4, 0]
        let w = randomTensor([2, 3, 3], &rng)
        let tape = Tape()
        tape.backward(from: weightedSum(try embedding(ids, shape: [2, 3], tape: tape), w, tape: tape))
        XCTAssertEqual(Array(embedding.weight.grad!.buffer.prefix(3)), [0, 0, 0], "padding row takes no gradient")
        // Row 3 is used twice: its gradient is the sum of both uses.
        checkGradients(of: [plain.weight]) { tape in
            try weightedSum(plain(ids, shape: [2, 3], tape: tape), w, tape: tape)
        }
    }

    func testDropout() {
        var rng = RandomGenerator(seed: 3)
        let x = Variable(randomTensor([4, 6], &rng), requiresGrad: true)
        let w = randomTensor([4, 6], &rng)
        checkGradients(of: [x]) { tape in
            var maskRNG = RandomGenerator(seed: 9)
            return weightedSum(dropout(x, probability: 0.3, tape: tape, rng: &maskRNG), w, tape: tape)
        }
        let inference = Tape.inference()
        XCTAssertTrue(dropout(x, probability: 0.3, tape: inference, rng: &rng) === x, "identity at inference")
    }

    func testCrossEntropyWithIgnoreIndexAndLabelSmoothing() {
        var rng = RandomGenerator(seed: 4)
        let logits = Variable(randomTensor([5, 7], &rng, scale: 3), requiresGrad: true)
        let targets: [Int32] = [1, -100, 6, 0, 3]
        checkGradients(of: [logits], step: 1e-2, tolerance: 1e-2) { tape in
            softmaxCrossEntropy(logits, targets: targets, ignoreIndex: -100, labelSmoothing: 0.2, tape: tape)
        }
    }

    func testCTC() {
        var rng = RandomGenerator(seed: 5)
        let logits = Variable(randomTensor([9, 3, 5], &rng, scale: 2), requiresGrad: true)
        checkGradients(of: [logits], maxElementsPerVariable: 135, tolerance: 1e-2) { tape in
            try ctcLoss(logits, targets: [[1, 2, 2], [4], [3, 1]], inputLengths: [9, 5, 7], tape: tape)
        }
    }

    func testRecurrentLayers() {
        for kind in CellKind.allCases {
            for (layers, bidirectional, masked) in [(1, false, false), (2, true, true), (2, false, true)] {
                checkRecurrent(kind, layers: layers, bidirectional: bidirectional, masked: masked, dropout: 0)
            }
        }
    }

    /// Lengths longest first: finished rows drop out of the recurrent products (ActiveRows). On
    /// one, two and three threads, every time loop split over the whole team.
    func testRecurrentLayersSkippingFinishedRows() {
        forEachThreadCount {
            for kind in CellKind.allCases {
                checkRecurrent(kind, layers: 2, bidirectional: true, masked: true, sortedLengths: true, dropout: 0)
            }
        }
    }

    func testRecurrentDropoutBetweenLayers() {
        checkRecurrent(.lstm, layers: 2, bidirectional: true, masked: false, dropout: 0.4)
        checkRecurrent(.gru, layers: 3, bidirectional: false, masked: true, dropout: 0.4)
    }

    func testRecurrentOverTokensMatchesEmbeddingThenRecurrent() throws {
        for (kind, bidirectional) in [(CellKind.lstm, true), (.gru, false), (.rnnTanh, true)] {
            var rng = RandomGenerator(seed: 8)
            let store = ParameterStore()
            let T = 5, B = 3, V = 6, E = 4, H = 3
            let table = Embedding(vocabularySize: V, embeddingSize: E, name: "encoder", store: store, rng: &rng)
            let rnn = RecurrentLayer(
                kind, inputSize: E, hiddenSize: H, layers: 2, bidirectional: bidirectional,
                prefix: "rnn", store: store, rng: &rng)
            store.pack()
            let ids: [Int32] = (0..<(T * B)).map { Int32(($0 * 7 + 3) % V) }
            let w = randomTensor([T, B, rnn.outputSize], &rng)
            let lengths = [5, 2, 4]
            func run(fused: Bool) throws -> (output: [Float], gradients: [Float]) {
                store.zeroGradients()
                let tape = Tape()
                var dropoutRNG = RandomGenerator(seed: 1)
                let y =
                    fused
                    ? try rnn(
                        tokens: ids, steps: T, batch: B, embedding: table.weight, lengths: lengths, tape: tape,
                        rng: &dropoutRNG
                    ).output
                    : try rnn(try table(ids, shape: [T, B], tape: tape), lengths: lengths, tape: tape, rng: &dropoutRNG)
                        .output
                tape.backward(from: weightedSum(y, w, tape: tape))
                return (y.value.array, store.gradients.array)
            }
            let plain = try run(fused: false), fused = try run(fused: true)
            assertClose(
                Tensor(shape: [plain.output.count], values: fused.output),
                Tensor(shape: [plain.output.count], values: plain.output), relative: 1e-5, absolute: 1e-6,
                "\(kind) output")
            assertClose(
                Tensor(shape: [plain.gradients.count], values: fused.gradients),
                Tensor(shape: [plain.gradients.count], values: plain.gradients), relative: 1e-4, absolute: 1e-6,
                "\(kind) gradients")
            store.zeroGradients()
            checkGradients(
                of: [table.weight] + store.parameters.filter { $0.name.contains("ih_l0") }, maxElementsPerVariable: 10
            ) { tape in
                var dropoutRNG = RandomGenerator(seed: 1)
                return weightedSum(
                    try rnn(
                        tokens: ids, steps: T, batch: B, embedding: table.weight, lengths: lengths,
                        tape: tape, rng: &dropoutRNG
                    ).output, w, tape: tape)
            }
        }
    }

    private func checkRecurrent(
        _ kind: CellKind, layers: Int, bidirectional: Bool, masked: Bool, sortedLengths: Bool = false, dropout: Float,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        var rng = RandomGenerator(seed: 6)
        let store = ParameterStore()
        let T = 4, B = 3, I = 3, H = 2
        let rnn = RecurrentLayer(
            kind, inputSize: I, hiddenSize: H, layers: layers, bidirectional: bidirectional,
            dropout: dropout, prefix: "rnn", store: store, rng: &rng)
        store.pack()
        let D = bidirectional ? 2 : 1
        let x = Variable(randomTensor([T, B, I], &rng), requiresGrad: true)
        let h0 = Variable(randomTensor([layers * D, B, H], &rng), requiresGrad: true)
        let c0 = kind.hasCellState ? Variable(randomTensor([layers * D, B, H], &rng), requiresGrad: true) : nil
        let wy = randomTensor([T, B, D * H], &rng), wh = randomTensor([layers * D, B, H], &rng)
        let wc = randomTensor([layers * D, B, H], &rng)
        let lengths = masked ? (sortedLengths ? [4, 3, 1] : [4, 1, 3]) : nil
        let checked: [Variable] = [x, h0] + (c0.map { [$0] } ?? []) + store.parameters
        // ReLU has a kink at 0: a small step keeps the difference quotient on one side of it.
        let step: Float = kind == .rnnRelu ? 1e-3 : 1e-2
        checkGradients(of: checked, maxElementsPerVariable: 12, step: step, tolerance: 2e-2, file: file, line: line) {
            tape in
            var dropoutRNG = RandomGenerator(seed: 77)
            let (y, state) = try rnn(
                x, lengths: lengths, initialState: RecurrentState(hidden: h0, cell: c0),
                tape: tape, rng: &dropoutRNG)
            var total = weightedSum(y, wy, tape: tape).value[0] + weightedSum(state.hidden, wh, tape: tape).value[0]
            if let cell = state.cell { total += weightedSum(cell, wc, tape: tape).value[0] }
            return sumOfLosses(y: y, state: state, wy: wy, wh: wh, wc: wc, tape: tape, expected: total)
        }
    }

    /// Σ y∘wy + Σ h_n∘wh (+ Σ c_n∘wc) as one scalar on the tape.
    private func sumOfLosses(
        y: Variable, state: RecurrentState, wy: Tensor, wh: Tensor, wc: Tensor,
        tape: Tape, expected: Float
    ) -> Variable {
        let out = Variable(Tensor(shape: [1], values: [expected]), requiresGrad: tape.isRecording)
        if out.requiresGrad {
            tape.record {
                y.gradient().add(wy)
                state.hidden.gradient().add(wh)
                state.cell?.gradient().add(wc)
            }
        }
        return out
    }
}
