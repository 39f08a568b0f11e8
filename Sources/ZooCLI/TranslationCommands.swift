import ArgumentParser
import Datasets
import EngineSupport
import Foundation
import RNNEngine
import Translation

/// The data of `zoo train/eval translation`: --data, or the built-in corpus.
private func loadParallelCorpus(_ path: String?) throws -> ParallelCorpus {
    try path.map { try ParallelCorpus.load(path: $0) } ?? DefaultParallelCorpus.load()
}

/// "skipped 3 lines: train.tsv line 12 (empty target), ...", or nil.
private func skippedReport(_ skipped: [SkippedLine]) -> String? {
    guard !skipped.isEmpty else { return nil }
    let shown = skipped.prefix(5).map { "\($0.path) line \($0.line) (\($0.reason))" }.joined(separator: ", ")
    return
        "skipped \(skipped.count) line\(skipped.count == 1 ? "" : "s") with an empty side: \(shown)\(skipped.count > 5 ? ", ..." : "")"
}

/// `zoo train translation`
struct TrainTranslation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translation", abstract: "Train an attentional encoder-decoder translation model.", aliases: ["mt"]
    )

    @OptionGroup var training: TrainingFlags<TranslationKind>
    @OptionGroup var model: ModelFlags<TranslationKind>
    @Option(help: "Attention score: dot, general or additive. (default: general)") var attention: String?
    @Flag(
        inversion: .prefixedNo,
        help: "A bidirectional encoder, half of --hidden-size per direction. (default: --bidirectional)")
    var bidirectional: Bool?
    @Flag(
        inversion: .prefixedNo,
        help: "Feed the previous attentional vector into the decoder's next input. (default: --input-feeding)")
    var inputFeeding: Bool?
    @Flag(
        inversion: .prefixedNo,
        help:
            "Tie the output layer to the target embedding (needs --embedding-size = --hidden-size). (default: --no-tied)"
    )
    var tied: Bool?
    @Option(parsing: .unconditional, help: "Label smoothing of the training loss. (default: 0.1)") var labelSmoothing:
        Float?
    @Option(help: "Subwords: none (words) or bpe (byte-pair encoding learned from the training split). (default: none)")
    var subword: String?
    @Option(parsing: .unconditional, help: "Byte-pair merges to learn, with --subword bpe. (default: 8000)") var merges:
        Int?
    @Flag(
        inversion: .prefixedNo,
        help: "One byte-pair encoding for both languages, or one per side. (default: --joint-bpe)")
    var jointBpe: Bool?
    @Option(
        parsing: .unconditional,
        help: "Tokens kept per language, most frequent first; the rest read as <unk>. (default: 50000)")
    var vocabularySize: Int?
    @Option(parsing: .unconditional, help: "Tokens seen fewer times in training read as <unk>. (default: 1)")
    var minFrequency: Int?
    @Option(
        parsing: .unconditional,
        help: "Training pairs with a side longer than this many tokens are left out. (default: 50)") var maxLength: Int?
    @Option(parsing: .unconditional, help: "Beam size for the test translations printed at the end.") var beam: Int = 5

    func validate() throws {
        if let attention, AttentionScore(rawValue: attention) == nil {
            throw ValidationError("--attention must be dot, general or additive, not '\(attention)'")
        }
        if let subword, SubwordKind(rawValue: subword) == nil {
            throw ValidationError("--subword must be none or bpe, not '\(subword)'")
        }
        if let merges, merges <= 0 { throw ValidationError("--merges must be positive") }
        if let vocabularySize, vocabularySize < 5 {
            throw ValidationError("--vocabulary-size must be at least 5 (4 special tokens and a word)")
        }
        if let minFrequency, minFrequency <= 0 { throw ValidationError("--min-frequency must be positive") }
        if let maxLength, maxLength <= 0 { throw ValidationError("--max-length must be positive") }
        if let labelSmoothing, !(labelSmoothing >= 0 && labelSmoothing < 1) {
            throw ValidationError("--label-smoothing must be in [0, 1)")
        }
        if beam <= 0 { throw ValidationError("--beam must be positive") }
        if merges != nil && subword != SubwordKind.bpe.rawValue {
            throw ValidationError("--merges needs --subword bpe")
        }
    }

    /// The run's settings: the flags, or on --resume the run's own (a contradicting flag is refused).
    func settings(_ resolver: RunSettingsResolver) throws -> (RunSettings, TrainingSchedule) {
        let defaults = TaskDefaults.translation
        let dry = training.dryRun
        var settings = RunSettings(task: TranslationNetwork.taskName)
        settings.data = try training.resolvedData(resolver)
        let tied = try resolver.value("--tied", self.tied, \.tied, default: false)
        settings.tied = tied
        try model.resolve(into: &settings, resolver: resolver, tied: tied, dryRun: dry)
        settings.bidirectional = try resolver.value("--bidirectional", bidirectional, \.bidirectional, default: true)
        settings.attention = try resolver.value(
            "--attention", attention, \.attention, default: AttentionScore.general.rawValue)
        settings.inputFeeding = try resolver.value("--input-feeding", inputFeeding, \.inputFeeding, default: true)
        settings.labelSmoothing = try resolver.value(
            "--label-smoothing", labelSmoothing, \.labelSmoothing, default: 0.1)
        settings.subword = try resolver.value("--subword", subword, \.subword, default: SubwordKind.none.rawValue)
        settings.merges = try resolver.value("--merges", merges, \.merges, default: 8000)
        settings.jointBpe = try resolver.value("--joint-bpe", jointBpe, \.jointBpe, default: true)
        settings.vocabularySize = try resolver.value(
            "--vocabulary-size", vocabularySize, \.vocabularySize, default: 50_000)
        settings.minFrequency = try resolver.value("--min-frequency", minFrequency, \.minFrequency, default: 1)
        settings.maxLength = try resolver.value("--max-length", maxLength, \.maxLength, default: 50)
        settings.batchSize = try resolver.value(
            "--batch-size", training.batchSize, \.batchSize, default: dry ? 8 : defaults.batchSize)
        let schedule = try training.resolveSchedule(into: &settings, resolver: resolver)
        return (settings, schedule)
    }

    func run() throws {
        let (settings, schedule) = try training.startRun(task: TranslationNetwork.taskName, settings)
        let corpus = try loadParallelCorpus(settings.data)
        if !training.json, let report = skippedReport(corpus.skipped) { print(report) }
        let vocabulary = VocabularySettings(
            subword: SubwordKind(rawValue: settings.subword ?? "") ?? .none, merges: settings.merges ?? 8000,
            jointMerges: settings.jointBpe ?? true, maximumSize: settings.vocabularySize ?? 50_000,
            minimumFrequency: settings.minFrequency ?? 1)
        let data = try TranslationData(corpus: corpus, vocabulary: vocabulary, maximumLength: settings.maxLength ?? 50)
        let config = TranslationConfig(
            cell: CellKind(name: settings.cell ?? "") ?? .lstm, embeddingSize: settings.embeddingSize ?? 0,
            hiddenSize: settings.hiddenSize ?? 0, layers: settings.layers ?? 1,
            bidirectional: settings.bidirectional ?? true,
            attention: AttentionScore(rawValue: settings.attention ?? "") ?? .general,
            inputFeeding: settings.inputFeeding ?? true,
            dropout: settings.dropout ?? 0, tied: settings.tied ?? false)
        var rng = RandomGenerator(seed: schedule.seed)
        let network = try TranslationNetwork(config: config, source: data.source, target: data.target, rng: &rng)
        let taskSettings = TranslationTrainingSettings(
            batchSize: settings.batchSize ?? 64, labelSmoothing: settings.labelSmoothing ?? 0,
            validationSentences: training.dryRun ? 10 : 2000)
        let task = try TranslationTrainingTask(
            network: network, data: data, settings: taskSettings, seed: schedule.seed)
        var options = training.trainingOptions(
            task: TranslationNetwork.taskName, stepsPerEpoch: task.stepsPerEpoch,
            schedule: schedule)
        options.runSettings = settings
        if !training.json {
            print(
                "translation model: \(config.cell.rawValue) \(config.layers)×\(config.hiddenSize)\(config.bidirectional ? " (bidirectional encoder)" : ""), "
                    + "\(config.attention.rawValue) attention\(config.inputFeeding ? ", input feeding" : ""), embedding \(config.embeddingSize), "
                    + "\(network.parameters.count) parameters")
            print(
                "data: \(data.trainSources.count) training pairs (\(task.stepsPerEpoch) steps per epoch), \(data.validSources.count) validation pairs; "
                    + "vocabularies \(data.source.vocabulary.count) source and \(data.target.vocabulary.count) target \(vocabulary.subword == .bpe ? "subwords" : "words")"
                    + (data.skippedTooLong > 0
                        ? "; \(data.skippedTooLong) pairs longer than --max-length left out" : ""))
        }
        let summary = try runTraining(Trainer(task: task, options: options, communicator: Ranks.communicator))
        // The test split is scored once, by rank 0.
        guard Ranks.isRoot else { return }
        // The test split, translated by the best checkpoint.
        let best = try bestNetwork(summary, trained: network, load: TranslationNetwork.load)
        let testPairs = training.dryRun ? Array(corpus.test.prefix(10)) : corpus.test
        let decoding = TranslationOptions(beamSize: beam)
        let testScore = try best.evaluate(testPairs, options: decoding)
        if training.json {
            try printJSON(TranslationRunReport(training: summary, test: testScore))
            return
        }
        printRunSummary(summary)
        print(
            String(
                format: "test (beam %d): BLEU %.2f | chrF %.2f | %d sentences", beam, testScore.bleu, testScore.chrf,
                testScore.sentences))
        let examples = Array(ReferenceSet(testPairs).sources.prefix(3))
        for (sentence, translations) in zip(examples, try best.translate(examples, options: decoding)) {
            print("  \(sentence)\n  → \(translations.first?.text ?? "")")
        }
    }
}

/// What `zoo train translation --json` prints last.
struct TranslationRunReport: Encodable {
    let training: TrainingSummary
    let test: TranslationScore
}

/// `zoo eval translation`
struct EvaluateTranslation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translation", abstract: "Translate a split and score it with BLEU and chrF.", aliases: ["mt"])

    @OptionGroup var evaluation: EvaluationFlags<TranslationKind>
    @Option(parsing: .unconditional, help: "Beam size; 1 is greedy decoding.") var beam: Int = 5
    @Option(parsing: .unconditional, help: "Score only the first N sentence pairs of the split. (default: all)")
    var limit: Int?

    func validate() throws {
        if beam <= 0 { throw ValidationError("--beam must be positive") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
    }

    func run() throws {
        let path = try evaluation.checkpointPath()
        let network = try TranslationNetwork.load(path: path)
        let source = try evaluation.evaluationData(checkpoint: path)
        let corpus = try loadParallelCorpus(source.path)
        let split = evaluation.splitOption.split
        let all = evaluation.splitOption.pick(valid: corpus.valid, test: corpus.test)
        let pairs = limit.map { Array(all.prefix($0)) } ?? all
        let score = try network.evaluate(pairs, options: TranslationOptions(beamSize: beam))
        if evaluation.json {
            try printJSON(score, adding: ["data": source.path ?? "built-in"])
        } else {
            print(source.line)
            var line = String(
                format: "%@ split (beam %d): BLEU %.2f | chrF %.2f | %d sentences", split, beam, score.bleu, score.chrf,
                score.sentences)
            if score.unknownSourceTokens > 0 { line += " | \(score.unknownSourceTokens) source tokens read as <unk>" }
            print(line)
        }
    }
}

/// `zoo translate`
struct TranslateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Translate sentences with a trained model (from the arguments, or one a line from stdin).")

    @Option(help: "Checkpoint. (default: runs/translation/best.safetensors)") var checkpoint: String?
    @Option(parsing: .unconditional, help: "Beam size; 1 is greedy decoding.") var beam: Int = 5
    @Option(parsing: .unconditional, help: "Print the K best translations of each sentence, with their scores.")
    var nBest: Int = 1
    @Option(
        help:
            "Write the attention of each translation as a PNG heat map (several sentences: OUT-1.png, OUT-2.png, ...).")
    var attentionMap: String?
    @OptionGroup var threads: ThreadsOption
    @Argument(help: "Sentences to translate. (default: read standard input, one sentence a line)") var text: [String] =
        []

    func validate() throws {
        if beam <= 0 { throw ValidationError("--beam must be positive") }
        if nBest <= 0 || nBest > beam { throw ValidationError("--n-best must be between 1 and --beam (\(beam))") }
    }

    func run() throws {
        threads.apply()
        let path = try resolveCheckpoint(checkpoint, for: .translation)
        let network = try TranslationNetwork.load(path: path)
        var sentences = text
        if sentences.isEmpty {
            while let line = readLine() { sentences.append(line) }
        }
        let results = try network.translate(sentences, options: TranslationOptions(beamSize: beam, nBest: nBest))
        for (index, translations) in results.enumerated() {
            if nBest == 1 {
                print(translations.first?.text ?? "")
            } else {
                for (rank, t) in translations.enumerated() {
                    print(String(format: "%d\t%.4f\t%@", rank + 1, t.score, t.text))
                }
            }
            let label = sentences.count == 1 ? "the sentence" : "sentence \(index + 1)"
            if let best = translations.first, best.sourceTokens.count > 0,
                2 * best.unknownSourceTokens >= best.sourceTokens.count
            {
                fflush(nil)
                FileHandle.standardError.write(
                    Data(
                        ("zoo: \(label): \(best.unknownSourceTokens) of its \(best.sourceTokens.count) source "
                            + "tokens are not in the model's vocabulary and were read as <unk>; the model translates the language and "
                            + "domain it was trained on\n").utf8))
            }
            if let attentionMap, let best = translations.first {
                let file = sentences.count == 1 ? attentionMap : numberedPath(attentionMap, index + 1)
                fflush(nil)  // the translation first, then where its map went
                if best.sourceTokens.isEmpty || best.targetTokens.isEmpty {
                    FileHandle.standardError.write(
                        Data("zoo: \(label) is empty: no attention map written to \(file)\n".utf8))
                    continue
                }
                try AttentionMapWriter.write(best, to: file)
                FileHandle.standardError.write(Data("zoo: attention map written to \(file)\n".utf8))
            }
        }
    }
}

/// `zoo data translation`
struct TranslationDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translation", abstract: "Write the built-in English–German corpus as train/valid/test.tsv.",
        aliases: ["mt"])
    @Option(help: "Directory to write into.") var out: String
    @Flag(help: "Replace train.tsv, valid.tsv and test.tsv if they exist.") var overwrite = false

    func run() throws {
        for path in try DefaultParallelCorpus.write(to: out, overwrite: overwrite) { print(path) }
    }
}
