import Foundation
import TestSupport
import XCTest

@testable import RNNEngine

/// Values from user data that an op cannot take raise typed errors naming what is wrong; the
/// engine's thread team survives nested and concurrent use.
final class UserDataErrorTests: XCTestCase {
    func testCTCNamesTheUtteranceAndWhatIsWrong() throws {
        let logits = Variable(Tensor(zeros: [5, 2, 4]), requiresGrad: true)
        XCTAssertThrowsError(try ctcLoss(logits, targets: [[1], [2, 9]], inputLengths: [5, 5], tape: Tape())) {
            XCTAssertEqual($0 as? EngineError, .ctcLabelOutsideAlphabet(item: 1, label: 9, classes: 4))
        }
        XCTAssertThrowsError(try ctcLoss(logits, targets: [[0], [2]], inputLengths: [5, 5], tape: Tape())) {
            XCTAssertEqual($0 as? EngineError, .ctcLabelOutsideAlphabet(item: 0, label: 0, classes: 4))
        }
        // "a a b" needs a blank between the two a's: 4 frames, and utterance 1 has 3.
        XCTAssertThrowsError(try ctcLoss(logits, targets: [[1], [1, 1, 2]], inputLengths: [5, 3], tape: Tape())) {
            XCTAssertEqual($0 as? EngineError, .ctcLabelsTooLong(item: 1, labels: 3, framesNeeded: 4, frames: 3))
            XCTAssertTrue("\($0)".contains("utterance 1"))
        }
        XCTAssertThrowsError(try ctcLoss(logits, targets: [[1], [2]], inputLengths: [6, 5], tape: Tape())) {
            XCTAssertEqual($0 as? EngineError, .ctcInputLength(item: 0, length: 6, maximum: 5))
        }
        // With zeroInfinity the impossible utterance counts 0 and takes no gradient.
        let tape = Tape()
        let loss = try ctcLoss(logits, targets: [[1], [1, 1, 2]], inputLengths: [5, 3], zeroInfinity: true, tape: tape)
        XCTAssertTrue(loss.value[0].isFinite)
        tape.backward(from: loss)
        for t in 0..<5 { for c in 0..<4 { XCTAssertEqual(logits.grad![(t * 2 + 1) * 4 + c], 0) } }
    }

    func testTokenIdsAndLengthsOutOfRange() throws {
        var rng = RandomGenerator(seed: 1)
        let store = ParameterStore()
        let embedding = Embedding(vocabularySize: 5, embeddingSize: 3, name: "encoder", store: store, rng: &rng)
        let rnn = RecurrentLayer(.lstm, inputSize: 3, hiddenSize: 4, prefix: "rnn", store: store, rng: &rng)
        store.pack()
        XCTAssertThrowsError(try embedding([1, 5], shape: [2], tape: Tape())) {
            XCTAssertEqual($0 as? EngineError, .indexOutOfRange(what: "token id", index: 5, bound: 5))
        }
        XCTAssertThrowsError(
            try rnn(tokens: [1, -1], steps: 2, batch: 1, embedding: embedding.weight, tape: Tape(), rng: &rng)
        ) {
            XCTAssertEqual($0 as? EngineError, .indexOutOfRange(what: "token id", index: -1, bound: 5))
        }
        let x = Variable(Tensor(zeros: [3, 2, 3]))
        XCTAssertThrowsError(try rnn(x, lengths: [3, 4], tape: Tape(), rng: &rng)) {
            XCTAssertEqual($0 as? EngineError, .lengthOutOfRange(item: 1, length: 4, maximum: 3))
        }
    }

    /// A parallel op inside a parallel region, and ops from two threads at once, give the
    /// same results as when run alone.
    func testNestedAndConcurrentParallelWorkIsSafe() throws {
        let original = Engine.threads
        defer { Engine.setThreads(original) }
        Engine.setThreads(2)
        var rng = RandomGenerator(seed: 3)
        let a = randomTensor([300, 200], &rng), b = randomTensor([200, 300], &rng)
        let expected = Tensor(zeros: [300, 300])
        BLAS.matmul(a, b, into: expected)

        // Nested: every member of a parallel region runs a parallel product.
        let results = (0..<2).map { _ in Tensor(zeros: [300, 300]) }
        Engine.team.run { member in BLAS.matmul(a, b, into: results[member]) }
        for r in results { assertClose(r, expected, relative: 1e-5, absolute: 1e-4, "nested") }

        // Concurrent: two threads run products and parallel loops at the same time.
        // Each thread writes only its own output; the inputs are read by all.
        let outputs = (0..<4).map { _ in Tensor(zeros: [300, 300]) }
        let shared = SharedForTest((a, b, outputs))
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            let (a, b, outputs) = shared.value
            for _ in 0..<5 { BLAS.matmul(a, b, into: outputs[i]) }
        }
        for r in outputs { assertClose(r, expected, relative: 1e-5, absolute: 1e-4, "concurrent") }
    }
}

/// Hands tensors to other threads in a test that partitions the writes itself.
private struct SharedForTest<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
