import Foundation
import RNNEngine
import XCTest

@testable import EngineSupport

/// BLEU, chrF, WER and CER against sacreBLEU and jiwer on real sentences with several
/// references (Golden/make_metric_golden.py writes metrics/expected.json).
final class MetricsTests: XCTestCase {
    private func lines(_ name: String) throws -> [String] {
        let text = try String(contentsOfFile: goldenDirectory + "/metrics/" + name, encoding: .utf8)
        return text.components(separatedBy: "\n").dropLast().map { $0 }
    }

    private func expected() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: goldenDirectory + "/metrics/expected.json"))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private func number(_ golden: [String: Any], _ key: String) throws -> Double {
        try XCTUnwrap((golden[key] as? NSNumber)?.doubleValue, key)
    }

    func testTokenizer13aMatchesSacreBLEU() throws {
        let golden = try expected()
        let all = try lines("hypotheses.txt") + lines("references1.txt") + lines("references2.txt")
        let tokenized = try XCTUnwrap(golden["tokenized_13a"] as? [String])
        XCTAssertEqual(all.count, tokenized.count)
        for (line, want) in zip(all, tokenized) { XCTAssertEqual(tokenize13a(line), want, line) }
    }

    func testBLEUAndChrFMatchSacreBLEU() throws {
        let golden = try expected()
        let hypotheses = try lines("hypotheses.txt")
        let one = [try lines("references1.txt")], two = one + [try lines("references2.txt")]
        let bleu2 = corpusBLEU(hypotheses: hypotheses, references: two)
        XCTAssertEqual(bleu2.score, try number(golden, "bleu_two_references"), accuracy: 1e-9)
        let precisions = try XCTUnwrap(golden["bleu_precisions_two_references"] as? [Double])
        for (a, b) in zip(bleu2.precisions, precisions) { XCTAssertEqual(a, b, accuracy: 1e-9) }
        let bleu1 = corpusBLEU(hypotheses: hypotheses, references: one)
        XCTAssertEqual(bleu1.score, try number(golden, "bleu_one_reference"), accuracy: 1e-9)
        XCTAssertEqual(bleu1.brevityPenalty, try number(golden, "bleu_brevity_penalty_one_reference"), accuracy: 1e-12)
        XCTAssertEqual(
            corpusBLEU(hypotheses: ["xyz qqq"], references: [["a b c d e"]]).score, try number(golden, "bleu_no_match"))
        XCTAssertEqual(
            corpusBLEU(hypotheses: ["the cat"], references: [["the cat sat"]]).score,
            try number(golden, "bleu_short"), accuracy: 1e-9)
        XCTAssertEqual(
            corpusCharacterF(hypotheses: hypotheses, references: two), try number(golden, "chrf_two_references"),
            accuracy: 1e-9)
        XCTAssertEqual(
            corpusCharacterF(hypotheses: hypotheses, references: one), try number(golden, "chrf_one_reference"),
            accuracy: 1e-9)
    }

    func testWERAndCERMatchJiwer() throws {
        let golden = try expected()
        let hypotheses = try lines("hypotheses.txt"), references = try lines("references1.txt")
        XCTAssertEqual(
            wordErrorRate(hypotheses: hypotheses, references: references).rate, try number(golden, "wer"),
            accuracy: 1e-12)
        XCTAssertEqual(
            characterErrorRate(hypotheses: hypotheses, references: references).rate, try number(golden, "cer"),
            accuracy: 1e-12)
        XCTAssertEqual(
            wordErrorRate(hypotheses: ["a b", ""], references: ["", ""]).rate,
            try number(golden, "wer_empty_references"))
        // Hand-checked: "a" → "the" and "there" inserted, over four reference words.
        let counts = wordErrorRate(hypotheses: ["the cat sat down there"], references: ["a cat sat down"])
        XCTAssertEqual(counts.substitutions + counts.deletions + counts.insertions, 2)
        XCTAssertEqual(counts.rate, 0.5)
    }

    func testCIDErDMatchesTheCOCOEvaluationCode() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: goldenDirectory + "/metrics/cider.json"))
        let golden = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let images = try XCTUnwrap(golden["images"] as? [[String: Any]])
        let candidates = images.compactMap { $0["candidate"] as? String }
        let references = images.compactMap { $0["references"] as? [String] }
        let (score, perImage) = corpusCIDErD(candidates: candidates, references: references)
        XCTAssertEqual(score, try number(golden, "cider"), accuracy: 1e-9)
        let expected = try XCTUnwrap(golden["per_image"] as? [Double])
        for (a, b) in zip(perImage, expected) { XCTAssertEqual(a, b, accuracy: 1e-9) }
    }
}
