import TestSupport
import XCTest

@testable import RNNEngine

/// Compares the engine with values PyTorch computed (Golden/make_golden.py writes them).
final class GoldenTests: XCTestCase {
    /// Both with the engine's AVX2/FMA (and AVX-512) kernels where the CPU has them and with the portable
    /// paths: BLAS for the recurrent product, the baseline compilation of the cell steps.
    /// On one, two and three threads, every time loop split over the whole team.
    func testRecurrentLayersMatchPyTorch() throws {
        try forEachKernelCompilation { _ in
            try forEachThreadCount {
                for kind in CellKind.allCases {
                    try checkRecurrent(kind)
                }
            }
        }
    }

    private func checkRecurrent(_ kind: CellKind) throws {
        let golden = try loadGolden("recurrent_\(kind.rawValue).safetensors")
        let x = try golden.tensor("x"), h0 = try golden.tensor("h0")
        let I = x.shape[2], H = h0.shape[2]
        let layers = Int(golden.metadata["layers"] ?? "") ?? 0
        var rng = RandomGenerator(seed: 0)
        let store = ParameterStore()
        let rnn = RecurrentLayer(
            kind, inputSize: I, hiddenSize: H, layers: layers, bidirectional: true,
            prefix: "rnn", store: store, rng: &rng)
        store.pack()
        var weights = SafeTensorsFile()
        for p in store.parameters {
            weights.names.append(p.name)
            weights.tensors[p.name] = try golden.tensor(p.name)
        }
        try store.load(weights, path: "golden")

        let input = Variable(x, requiresGrad: true)
        let hidden = Variable(h0, requiresGrad: true)
        let cell = kind.hasCellState ? Variable(try golden.tensor("c0"), requiresGrad: true) : nil
        let lengths = try golden.tensor("lengths").array.map { Int($0) }
        let tape = Tape()
        let (y, state) = try rnn(
            input, lengths: lengths, initialState: RecurrentState(hidden: hidden, cell: cell),
            tape: tape, rng: &rng)
        let name = kind.rawValue
        assertClose(y.value, try golden.tensor("y"), "\(name) output")
        assertClose(state.hidden.value, try golden.tensor("h_n"), "\(name) h_n")
        if let c = state.cell { assertClose(c.value, try golden.tensor("c_n"), "\(name) c_n") }

        // Seed the gradients of the outputs with the loss weights PyTorch used.
        let seed = Variable(Tensor(shape: [1], values: [0]), requiresGrad: true)
        let wy = try golden.tensor("w_y"), wh = try golden.tensor("w_h")
        let wc = kind.hasCellState ? try golden.tensor("w_c") : nil
        tape.record {
            y.gradient().add(wy)
            state.hidden.gradient().add(wh)
            if let c = state.cell, let wc { c.gradient().add(wc) }
        }
        tape.backward(from: seed)
        assertClose(input.grad!, try golden.tensor("grad.x"), relative: 1e-4, absolute: 1e-5, "\(name) dx")
        assertClose(hidden.grad!, try golden.tensor("grad.h0"), relative: 1e-4, absolute: 1e-5, "\(name) dh0")
        if let cell {
            assertClose(cell.grad!, try golden.tensor("grad.c0"), relative: 1e-4, absolute: 1e-5, "\(name) dc0")
        }
        for p in store.parameters {
            assertClose(
                p.grad!, try golden.tensor("grad." + p.name), relative: 1e-4, absolute: 1e-5, "\(name) d\(p.name)")
        }
    }

    func testOptimizersMatchPyTorch() throws {
        let golden = try loadGolden("optimizers.safetensors")
        let makers: [(String, (ParameterStore) -> Optimizer)] = [
            ("adam", { Adam(store: $0, learningRate: 0.01, weightDecay: 0.1) }),
            ("adamw", { Adam.adamW(store: $0, learningRate: 0.01, weightDecay: 0.1) }),
            ("sgd", { SGD(store: $0, learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01) })
        ]
        try forEachKernelCompilation { baseline in
            for (name, make) in makers {
                let store = ParameterStore()
                let p0 = try golden.tensor("p0")
                let p = store.declare("p", shape: p0.shape) { $0.copy(from: p0) }
                store.pack()
                let optimizer = make(store)
                for step in 0..<4 {
                    p.grad!.copy(from: try golden.tensor("g\(step)"))
                    optimizer.step()
                    assertClose(
                        p.value, try golden.tensor("\(name).p\(step + 1)"), relative: 1e-5, absolute: 1e-6,
                        "\(name) step \(step + 1), baseline \(baseline)")
                }
            }
        }
    }

    func testGradientClippingMatchesPyTorch() throws {
        let golden = try loadGolden("clipping.safetensors")
        try forEachKernelCompilation { baseline in
            let store = ParameterStore()
            let a = store.declare("a", shape: [3, 4]) { _ in }
            let b = store.declare("b", shape: [5]) { _ in }
            store.pack()
            a.grad!.copy(from: try golden.tensor("g0"))
            b.grad!.copy(from: try golden.tensor("g1"))
            let norm = clipGradientNorm(store, maxNorm: 2)
            XCTAssertEqual(norm, try golden.tensor("norm")[0], accuracy: 1e-4)
            assertClose(a.grad!, try golden.tensor("clipped0"), "clipped a, baseline \(baseline)")
            assertClose(b.grad!, try golden.tensor("clipped1"), "clipped b, baseline \(baseline)")
        }
    }

    func testCrossEntropyMatchesPyTorch() throws {
        let golden = try loadGolden("cross_entropy.safetensors")
        let logits = Variable(try golden.tensor("logits"), requiresGrad: true)
        let targets = try golden.tensor("targets").array.map { Int32($0) }
        let tape = Tape()
        let loss = softmaxCrossEntropy(logits, targets: targets, ignoreIndex: -100, labelSmoothing: 0.1, tape: tape)
        tape.backward(from: loss)
        assertClose(loss.value, try golden.tensor("loss"), "loss")
        assertClose(logits.grad!, try golden.tensor("grad"), "grad")
    }

    /// A label whose probability underflows even a double (log p = −2000 − log 2 per frame) sends
    /// CTC to its log-space recursion, which must still give the finite loss: over 4 frames the
    /// label is emitted at exactly one of them with blanks (p = ½) elsewhere, so
    /// loss = 2000 + 4·log 2 − log 4, and the label's posterior mass over the frames is 1.
    func testCTCFallsBackToLogSpaceWhenProbabilitiesUnderflow() throws {
        var values = [Float]()
        for _ in 0..<4 { values += [0, -2000, 0] }
        let logits = Variable(Tensor(shape: [4, 1, 3], values: values), requiresGrad: true)
        let tape = Tape()
        let loss = try ctcLoss(logits, targets: [[1]], inputLengths: [4], tape: tape)
        tape.backward(from: loss)
        XCTAssertEqual(Double(loss.value[0]), 2000 + 4 * log(2) - log(4), accuracy: 2e-3)
        let gradient = logits.grad!
        XCTAssertTrue((0..<gradient.count).allSatisfy { gradient[$0].isFinite })
        // Log-probabilities near −4000 carry float steps of ~5e-4, hence the tolerance.
        let labelMass = (0..<4).map { gradient[$0 * 3 + 1] }.reduce(0, +)
        XCTAssertEqual(labelMass, -1, accuracy: 1e-3)
    }

    func testCTCMatchesPyTorch() throws {
        let golden = try loadGolden("ctc.safetensors")
        let logits = Variable(try golden.tensor("logits"), requiresGrad: true)
        let padded = try golden.tensor("targets"), targetLengths = try golden.tensor("target_lengths")
        let width = padded.shape[1]
        let targets = (0..<padded.shape[0]).map { b in (0..<Int(targetLengths[b])).map { Int32(padded[b * width + $0]) }
        }
        let inputLengths = try golden.tensor("input_lengths").array.map { Int($0) }
        let tape = Tape()
        let loss = try ctcLoss(logits, targets: targets, inputLengths: inputLengths, tape: tape)
        tape.backward(from: loss)
        assertClose(loss.value, try golden.tensor("loss"), relative: 1e-5, "ctc loss")
        assertClose(logits.grad!, try golden.tensor("grad"), relative: 1e-4, absolute: 1e-6, "ctc grad")
    }
}
