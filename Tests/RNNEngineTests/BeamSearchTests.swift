import Foundation
import XCTest

@testable import RNNEngine

/// Beam search and greedy decoding on a tiny model whose every output can be enumerated.
final class BeamSearchTests: XCTestCase {
    /// Tokens: 0 start, 1 end, 2 and 3 words. The next-token distribution depends on the item,
    /// the position and the last token, through a random table.
    struct TinyModel {
        static let V = 4
        let table: Tensor  // (items, positions, V [last token], V) log-probabilities
        let positions: Int
        var neverEnds = false
        /// A token whose log-probability is −∞, as a caller masked it before `excluded:` existed.
        var masked: Int? = nil

        init(items: Int, positions: Int, seed: UInt64) {
            var rng = RandomGenerator(seed: seed)
            self.positions = positions
            table = Tensor(zeros: [items, positions, Self.V, Self.V])
            for row in 0..<(items * positions * Self.V) {
                let logits = (0..<Self.V).map { _ in rng.uniform(-2, 2) }
                let logZ = log(logits.map { exp(Double($0)) }.reduce(0, +))
                for v in 0..<Self.V { table.data[row * Self.V + v] = Float(Double(logits[v]) - logZ) }
            }
        }

        func logp(item: Int, position: Int, last: Int32, next: Int) -> Float {
            // The start token is never generated.
            if next == 0 || (neverEnds && next == 1) || next == masked { return -.infinity }
            return table.data[((item * positions + position) * Self.V + Int(last)) * Self.V + next]
        }

        /// State: each row's (item, position).
        func step(_ tokens: [Int32], _ state: [(item: Int, position: Int)]) -> DecoderStep<[(item: Int, position: Int)]>
        {
            let out = Tensor(zeros: [tokens.count, Self.V])
            let trace = Tensor(zeros: [tokens.count, 1])
            for (row, token) in tokens.enumerated() {
                for v in 0..<Self.V {
                    out.data[row * Self.V + v] = logp(
                        item: state[row].item, position: state[row].position, last: token, next: v)
                }
                // What the row's own path led to (its position and last token), so a trace
                // taken from the wrong row or step shows.
                trace.data[row] = Float(10 * state[row].position + Int(token))
            }
            return DecoderStep(logProbabilities: out, state: state.map { ($0.item, $0.position + 1) }, trace: trace)
        }

        /// The trace `step` reports along `words`: one entry per step, from the start token on.
        static func trace(_ words: [Int32], steps: Int) -> [[Float]] {
            (0..<steps).map { [Float(10 * $0 + ($0 == 0 ? 0 : Int(words[$0 - 1])))] }
        }

        /// Every output of at most `maximumLength` tokens, scored as beam search scores them.
        func allOutputs(item: Int, maximumLength L: Int, alpha: Double) -> [Hypothesis] {
            var result: [Hypothesis] = []
            func extend(_ words: [Int32], _ logProbability: Double) {
                let last = words.last ?? 0
                let n = words.count
                let end = Double(logp(item: item, position: n, last: last, next: 1))
                if end > -.infinity {
                    let total = logProbability + end
                    result.append(
                        Hypothesis(
                            tokens: words, logProbability: total, score: total / pow(Double(n + 1), alpha),
                            finished: true, trace: Self.trace(words, steps: n + 1)))
                }
                for w: Int32 in [2, 3] {
                    let next = logProbability + Double(logp(item: item, position: n, last: last, next: Int(w)))
                    if n + 1 == L {
                        result.append(
                            Hypothesis(
                                tokens: words + [w], logProbability: next, score: next / pow(Double(L), alpha),
                                finished: false, trace: Self.trace(words + [w], steps: L)))
                    } else {
                        extend(words + [w], next)
                    }
                }
            }
            extend([], 0)
            return result.sorted { $0.score > $1.score }
        }
    }

    private func decode(_ model: TinyModel, items: Int, _ options: BeamSearchOptions) throws -> [[Hypothesis]] {
        try beamSearch(
            batch: items, initialState: (0..<items).map { (item: $0, position: 0) }, options: options,
            step: { model.step($0, $1) }, reorder: { state, rows in rows.map { state[$0] } })
    }

    func testWideBeamEqualsExhaustiveSearch() throws {
        let model = TinyModel(items: 3, positions: 5, seed: 3)
        for alpha in [0.0, 1.0, 0.6] {
            let options = BeamSearchOptions(
                beamSize: 32, nBest: 5, maximumLength: 5, lengthNormalization: alpha, startToken: 0, endToken: 1)
            let results = try decode(model, items: 3, options)
            for item in 0..<3 {
                let expected = Array(model.allOutputs(item: item, maximumLength: 5, alpha: alpha).prefix(5))
                XCTAssertEqual(results[item].map(\.tokens), expected.map(\.tokens), "item \(item), α \(alpha)")
                for (got, want) in zip(results[item], expected) {
                    XCTAssertEqual(got.score, want.score, accuracy: 1e-6)
                    XCTAssertEqual(got.finished, want.finished)
                    XCTAssertEqual(got.trace, want.trace, "one trace entry per generated token, in order")
                }
            }
        }
    }

    /// Every token excluded is an error, not a read of the score before the row (index −1).
    func testGreedyWithEveryTokenExcludedThrows() throws {
        let model = TinyModel(items: 1, positions: 3, seed: 8)
        XCTAssertThrowsError(
            try greedyDecode(
                batch: 1, initialState: [(item: 0, position: 0)], startToken: 0, endToken: 1,
                maximumLengths: [3], excluded: Set((0..<Int32(TinyModel.V))),
                step: { model.step($0, $1) })
        ) {
            XCTAssertEqual($0 as? EngineError, .noTokenAllowed(vocabulary: TinyModel.V))
        }
    }

    /// `excluded:` never chooses a token, exactly as a step function that gave it −∞ would, even
    /// where it is the most likely one; with everything excluded, beam search throws as greedy does.
    func testBeamSearchNeverChoosesAnExcludedToken() throws {
        let model = TinyModel(items: 3, positions: 5, seed: 11)
        var masking = model
        masking.masked = 3
        let options = BeamSearchOptions(
            beamSize: 3, nBest: 3, maximumLength: 5, lengthNormalization: 1, startToken: 0, endToken: 1)
        let excluded = try beamSearch(
            batch: 3, initialState: (0..<3).map { (item: $0, position: 0) }, options: options,
            excluded: [3], step: { model.step($0, $1) }, reorder: { state, rows in rows.map { state[$0] } })
        let expected = try decode(masking, items: 3, options)
        XCTAssertEqual(excluded, expected)
        XCTAssertFalse(excluded.joined().contains { $0.tokens.contains(3) })
        let unconstrained = try decode(model, items: 3, options)
        XCTAssertTrue(
            unconstrained.joined().contains { $0.tokens.contains(3) }, "the test needs a model that would choose 3")
        XCTAssertThrowsError(
            try beamSearch(
                batch: 1, initialState: [(item: 0, position: 0)], options: options,
                excluded: Set(0..<Int32(TinyModel.V)), step: { model.step($0, $1) },
                reorder: { state, rows in rows.map { state[$0] } })
        ) {
            XCTAssertEqual($0 as? EngineError, .noTokenAllowed(vocabulary: TinyModel.V))
        }
    }

    func testNarrowBeamFindsNothingBetterThanExhaustiveAndGreedyFollowsTheArgmax() throws {
        let model = TinyModel(items: 2, positions: 6, seed: 8)
        let options = BeamSearchOptions(
            beamSize: 2, nBest: 2, maximumLength: 6, lengthNormalization: 1, startToken: 0, endToken: 1)
        let results = try decode(model, items: 2, options)
        let greedy = try greedyDecode(
            batch: 2, initialState: [(item: 0, position: 0), (item: 1, position: 0)], startToken: 0,
            endToken: 1, maximumLengths: [6, 6], step: { model.step($0, $1) })
        for item in 0..<2 {
            let best = model.allOutputs(item: item, maximumLength: 6, alpha: 1)[0]
            XCTAssertEqual(results[item].count, 2)
            XCTAssertLessThanOrEqual(results[item][0].score, best.score + 1e-9)
            XCTAssertGreaterThanOrEqual(results[item][0].score, results[item][1].score)
            // Greedy: the most likely token at each step.
            var last: Int32 = 0, tokens: [Int32] = []
            for position in 0..<6 {
                let next = (0..<TinyModel.V).max {
                    model.logp(item: item, position: position, last: last, next: $0)
                        < model.logp(item: item, position: position, last: last, next: $1)
                }!
                if next == 1 { break }
                tokens.append(Int32(next))
                last = Int32(next)
            }
            XCTAssertEqual(greedy[item].tokens, tokens)
            // With normalised steps, greedy's log-probability is the chosen path's; one beam agrees.
            let oneBeam = try decode(
                model, items: 2,
                BeamSearchOptions(
                    beamSize: 1, nBest: 1, maximumLength: 6, lengthNormalization: 0,
                    startToken: 0, endToken: 1))
            XCTAssertEqual(oneBeam[item][0].tokens, greedy[item].tokens)
            XCTAssertEqual(oneBeam[item][0].logProbability, greedy[item].logProbability, accuracy: 1e-9)
        }
    }

    func testHypothesesComeBackWhenNoBeamEnds() throws {
        var model = TinyModel(items: 2, positions: 4, seed: 4)
        model.neverEnds = true
        let options = BeamSearchOptions(beamSize: 3, nBest: 3, maximumLength: 4, startToken: 0, endToken: 1)
        let results = try decode(model, items: 2, options)
        for item in 0..<2 {
            XCTAssertEqual(results[item].count, 3)
            XCTAssertTrue(results[item].allSatisfy { !$0.finished && $0.tokens.count == 4 })
        }
    }
}
