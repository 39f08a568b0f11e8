import Foundation
import RNNEngine

/// Corpus-level scores of a model's translations (`zoo eval translation --json`).
public struct TranslationScore: Codable, Sendable {
    /// sacreBLEU-compatible corpus BLEU (13a tokenization, exponential smoothing).
    public var bleu: Double
    /// sacreBLEU's chrF2.
    public var chrf: Double
    /// Distinct source sentences translated.
    public var sentences: Int
    /// Source tokens outside the model's vocabulary, read as `<unk>`.
    public var unknownSourceTokens: Int

    enum CodingKeys: String, CodingKey {
        case bleu, chrf, sentences
        case unknownSourceTokens = "unknown_source_tokens"
    }
}

/// Sentences and all their references: a source that occurs several times (several
/// translations, as in Tatoeba) is translated once and scored against every reference.
public struct ReferenceSet: Sendable {
    public var sources: [String]
    /// references[i]: every reference of sentence i.
    public var references: [[String]]

    public init(_ pairs: [SentencePair]) {
        var order: [String] = []
        var bySource: [String: [String]] = [:]
        for pair in pairs {
            if bySource[pair.source] == nil { order.append(pair.source) }
            bySource[pair.source, default: []].append(pair.target)
        }
        sources = order
        references = order.map { bySource[$0]! }
    }

    /// Corpus BLEU and chrF of one hypothesis per sentence.
    public func score(_ hypotheses: [String]) -> (bleu: Double, chrf: Double) {
        var bleu = BLEUStatistics(), chrf = CharacterFStatistics()
        for (hypothesis, references) in zip(hypotheses, references) {
            bleu.add(hypothesis: hypothesis, references: references)
            chrf.add(hypothesis: hypothesis, references: references)
        }
        return (bleu.score.score, chrf.score)
    }
}

extension TranslationNetwork {
    /// Translates the pairs' sources (each distinct one once) and scores them against every
    /// reference given for it. With a `communicator` of several ranks (data-parallel
    /// validation), each rank translates its share of the sentences and every rank scores all.
    public func evaluate(
        _ pairs: [SentencePair], options: TranslationOptions = TranslationOptions(),
        communicator: (any Communicator)? = nil
    ) throws -> TranslationScore {
        let set = ReferenceSet(pairs)
        let communicator = communicator ?? SingleProcess()
        let translations = try translate(
            Array(set.sources[communicator.shard(set.sources.count)]), options: options)
        let hypotheses = communicator.allGather(translations.map { $0.first?.text ?? "" })
        let unknown = translations.reduce(0) { $0 + ($1.first?.unknownSourceTokens ?? 0) }
        let (bleu, chrf) = set.score(hypotheses)
        return TranslationScore(
            bleu: bleu, chrf: chrf,
            sentences: set.sources.count,
            unknownSourceTokens: Int(communicator.sum([Double(unknown)])[0]))
    }
}
