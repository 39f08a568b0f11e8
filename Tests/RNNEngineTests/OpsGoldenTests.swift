import TestSupport
import XCTest

@testable import RNNEngine

/// The tape ops, attention, convolution and the step cells against PyTorch: forward values and
/// every input gradient (Golden/make_golden.py writes the files).
final class OpsGoldenTests: XCTestCase {
    /// Checks op `name`: its inputs `<name>.in<i>`, outputs `<name>.out<i>`, and gradients
    /// `<name>.grad<i>` for the loss Σ w ∘ out.
    private func check(
        _ golden: SafeTensorsFile, _ name: String, inputs: Int,
        _ build: ([Variable], Tape) throws -> [Variable]
    ) throws {
        let xs = try (0..<inputs).map { Variable(try golden.tensor("\(name).in\($0)").copy(), requiresGrad: true) }
        let tape = Tape()
        let ys = try build(xs, tape)
        for (i, y) in ys.enumerated() {
            assertClose(y.value, try golden.tensor("\(name).out\(i)"), "\(name) output \(i)")
        }
        backward(from: ys, weights: try ys.indices.map { try golden.tensor("\(name).w\($0)") }, tape: tape)
        for (i, x) in xs.enumerated() {
            assertClose(
                x.grad ?? Tensor(zeros: x.shape), try golden.tensor("\(name).grad\(i)"), "\(name) gradient \(i)")
        }
    }

    func testOpsMatchPyTorch() throws {
        let g = try loadGolden("ops.safetensors")
        try check(g, "add", inputs: 2) { x, t in [add(x[0], x[1], tape: t)] }
        try check(g, "subtract", inputs: 2) { x, t in [subtract(x[0], x[1], tape: t)] }
        try check(g, "multiply", inputs: 2) { x, t in [multiply(x[0], x[1], tape: t)] }
        try check(g, "scale", inputs: 1) { x, t in [scale(x[0], by: 0.7, tape: t)] }
        try check(g, "tanh", inputs: 1) { x, t in [tanh(x[0], tape: t)] }
        try check(g, "sigmoid", inputs: 1) { x, t in [sigmoid(x[0], tape: t)] }
        try check(g, "relu", inputs: 1) { x, t in [relu(x[0], tape: t)] }
        try check(g, "concatenate", inputs: 2) { x, t in [concatenate(x, axis: 1, tape: t)] }
        try check(g, "slice", inputs: 1) { x, t in [slice(x[0], axis: 2, 1..<4, tape: t)] }
        try check(g, "split", inputs: 1) { x, t in split(x[0], sizes: [2, 4], axis: 1, tape: t) }
        try check(g, "reshape", inputs: 1) { x, t in [reshape(x[0], [6, 4], tape: t)] }
        try check(g, "permute", inputs: 1) { x, t in [permute(x[0], [2, 0, 1], tape: t)] }
        try check(g, "matmul", inputs: 2) { x, t in [matmul(x[0], transposed: true, x[1], tape: t)] }
        try check(g, "batched_matmul", inputs: 2) { x, t in
            [batchedMatmul(x[0], transposed: false, x[1], transposed: true, tape: t)]
        }
        let softmaxMask = try g.tensor("softmax.mask").array.map { $0 != 0 }
        try check(g, "softmax", inputs: 1) { x, t in [try softmax(x[0], axis: 2, mask: softmaxMask, tape: t)] }
        let logMask = try g.tensor("log_softmax.mask").array.map { $0 != 0 }
        try check(g, "log_softmax", inputs: 1) { x, t in [try logSoftmax(x[0], axis: 0, mask: logMask, tape: t)] }
        try check(g, "sum", inputs: 1) { x, t in [sum(x[0], axis: 1, tape: t)] }
        try check(g, "mean", inputs: 1) { x, t in [mean(x[0], axis: 0, tape: t)] }
        try check(g, "index_select", inputs: 1) { x, t in [try indexSelect(x[0], axis: 1, indices: [2, 0, 2], tape: t)]
        }
    }

    func testAttentionMatchesPyTorch() throws {
        let g = try loadGolden("attention.safetensors")
        let lengths = try g.tensor("lengths").array.map { Int($0) }
        for score in AttentionScore.allCases {
            let name = score.rawValue
            let memory = Variable(try g.tensor("\(name).memory"), requiresGrad: true)
            let query = Variable(try g.tensor("\(name).query"), requiresGrad: true)
            var rng = RandomGenerator(seed: 1)
            let store = ParameterStore()
            let attention = Attention(
                score, querySize: query.shape[2], memorySize: memory.shape[2], attentionSize: 7,
                prefix: "attention", store: store, rng: &rng)
            store.pack()
            try loadParameters(store, from: g, prefix: "\(name).")
            let tape = Tape()
            let prepared = try attention.prepare(memory: memory, lengths: lengths, tape: tape)
            let (context, weights) = try attention(query: query, memory: prepared, tape: tape)
            assertClose(context.value, try g.tensor("\(name).out0"), "\(name) context")
            assertClose(weights.value, try g.tensor("\(name).out1"), "\(name) weights")
            for b in 0..<lengths.count {
                for s in lengths[b]..<memory.shape[1] {
                    XCTAssertEqual(weights.value[(b * 2 + 1) * memory.shape[1] + s], 0, "masked weight is exactly 0")
                }
            }
            backward(
                from: [context, weights], weights: [try g.tensor("\(name).w0"), try g.tensor("\(name).w1")], tape: tape)
            assertClose(memory.grad!, try g.tensor("\(name).grad.memory"), "\(name) d memory")
            assertClose(query.grad!, try g.tensor("\(name).grad.query"), "\(name) d query")
            for p in store.parameters {
                assertClose(p.grad!, try g.tensor("\(name).grad.\(p.name)"), "\(name) d \(p.name)")
            }
        }
    }

    func testConvolutionPoolingAndBatchNormMatchPyTorch() throws {
        let g = try loadGolden("convolution.safetensors")
        var rng = RandomGenerator(seed: 1)
        let store = ParameterStore()
        let conv = Conv2d(
            inputChannels: 3, outputChannels: 4, kernelSize: 3, stride: 2, padding: 1, name: "conv", store: store,
            rng: &rng)
        let bn = BatchNorm(channels: 3, name: "bn", store: store)
        store.pack()
        conv.weight.value.copy(from: try g.tensor("conv.weight"))
        conv.bias!.value.copy(from: try g.tensor("conv.bias"))
        bn.weight.value.copy(from: try g.tensor("bn.weight"))
        bn.bias.value.copy(from: try g.tensor("bn.bias"))
        try forEachThreadCount {
            store.zeroGradients()
            let x = Variable(try g.tensor("conv.x"), requiresGrad: true)
            let tape = Tape()
            let y = conv(x, tape: tape)
            assertClose(y.value, try g.tensor("conv.out0"), "conv2d")
            backward(from: [y], weights: [try g.tensor("conv.w0")], tape: tape)
            assertClose(x.grad!, try g.tensor("conv.grad.x"), "conv2d dx")
            assertClose(conv.weight.grad!, try g.tensor("conv.grad.weight"), "conv2d dW")
            assertClose(conv.bias!.grad!, try g.tensor("conv.grad.bias"), "conv2d db")
        }
        let pools: [(String, (Variable, Tape) -> Variable)] = [
            ("max_pool", { maxPool2d($0, kernelSize: 2, tape: $1) }),
            ("avg_pool", { avgPool2d($0, kernelSize: 3, stride: 2, padding: 1, tape: $1) }),
            ("max_pool_padded", { maxPool2d($0, kernelSize: 3, stride: 2, padding: 1, tape: $1) })
        ]
        for (name, pool) in pools {
            let x = Variable(try g.tensor("\(name).x"), requiresGrad: true)
            let tape = Tape()
            let y = pool(x, tape)
            assertClose(y.value, try g.tensor("\(name).out0"), name)
            backward(from: [y], weights: [try g.tensor("\(name).w0")], tape: tape)
            assertClose(x.grad!, try g.tensor("\(name).grad.x"), "\(name) dx")
        }
        // Training mode: batch statistics, and the running statistics it leaves behind.
        let x = Variable(try g.tensor("bn_train.x"), requiresGrad: true)
        let tape = Tape()
        let y = bn(x, tape: tape)
        assertClose(y.value, try g.tensor("bn_train.out0"), "batch norm (training)")
        backward(from: [y], weights: [try g.tensor("bn_train.w0")], tape: tape)
        assertClose(x.grad!, try g.tensor("bn_train.grad.x"), "batch norm dx")
        assertClose(bn.weight.grad!, try g.tensor("bn_train.grad.weight"), "batch norm dγ")
        assertClose(bn.bias.grad!, try g.tensor("bn_train.grad.bias"), "batch norm dβ")
        assertClose(bn.runningMean.value, try g.tensor("bn.running_mean"), "running mean")
        assertClose(bn.runningVariance.value, try g.tensor("bn.running_var"), "running variance")
        XCTAssertEqual(bn.batchesTracked.value[0], 1)
        // Evaluation mode: the running statistics.
        bn.weight.grad!.zero()
        let xe = Variable(try g.tensor("bn_eval.x"), requiresGrad: true)
        let evalTape = Tape(recording: true, training: false)
        let ye = bn(xe, tape: evalTape)
        assertClose(ye.value, try g.tensor("bn_eval.out0"), "batch norm (evaluation)")
        backward(from: [ye], weights: [try g.tensor("bn_eval.w0")], tape: evalTape)
        assertClose(xe.grad!, try g.tensor("bn_eval.grad.x"), "batch norm (evaluation) dx")
        assertClose(bn.weight.grad!, try g.tensor("bn_eval.grad.weight"), "batch norm (evaluation) dγ")
    }

    /// A PyTorch batch-norm state_dict, `num_batches_tracked` as I64, loads into the buffers,
    /// and ours writes it back as I64.
    func testBatchNormStateDictRoundTrips() throws {
        let file = try loadGolden("batch_norm_state.safetensors")
        let store = ParameterStore()
        let bn = BatchNorm(channels: 3, name: "", store: store)
        store.pack()
        var renamed = SafeTensorsFile()
        for name in file.names {
            renamed.names.append("." + name)
            renamed.tensors["." + name] = file.tensors[name]
        }
        try store.load(renamed, path: "batch_norm_state.safetensors")
        XCTAssertEqual(bn.batchesTracked.value[0], 1)
        let data = try SafeTensors.encode(store.namedTensors, dtypes: store.namedDTypes)
        let header = String(decoding: data.dropFirst(8).prefix(600), as: UTF8.self)
        XCTAssertTrue(
            header.contains(#"".num_batches_tracked":{"data_offsets":"#) && header.contains(#""dtype":"I64""#), header)
        let back = try SafeTensors.decode(data, path: "memory")
        XCTAssertEqual(back.tensors[".num_batches_tracked"]?[0], 1)
        assertClose(back.tensors[".running_var"]!, bn.runningVariance.value)
    }

    func testStepCellsMatchPyTorch() throws {
        let g = try loadGolden("cells.safetensors")
        for kind in [CellKind.lstm, .gru, .rnnTanh] {
            let name = kind.rawValue
            let x1 = Variable(try g.tensor("\(name).x1"), requiresGrad: true)
            let x2 = Variable(try g.tensor("\(name).x2"), requiresGrad: true)
            let h0 = Variable(try g.tensor("\(name).h0"), requiresGrad: true)
            let c0 = kind == .lstm ? Variable(try g.tensor("\(name).c0"), requiresGrad: true) : nil
            var rng = RandomGenerator(seed: 1)
            let store = ParameterStore()
            let cell = RecurrentCell(
                kind, inputSize: x1.shape[1], hiddenSize: h0.shape[1], prefix: "cell", store: store, rng: &rng)
            store.pack()
            try loadParameters(store, from: g, prefix: "\(name).")
            let tape = Tape()
            let s1 = cell(x1, state: RecurrentState(hidden: h0, cell: c0), tape: tape)
            let s2 = cell(x2, state: s1, tape: tape)
            var outputs = [s1.hidden, s2.hidden]
            if let c = s2.cell { outputs.append(c) }
            for (i, y) in outputs.enumerated() {
                assertClose(y.value, try g.tensor("\(name).out\(i)"), "\(name) output \(i)")
            }
            backward(from: outputs, weights: try outputs.indices.map { try g.tensor("\(name).w\($0)") }, tape: tape)
            for (v, key) in [(x1, "x1"), (x2, "x2"), (h0, "h0")] + (c0.map { [($0, "c0")] } ?? []) {
                assertClose(v.grad!, try g.tensor("\(name).grad.\(key)"), "\(name) d\(key)")
            }
            for p in store.parameters {
                assertClose(p.grad!, try g.tensor("\(name).grad.\(p.name)"), "\(name) d\(p.name)")
            }
        }
    }

    /// A linear layer inside `decoding(rows:)` gives what it gives outside, with and without a
    /// bias, for one row, a few and many (split over the team), in both kernel compilations;
    /// a call that records gradients ignores the packing and still gets them.
    func testLinearWithPackedWeightMatches() throws {
        try forEachKernelCompilation { baseline in
            try forEachThreadCount {
                var rng = RandomGenerator(seed: 4)
                for bias in [true, false] {
                    let store = ParameterStore()
                    let layer = Linear(inputSize: 300, outputSize: 70, bias: bias, name: "l", store: store, rng: &rng)
                    store.pack()
                    for rows in [1, 5, 120] {
                        let x = Variable(randomTensor([rows, 300], &rng))
                        let plain = layer(x, tape: Tape.inference()).value
                        let packed = layer.decoding(rows: rows) { layer(x, tape: Tape.inference()).value }
                        assertClose(
                            packed, plain, relative: 1e-5, absolute: 1e-5,
                            "rows \(rows), bias \(bias), baseline \(baseline)")
                    }
                    let x = Variable(randomTensor([5, 300], &rng), requiresGrad: true)
                    let tape = Tape()
                    let y = layer.decoding(rows: 5) { layer(x, tape: tape) }
                    XCTAssertTrue(y.requiresGrad)
                }
            }
        }
    }

    /// Inference steps inside `decoding(rows:)` (the weights packed once) give PyTorch's outputs
    /// too, with the engine's kernel and the portable path, on one thread and two; with larger
    /// rows and sizes than the golden file, the packed steps equal the unpacked ones.
    func testStepCellsWithPackedWeightsMatch() throws {
        let g = try loadGolden("cells.safetensors")
        try forEachKernelCompilation { baseline in
            try forEachThreadCount {
                for kind in [CellKind.lstm, .gru, .rnnTanh] {
                    let name = kind.rawValue
                    let x1 = Variable(try g.tensor("\(name).x1")), x2 = Variable(try g.tensor("\(name).x2"))
                    let h0 = Variable(try g.tensor("\(name).h0"))
                    let c0 = kind == .lstm ? Variable(try g.tensor("\(name).c0")) : nil
                    var rng = RandomGenerator(seed: 1)
                    let store = ParameterStore()
                    let cell = RecurrentCell(
                        kind, inputSize: x1.shape[1], hiddenSize: h0.shape[1], prefix: "cell", store: store,
                        rng: &rng)
                    store.pack()
                    try loadParameters(store, from: g, prefix: "\(name).")
                    let tape = Tape.inference()
                    let outputs = cell.decoding(rows: x1.shape[0]) { () -> [Tensor] in
                        let s1 = cell(x1, state: RecurrentState(hidden: h0, cell: c0), tape: tape)
                        let h1 = s1.hidden.value.copy()  // the inference buffers are reused
                        let s2 = cell(x2, state: s1, tape: tape)
                        return [h1, s2.hidden.value.copy()] + (s2.cell.map { [$0.value.copy()] } ?? [])
                    }
                    for (i, y) in outputs.enumerated() {
                        assertClose(y, try g.tensor("\(name).out\(i)"), "\(name) output \(i), baseline \(baseline)")
                    }

                    let big = ParameterStore()
                    let wide = RecurrentCell(kind, inputSize: 70, hiddenSize: 90, prefix: "cell", store: big, rng: &rng)
                    big.pack()
                    for rows in [1, 5, 37] {
                        let x = Variable(randomTensor([rows, 70], &rng)), h = Variable(randomTensor([rows, 90], &rng))
                        let c = kind == .lstm ? Variable(randomTensor([rows, 90], &rng)) : nil
                        let plain = wide(x, state: RecurrentState(hidden: h, cell: c), tape: tape).hidden.value.copy()
                        let packed = wide.decoding(rows: rows) {
                            wide(x, state: RecurrentState(hidden: h, cell: c), tape: tape).hidden.value.copy()
                        }
                        assertClose(packed, plain, relative: 1e-5, absolute: 1e-5, "\(name) rows \(rows)")
                    }
                }
            }
        }
    }
}

/// Runs `body` with the engine on one thread, on two and on three (more than this machine may
/// have), every op split over the whole team however small it is, then restores the default.
func forEachThreadCount(_ body: () throws -> Void) rethrows {
    let original = Engine.threads
    defer {
        Engine.setThreads(original)
        Engine.splitsEveryOp = false
    }
    for n in [1, 2, 3] {
        Engine.setThreads(n)
        Engine.splitsEveryOp = n > 1
        try body()
    }
}
