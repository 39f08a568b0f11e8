import ArgumentParser
import EngineSupport
import Foundation
import RNNEngine

/// `zoo score bleu|chrf|wer|cer`: a metric of two line-aligned files, as sacreBLEU and jiwer
/// compute it.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score hypotheses against references: BLEU, chrF (as sacreBLEU), WER, CER (as jiwer).")

    enum Metric: String, ExpressibleByArgument, CaseIterable { case bleu, chrf, wer, cer }

    @Argument(help: "The metric: bleu, chrf, wer or cer.") var metric: Metric
    @Option(help: "The system's output, one segment a line.") var hypotheses: String
    @Option(
        help: "The references, line-aligned with the hypotheses; give it again for more references (BLEU and chrF).")
    var references: [String] = []
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard !references.isEmpty else { throw ValidationError("give at least one --references file") }
        if references.count > 1 && (metric == .wer || metric == .cer) {
            throw ValidationError("\(metric.rawValue) takes one --references file, not \(references.count)")
        }
    }

    func run() throws {
        let hypothesisLines = try readLines(hypotheses)
        guard !hypothesisLines.isEmpty else { throw RunError("\(hypotheses): no lines to score") }
        let referenceLines = try references.map { path -> [String] in
            let lines = try readLines(path)
            guard lines.count == hypothesisLines.count else {
                throw RunError(
                    "\(path) has \(lines.count) lines but \(hypotheses) has \(hypothesisLines.count); the files must be line-aligned"
                )
            }
            return lines
        }
        let value: Double
        var fields: [(String, JSONValue)] = []
        switch metric {
        case .bleu:
            let bleu = corpusBLEU(hypotheses: hypothesisLines, references: referenceLines)
            value = bleu.score
            fields = [
                ("bleu", .double(bleu.score)),
                ("precisions", .string(bleu.precisions.map { String(format: "%.1f", $0) }.joined(separator: "/"))),
                ("brevity_penalty", .double(bleu.brevityPenalty)), ("sys_len", .int(bleu.systemLength)),
                ("ref_len", .int(bleu.referenceLength))
            ]
        case .chrf:
            value = corpusCharacterF(hypotheses: hypothesisLines, references: referenceLines)
            fields = [("chrf", .double(value))]
        case .wer, .cer:
            let rate =
                metric == .wer
                ? wordErrorRate(hypotheses: hypothesisLines, references: referenceLines[0])
                : characterErrorRate(hypotheses: hypothesisLines, references: referenceLines[0])
            value = 100 * rate.rate
            fields = [
                (metric.rawValue, .double(value)), ("substitutions", .int(rate.substitutions)),
                ("deletions", .int(rate.deletions)), ("insertions", .int(rate.insertions)),
                (metric == .wer ? "reference_words" : "reference_characters", .int(rate.referenceLength))
            ]
        }
        fields.append(("lines", .int(hypothesisLines.count)))
        if json {
            print(jsonLine(fields))
        } else {
            let unit = metric == .wer || metric == .cer ? " %" : ""
            print(
                String(
                    format: "%@ %.2f%@ (%d lines, %d reference file%@)", metric.rawValue.uppercased(), value, unit,
                    hypothesisLines.count, references.count, references.count == 1 ? "" : "s"))
        }
    }
}

/// The lines of a UTF-8 text file (a final newline ends the last line), or an error naming it.
func readLines(_ path: String) throws -> [String] {
    guard let data = TextFile.bytes(atPath: path) else {
        throw RunError("\(path): no such file, or it cannot be read")
    }
    guard let text = String(data: data, encoding: .utf8) else { throw RunError("\(path): not valid UTF-8") }
    var lines = text.components(separatedBy: "\n")
    if lines.last == "" { lines.removeLast() }
    return lines
}
