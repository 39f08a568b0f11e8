import Foundation
import RNNEngine

/// Settings of CTC prefix beam search.
public struct PrefixBeamOptions: Sendable {
    public var beamSize: Int
    /// α: weight of the language model's log-probability of each character.
    public var languageModelWeight: Double
    /// β: added for every word (at each space and at the end), against the LM's bias to short outputs.
    public var wordBonus: Double
    /// Characters below this probability at a step are not tried there.
    public var pruneProbability: Double

    public init(
        beamSize: Int = 8, languageModelWeight: Double = 0.5, wordBonus: Double = 1, pruneProbability: Double = 1e-3
    ) {
        self.beamSize = beamSize
        self.languageModelWeight = languageModelWeight
        self.wordBonus = wordBonus
        self.pruneProbability = pruneProbability
    }
}

/// CTC prefix beam search (Hannun et al. 2014): keeps the `beamSize` most likely transcripts,
/// each with the probability of all its alignments ending in a blank and ending in its last
/// character, so that alignments collapsing to one text are summed, not competing. With a
/// scorer, each added character also gets α log p_LM(character | prefix) and each word β.
///
/// - logProbabilities: (T, C) log-softmax outputs of one utterance, class 0 the blank.
public func ctcPrefixBeamSearch(
    _ logProbabilities: [[Float]], alphabet: Alphabet, options: PrefixBeamOptions = PrefixBeamOptions(),
    scorer: (any PrefixScorer)? = nil
) throws -> String {
    if let scorer, scorer.symbols != alphabet.symbols {
        throw SpeechError.invalidConfig(
            "the language model scores the characters \(String(scorer.symbols).debugDescription), the recogniser writes \(String(alphabet.symbols).debugDescription)"
        )
    }
    struct Beam {
        var blank: Double
        var symbol: Double
        var bonus: Double
    }  // log p ending in blank / symbol; LM + β so far
    func add(_ a: Double, _ b: Double) -> Double {
        if a == -.infinity { return b }
        if b == -.infinity { return a }
        return max(a, b) + log1p(exp(-abs(a - b)))
    }
    let space = alphabet.id(of: " ")
    var beams: [String: Beam] = ["": Beam(blank: 0, symbol: -.infinity, bonus: 0)]
    let threshold = Float(log(options.pruneProbability))
    for frame in logProbabilities {
        var next: [String: Beam] = [:]
        func update(_ prefix: String, blank: Double = -.infinity, symbol: Double = -.infinity, bonus: Double) {
            var beam = next[prefix] ?? Beam(blank: -.infinity, symbol: -.infinity, bonus: bonus)
            beam.blank = add(beam.blank, blank)
            beam.symbol = add(beam.symbol, symbol)
            next[prefix] = beam
        }
        let candidates = frame.indices.filter { $0 > 0 && frame[$0] >= threshold }
        let entries = Array(beams)
        // The beam's new prefixes go to the scorer together (one batch of the LM).
        let scores = try scorer.map { try $0.logProbabilities(afterEach: entries.map(\.key)) }
        for (index, (prefix, beam)) in entries.enumerated() {
            let total = add(beam.blank, beam.symbol)
            update(prefix, blank: total + Double(frame[0]), bonus: beam.bonus)
            let lm = scores?[index]
            for c in candidates {
                let character = alphabet.symbols[c - 1]
                let p = Double(frame[c])
                if let last = prefix.last, last == character {
                    update(prefix, symbol: beam.symbol + p, bonus: beam.bonus)  // a repeat collapses
                }
                // A new character: after a blank always, after the same character only through a blank.
                let from = prefix.last == character ? beam.blank : total
                var bonus = beam.bonus
                if let lm { bonus += options.languageModelWeight * Double(lm[c - 1]) }
                if Int32(c) == space && prefix.last != " " && !prefix.isEmpty { bonus += options.wordBonus }
                update(prefix + String(character), symbol: from + p, bonus: bonus)
            }
        }
        beams = Dictionary(
            uniqueKeysWithValues: next.sorted {
                add($0.value.blank, $0.value.symbol) + $0.value.bonus
                    > add($1.value.blank, $1.value.symbol) + $1.value.bonus
            }
            .prefix(options.beamSize).map { ($0.key, $0.value) })
    }
    // The last word earns its bonus too; the best by total score.
    let best = beams.max { a, b in
        func score(_ entry: (key: String, value: Beam)) -> Double {
            add(entry.value.blank, entry.value.symbol) + entry.value.bonus
                + (entry.key.isEmpty || entry.key.last == " " ? 0 : options.wordBonus)
        }
        return score(a) < score(b)
    }
    return (best?.key ?? "").trimmingCharacters(in: .whitespaces)
}
