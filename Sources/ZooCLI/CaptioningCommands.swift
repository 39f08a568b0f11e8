import ArgumentParser
import Datasets
import EngineSupport
import Foundation
import ImageCaptioning
import RNNEngine

/// The data of `zoo train/eval captioning`: --data, or the built-in scenes (drawn into
/// runs/captioning-data the first time).
private func captionCorpus(_ path: String?, quiet: Bool) throws -> CaptionCorpus {
    if path == nil && !quiet
        && !FileManager.default.fileExists(atPath: DefaultCaptionCorpus.defaultDirectory + "/test.tsv")
    {
        print("drawing the built-in scenes into \(DefaultCaptionCorpus.defaultDirectory)")
        fflush(nil)
    }
    let corpus = try CaptionCorpus.load(path: try path ?? Ranks.oncePerHost { try DefaultCaptionCorpus.ensure() })
    if !quiet && !corpus.skipped.isEmpty {
        print(
            "skipped \(corpus.skipped.count) caption line\(corpus.skipped.count == 1 ? "" : "s") without a word: "
                + corpus.skipped.prefix(3).joined(separator: ", ") + (corpus.skipped.count > 3 ? ", ..." : ""))
    }
    return corpus
}

/// `zoo train captioning`
struct TrainCaptioning: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "captioning", abstract: "Train an image captioner (CNN encoder, attention LSTM decoder).",
        aliases: ["caption"])

    @OptionGroup var training: TrainingFlags<CaptioningKind>
    @Option(parsing: .unconditional, help: "Images are resized to N × N pixels. (default: 64)") var imageSize: Int?
    @Option(parsing: .unconditional, help: "Decoder LSTM units. (default: 256)") var hiddenSize: Int?
    @Option(parsing: .unconditional, help: "Word embedding size. (default: 128)") var embeddingSize: Int?
    @Option(parsing: .unconditional, help: "Width of the additive attention's hidden layer. (default: 256)")
    var attentionSize: Int?
    @Option(parsing: .unconditional, help: "Dropout before the output layer. (default: 0.3)") var dropout: Float?
    @Flag(inversion: .prefixedNo, help: "Batch normalisation after each convolution. (default: --no-batch-norm)")
    var batchNorm: Bool?
    @Option(parsing: .unconditional, help: "λ of the doubly stochastic attention penalty. (default: 1)")
    var attentionPenalty: Float?
    @Flag(
        inversion: .prefixedNo,
        help: "Mirror training images at random (it swaps left and right in what captions say). (default: --no-flip)")
    var flip: Bool?
    @Option(parsing: .unconditional, help: "Shift training images by up to N pixels at random. (default: 0)") var shift:
        Int?
    @Option(parsing: .unconditional, help: "Words seen fewer times in training read as <unk>. (default: 1)")
    var minFrequency: Int?
    @Option(parsing: .unconditional, help: "Training captions longer than N words are left out. (default: 40)")
    var maxLength: Int?
    @Option(parsing: .unconditional, help: "Beam size for the test captions printed at the end.") var beam: Int = 3

    func validate() throws {
        if let imageSize, imageSize < 8 { throw ValidationError("--image-size must be at least 8") }
        for (flag, value) in [
            ("--hidden-size", hiddenSize), ("--embedding-size", embeddingSize), ("--attention-size", attentionSize),
            ("--min-frequency", minFrequency), ("--max-length", maxLength)
        ] {
            if let value, value <= 0 { throw ValidationError("\(flag) must be positive") }
        }
        if let dropout, !(dropout >= 0 && dropout < 1) { throw ValidationError("--dropout must be in [0, 1)") }
        if let attentionPenalty, attentionPenalty < 0 {
            throw ValidationError("--attention-penalty must not be negative")
        }
        if let shift, shift < 0 { throw ValidationError("--shift must not be negative") }
        if beam <= 0 { throw ValidationError("--beam must be positive") }
    }

    func settings(_ resolver: RunSettingsResolver) throws -> (RunSettings, TrainingSchedule) {
        let defaults = TaskDefaults.captioning
        let dry = training.dryRun
        var settings = RunSettings(task: CaptionNetwork.taskName)
        settings.data = try training.resolvedData(resolver)
        settings.imageSize = try resolver.value("--image-size", imageSize, \.imageSize, default: dry ? 16 : 64)
        settings.hiddenSize = try resolver.value(
            "--hidden-size", hiddenSize, \.hiddenSize, default: dry ? 16 : defaults.hiddenSize)
        settings.embeddingSize = try resolver.value(
            "--embedding-size", embeddingSize, \.embeddingSize, default: dry ? 8 : defaults.embeddingSize)
        settings.attentionSize = try resolver.value(
            "--attention-size", attentionSize, \.attentionSize, default: dry ? 8 : 256)
        settings.dropout = try resolver.value("--dropout", dropout, \.dropout, default: 0.3)
        settings.batchNorm = try resolver.value("--batch-norm", batchNorm, \.batchNorm, default: false)
        settings.attentionPenalty = try resolver.value(
            "--attention-penalty", attentionPenalty, \.attentionPenalty, default: 1)
        settings.flip = try resolver.value("--flip", flip, \.flip, default: false)
        settings.shift = try resolver.value("--shift", shift, \.shift, default: 0)
        settings.minFrequency = try resolver.value("--min-frequency", minFrequency, \.minFrequency, default: 1)
        settings.maxLength = try resolver.value("--max-length", maxLength, \.maxLength, default: 40)
        settings.batchSize = try resolver.value(
            "--batch-size", training.batchSize, \.batchSize, default: dry ? 4 : defaults.batchSize)
        let schedule = try training.resolveSchedule(into: &settings, resolver: resolver)
        return (settings, schedule)
    }

    func run() throws {
        let (settings, schedule) = try training.startRun(task: CaptionNetwork.taskName, settings)
        var corpus = try captionCorpus(settings.data, quiet: training.json)
        if training.dryRun {
            corpus.train = Array(corpus.train.prefix(40))
            corpus.valid = Array(corpus.valid.prefix(8))
            corpus.test = Array(corpus.test.prefix(8))
        }
        let imageSize = settings.imageSize ?? 64
        let dry = training.dryRun
        // A dry run's tiny encoder has two blocks, the real one four: the real one's constraints
        // (the image size a multiple of 8) are checked in a dry run too.
        let fullChannels = [32, 64, 128, 256]
        try CaptionConfig(imageSize: imageSize, channels: fullChannels).validate()
        let config = CaptionConfig(
            imageSize: imageSize, channels: dry ? [4, 8] : fullChannels, batchNorm: settings.batchNorm ?? false,
            embeddingSize: settings.embeddingSize ?? 128, hiddenSize: settings.hiddenSize ?? 256,
            attentionSize: settings.attentionSize ?? 256, dropout: settings.dropout ?? 0.3,
            attentionPenalty: settings.attentionPenalty ?? 1)
        try config.validate()
        let data = try CaptionData(
            corpus: corpus, imageSize: imageSize, minimumFrequency: settings.minFrequency ?? 1,
            maximumLength: settings.maxLength ?? 40)
        var rng = RandomGenerator(seed: schedule.seed)
        let network = try CaptionNetwork(config: config, codec: data.codec, rng: &rng)
        let taskSettings = CaptionTrainingSettings(
            batchSize: settings.batchSize ?? 32, flip: settings.flip ?? false,
            shift: settings.shift ?? 0, validationImages: dry ? 8 : 1000)
        let task = try CaptionTrainingTask(network: network, data: data, settings: taskSettings, seed: schedule.seed)
        var options = training.trainingOptions(
            task: CaptionNetwork.taskName, stepsPerEpoch: task.stepsPerEpoch,
            schedule: schedule)
        options.runSettings = settings
        if !training.json {
            print(
                "captioning model: \(config.channels.count) convolution blocks (\(config.channels.map(String.init).joined(separator: "-"))) "
                    + "over \(imageSize)×\(imageSize) images → \(config.gridSize)×\(config.gridSize) grid, LSTM \(config.hiddenSize) with attention, "
                    + "\(network.parameters.count) parameters")
            print(
                "data: \(data.train.images.count) training images, \(data.pairs.count) captions (\(task.stepsPerEpoch) steps per epoch), "
                    + "\(data.valid.images.count) validation images; vocabulary \(data.codec.vocabulary.count) words"
                    + (data.skippedTooLong > 0
                        ? "; \(data.skippedTooLong) captions longer than --max-length left out" : ""))
        }
        let summary = try runTraining(Trainer(task: task, options: options, communicator: Ranks.communicator))
        // The test split is scored once, by rank 0.
        guard Ranks.isRoot else { return }
        let best = try bestNetwork(summary, trained: network, load: CaptionNetwork.load)
        let test = try ImageSet(corpus.test, preprocessor: best.preprocessor)
        let decoding = CaptionOptions(beamSize: beam)
        let score = try best.evaluate(test, options: decoding)
        if training.json {
            try printJSON(CaptionRunReport(training: summary, test: score))
            return
        }
        printRunSummary(summary)
        print(
            String(
                format: "test (beam %d): BLEU-4 %.2f | BLEU-1 %.2f | CIDEr-D %.3f | %d images", beam, score.bleu4,
                score.bleu1, score.cider, score.images))
        let examples = Array(test.entries.prefix(3))
        for (entry, caption) in zip(examples, try best.caption(images: Array(test.images.prefix(3)), options: decoding))
        {
            print("  \(entry.imagePath)\n  → \(caption.text)\n    (reference: \(entry.captions[0]))")
        }
    }
}

/// What `zoo train captioning --json` prints last.
struct CaptionRunReport: Encodable {
    let training: TrainingSummary
    let test: CaptionScore
}

/// `zoo eval captioning`
struct EvaluateCaptioning: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "captioning", abstract: "Caption a split and score it with BLEU-1…4 and CIDEr-D.",
        aliases: ["caption"])

    @OptionGroup var evaluation: EvaluationFlags<CaptioningKind>
    @Option(parsing: .unconditional, help: "Beam size; 1 is greedy decoding.") var beam: Int = 3
    @Option(parsing: .unconditional, help: "Score only the first N images of the split. (default: all)") var limit: Int?

    func validate() throws {
        if beam <= 0 { throw ValidationError("--beam must be positive") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
    }

    func run() throws {
        let path = try evaluation.checkpointPath()
        let network = try CaptionNetwork.load(path: path)
        let source = try evaluation.evaluationData(checkpoint: path)
        let corpus = try captionCorpus(source.path, quiet: evaluation.json)
        let all = evaluation.splitOption.pick(valid: corpus.valid, test: corpus.test)
        let images = try ImageSet(limit.map { Array(all.prefix($0)) } ?? all, preprocessor: network.preprocessor)
        let score = try network.evaluate(images, options: CaptionOptions(beamSize: beam))
        if evaluation.json {
            try printJSON(score, adding: ["data": source.path ?? "built-in"])
        } else {
            print(source.line)
            print(
                String(
                    format:
                        "%@ split (beam %d): BLEU-1 %.2f | BLEU-2 %.2f | BLEU-3 %.2f | BLEU-4 %.2f | CIDEr-D %.3f | %d images",
                    evaluation.splitOption.split, beam, score.bleu1, score.bleu2, score.bleu3, score.bleu4, score.cider,
                    score.images))
        }
    }
}

/// `zoo caption`
struct CaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption", abstract: "Caption PNG images with a trained model.")

    @Option(help: "Checkpoint. (default: runs/captioning/best.safetensors)") var checkpoint: String?
    @Option(parsing: .unconditional, help: "Beam size; 1 is greedy decoding.") var beam: Int = 3
    @Option(parsing: .unconditional, help: "Words at most per caption.") var maxLength: Int = 20
    @Option(
        help:
            "Write each caption's attention over its image as a PNG, one panel per word (several images: OUT-1.png, OUT-2.png, ...)."
    )
    var attentionMap: String?
    @OptionGroup var threads: ThreadsOption
    @Argument(help: "PNG images.") var images: [String]

    func validate() throws {
        if beam <= 0 { throw ValidationError("--beam must be positive") }
        if maxLength <= 0 { throw ValidationError("--max-length must be positive") }
        if images.isEmpty { throw ValidationError("give at least one PNG image") }
    }

    func run() throws {
        threads.apply()
        let path = try resolveCheckpoint(checkpoint, for: .captioning)
        let network = try CaptionNetwork.load(path: path)
        for (index, image) in images.enumerated() {
            let rgb = try RGBImage(pngFile: image)
            let caption = try network.caption(
                images: [network.preprocessor.resize(rgb)],
                options: CaptionOptions(beamSize: beam, maximumLength: maxLength))[0]
            print(images.count == 1 ? caption.text : "\(image)\t\(caption.text)")
            if let attentionMap {
                let file = images.count == 1 ? attentionMap : numberedPath(attentionMap, index + 1)
                try CaptionAttentionMap.image(caption, over: rgb).writePNG(to: file)
                fflush(nil)
                FileHandle.standardError.write(Data("zoo: attention map written to \(file)\n".utf8))
            }
        }
    }
}

/// `zoo data captioning`
struct CaptioningDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "captioning",
        abstract: "Draw the built-in scenes as PNG files with train/valid/test.tsv captions.", aliases: ["caption"])
    @Option(help: "Directory to write into.") var out: String
    @Option(parsing: .unconditional, help: "Training images (validation and test get a twentieth each, at least 5).")
    var images: Int = 6000
    @Flag(help: "Replace train.tsv, valid.tsv and test.tsv if they exist.") var overwrite = false

    func validate() throws {
        if images <= 0 { throw ValidationError("--images must be positive") }
    }

    func run() throws {
        for path in try DefaultCaptionCorpus.write(
            to: out, trainCount: images, heldOutCount: max(5, images / 20), overwrite: overwrite)
        {
            print(path)
        }
    }
}
