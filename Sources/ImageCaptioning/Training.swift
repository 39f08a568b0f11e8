import Foundation
import RNNEngine

/// A captioning corpus turned into what training reads: the vocabulary built on the training
/// captions, the training and validation images decoded and resized, and every (image,
/// caption) training pair as ids.
public struct CaptionData: Sendable {
    public let codec: CaptionCodec
    public let train: ImageSet
    public let valid: ImageSet
    /// Training pairs: the image's index in `train` and the caption's ids (no start or end).
    public let pairs: [(image: Int, caption: [Int32])]
    /// Training captions left out for being longer than `maximumLength` words.
    public let skippedTooLong: Int

    public init(
        corpus: CaptionCorpus, imageSize: Int, minimumFrequency: Int = 1, vocabularySize: Int = 50_000,
        maximumLength: Int = 40
    ) throws {
        guard maximumLength > 0 else { throw CaptionError.invalidOptions("--max-length must be positive") }
        guard minimumFrequency > 0 else { throw CaptionError.invalidOptions("--min-frequency must be positive") }
        let codec = CaptionCodec.build(
            captions: corpus.train.flatMap(\.captions), minimumFrequency: minimumFrequency,
            maximumSize: vocabularySize)
        let preprocessor = ImagePreprocessor(size: imageSize)
        train = try ImageSet(corpus.train, preprocessor: preprocessor)
        valid = try ImageSet(corpus.valid, preprocessor: preprocessor)
        var pairs: [(Int, [Int32])] = [], tooLong = 0
        for (index, image) in corpus.train.enumerated() {
            for caption in image.captions {
                let ids = codec.encode(caption)
                if ids.count > maximumLength {
                    tooLong += 1
                    continue
                }
                if !ids.isEmpty { pairs.append((index, ids)) }
            }
        }
        guard !pairs.isEmpty else {
            throw CaptionCorpusError.emptySplit(
                path: corpus.train.first?.origin ?? "training data",
                split: "training (every caption is longer than --max-length)")
        }
        self.codec = codec
        self.pairs = pairs
        skippedTooLong = tooLong
    }
}

/// Settings of a captioning run beyond the model's and the shared loop's.
public struct CaptionTrainingSettings: Codable, Sendable {
    public var batchSize: Int
    /// Training images mirrored left to right at random (off by default: it swaps "left" and
    /// "right" in what the captions say).
    public var flip: Bool
    /// Training images shifted by up to this many pixels at random (crops of an edge-padded image).
    public var shift: Int
    /// Validation images captioned for the metrics at most.
    public var validationImages: Int

    public init(batchSize: Int = 32, flip: Bool = false, shift: Int = 0, validationImages: Int = 1000) {
        self.batchSize = batchSize
        self.flip = flip
        self.shift = shift
        self.validationImages = validationImages
    }
}

/// Captioning training: length-bucketed batches of (image, caption) pairs, teacher forcing with
/// the doubly stochastic attention penalty, and validation BLEU-4 (greedy captions) as the
/// metric that picks the best checkpoint.
public final class CaptionTrainingTask: TrainingTask {
    public let network: CaptionNetwork
    public let data: CaptionData
    public let settings: CaptionTrainingSettings
    private var sampler: BucketedBatchSampler
    private let validationSet: ImageSet
    /// Data-parallel: each rank trains and validates its share of the images.
    private var group: DataParallelGroup?

    public init(network: CaptionNetwork, data: CaptionData, settings: CaptionTrainingSettings, seed: UInt64) throws {
        guard settings.batchSize > 0 else { throw TrainingError.invalid("--batch-size must be positive") }
        guard settings.shift >= 0 else { throw TrainingError.invalid("--shift must not be negative") }
        guard !data.valid.images.isEmpty else { throw TrainingError.invalid("the validation split has no image") }
        self.network = network
        self.data = data
        self.settings = settings
        var valid = data.valid
        valid.images = Array(valid.images.prefix(settings.validationImages))
        valid.entries = Array(valid.entries.prefix(settings.validationImages))
        validationSet = valid
        sampler = try BucketedBatchSampler(
            lengths: data.pairs.map { $0.caption.count }, batchSize: settings.batchSize, seed: seed)
    }

    public var taskName: String { CaptionNetwork.taskName }
    public func checkCheckpointLoads(path: String) throws { _ = try CaptionNetwork.load(path: path) }
    public var lossUnit: String { "token" }
    public var parameters: ParameterStore { network.parameters }
    public var stepsPerEpoch: Int { sampler.batchesPerEpoch }
    public var checkpointMetadata: [String: String] { network.checkpointMetadata }

    public func trainingLoss(tape: Tape, rng: inout RandomGenerator) throws -> (loss: Variable, count: Int) {
        let batch = sampler.next().map { data.pairs[$0] }
        let flips = settings.flip ? batch.map { _ in rng.int(below: 2) == 1 } : nil
        let shifts =
            settings.shift > 0
            ? batch.map { _ in
                (
                    rng.int(below: 2 * settings.shift + 1) - settings.shift,
                    rng.int(below: 2 * settings.shift + 1) - settings.shift
                )
            }
            : nil
        guard let group else {
            let images = network.preprocessor.batch(
                batch.map { data.train.images[$0.image] }, flips: flips, shifts: shifts)
            let parts = try network.lossParts(
                images: Variable(images), captions: batch.map(\.caption), tape: tape, rng: &rng)
            let penalty = parts.penalty.map { Double($0.value[0]) } ?? 0
            lastParts = TrainingLossParts(perUnit: Double(parts.crossEntropy.value[0]), extras: [("penalty", penalty)])
            guard let weighted = parts.penalty else { return (parts.crossEntropy, parts.count) }
            return (add(parts.crossEntropy, weighted, tape: tape), parts.count)
        }
        // The augmentation above was drawn for the whole batch; this rank keeps its share.
        let share = group.communicator.batchRows(batch.count)
        var parts: (crossEntropy: Variable, penalty: Variable?, count: Int)?
        if !share.isEmpty {
            let images = network.preprocessor.batch(
                share.map { data.train.images[batch[$0].image] }, flips: flips.map { all in share.map { all[$0] } },
                shifts: shifts.map { all in share.map { all[$0] } })
            var local = group.localGenerator(from: rng)
            parts = try network.lossParts(
                images: Variable(images), captions: share.map { batch[$0].caption }, tape: tape, rng: &local)
        }
        // The training loop weights each rank's loss by its tokens; the penalty is a mean per
        // image, so it is reweighted from tokens to images: (images / all images) · (all tokens / tokens).
        let tokens = group.communicator.sum([Double(parts?.count ?? 0)])[0]
        guard let parts else {
            lastParts = TrainingLossParts(perUnit: 0, extras: [("penalty", 0)])
            return DataParallelGroup.emptyShareLoss
        }
        let reweight = Float(Double(share.count) / Double(batch.count) * tokens / Double(max(parts.count, 1)))
        let penalty = parts.penalty.map { scale($0, by: reweight, tape: tape) }
        lastParts = TrainingLossParts(
            perUnit: Double(parts.crossEntropy.value[0]),
            extras: [("penalty", penalty.map { Double($0.value[0]) } ?? 0)])
        guard let penalty else { return (parts.crossEntropy, parts.count) }
        return (add(parts.crossEntropy, penalty, tape: tape), parts.count)
    }

    /// Each rank takes its share of every batch's images (flips and shifts are drawn for the
    /// whole batch first, as one process draws them) and of the validation images.
    public func joinDataParallel(_ group: DataParallelGroup) throws { self.group = group }

    private var lastParts: TrainingLossParts?

    /// The cross-entropy per token (what validation's loss is) and the attention penalty apart:
    /// the penalty is most of the training loss, and added into one number it hid the learning.
    public func lastTrainingLossParts() -> TrainingLossParts? { lastParts }

    /// Mean teacher-forced cross-entropy per token (without the attention penalty) over the
    /// first reference of each validation image.
    public func validationLoss() throws -> Double {
        var rng = RandomGenerator(seed: 0)
        var sum = 0.0, tokens = 0
        let captions = validationSet.entries.map { network.codec.encode($0.captions[0]) }
        let communicator = group?.communicator ?? SingleProcess()
        let usable = captions.indices.filter { !captions[$0].isEmpty }
        let mine = communicator.shard(usable.count)
        for start in stride(from: mine.lowerBound, to: mine.upperBound, by: settings.batchSize) {
            let items = Array(usable[start..<min(start + settings.batchSize, mine.upperBound)])
            let images = network.preprocessor.batch(items.map { validationSet.images[$0] })
            let (loss, count) = try network.loss(
                images: Variable(images), captions: items.map { captions[$0] }, penalty: false,
                tape: Tape.inference(), rng: &rng)
            sum += Double(loss.value[0]) * Double(count)
            tokens += count
        }
        let totals = communicator.sum([sum, Double(tokens)])
        return totals[0] / max(totals[1], 1)
    }

    /// The perplexity of a cross-entropy per token (progress lines report it without the penalty).
    public func metrics(forLoss loss: Double) -> [(String, Double)] { [("ppl", exp(loss))] }

    /// BLEU-4 (primary), BLEU-1 and CIDEr-D of greedy captions of the validation images, then the loss.
    public func validate() throws -> ValidationResult {
        let score = try network.evaluate(
            validationSet, options: CaptionOptions(beamSize: 1, batchSize: 64), communicator: group?.communicator)
        let loss = try validationLoss()
        return ValidationResult(
            metrics: [
                ("bleu4", score.bleu4), ("bleu1", score.bleu1), ("cider", score.cider), ("loss", loss),
                ("ppl", exp(loss))
            ],
            primary: "bleu4", higherIsBetter: true)
    }

    public func saveProgress() -> (tensors: [(String, Tensor)], metadata: [String: String]) {
        ([], sampler.progressMetadata)
    }

    public func restoreProgress(tensors: [String: Tensor], metadata: [String: String], path: String) throws {
        try sampler.restore(progressMetadata: metadata, path: path)
    }
}
