import Foundation
import RNNEngine

/// Corpus-level scores of a captioner (`zoo eval captioning --json`).
public struct CaptionScore: Codable, Sendable {
    /// sacreBLEU-compatible corpus BLEU with maximum n-gram order 1…4, every reference of an image.
    public var bleu1: Double, bleu2: Double, bleu3: Double, bleu4: Double
    /// CIDEr-D (× 10 as the COCO code reports it), document frequencies from the split's references.
    public var cider: Double
    public var images: Int
}

/// Captions compared the way the metrics expect them: lower-cased words separated by spaces,
/// punctuation removed (the COCO caption tokenizer's effect).
public func normalizedCaption(_ caption: String) -> String { CaptionCodec.words(caption).joined(separator: " ") }

/// BLEU-1…4 and CIDEr-D of one caption per image against all of its references.
public func scoreCaptions(_ hypotheses: [String], references: [[String]]) -> CaptionScore {
    precondition(hypotheses.count == references.count, "\(hypotheses.count) captions for \(references.count) images")
    let candidates = hypotheses.map(normalizedCaption), refs = references.map { $0.map(normalizedCaption) }
    var statistics = (1...4).map { BLEUStatistics(maxOrder: $0) }
    for (candidate, references) in zip(candidates, refs) {
        for n in 0..<4 { statistics[n].add(hypothesis: candidate, references: references) }
    }
    let bleu = statistics.map(\.score.score)
    return CaptionScore(
        bleu1: bleu[0], bleu2: bleu[1], bleu3: bleu[2], bleu4: bleu[3],
        cider: corpusCIDErD(candidates: candidates, references: refs).score, images: hypotheses.count)
}

extension CaptionNetwork {
    /// Captions the images (each once) and scores them against all their references. With a
    /// `communicator` of several ranks (data-parallel validation), each rank captions its share
    /// of the images and every rank scores all.
    public func evaluate(
        _ images: ImageSet, options: CaptionOptions = CaptionOptions(), communicator: (any Communicator)? = nil
    ) throws -> CaptionScore {
        let communicator = communicator ?? SingleProcess()
        let captions = try caption(
            images: Array(images.images[communicator.shard(images.images.count)]), options: options)
        return scoreCaptions(communicator.allGather(captions.map(\.text)), references: images.entries.map(\.captions))
    }
}
