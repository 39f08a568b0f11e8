import Foundation
import RNNEngine
import Synchronization

/// Utterances turned into what training reads: normalised log-mel features and label ids.
public struct SpeechData: @unchecked Sendable {
    public struct Split {
        /// (frames, melBins) per utterance: log-mel features as extracted, before normalisation.
        public var features: [Tensor]
        public var labels: [[Int32]]
        public var transcripts: [String]
        public var utterances: [Utterance]
    }
    public var train: Split
    public var valid: Split

    /// Reads and featurises every training and validation utterance (test is left to evaluation).
    public init(
        corpus: SpeechCorpus, alphabet: Alphabet, extractor: LogMelExtractor = LogMelExtractor(),
        progress: @Sendable (String) -> Void = { _ in }
    ) throws {
        train = try Self.load(corpus.train, alphabet: alphabet, extractor: extractor, progress: progress)
        valid = try Self.load(corpus.valid, alphabet: alphabet, extractor: extractor, progress: progress)
    }

    /// Reads and featurises utterances (a progress line every 500).
    public static func load(
        _ utterances: [Utterance], alphabet: Alphabet, extractor: LogMelExtractor = LogMelExtractor(),
        progress: @Sendable (String) -> Void = { _ in }
    ) throws -> Split {
        // Utterances are independent: two threads read and featurise them, in order.
        let done = Mutex(0)
        let features = try concurrentMap(count: utterances.count) { index -> Tensor in
            let utterance = utterances[index]
            let result: Tensor
            do {
                result = extractor.features(try AudioFile.read(path: utterance.audioPath))
            } catch {
                throw SpeechCorpusError.badAudio(origin: utterance.origin, reason: "\(error)")
            }
            let finished = done.withLock { value -> Int in
                value += 1
                return value
            }
            if finished % 500 == 0 { progress("features: \(finished)/\(utterances.count) utterances") }
            return result
        }
        var split = Split(features: [], labels: [], transcripts: [], utterances: utterances)
        for (index, utterance) in utterances.enumerated() {
            split.features.append(features[index])
            let text = alphabet.normalize(utterance.transcript).text
            split.labels.append(alphabet.ids(text))
            split.transcripts.append(text)
        }
        return split
    }
}

/// Settings of a speech run beyond the model's and the shared loop's.
public struct SpeechTrainingSettings: Codable, Sendable {
    public var batchSize: Int
    /// SpecAugment while training: this many frequency masks of up to `frequencyMaskWidth` bins
    /// and time masks of up to `timeMaskWidth` frames each (0 masks: off).
    public var frequencyMasks: Int, frequencyMaskWidth: Int
    public var timeMasks: Int, timeMaskWidth: Int
    /// An utterance whose transcript cannot fit its frames counts as zero loss instead of an error.
    public var zeroInfinity: Bool

    public init(
        batchSize: Int = 16, frequencyMasks: Int = 2, frequencyMaskWidth: Int = 15, timeMasks: Int = 2,
        timeMaskWidth: Int = 20, zeroInfinity: Bool = false
    ) {
        self.batchSize = batchSize
        self.frequencyMasks = frequencyMasks
        self.frequencyMaskWidth = frequencyMaskWidth
        self.timeMasks = timeMasks
        self.timeMaskWidth = timeMaskWidth
        self.zeroInfinity = zeroInfinity
    }
}

/// A padded batch of stacked frames: model input (T, B, features · stacking) and each length.
func stackedBatch(_ features: [Tensor], stacking k: Int) -> (input: Variable, lengths: [Int]) {
    let M = features[0].shape[1]
    let lengths = features.map { ($0.shape[0] + k - 1) / k }
    let T = lengths.max() ?? 1, B = features.count
    let input = Tensor(zeros: [T, B, M * k])
    for (b, utterance) in features.enumerated() {
        let frames = utterance.shape[0]
        for t in 0..<lengths[b] {
            let row = input.data + (t * B + b) * M * k
            for j in 0..<k where t * k + j < frames {
                (row + j * M).update(from: utterance.data + (t * k + j) * M, count: M)
            }
        }
    }
    return (Variable(input), lengths)
}

/// SpecAugment (Park et al. 2019) without time warping: random bands of mel bins and of frames
/// set to 0, the per-utterance mean after normalisation.
func specAugment(_ features: Tensor, settings: SpeechTrainingSettings, rng: inout RandomGenerator) -> Tensor {
    let F = features.shape[0], M = features.shape[1]
    let out = features.copy()
    for _ in 0..<settings.frequencyMasks where settings.frequencyMaskWidth > 0 {
        let width = rng.int(below: min(settings.frequencyMaskWidth, M) + 1), start = rng.int(below: M - width + 1)
        for f in 0..<F { (out.data + f * M + start).update(repeating: 0, count: width) }
    }
    for _ in 0..<settings.timeMasks where settings.timeMaskWidth > 0 {
        let width = rng.int(below: min(settings.timeMaskWidth, F / 5) + 1), start = rng.int(below: F - width + 1)
        (out.data + start * M).update(repeating: 0, count: width * M)
    }
    return out
}

extension SpeechNetwork {
    /// Transcripts of featurised utterances (log-mel, not yet normalised), decoded `batchSize` at
    /// a time: greedy (the best path) without `beam`, else CTC prefix beam search, with the
    /// scorer's language model fused in.
    public func transcribe(
        features: [Tensor], batchSize: Int = 16, beam: PrefixBeamOptions? = nil,
        scorer: (any PrefixScorer)? = nil
    ) throws -> [String] {
        try decode(normalized: features.map { normalize($0) }, batchSize: batchSize, beam: beam, scorer: scorer)
    }

    /// The same for features already normalised (what training holds).
    func decode(
        normalized features: [Tensor], batchSize: Int, beam: PrefixBeamOptions? = nil,
        scorer: (any PrefixScorer)? = nil
    ) throws -> [String] {
        var rng = RandomGenerator(seed: 0)
        // Longest first, so that finished utterances drop out of the recurrent products.
        let order = features.indices.sorted { features[$0].shape[0] > features[$1].shape[0] }
        var texts = [String](repeating: "", count: features.count)
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let items = Array(order[start..<min(start + batchSize, order.count)])
            let (input, lengths) = stackedBatch(items.map { features[$0] }, stacking: config.stacking)
            let logits = try self.logits(input, lengths: lengths, tape: Tape.inference(), rng: &rng)
            guard let beam else {
                for (item, path) in zip(items, SpeechNetwork.greedyPaths(logits.value, lengths: lengths)) {
                    texts[item] = config.alphabet.text(path)
                }
                continue
            }
            let logProbabilities = try logSoftmax(logits, axis: 2, tape: Tape.inference()).value
            let B = lengths.count, C = config.alphabet.classes
            for (b, item) in items.enumerated() {
                let frames = (0..<lengths[b]).map { t in
                    Array(UnsafeBufferPointer(start: logProbabilities.data + (t * B + b) * C, count: C))
                }
                texts[item] = try ctcPrefixBeamSearch(frames, alphabet: config.alphabet, options: beam, scorer: scorer)
            }
        }
        // A space emitted first or last is no part of the transcript (jiwer strips it too).
        return texts.map { $0.trimmingCharacters(in: .whitespaces) }
    }
}

/// CTC training: length-bucketed batches of utterances, SpecAugment, and the validation WER
/// (CER beside it) as the metric that picks the best checkpoint.
public final class SpeechTrainingTask: TrainingTask {
    public let network: SpeechNetwork
    public let data: SpeechData
    public let settings: SpeechTrainingSettings
    private var sampler: BucketedBatchSampler
    /// Data-parallel: each rank trains and validates its share of the utterances.
    private var group: DataParallelGroup?

    /// Measures global normalisation statistics on the training split when the model uses them
    /// (a resumed run loads its own), then keeps the features normalised.
    public init(network: SpeechNetwork, data: SpeechData, settings: SpeechTrainingSettings, seed: UInt64) throws {
        guard settings.batchSize > 0 else { throw TrainingError.invalid("--batch-size must be positive") }
        guard !data.train.features.isEmpty, !data.valid.features.isEmpty else {
            throw TrainingError.invalid("no training or validation utterance")
        }
        // Every utterance of both splits is checked before step 1: one that cannot fit used to
        // stop the run at its first validation.
        if !settings.zeroInfinity {
            for split in [data.train, data.valid] {
                for (index, features) in split.features.enumerated() {
                    let frames = (features.shape[0] + network.config.stacking - 1) / network.config.stacking
                    let needed = ctcFramesNeeded(split.labels[index])
                    if frames < needed {
                        throw Self.transcriptTooLong(
                            split.utterances[index], labels: split.labels[index].count, needed: needed, frames: frames)
                    }
                }
            }
        }
        if network.config.normalization == .global { network.fitNormalization(data.train.features) }
        self.network = network
        var normalized = data
        normalized.train.features = data.train.features.map { network.normalize($0) }
        normalized.valid.features = data.valid.features.map { network.normalize($0) }
        self.data = normalized
        self.settings = settings
        sampler = try BucketedBatchSampler(
            lengths: data.train.features.map { $0.shape[0] }, batchSize: settings.batchSize, seed: seed)
    }

    public var taskName: String { SpeechNetwork.taskName }
    public func checkCheckpointLoads(path: String) throws { _ = try SpeechNetwork.load(path: path) }
    public var lossUnit: String { "utterance" }
    public var parameters: ParameterStore { network.parameters }
    public var stepsPerEpoch: Int { sampler.batchesPerEpoch }
    public var checkpointMetadata: [String: String] { network.checkpointMetadata }

    /// The CTC loss of a batch; an utterance whose transcript cannot fit its frames is named.
    /// Data-parallel, the augmentation is drawn for the whole batch (as one process draws it)
    /// and the rank keeps its share (`group`'s shard of `indices`).
    func loss(_ indices: [Int], split: SpeechData.Split, augment: Bool, tape: Tape, rng: inout RandomGenerator) throws
        -> Variable
    {
        var features = indices.map {
            augment ? specAugment(split.features[$0], settings: settings, rng: &rng) : split.features[$0]
        }
        var indices = indices
        var local = rng
        if let group, augment {
            let share = group.communicator.batchRows(indices.count)
            features = share.map { features[$0] }
            indices = share.map { indices[$0] }
            local = group.localGenerator(from: rng)
        }
        let (input, lengths) = stackedBatch(features, stacking: network.config.stacking)
        let logits = try network.logits(input, lengths: lengths, tape: tape, rng: &local)
        if group == nil || !augment { rng = local }
        do {
            return try ctcLoss(
                logits, targets: indices.map { split.labels[$0] }, inputLengths: lengths,
                zeroInfinity: settings.zeroInfinity, tape: tape)
        } catch EngineError.ctcLabelsTooLong(let item, let labels, let needed, let frames) {
            throw Self.transcriptTooLong(
                split.utterances[indices[item]], labels: labels, needed: needed, frames: frames)
        }
    }

    static func transcriptTooLong(_ utterance: Utterance, labels: Int, needed: Int, frames: Int) -> TrainingError {
        .invalid(
            "\(utterance.origin): the transcript needs \(needed) model steps for its \(labels) characters but the audio gives \(frames); lower the stacking, or pass --zero-infinity to skip such utterances"
        )
    }

    public func trainingLoss(tape: Tape, rng: inout RandomGenerator) throws -> (loss: Variable, count: Int) {
        let batch = sampler.next()
        let count = group.map { $0.communicator.batchRows(batch.count).count } ?? batch.count
        guard count > 0 else {
            for index in batch { _ = specAugment(data.train.features[index], settings: settings, rng: &rng) }
            return DataParallelGroup.emptyShareLoss
        }
        return (try loss(batch, split: data.train, augment: true, tape: tape, rng: &rng), count)
    }

    /// Each rank takes its share of every batch's utterances (the CTC loss is a mean per
    /// utterance) and of the validation split. Batch normalisation, where the model has it,
    /// normalises each rank's share by its own statistics, as DistributedDataParallel does.
    public func joinDataParallel(_ group: DataParallelGroup) throws { self.group = group }

    public func validationLoss() throws -> Double {
        var rng = RandomGenerator(seed: 0)
        var sum = 0.0
        let communicator = group?.communicator ?? SingleProcess()
        let utterances = communicator.shard(data.valid.features.count)
        for start in stride(from: utterances.lowerBound, to: utterances.upperBound, by: settings.batchSize) {
            let indices = Array(start..<min(start + settings.batchSize, utterances.upperBound))
            sum +=
                Double(try loss(indices, split: data.valid, augment: false, tape: Tape.inference(), rng: &rng).value[0])
                * Double(indices.count)
        }
        return communicator.sum([sum])[0] / Double(data.valid.features.count)
    }

    public func metrics(forLoss loss: Double) -> [(String, Double)] { [] }

    /// WER (primary, percent) and CER of the validation split's greedy transcripts, then the loss.
    public func validate() throws -> ValidationResult {
        let communicator = group?.communicator ?? SingleProcess()
        let hypotheses = communicator.allGather(
            try network.decode(
                normalized: Array(data.valid.features[communicator.shard(data.valid.features.count)]),
                batchSize: settings.batchSize))
        let wer = wordErrorRate(hypotheses: hypotheses, references: data.valid.transcripts).rate * 100
        let cer = characterErrorRate(hypotheses: hypotheses, references: data.valid.transcripts).rate * 100
        return ValidationResult(
            metrics: [("wer", wer), ("cer", cer), ("loss", try validationLoss())], primary: "wer", higherIsBetter: false
        )
    }

    public func saveProgress() -> (tensors: [(String, Tensor)], metadata: [String: String]) {
        ([], sampler.progressMetadata)
    }

    public func restoreProgress(tensors: [String: Tensor], metadata: [String: String], path: String) throws {
        try sampler.restore(progressMetadata: metadata, path: path)
    }
}
