import TestSupport
import XCTest

@testable import RNNEngine

/// Finite-difference checks of the tape ops, attention, convolution and the step cells.
final class OpsGradientCheckTests: XCTestCase {
    private var rng = RandomGenerator(seed: 11)

    private func variable(_ shape: [Int], scale: Float = 1) -> Variable {
        Variable(randomTensor(shape, &rng, scale: scale), requiresGrad: true)
    }

    /// Σ w ∘ y over the finite elements of y, with weights drawn once per op.
    private func lossOf(_ y: Variable, tape: Tape, weights: inout [Int: Tensor], key: Int = 0) -> Variable {
        if weights[key] == nil { weights[key] = randomTensor(y.shape, &rng) }
        return weightedSum(maskInfinite(y, tape: tape), weights[key]!, tape: tape)
    }

    /// Checks op `f` of `inputs` against finite differences.
    private func checkOp(
        _ inputs: [Variable], tolerance: Float = 2e-2, file: StaticString = #filePath, line: UInt = #line,
        _ f: @escaping ([Variable], Tape) throws -> [Variable]
    ) {
        var weights: [Int: Tensor] = [:]
        for v in inputs { v.clearGradient() }  // a variable checked before starts again from zero
        checkGradients(of: inputs, tolerance: tolerance, file: file, line: line) { tape in
            let ys: [Variable]
            do { ys = try f(inputs, tape) } catch {
                XCTFail("op threw \(error)", file: file, line: line)
                return Variable(Tensor(zeros: [1]))
            }
            var total: Variable?
            for (i, y) in ys.enumerated() {
                let l = self.lossOf(y, tape: tape, weights: &weights, key: i)
                total = total.map { add($0, l, tape: tape) } ?? l
            }
            return total!
        }
    }

    func testElementwiseWithBroadcasting() {
        checkOp([variable([2, 3, 4]), variable([2, 1, 4])]) { x, t in [add(x[0], x[1], tape: t)] }
        checkOp([variable([3, 4]), variable([4])]) { x, t in [subtract(x[0], x[1], tape: t)] }
        checkOp([variable([2, 1, 4]), variable([2, 3, 1])]) { x, t in [multiply(x[0], x[1], tape: t)] }
        checkOp([variable([1]), variable([3, 2])]) { x, t in [multiply(x[0], x[1], tape: t)] }
        checkOp([variable([3, 5])]) { x, t in [scale(x[0], by: -1.5, tape: t)] }
        checkOp([variable([3, 5], scale: 2)]) { x, t in [tanh(x[0], tape: t)] }
        checkOp([variable([3, 5], scale: 2)]) { x, t in [sigmoid(x[0], tape: t)] }
        let away = Variable(Tensor(shape: [6], values: [-1, -0.5, 0.3, 0.7, 1.2, -2]), requiresGrad: true)
        checkOp([away]) { x, t in [relu(x[0], tape: t)] }
    }

    func testShapeOps() {
        checkOp([variable([2, 3, 4]), variable([2, 2, 4])]) { x, t in [concatenate(x, axis: 1, tape: t)] }
        checkOp([variable([2, 3]), variable([2, 3])]) { x, t in [concatenate(x, axis: 0, tape: t)] }
        checkOp([variable([2, 3, 5])]) { x, t in [slice(x[0], axis: 2, 1..<4, tape: t)] }
        checkOp([variable([4, 6])]) { x, t in split(x[0], sizes: [1, 2, 3], axis: 1, tape: t) }
        checkOp([variable([2, 3, 4])]) { x, t in [reshape(x[0], [4, 6], tape: t)] }
        checkOp([variable([2, 3, 4])]) { x, t in [permute(x[0], [1, 2, 0], tape: t)] }
        checkOp([variable([2, 3, 4])]) { x, t in [transpose(x[0], 0, 2, tape: t)] }
    }

    func testMatrixProductsInEveryTransposition() {
        for transA in [false, true] {
            for transB in [false, true] {
                let a = variable(transA ? [4, 3] : [3, 4]), b = variable(transB ? [5, 4] : [4, 5])
                checkOp([a, b]) { x, t in [matmul(x[0], transposed: transA, x[1], transposed: transB, tape: t)] }
                let ba = variable(transA ? [2, 4, 3] : [2, 3, 4]), bb = variable(transB ? [2, 5, 4] : [2, 4, 5])
                checkOp([ba, bb]) { x, t in [batchedMatmul(x[0], transposed: transA, x[1], transposed: transB, tape: t)]
                }
            }
        }
    }

    func testMaskedSoftmaxAndLogSoftmax() throws {
        let mask = lengthMask(lengths: [3, 5, 1], positions: 5, rowsPerItem: 2)
        checkOp([variable([3, 2, 5], scale: 2)]) { x, t in [try softmax(x[0], axis: 2, mask: mask, tape: t)] }
        checkOp([variable([3, 2, 5], scale: 2)]) { x, t in [try logSoftmax(x[0], axis: 2, mask: mask, tape: t)] }
        checkOp([variable([4, 3], scale: 2)]) { x, t in [try softmax(x[0], axis: 0, tape: t)] }
        // Masked positions: exactly zero weight and zero gradient.
        let x = variable([3, 2, 5])
        let tape = Tape()
        let y = try softmax(x, axis: 2, mask: mask, tape: tape)
        tape.backward(from: weightedSum(y, randomTensor(y.shape, &rng), tape: tape))
        for k in 0..<mask.count where !mask[k] {
            XCTAssertEqual(y.value[k], 0)
            XCTAssertEqual(x.grad![k], 0)
        }
        // A row with nothing to attend to is an error that says so.
        let empty = lengthMask(lengths: [2, 0], positions: 3)
        XCTAssertThrowsError(try softmax(variable([2, 3]), mask: empty, tape: Tape())) { error in
            XCTAssertEqual(error as? EngineError, .allPositionsMasked(row: 1))
        }
    }

    func testReductionsAndIndexSelect() throws {
        checkOp([variable([2, 3, 4])]) { x, t in [sum(x[0], axis: 1, tape: t)] }
        checkOp([variable([2, 3, 4])]) { x, t in [mean(x[0], axis: 2, tape: t)] }
        checkOp([variable([2, 3])]) { x, t in [sum(x[0], tape: t)] }
        checkOp([variable([4, 3])]) { x, t in [try indexSelect(x[0], axis: 0, indices: [3, 0, 3, 1], tape: t)] }
        checkOp([variable([2, 3, 4])]) { x, t in [try indexSelect(x[0], axis: 2, indices: [1, 1], tape: t)] }
        XCTAssertThrowsError(try indexSelect(variable([4, 3]), indices: [4], tape: Tape())) { error in
            XCTAssertEqual(error as? EngineError, .indexOutOfRange(what: "index", index: 4, bound: 4))
        }
    }

    func testAdditiveAttentionWithBiases() throws {
        let store = ParameterStore()
        let attention = Attention(
            .additive, querySize: 4, memorySize: 6, attentionSize: 5, prefix: "",
            additive: AdditiveLayers(
                key: "att_feat", query: "att_hidden", energy: "att_out", keyBias: true, energyBias: true),
            store: store, rng: &rng)
        store.pack()
        XCTAssertEqual(
            Set(store.parameters.map(\.name)),
            [
                "att_feat.weight", "att_feat.bias", "att_hidden.weight", "att_hidden.bias",
                "att_out.weight", "att_out.bias"
            ])
        let memory = variable([3, 4, 6]), query = variable([3, 4])
        checkOp([memory, query] + store.parameters) { x, t in
            let (context, weights) = try attention(
                query: x[1], memory: try attention.prepare(memory: x[0], tape: t), tape: t)
            return [context, weights]
        }
    }

    func testAttentionOfEveryScore() throws {
        for score in AttentionScore.allCases {
            let store = ParameterStore()
            let attention = Attention(
                score, querySize: 4, memorySize: score == .dot ? 4 : 6, attentionSize: 5,
                prefix: "attention", store: store, rng: &rng)
            store.pack()
            let memory = variable([3, 4, attention.memorySize]), query = variable([3, 4]), queries = variable([3, 2, 4])
            checkOp([memory, query] + store.parameters) { x, t in
                let prepared = try attention.prepare(memory: x[0], lengths: [4, 1, 3], tape: t)
                let (context, weights) = try attention(query: x[1], memory: prepared, tape: t)
                return [context, weights]
            }
            checkOp([memory, queries]) { x, t in
                let prepared = try attention.prepare(memory: x[0], lengths: [2, 4, 3], tape: t)
                return [try attention(query: x[1], memory: prepared, tape: t).context]
            }
        }
    }

    /// A memory's rows picked (beam search's K copies) attend as a memory prepared from those
    /// rows does: same keys, lengths and outputs, without computing the keys again.
    func testSelectedMemoryRowsAttendAsPreparedOnes() throws {
        for score in AttentionScore.allCases {
            let attention = Attention(
                score, querySize: 4, memorySize: score == .dot ? 4 : 6, attentionSize: 5,
                prefix: "attention", store: ParameterStore(), rng: &rng)
            let tape = Tape.inference()
            let memory = variable([3, 4, attention.memorySize])
            let prepared = try attention.prepare(memory: memory, lengths: [4, 1, 3], tape: tape)
            let rows = [0, 0, 2, 2, 1, 1]
            let selected = try prepared.selectingRows(rows, tape: tape)
            let direct = try attention.prepare(
                memory: try indexSelect(memory, axis: 0, indices: rows, tape: tape),
                lengths: rows.map { [4, 1, 3][$0] }, tape: tape)
            XCTAssertEqual(selected.lengths, direct.lengths)
            assertClose(selected.values.value, direct.values.value, relative: 0, absolute: 0)
            assertClose(selected.keys.value, direct.keys.value, relative: 1e-6, absolute: 1e-6, "\(score) keys")
            let query = variable([6, 4])
            let a = try attention(query: query, memory: selected, tape: tape),
                b = try attention(query: query, memory: direct, tape: tape)
            assertClose(a.context.value, b.context.value, relative: 1e-5, absolute: 1e-6, "\(score) context")
        }
    }

    /// conv2d with ReLU fused gives exactly relu(conv2d): outputs and every gradient, on images
    /// wide enough to be multiplied straight into the output and on small ones multiplied in
    /// groups, on one thread and two.
    func testFusedReLUConvolutionEqualsConvolutionThenReLU() {
        for (size, channels) in [(48, 3), (6, 4)] {
            let conv = Conv2d(
                inputChannels: channels, outputChannels: 5, kernelSize: 3, padding: 1, name: "c",
                store: ParameterStore(), rng: &rng)
            let x = variable([3, channels, size, size])
            let weights = randomTensor([3, 5, size, size], &rng)
            forEachThreadCount {
                var results: [[Tensor]] = []
                for fusedReLU in [true, false] {
                    for v in [x, conv.weight, conv.bias!] { v.clearGradient() }
                    let tape = Tape()
                    let y = fusedReLU ? conv(x, activation: .relu, tape: tape) : relu(conv(x, tape: tape), tape: tape)
                    backward(from: [y], weights: [weights], tape: tape)
                    results.append([y.value, x.grad!, conv.weight.grad!, conv.bias!.grad!])
                }
                for (fused, separate) in zip(results[0], results[1]) {
                    XCTAssertEqual(fused.shape, separate.shape)
                    for k in 0..<fused.count {
                        XCTAssertEqual(fused[k], separate[k], accuracy: 1e-4 * max(1, abs(separate[k])))
                    }
                }
            }
        }
    }

    /// 2×2 max pooling on planes wide enough for the vector path, with many ties: each output
    /// is the window's maximum and its gradient goes to the first largest element in reading
    /// order, as PyTorch does.
    func testMaxPoolingPicksTheFirstLargest() {
        let (N, C, H, W) = (2, 3, 7, 21), Ho = 3, Wo = 10
        let x = Variable(
            Tensor(shape: [N, C, H, W], values: (0..<(N * C * H * W)).map { _ in Float(rng.int(below: 4)) }),
            requiresGrad: true)
        let weights = randomTensor([N, C, Ho, Wo], &rng)
        forEachThreadCount {
            x.clearGradient()
            let tape = Tape()
            let y = maxPool2d(x, kernelSize: 2, tape: tape)
            XCTAssertEqual(y.shape, [N, C, Ho, Wo])
            backward(from: [y], weights: [weights], tape: tape)
            var expectedGradient = [Float](repeating: 0, count: x.value.count)
            for plane in 0..<(N * C) {
                for oy in 0..<Ho {
                    for ox in 0..<Wo {
                        let window = [(0, 0), (0, 1), (1, 0), (1, 1)].map {
                            (plane * H + 2 * oy + $0.0) * W + 2 * ox + $0.1
                        }
                        let largest = window.map { x.value[$0] }.max()!
                        let first = window.first { x.value[$0] == largest }!
                        let o = (plane * Ho + oy) * Wo + ox
                        XCTAssertEqual(y.value[o], largest)
                        expectedGradient[first] += weights[o]
                    }
                }
            }
            for k in 0..<expectedGradient.count { XCTAssertEqual(x.grad![k], expectedGradient[k]) }
        }
    }

    /// Stride-1 convolutions against the definition (summed in double), through the direct
    /// kernel and through im2col and BLAS: output widths that fill no, one or several 8-wide
    /// segments and leave one unpaired, every size of channel tile (1–6 output channels and
    /// uneven splits), kernels of 1 to 5 with padding narrower and wider than their reach, with
    /// and without bias and ReLU, one image shared by two threads and several split between them.
    /// The input gradient too (the direct kernel over the bordered output gradient), added to
    /// what the input's gradient already held.
    func testStrideOneConvolutionMatchesTheDefinition() {
        let cases:
            [(
                images: Int, channels: Int, outputs: Int, height: Int, width: Int, kernel: Int, padding: Int,
                bias: Bool, relu: Bool
            )] = [
                (1, 3, 1, 5, 5, 3, 1, true, false), (3, 2, 5, 9, 11, 3, 1, true, true),
                (2, 4, 13, 6, 19, 3, 0, false, false),
                (1, 3, 7, 4, 8, 1, 0, true, true), (5, 2, 32, 7, 3, 2, 2, true, false),
                (2, 1, 6, 12, 17, 5, 2, false, true),
                (1, 5, 11, 3, 24, 3, 1, true, true)
            ]
        for c in cases {
            let conv = Conv2d(
                inputChannels: c.channels, outputChannels: c.outputs, kernelSize: c.kernel, padding: c.padding,
                bias: c.bias, name: "c", store: ParameterStore(), rng: &rng)
            let x = variable([c.images, c.channels, c.height, c.width])
            let Ho = c.height + 2 * c.padding - c.kernel + 1, Wo = c.width + 2 * c.padding - c.kernel + 1
            var expected = [Float](repeating: 0, count: c.images * c.outputs * Ho * Wo)
            for n in 0..<c.images {
                for o in 0..<c.outputs {
                    for oy in 0..<Ho {
                        for ox in 0..<Wo {
                            var sum = Double(conv.bias?.value[o] ?? 0)
                            for ch in 0..<c.channels {
                                for i in 0..<c.kernel {
                                    for j in 0..<c.kernel {
                                        let iy = oy - c.padding + i, ix = ox - c.padding + j
                                        guard iy >= 0, iy < c.height, ix >= 0, ix < c.width else { continue }
                                        sum +=
                                            Double(
                                                conv.weight.value[((o * c.channels + ch) * c.kernel + i) * c.kernel + j]
                                            )
                                            * Double(x.value[((n * c.channels + ch) * c.height + iy) * c.width + ix])
                                    }
                                }
                            }
                            expected[((n * c.outputs + o) * Ho + oy) * Wo + ox] = Float(c.relu ? max(sum, 0) : sum)
                        }
                    }
                }
            }
            // dX = 0.5 (already there) + Σ_o Σ_ij W[o, c, i, j] · dY[o, y + p − i, x + p − j],
            // dY masked by ReLU.
            let lossWeights = randomTensor([c.images, c.outputs, Ho, Wo], &rng)
            var expectedGradient = [Double](repeating: 0.5, count: x.value.count)
            for n in 0..<c.images {
                for o in 0..<c.outputs {
                    for oy in 0..<Ho {
                        for ox in 0..<Wo {
                            let index = ((n * c.outputs + o) * Ho + oy) * Wo + ox
                            guard !c.relu || expected[index] > 0 else { continue }
                            for ch in 0..<c.channels {
                                for i in 0..<c.kernel {
                                    for j in 0..<c.kernel {
                                        let iy = oy - c.padding + i, ix = ox - c.padding + j
                                        guard iy >= 0, iy < c.height, ix >= 0, ix < c.width else { continue }
                                        expectedGradient[((n * c.channels + ch) * c.height + iy) * c.width + ix] +=
                                            Double(
                                                conv.weight.value[((o * c.channels + ch) * c.kernel + i) * c.kernel + j]
                                            ) * Double(lossWeights[index])
                                    }
                                }
                            }
                        }
                    }
                }
            }
            forEachKernelCompilation { baseline in
                forEachThreadCount {
                    let y = conv(x, activation: c.relu ? .relu : .identity, tape: Tape.inference()).value
                    XCTAssertEqual(y.shape, [c.images, c.outputs, Ho, Wo])
                    for k in 0..<expected.count where abs(y[k] - expected[k]) > 1e-5 * max(1, abs(expected[k])) {
                        XCTFail(
                            "\(c), baseline \(baseline), \(Engine.threads) threads: output \(k) is \(y[k]), expected \(expected[k])"
                        )
                        return
                    }
                    x.clearGradient()
                    x.gradient().fill(0.5)
                    let tape = Tape()
                    backward(
                        from: [conv(x, activation: c.relu ? .relu : .identity, tape: tape)], weights: [lossWeights],
                        tape: tape)
                    for k in 0..<expectedGradient.count
                    where abs(Double(x.grad![k]) - expectedGradient[k]) > 1e-5 * max(1, abs(expectedGradient[k])) {
                        XCTFail(
                            "\(c), baseline \(baseline), \(Engine.threads) threads: input gradient \(k) is \(x.grad![k]), expected \(expectedGradient[k])"
                        )
                        return
                    }
                }
            }
        }
    }

    func testConvolutionPoolingAndBatchNorm() {
        let store = ParameterStore()
        let conv = Conv2d(
            inputChannels: 2, outputChannels: 3, kernelSize: 3, stride: 2, padding: 1, name: "conv", store: store,
            rng: &rng)
        let bn = BatchNorm(channels: 3, name: "bn", store: store)
        store.pack()
        rng.fillUniform(bn.weight.value, 0.5, 1.5)
        rng.fillUniform(bn.bias.value, -0.5, 0.5)
        let x = variable([2, 2, 6, 5])
        forEachThreadCount {
            checkOp([x, conv.weight, conv.bias!]) { x, t in [conv(x[0], tape: t)] }
        }
        // Stride 1 copies whole runs of input rows: kernels wider than the padding, and padding
        // wider than the kernel's reach.
        for (kernel, padding) in [(3, 1), (3, 0), (2, 2)] {
            let unit = Conv2d(
                inputChannels: 2, outputChannels: 2, kernelSize: kernel, padding: padding,
                name: "unit\(kernel)\(padding)",
                store: ParameterStore(), rng: &rng)
            checkOp([x, unit.weight, unit.bias!]) { x, t in [unit(x[0], tape: t)] }
        }
        // ReLU fused into the convolution, against finite differences. A step may carry a
        // pre-activation across 0, where the derivative jumps: the loss weighs only outputs
        // whose pre-activation is further from 0 than any step of 1e-3 can move it.
        let fused = Conv2d(
            inputChannels: 2, outputChannels: 3, kernelSize: 3, padding: 1, name: "fused", store: ParameterStore(),
            rng: &rng)
        let preActivations = fused(x, tape: Tape.inference()).value
        let lossWeights = randomTensor(preActivations.shape, &rng)
        for k in 0..<lossWeights.count where abs(preActivations[k]) < 0.1 { lossWeights[k] = 0 }
        forEachThreadCount {
            for v in [x, fused.weight, fused.bias!] { v.clearGradient() }
            checkGradients(of: [x, fused.weight, fused.bias!], step: 1e-3) { tape in
                weightedSum(fused(x, activation: .relu, tape: tape), lossWeights, tape: tape)
            }
        }
        // Pooling windows whose inputs are well apart, so a small step never changes the max.
        let spread = Variable(
            Tensor(
                shape: [1, 2, 5, 4], values: (0..<40).map { Float(($0 * 17) % 40) * 0.1 }.shuffledDeterministically()),
            requiresGrad: true)
        checkOp([spread]) { x, t in [maxPool2d(x[0], kernelSize: 2, tape: t)] }
        checkOp([spread]) { x, t in [maxPool2d(x[0], kernelSize: 3, stride: 2, padding: 1, tape: t)] }
        checkOp([x]) { x, t in [avgPool2d(x[0], kernelSize: 3, stride: 2, padding: 1, tape: t)] }
        checkOp([variable([3, 3, 4, 4]), bn.weight, bn.bias], tolerance: 3e-2) { x, t in [bn(x[0], tape: t)] }
        checkOp([variable([5, 3]), bn.weight, bn.bias], tolerance: 3e-2) { x, t in [bn(x[0], tape: t)] }
    }

    func testStepCellsOverTwoSteps() {
        for kind in CellKind.allCases {
            let store = ParameterStore()
            let cell = RecurrentCell(kind, inputSize: 3, hiddenSize: 4, prefix: "cell", store: store, rng: &rng)
            store.pack()
            let x1 = variable([2, 3]), x2 = variable([2, 3]), h0 = variable([2, 4])
            let c0 = kind.hasCellState ? variable([2, 4]) : nil
            checkOp([x1, x2, h0] + (c0.map { [$0] } ?? []) + store.parameters) { x, t in
                let s1 = cell(x[0], state: RecurrentState(hidden: x[2], cell: kind.hasCellState ? x[3] : nil), tape: t)
                let s2 = cell(x[1], state: s1, tape: t)
                return [s1.hidden, s2.hidden] + (s2.cell.map { [$0] } ?? [])
            }
        }
    }

    /// The gradient that reaches an initial state is added to what other ops gave it: here the
    /// initial state also feeds a loss term of its own.
    func testInitialStateGradientIsAccumulated() {
        for kind in [CellKind.lstm, .gru] {
            let store = ParameterStore()
            let layer = RecurrentLayer(
                kind, inputSize: 3, hiddenSize: 4, layers: 2, bidirectional: true, prefix: "rnn", store: store,
                rng: &rng)
            store.pack()
            let x = variable([3, 2, 3]), h0 = variable([4, 2, 4]), c0 = variable([4, 2, 4])
            checkOp([h0, c0]) { v, t in
                var layerRNG = RandomGenerator(seed: 1)
                let state = RecurrentState(hidden: v[0], cell: kind.hasCellState ? v[1] : nil)
                let (y, final) = try layer(x, initialState: state, tape: t, rng: &layerRNG)
                return [y, final.hidden, tanh(v[0], tape: t), sigmoid(v[1], tape: t)]
            }
        }
    }
}

/// y with its infinite elements (a masked log-softmax) cut from the graph: they carry no gradient.
private func maskInfinite(_ y: Variable, tape: Tape) -> Variable {
    guard y.value.buffer.contains(where: { !$0.isFinite }) else { return y }
    let mask = Tensor(shape: y.shape, values: y.value.buffer.map { $0.isFinite ? 1 : 0 })
    let finite = Tensor(shape: y.shape, values: y.value.buffer.map { $0.isFinite ? $0 : 0 })
    let result = Variable(finite, requiresGrad: tape.needsGradient(y))
    if result.requiresGrad {
        tape.record {
            guard let d = result.grad else { return }
            let g = y.gradient()
            for k in 0..<g.count { g.data[k] += d.data[k] * mask.data[k] }
        }
    }
    return result
}

extension Array where Element == Float {
    /// A fixed reordering, so that neighbouring pooling inputs are not in order.
    fileprivate func shuffledDeterministically() -> [Float] {
        var generator = RandomGenerator(seed: 5)
        var result = self
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(generator.uniform() * Float(i + 1)) % (i + 1)
            result.swapAt(i, j)
        }
        return result
    }
}
