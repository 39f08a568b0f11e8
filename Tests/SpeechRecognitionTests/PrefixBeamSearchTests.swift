import Foundation
import XCTest

@testable import LanguageModel
@testable import SpeechRecognition

final class PrefixBeamSearchTests: XCTestCase {
    let alphabet = Alphabet(symbols: Array("ab"))

    /// Two frames of p(blank) 0.6, p(a) 0.4: the best path is "" (0.36), but the alignments of
    /// "a" (a-, -a, aa) add up to 0.64. Prefix beam search sums them; greedy cannot.
    func testAlignmentsOfOneTextAreSummed() throws {
        let frame: [Float] = [log(0.6), log(0.4), -50]
        XCTAssertEqual(
            try ctcPrefixBeamSearch(
                [frame, frame], alphabet: alphabet, options: PrefixBeamOptions(beamSize: 4, wordBonus: 0)), "a")
        XCTAssertEqual(
            try ctcPrefixBeamSearch(
                [frame, frame], alphabet: alphabet, options: PrefixBeamOptions(beamSize: 1, wordBonus: 0)), "")
        // A repeat needs a blank between: a a collapses to "a", a - a is "aa".
        let a: [Float] = [-50, 0, -50], blank: [Float] = [0, -50, -50]
        XCTAssertEqual(try ctcPrefixBeamSearch([a, a], alphabet: alphabet), "a")
        XCTAssertEqual(try ctcPrefixBeamSearch([a, blank, a], alphabet: alphabet), "aa")
    }

    /// Frames that cannot tell "ab" from "ba": a language model that has only read "ba" decides.
    func testLanguageModelFusionBreaksTies() throws {
        var rng = RandomGenerator(seed: 1)
        let text = String(repeating: "ba ba ba\n", count: 80)
        let corpus = try Corpus(text: CorpusText.split(text, source: "test"), tokenization: .char)
        let model = try LanguageModelNetwork(
            config: LanguageModelConfig(embeddingSize: 8, hiddenSize: 16), vocabulary: corpus.vocabulary, rng: &rng)
        let task = try LanguageModelTrainingTask(
            network: model, corpus: corpus, settings: LanguageModelTrainingSettings(batchSize: 4, bptt: 16))
        var options = TrainingOptions.languageModel(steps: 60)
        options.learningRate = 0.02
        _ = try Trainer(task: task, options: options).run()
        let scorer = try CharacterLanguageModelScorer(model: model, symbols: alphabet.symbols)
        // Each frame: a and b equally likely, then a blank.
        let either: [Float] = [-50, log(0.5), log(0.5)], blank: [Float] = [0, -50, -50]
        let frames = [either, blank, either, blank]
        let fused = try ctcPrefixBeamSearch(
            frames, alphabet: alphabet,
            options: PrefixBeamOptions(beamSize: 8, languageModelWeight: 1, wordBonus: 0), scorer: scorer)
        XCTAssertEqual(fused, "ba")

        // A cache of 3 prefixes stays within them and gives the same answers (to rounding: the
        // search above scored its prefixes in batches, which sum in another order).
        let small = try CharacterLanguageModelScorer(model: model, symbols: alphabet.symbols, capacity: 3)
        for prefix in ["b", "ba", "ba ", "ba b", "ba ba", "a", "ab"] {
            let values = try small.logProbabilities(after: prefix),
                expected = try scorer.logProbabilities(after: prefix)
            XCTAssertEqual(values.count, expected.count)
            for (x, y) in zip(values, expected) { XCTAssertEqual(x, y, accuracy: 1e-5, prefix) }
            XCTAssertLessThanOrEqual(small.cachedPrefixes, 3)
        }
        XCTAssertEqual(
            try ctcPrefixBeamSearch(
                frames, alphabet: alphabet,
                options: PrefixBeamOptions(
                    beamSize: 8, languageModelWeight: 1,
                    wordBonus: 0), scorer: small), "ba")
        // Prefixes scored together (one batch of the LM: the empty one, cached ones, ones whose
        // parent is missing, a repeat) get what each gets alone, with a full cache or a tiny one.
        let batch = ["", "ba", "ab", "bab", "a", "ba b", "ba", "aab "]
        for capacity in [20_000, 3] {
            let together = try CharacterLanguageModelScorer(model: model, symbols: alphabet.symbols, capacity: capacity)
            _ = try together.logProbabilities(after: "ba")
            let scores = try together.logProbabilities(afterEach: batch)
            for (prefix, values) in zip(batch, scores) {
                let alone = try scorer.logProbabilities(after: prefix)
                for (x, y) in zip(values, alone) {
                    XCTAssertEqual(x, y, accuracy: 1e-5, "'\(prefix)', capacity \(capacity)")
                }
            }
        }

        // A scorer made for other characters (here the same ones in another order) is refused.
        let reordered = try CharacterLanguageModelScorer(model: model, symbols: Array("ba"))
        XCTAssertThrowsError(try ctcPrefixBeamSearch(frames, alphabet: alphabet, scorer: reordered)) {
            XCTAssertTrue("\($0)".contains("the language model scores the characters \"ba\""), "\($0)")
        }
    }
}
