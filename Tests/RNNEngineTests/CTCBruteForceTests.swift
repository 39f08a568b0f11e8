import Foundation
import XCTest

@testable import RNNEngine

/// CTC against brute force: the probability of a label sequence is the sum, over every frame-
/// by-frame path that collapses to it (merge repeats, drop blanks), of the path's probability.
final class CTCBruteForceTests: XCTestCase {
    func testCTCEqualsTheSumOverAllAlignments() throws {
        var rng = RandomGenerator(seed: 21)
        let T = 5, B = 3, C = 3
        let logits = Variable(randomTensor([T, B, C], &rng, scale: 2))
        // Labels per utterance, and frames per utterance (padding past them).
        let targets: [[Int32]] = [[1, 2], [1, 1], [2]]
        let lengths = [5, 4, 3]
        let loss = try ctcLoss(logits, targets: targets, inputLengths: lengths, tape: Tape.inference())
        var expected = 0.0
        for b in 0..<B {
            // Softmax of each frame of this utterance.
            let probabilities = (0..<lengths[b]).map { t -> [Double] in
                let row = (0..<C).map { Double(logits.value[(t * B + b) * C + $0]) }
                let total = row.map { exp($0) }.reduce(0, +)
                return row.map { exp($0) / total }
            }
            var sum = 0.0
            // Every path: lengths[b] frames, each one of C symbols.
            for code in 0..<Int(pow(Double(C), Double(lengths[b]))) {
                var path: [Int] = [], rest = code
                for _ in 0..<lengths[b] {
                    path.append(rest % C)
                    rest /= C
                }
                var collapsed: [Int32] = []
                var previous = -1
                for symbol in path {
                    if symbol != previous && symbol != 0 { collapsed.append(Int32(symbol)) }
                    previous = symbol
                }
                if collapsed == targets[b] {
                    sum += path.enumerated().reduce(1.0) { $0 * probabilities[$1.offset][$1.element] }
                }
            }
            // PyTorch's reduction: each utterance's −log p divided by its label count, then the mean.
            expected += -log(sum) / Double(targets[b].count)
        }
        expected /= Double(B)
        XCTAssertEqual(Double(loss.value[0]), expected, accuracy: 1e-5 * max(1, expected))
    }
}
