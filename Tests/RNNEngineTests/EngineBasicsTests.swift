import CKernels
import Foundation
import TestSupport
import XCTest

@testable import RNNEngine

final class EngineBasicsTests: XCTestCase {
    /// Every layout, leading dimensions wider than the matrices, and one row (which runs as a
    /// matrix-vector product), where beta 0 must overwrite whatever C held (NaN here).
    func testSgemmMatchesReferenceInEveryLayout() {
        var rng = RandomGenerator(seed: 11)
        let n = 5, k = 9
        for m in [7, 1] {
            for transA in [false, true] {
                for transB in [false, true] {
                    for beta: Float in [2, 0] {
                        let a = randomTensor(transA ? [k, m + 3] : [m, k + 2], &rng)
                        let b = randomTensor(transB ? [n, k + 1] : [k, n + 4], &rng)
                        let c = randomTensor([m, n], &rng), expected = c.copy()
                        if beta == 0 {
                            c.fill(.nan)
                            expected.fill(0)
                        }
                        let lda = a.shape[1], ldb = b.shape[1]
                        BLAS.sgemm(
                            transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a.data, lda: lda,
                            b: b.data, ldb: ldb, beta: beta, c: c.data, ldc: n)
                        referenceSgemm(
                            transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a.data, lda: lda,
                            b: b.data, ldb: ldb, beta: beta, c: expected.data, ldc: n)
                        assertClose(
                            c, expected, relative: 1e-5, absolute: 1e-5,
                            "m \(m) transA \(transA) transB \(transB) beta \(beta)")
                    }
                }
            }
        }
    }

    /// The packed recurrent product against the reference, with the engine's kernel and with the
    /// BLAS fallback, for tile edges (rows not a multiple of 6, columns not of 16), a depth past
    /// one pass over the panels, and column blocks that start inside the matrix.
    func testPackedProductMatchesReference() {
        var rng = RandomGenerator(seed: 5)
        forEachKernelCompilation { baseline in
            for (m, n, k) in [(1, 20, 7), (2, 16, 1), (7, 37, 33), (13, 50, 300), (32, 33, 2100)] {
                for transposed in [true, false] {
                    // op(B) is k × (n + 9); the blocks are its columns 3..<3+n and 0..<2.
                    let width = n + 9
                    let w = randomTensor(transposed ? [width, k] : [k, width], &rng)
                    let a = randomTensor([m, k + 2], &rng)  // lda > k
                    let blocks = [3..<(3 + n), 0..<2]
                    let packed = PackedColumns(
                        w.data, leadingDimension: w.shape[1], transposed: transposed,
                        k: k, columnBlocks: blocks, rows: m, uses: 2, shares: Engine.threads,
                        owner: { $0 % Engine.threads })
                    for accumulate in [false, true] {
                        for (index, block) in blocks.enumerated() {
                            let c = randomTensor([m, block.count + 4], &rng), expected = c.copy()
                            packed.multiply(
                                block: index, m: m, a: a.data, lda: k + 2, accumulate: accumulate,
                                c: c.data, ldc: block.count + 4)
                            let b = transposed ? w.data + block.lowerBound * k : w.data + block.lowerBound
                            referenceSgemm(
                                transB: transposed, m: m, n: block.count, k: k, a: a.data, lda: k + 2,
                                b: b, ldb: w.shape[1], beta: accumulate ? 1 : 0,
                                c: expected.data, ldc: block.count + 4)
                            assertClose(
                                c, expected, relative: 1e-5, absolute: 1e-4,
                                "baseline \(baseline) m \(m) n \(n) k \(k) transposed \(transposed) block \(index)")
                        }
                    }
                }
            }
        }
    }

    /// Changing the thread count ends the old team's workers (it kept them for the life of the
    /// process), and a caller still holding the old team runs its forks alone.
    func testReplacedTeamsEndTheirThreads() throws {
        func threadCount() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count
        }
        let original = Engine.threads
        defer { Engine.setThreads(original) }
        Engine.setThreads(3)
        let old = Engine.team
        let before = try threadCount()
        for round in 0..<20 {
            Engine.setThreads(round % 2 == 0 ? 4 : 3)
            parallelChunks(64) { _ in }
        }
        var after = try threadCount()
        for _ in 0..<200 where after > before + 3 {  // workers take a moment to wake and end
            usleep(10_000)
            after = try threadCount()
        }
        XCTAssertLessThanOrEqual(after, before + 3, "threads before \(before), after 20 team changes \(after)")
        var shares = [Int](repeating: 0, count: 3)
        old.run { shares[$0] += 1 }
        XCTAssertEqual(shares, [1, 1, 1])
    }

    /// Forks of every width, back to back, run each of their shares exactly once and none
    /// beyond, including when the team has more threads than the machine has cores (members
    /// then often come late, and their shares are taken by the others).
    func testForksOfEveryWidthRunEachShareOnce() {
        let team = ThreadTeam(size: 5)
        defer { team.retire() }
        let runs = (0..<5).map { _ in PaddedCounter() }
        for round in 0..<2_000 {
            let shares = 1 + round % 5
            team.run(shares: shares) { share in
                runs[share].value.add(1, ordering: .relaxed)
                if round % 7 == 0 { usleep(50) }  // a slow share: the others must wait for it
            }
            for share in 0..<5 {
                let count = runs[share].value.exchange(0, ordering: .relaxed)
                if count != (share < shares ? 1 : 0) {
                    XCTFail("round \(round), \(shares) shares: share \(share) ran \(count) times")
                    return
                }
            }
        }
    }

    /// An op forks as many shares as its work pays for: on a team of 16 (a 16-core machine),
    /// a small product or a batch-1 step of a small recurrent layer stays on fewer threads
    /// than the team, a large product spreads over all of them.
    func testSmallOpsForkFewerSharesThanTheTeam() throws {
        let original = Engine.threads, cpus = Engine.cpusForForks
        defer {
            Engine.setThreads(original)
            Engine.cpusForForks = cpus
        }
        Engine.setThreads(16)
        Engine.cpusForForks = 16
        var rng = RandomGenerator(seed: 2)
        func widestFork(_ op: () throws -> Void) rethrows -> Int {
            Engine.team.resetWidestFork()
            try op()
            return max(1, Engine.team.widestFork)  // an op run inline forks nothing: one share
        }
        func product(_ m: Int, _ k: Int, _ n: Int) -> Int {
            let a = randomTensor([m, k], &rng), b = randomTensor([k, n], &rng)
            return widestFork { BLAS.matmul(a, b, into: Tensor(zeros: [m, n])) }
        }
        XCTAssertEqual(product(8, 32, 32), 1, "a 16k-flop product")
        XCTAssertEqual(product(1, 512, 2048), 2, "a 2M-flop product")
        XCTAssertEqual(product(256, 512, 512), 16, "a 134M-flop product")

        func recurrentStepShares(hidden: Int, batch: Int) throws -> Int {
            let store = ParameterStore()
            let layer = RecurrentLayer(
                .lstm, inputSize: 8, hiddenSize: hidden, layers: 1, bidirectional: false, prefix: "l", store: store,
                rng: &rng)
            store.pack()
            let x = Variable(randomTensor([3, batch, 8], &rng))
            var dropout = RandomGenerator(seed: 1)
            return try widestFork {
                _ = try layer(x, lengths: nil, tape: Tape.inference(), rng: &dropout)
            }
        }
        let tiny = try recurrentStepShares(hidden: 32, batch: 1)
        XCTAssertEqual(tiny, 1, "batch 1, 32 units: 16k flops a timestep")
        let small = try recurrentStepShares(hidden: 128, batch: 1)
        XCTAssertGreaterThan(small, 1, "batch 1, 128 units: 131k flops a timestep")
        XCTAssertLessThan(small, 16, "batch 1, 128 units: 131k flops a timestep")
        XCTAssertEqual(try recurrentStepShares(hidden: 512, batch: 8), 16, "batch 8, 512 units: 17M flops a timestep")
    }

    func testTensorViewsShareStorage() {
        let t = Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6])
        let rows = t.slice(rows: 1..<3)
        XCTAssertEqual(rows.shape, [2, 2])
        rows[0] = 30
        XCTAssertEqual(t[2], 30)
        XCTAssertEqual(t.reshaped([6]).array, [1, 2, 30, 4, 5, 6])
        XCTAssertEqual(Int(bitPattern: t.data) % 64, 0, "64-byte aligned")
    }

    func testRandomGeneratorIsSeededAndRestorable() {
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42), c = RandomGenerator(seed: 43)
        let first = (0..<5).map { _ in a.next() }
        XCTAssertEqual(first, (0..<5).map { _ in b.next() })
        XCTAssertNotEqual(first, (0..<5).map { _ in c.next() })
        var restored = RandomGenerator(stateWords: a.stateWords)
        XCTAssertEqual((0..<5).map { _ in a.next() }, (0..<5).map { _ in restored.next() })
        var normal = RandomGenerator(seed: 5)
        let samples = (0..<20000).map { _ in Double(normal.normal()) }
        let mean = samples.reduce(0, +) / Double(samples.count)
        let variance = samples.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(samples.count)
        XCTAssertEqual(mean, 0, accuracy: 0.03)
        XCTAssertEqual(variance, 1, accuracy: 0.05)
    }

    func testKernelChoice() {
        let avx512: Set<String> = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]
        XCTAssertEqual(OpenBLASKernel.recommendedCore(features: avx512), "SkylakeX")
        XCTAssertEqual(OpenBLASKernel.recommendedCore(features: ["avx2", "fma"]), "Haswell")
        XCTAssertNil(OpenBLASKernel.recommendedCore(features: ["sse4_2"]))
        XCTAssertTrue(OpenBLASKernel.isSlowKernel(core: "Prescott", features: avx512))
        XCTAssertFalse(OpenBLASKernel.isSlowKernel(core: "SkylakeX", features: avx512))
        XCTAssertFalse(OpenBLASKernel.isSlowKernel(core: "Zen", features: ["avx2", "fma"]))
        XCTAssertFalse(OpenBLASKernel.isSlowKernel(core: "Prescott", features: ["sse4_2"]), "nothing better to pick")
    }

    func testLearningRateSchedules() {
        let step = StepDecay(initialLearningRate: 1, stepSize: 10, gamma: 0.5)
        XCTAssertEqual(step.learningRate(atStep: 9), 1)
        XCTAssertEqual(step.learningRate(atStep: 25), 0.25)
        var plateau = PlateauDecay(factor: 0.25, patience: 1)
        var lr: Float = 1
        lr = plateau.update(loss: 2.0, learningRate: lr)
        XCTAssertEqual(lr, 1)
        lr = plateau.update(loss: 1.5, learningRate: lr)
        XCTAssertEqual(lr, 1)
        lr = plateau.update(loss: 1.6, learningRate: lr)
        XCTAssertEqual(lr, 1, "within patience")
        lr = plateau.update(loss: 1.7, learningRate: lr)
        XCTAssertEqual(lr, 0.25)
    }

    func testTinyLSTMLanguageModelLearns() throws {
        // Embedding → LSTM → Linear on a repeating sequence: the loss must fall well below chance.
        var rng = RandomGenerator(seed: 21)
        let V = 5, T = 12, B = 4
        let store = ParameterStore()
        let embedding = Embedding(vocabularySize: V, embeddingSize: 8, name: "encoder", store: store, rng: &rng)
        let rnn = RecurrentLayer(.lstm, inputSize: 8, hiddenSize: 16, prefix: "rnn", store: store, rng: &rng)
        let decoder = Linear(inputSize: 16, outputSize: V, name: "decoder", store: store, rng: &rng)
        store.pack()
        let optimizer = Adam(store: store, learningRate: 0.03)
        let sequence = (0..<(T + 1) * B).map { Int32($0 % V) }
        var inputs: [Int32] = [], targets: [Int32] = []
        for t in 0..<T {
            for b in 0..<B {
                inputs.append(sequence[b * 3 + t])
                targets.append(sequence[b * 3 + t + 1])
            }
        }
        var losses: [Float] = []
        for _ in 0..<60 {
            let tape = Tape()
            store.zeroGradients()
            let (h, _) = try rnn(try embedding(inputs, shape: [T, B], tape: tape), tape: tape, rng: &rng)
            let loss = softmaxCrossEntropy(decoder(h, tape: tape), targets: targets, tape: tape)
            tape.backward(from: loss)
            clipGradientNorm(store, maxNorm: 5)
            optimizer.step()
            losses.append(loss.value[0])
        }
        XCTAssertGreaterThan(losses[0], 1.4)
        XCTAssertLessThan(losses.last!, 0.1, "losses: \(losses.first!) → \(losses.last!)")
    }
}

/// A batch sorted longest first skips finished rows in its recurrent products; each row's
/// outputs and final state must still be those of the row run alone.
final class PackedBatchTests: XCTestCase {
    func testSortedBatchEqualsEachRowAlone() throws {
        for kind in CellKind.allCases {
            var rng = RandomGenerator(seed: 3)
            let store = ParameterStore()
            let T = 6, I = 5, H = 4, lengths = [6, 4, 4, 1]
            let B = lengths.count
            let rnn = RecurrentLayer(
                kind, inputSize: I, hiddenSize: H, layers: 2, bidirectional: true, dropout: 0,
                prefix: "rnn", store: store, rng: &rng)
            let x = randomTensor([T, B, I], &rng)
            let (y, state) = try rnn(Variable(x), lengths: lengths, tape: Tape.inference(), rng: &rng)
            for b in 0..<B {
                let row = Tensor(zeros: [lengths[b], 1, I])
                for t in 0..<lengths[b] { for i in 0..<I { row[t * I + i] = x[(t * B + b) * I + i] } }
                let (yb, stateb) = try rnn(Variable(row), lengths: [lengths[b]], tape: Tape.inference(), rng: &rng)
                for t in 0..<T {
                    for j in 0..<(2 * H) {
                        let expected = t < lengths[b] ? yb.value[t * 2 * H + j] : 0
                        XCTAssertEqual(
                            y.value[(t * B + b) * 2 * H + j], expected, accuracy: 1e-5, "\(kind) row \(b) t \(t)")
                    }
                }
                for layer in 0..<4 {
                    for j in 0..<H {
                        XCTAssertEqual(
                            state.hidden.value[(layer * B + b) * H + j], stateb.hidden.value[layer * H + j],
                            accuracy: 1e-5)
                    }
                }
            }
        }
    }
}

final class ActivationAccuracyTests: XCTestCase {
    /// The cell kernels' exp, sigmoid and tanh against Foundation's over the range gates see, in
    /// every compilation (AVX-512 and AVX2/FMA where the CPU has them, and the baseline), through
    /// the full-width and the narrower tail paths (n is not a multiple of 8, hence nor of 16).
    func testVectorisedActivationsAreAccurate() {
        let inputs = stride(from: -30.0, through: 30.0, by: 0.001).map { Float($0) }
        let n = inputs.count
        XCTAssertNotEqual(n % 8, 0)
        var output = [Float](repeating: 0, count: n)
        forEachKernelCompilation { baseline in
            func worst(
                _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                relative: Bool, _ expected: (Double) -> Double
            ) -> Double {
                kernel(inputs, &output, n)
                return zip(inputs, output).map { x, y in
                    let e = expected(Double(x))
                    return abs(Double(y) - e) / (relative ? e : 1)
                }.max()!
            }
            let exp = worst(zoo_exp, relative: true) { Foundation.exp($0) }
            let sigmoid = worst(zoo_sigmoid, relative: false) { 1 / (1 + Foundation.exp(-$0)) }
            let tanh = worst(zoo_tanh, relative: false) { Foundation.tanh($0) }
            XCTAssertLessThan(exp, 3e-7, "exp relative error, baseline \(baseline)")
            XCTAssertLessThan(sigmoid, 3e-7, "sigmoid absolute error, baseline \(baseline)")
            XCTAssertLessThan(tanh, 3e-7, "tanh absolute error, baseline \(baseline)")
            print("activation errors (baseline \(baseline)): exp \(exp) rel, sigmoid \(sigmoid) abs, tanh \(tanh) abs")
        }
    }
}
