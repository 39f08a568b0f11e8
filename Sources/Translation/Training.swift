import Foundation
import RNNEngine

/// A parallel corpus turned into what training reads: each side's codec (tokenization, BPE,
/// vocabulary) built from the training split, and the training and validation pairs as ids.
public struct TranslationData: Sendable {
    public let corpus: ParallelCorpus
    public let source: SentenceCodec
    public let target: SentenceCodec
    public let trainSources: [[Int32]], trainTargets: [[Int32]]
    public let validSources: [[Int32]], validTargets: [[Int32]]
    /// Training pairs left out because a side is longer than `maximumLength` tokens.
    public let skippedTooLong: Int

    /// - maximumLength: training pairs with a side longer than this many tokens are left out.
    public init(corpus: ParallelCorpus, vocabulary settings: VocabularySettings, maximumLength: Int) throws {
        guard maximumLength > 0 else { throw TranslationError.invalidOptions("--max-length must be positive") }
        guard settings.subword == .none || settings.merges > 0 else {
            throw TranslationError.invalidOptions("--merges must be positive")
        }
        self.corpus = corpus
        let sources = corpus.train.map(\.source), targets = corpus.train.map(\.target)
        // Each training sentence is split into words once; BPE learns from those words.
        let sourceWords = sources.map(WordTokenizer.tokens), targetWords = targets.map(WordTokenizer.tokens)
        func wordCounts(_ sentences: [[String]]) -> [String: Int] {
            var counts: [String: Int] = [:]
            for words in sentences { for word in words { counts[word, default: 0] += 1 } }
            return counts
        }
        var sourceBPE: BytePairEncoding?, targetBPE: BytePairEncoding?
        if settings.subword == .bpe {
            if settings.jointMerges {
                let counts = wordCounts(sourceWords).merging(wordCounts(targetWords), uniquingKeysWith: +)
                sourceBPE = BytePairEncoding.learn(wordCounts: counts, merges: settings.merges)
                targetBPE = sourceBPE
            } else {
                sourceBPE = BytePairEncoding.learn(wordCounts: wordCounts(sourceWords), merges: settings.merges)
                targetBPE = BytePairEncoding.learn(wordCounts: wordCounts(targetWords), merges: settings.merges)
            }
        }
        func subwords(_ sentences: [[String]], _ bpe: BytePairEncoding?) -> [[String]] {
            guard let bpe else { return sentences }
            var cache: [String: [String]] = [:]
            return sentences.map { words in
                words.flatMap { word in
                    if let pieces = cache[word] { return pieces }
                    let pieces = bpe.segment(word)
                    cache[word] = pieces
                    return pieces
                }
            }
        }
        let sourceTokens = subwords(sourceWords, sourceBPE), targetTokens = subwords(targetWords, targetBPE)
        let source = SentenceCodec.build(tokenized: sourceTokens, bytePairs: sourceBPE, settings: settings)
        let target = SentenceCodec.build(tokenized: targetTokens, bytePairs: targetBPE, settings: settings)
        self.source = source
        self.target = target
        var trainSources: [[Int32]] = [], trainTargets: [[Int32]] = []
        var tooLong = 0
        for (sourceSentence, targetSentence) in zip(sourceTokens, targetTokens) {
            let s = source.encode(tokens: sourceSentence).ids, t = target.encode(tokens: targetSentence).ids
            guard !s.isEmpty, !t.isEmpty else { continue }
            if s.count > maximumLength || t.count > maximumLength {
                tooLong += 1
                continue
            }
            trainSources.append(s)
            trainTargets.append(t)
        }
        guard !trainSources.isEmpty else {
            throw ParallelCorpusError.noPairs(
                path: corpus.trainSource,
                reason: "all \(corpus.train.count) pairs are longer than --max-length \(maximumLength) tokens")
        }
        self.trainSources = trainSources
        self.trainTargets = trainTargets
        skippedTooLong = tooLong
        let valid = corpus.valid.map { (source.encode($0.source).ids, target.encode($0.target).ids) }.filter {
            !$0.0.isEmpty && !$0.1.isEmpty
        }
        validSources = valid.map(\.0)
        validTargets = valid.map(\.1)
    }
}

/// Settings of a translation run beyond the model's and the shared loop's.
public struct TranslationTrainingSettings: Codable, Sendable {
    /// Sentence pairs per batch.
    public var batchSize: Int
    public var labelSmoothing: Float
    /// The beam used to decode the validation split for its BLEU (1: greedy, fastest).
    public var validationBeam: Int
    /// Validation sentences decoded for BLEU at most (all of them when larger than the split).
    public var validationSentences: Int

    public init(
        batchSize: Int = 64, labelSmoothing: Float = 0.1, validationBeam: Int = 1, validationSentences: Int = 2000
    ) {
        self.batchSize = batchSize
        self.labelSmoothing = labelSmoothing
        self.validationBeam = validationBeam
        self.validationSentences = validationSentences
    }
}

/// Translation training: length-bucketed batches of sentence pairs, teacher forcing, and the
/// validation split's BLEU as the metric that picks the best checkpoint.
public final class TranslationTrainingTask: TrainingTask {
    public let network: TranslationNetwork
    public let data: TranslationData
    public let settings: TranslationTrainingSettings
    private var sampler: BucketedBatchSampler
    /// Data-parallel: each rank trains and validates its share of the sentence pairs.
    private var group: DataParallelGroup?

    public init(network: TranslationNetwork, data: TranslationData, settings: TranslationTrainingSettings, seed: UInt64)
        throws
    {
        guard settings.batchSize > 0 else { throw TrainingError.invalid("--batch-size must be positive") }
        guard settings.labelSmoothing >= 0 && settings.labelSmoothing < 1 else {
            throw TrainingError.invalid("--label-smoothing must be in [0, 1)")
        }
        guard !data.validSources.isEmpty else {
            throw TrainingError.invalid("\(data.corpus.validSource): no validation pair with both sides non-empty")
        }
        self.network = network
        self.data = data
        self.settings = settings
        sampler = try BucketedBatchSampler(
            lengths: zip(data.trainSources, data.trainTargets).map { max($0.count, $1.count) },
            batchSize: settings.batchSize, seed: seed)
    }

    public var taskName: String { TranslationNetwork.taskName }
    public func checkCheckpointLoads(path: String) throws { _ = try TranslationNetwork.load(path: path) }
    public var lossUnit: String { "token" }
    public var parameters: ParameterStore { network.parameters }
    public var stepsPerEpoch: Int { sampler.batchesPerEpoch }
    public var checkpointMetadata: [String: String] { network.checkpointMetadata }
    public var checkpointTensors: [(String, Tensor)] { network.stateDictionary }
    public func loadCheckpoint(_ file: SafeTensorsFile, path: String) throws { try network.loadState(file, path: path) }

    public func trainingLoss(tape: Tape, rng: inout RandomGenerator) throws -> (loss: Variable, count: Int) {
        let batch = sampler.next()
        guard let group else {
            return try network.loss(
                sources: batch.map { data.trainSources[$0] }, targets: batch.map { data.trainTargets[$0] },
                labelSmoothing: settings.labelSmoothing, tape: tape, rng: &rng)
        }
        let mine = group.communicator.batchRows(batch.count).map { batch[$0] }
        guard !mine.isEmpty else { return DataParallelGroup.emptyShareLoss }
        var local = group.localGenerator(from: rng)
        return try network.loss(
            sources: mine.map { data.trainSources[$0] }, targets: mine.map { data.trainTargets[$0] },
            labelSmoothing: settings.labelSmoothing, tape: tape, rng: &local)
    }

    /// Each rank takes its share of every batch's sentence pairs (the loss is a mean per target
    /// token, weighted by the tokens each share holds), and of the validation sentences.
    public func joinDataParallel(_ group: DataParallelGroup) throws { self.group = group }

    /// Mean cross-entropy per token of the validation pairs BLEU is computed on (teacher
    /// forced, no smoothing).
    public func validationLoss() throws -> Double {
        var rng = RandomGenerator(seed: 0)
        var sum = 0.0, tokens = 0
        let communicator = group?.communicator ?? SingleProcess()
        let sentences = communicator.shard(min(data.validSources.count, settings.validationSentences))
        for start in stride(from: sentences.lowerBound, to: sentences.upperBound, by: settings.batchSize) {
            let end = min(start + settings.batchSize, sentences.upperBound)
            let (loss, count) = try network.loss(
                sources: Array(data.validSources[start..<end]), targets: Array(data.validTargets[start..<end]),
                tape: Tape.inference(), rng: &rng)
            sum += Double(loss.value[0]) * Double(count)
            tokens += count
        }
        let totals = communicator.sum([sum, Double(tokens)])
        return totals[0] / max(totals[1], 1)
    }

    public func metrics(forLoss loss: Double) -> [(String, Double)] { [("ppl", exp(loss))] }

    /// BLEU (primary) and chrF of the validation split's translations, then its loss.
    public func validate() throws -> ValidationResult {
        let pairs = Array(data.corpus.valid.prefix(settings.validationSentences))
        let score = try network.evaluate(
            pairs, options: TranslationOptions(beamSize: settings.validationBeam, batchSize: 64),
            communicator: group?.communicator)
        let loss = try validationLoss()
        return ValidationResult(
            metrics: [("bleu", score.bleu), ("chrf", score.chrf), ("loss", loss), ("ppl", exp(loss))],
            primary: "bleu", higherIsBetter: true)
    }

    public func saveProgress() -> (tensors: [(String, Tensor)], metadata: [String: String]) {
        ([], sampler.progressMetadata)
    }

    public func restoreProgress(tensors: [String: Tensor], metadata: [String: String], path: String) throws {
        try sampler.restore(progressMetadata: metadata, path: path)
    }
}

extension TrainingOptions {
    /// `zoo train translation`'s schedule: Adam at 1e-3, clipping at 5, validation every 500
    /// steps. Without a directory the run writes no files.
    public static func translation(steps: Int = 3000, outputDirectory: String? = nil) -> TrainingOptions {
        TrainingOptions(
            steps: steps, evaluateEvery: 500, logEvery: 100, learningRate: 1e-3, outputDirectory: outputDirectory)
    }
}
