import ArgumentParser
import Datasets
import EngineSupport
import Foundation
import LanguageModel
import RNNEngine
import SpeechRecognition

/// --beam, --lm, --lm-weight and --word-bonus: how transcripts are decoded.
struct SpeechDecodingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Beam size of CTC prefix beam search; 1 is greedy decoding.") var beam: Int =
        1
    @Option(help: "A character language model (zoo train lm) fused into beam search. (default: none)") var lm: String?
    @Option(
        parsing: .unconditional, help: "Weight α of the language model's log-probability (with --lm). (default: 0.5)")
    var lmWeight: Double?
    @Option(parsing: .unconditional, help: "Bonus β added per word (with --lm). (default: 1)") var wordBonus: Double?

    func validate() throws {
        if beam <= 0 { throw ValidationError("--beam must be positive") }
        if lm != nil && beam == 1 { throw ValidationError("--lm needs beam search: pass --beam 8, for example") }
        if let lmWeight, !(lmWeight >= 0) { throw ValidationError("--lm-weight must not be negative") }
        if lm == nil && (lmWeight != nil || wordBonus != nil) {
            throw ValidationError(
                "--lm-weight and --word-bonus weigh a language model: pass one with --lm (and --beam)")
        }
    }

    /// The beam settings (nil: greedy) and the scorer of the language model, if any.
    func decoder(alphabet: Alphabet) throws -> (PrefixBeamOptions?, (any PrefixScorer)?) {
        guard beam > 1 else { return (nil, nil) }
        let scorer = try lm.map {
            try CharacterLanguageModelScorer(model: try LanguageModelNetwork.load(path: $0), symbols: alphabet.symbols)
        }
        return (
            PrefixBeamOptions(
                beamSize: beam, languageModelWeight: lmWeight ?? 0.5, wordBonus: scorer == nil ? 0 : wordBonus ?? 1),
            scorer
        )
    }
}

/// The data of `zoo train/eval speech`: --data, or the built-in espeak-ng corpus (synthesised
/// into runs/speech-data the first time).
private func speechCorpus(_ path: String?, quiet: Bool) throws -> SpeechCorpus {
    let directory =
        try path
        ?? Ranks.oncePerHost {
            try DefaultSpeechCorpus.ensure {
                if !quiet {
                    print("synthesising the built-in data: \($0)")
                    fflush(nil)
                }
            }
        }
    return try SpeechCorpus.load(path: directory)
}

/// "transcripts: 12 characters outside the alphabet dropped (first: train.tsv line 4: "5")", or nil.
func droppedCharactersReport(_ utterances: [Utterance], alphabet: Alphabet) -> String? {
    var total = 0
    var first: (String, Character)?
    for utterance in utterances {
        let dropped = alphabet.normalize(utterance.transcript).dropped
        guard dropped > 0 else { continue }
        total += dropped
        if first == nil,
            let character = utterance.transcript.lowercased().first(where: {
                alphabet.id(of: $0) == nil && !$0.isWhitespace && alphabet.normalize(String($0)).text.isEmpty
            })
        {
            first = (utterance.origin, character)
        }
    }
    guard total > 0 else { return nil }
    let example = first.map { " (first: \($0.0): \"\($0.1)\")" } ?? ""
    return "transcripts: \(total) characters outside the alphabet (a–z, apostrophe, space) dropped\(example)"
}

/// `zoo train speech`
struct TrainSpeech: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speech", abstract: "Train a CTC speech recogniser (log-mel features, bidirectional LSTM).",
        aliases: ["asr", "speech-recognition"])

    @OptionGroup var training: TrainingFlags<SpeechKind>
    @Option(help: "Recurrent cell: lstm or gru. (default: lstm)") var cell: String?
    @Option(parsing: .unconditional, help: "Hidden units per direction and layer. (default: 256)") var hiddenSize: Int?
    @Option(parsing: .unconditional, help: "Bidirectional recurrent layers. (default: 3)") var layers: Int?
    @Option(parsing: .unconditional, help: "Dropout between layers and before the output layer. (default: 0.1)")
    var dropout: Float?
    @Option(
        parsing: .unconditional,
        help: "Log-mel frames stacked into one model step (the step rate divides by it). (default: 3)")
    var stacking: Int?
    @Option(
        help:
            "Feature normalisation: utterance (each utterance to zero mean, unit variance) or global (statistics of the training split, kept in the checkpoint). (default: utterance)"
    )
    var normalization: String?
    @Flag(
        inversion: .prefixedNo, help: "SpecAugment frequency and time masks while training. (default: --spec-augment)")
    var specAugment: Bool?
    @Flag(
        help: "Count an utterance whose transcript cannot fit its audio as zero loss instead of stopping with its line."
    )
    var zeroInfinity = false

    func validate() throws {
        if let cell, ![CellKind.lstm, .gru].contains(CellKind(name: cell)) {
            throw ValidationError("--cell must be lstm or gru, not '\(cell)'")
        }
        if let hiddenSize, hiddenSize <= 0 { throw ValidationError("--hidden-size must be positive") }
        if let layers, layers <= 0 { throw ValidationError("--layers must be positive") }
        if let dropout, !(dropout >= 0 && dropout < 1) { throw ValidationError("--dropout must be in [0, 1)") }
        if let stacking, stacking <= 0 { throw ValidationError("--stacking must be positive") }
        if let normalization, FeatureNormalization(rawValue: normalization) == nil {
            throw ValidationError("--normalization must be utterance or global, not '\(normalization)'")
        }
    }

    func settings(_ resolver: RunSettingsResolver) throws -> (RunSettings, TrainingSchedule) {
        let defaults = TaskDefaults.speech
        let dry = training.dryRun
        var settings = RunSettings(task: SpeechNetwork.taskName)
        settings.data = try training.resolvedData(resolver)
        settings.cell = try resolver.value("--cell", cell, \.cell, default: CellKind.lstm.rawValue)
        settings.hiddenSize = try resolver.value(
            "--hidden-size", hiddenSize, \.hiddenSize, default: dry ? 16 : defaults.hiddenSize)
        settings.layers = try resolver.value("--layers", layers, \.layers, default: dry ? 1 : 3)
        settings.dropout = try resolver.value("--dropout", dropout, \.dropout, default: 0.1)
        settings.stacking = try resolver.value("--stacking", stacking, \.stacking, default: 3)
        settings.specAugment = try resolver.value("--spec-augment", specAugment, \.specAugment, default: true)
        settings.normalization = try resolver.value(
            "--normalization", normalization, \.normalization, default: FeatureNormalization.utterance.rawValue)
        settings.zeroInfinity = try resolver.value(
            "--zero-infinity", zeroInfinity ? true : nil, \.zeroInfinity, default: false)
        settings.batchSize = try resolver.value(
            "--batch-size", training.batchSize, \.batchSize, default: dry ? 4 : defaults.batchSize)
        let schedule = try training.resolveSchedule(into: &settings, resolver: resolver)
        return (settings, schedule)
    }

    func run() throws {
        let (settings, schedule) = try training.startRun(task: SpeechNetwork.taskName, settings)
        let corpus = try speechCorpus(settings.data, quiet: training.json)
        try corpus.checkAudio()
        let alphabet = Alphabet.english
        if !training.json, let report = droppedCharactersReport(corpus.train + corpus.valid, alphabet: alphabet) {
            print(report)
        }
        let data = try SpeechData(corpus: corpus, alphabet: alphabet) {
            if !training.json {
                print($0)
                fflush(nil)
            }
        }
        let config = SpeechConfig(
            cell: CellKind(name: settings.cell ?? "") ?? .lstm, stacking: settings.stacking ?? 3,
            hiddenSize: settings.hiddenSize ?? 0, layers: settings.layers ?? 1,
            dropout: settings.dropout ?? 0, alphabet: alphabet,
            normalization: FeatureNormalization(rawValue: settings.normalization ?? "") ?? .utterance)
        var rng = RandomGenerator(seed: schedule.seed)
        let network = try SpeechNetwork(config: config, rng: &rng)
        let augment = settings.specAugment ?? true
        let taskSettings = SpeechTrainingSettings(
            batchSize: settings.batchSize ?? 16, frequencyMasks: augment ? 2 : 0,
            timeMasks: augment ? 2 : 0, zeroInfinity: settings.zeroInfinity ?? false)
        let task = try SpeechTrainingTask(network: network, data: data, settings: taskSettings, seed: schedule.seed)
        var options = training.trainingOptions(
            task: SpeechNetwork.taskName, stepsPerEpoch: task.stepsPerEpoch,
            schedule: schedule)
        options.runSettings = settings
        if !training.json {
            print(
                "speech model: \(config.cell.rawValue) \(config.layers)×\(config.hiddenSize) bidirectional over \(config.features) log-mel × \(config.stacking) stacked, "
                    + "\(alphabet.classes) classes, \(network.parameters.count) parameters")
            print(
                "data: \(data.train.features.count) training utterances (\(task.stepsPerEpoch) steps per epoch), \(data.valid.features.count) validation utterances"
            )
        }
        let summary = try runTraining(Trainer(task: task, options: options, communicator: Ranks.communicator))
        // The test split is scored once, by rank 0.
        guard Ranks.isRoot else { return }
        let best = try bestNetwork(summary, trained: network, load: SpeechNetwork.load)
        let test = try SpeechEvaluation.score(
            best, utterances: training.dryRun ? Array(corpus.test.prefix(10)) : corpus.test)
        if training.json {
            try printJSON(SpeechRunReport(training: summary, test: test.score))
            return
        }
        printRunSummary(summary)
        print(
            String(
                format: "test (greedy): WER %.2f %% | CER %.2f %% | %d utterances", test.score.wer, test.score.cer,
                test.score.utterances))
        for (reference, hypothesis) in zip(test.references, test.hypotheses).prefix(3) {
            print("  \(reference)\n  → \(hypothesis)")
        }
    }
}

/// What `zoo eval speech --json` prints.
struct SpeechScore: Encodable {
    let wer: Double
    let cer: Double
    let utterances: Int
}

struct SpeechRunReport: Encodable {
    let training: TrainingSummary
    let test: SpeechScore
}

enum SpeechEvaluation {
    /// Transcripts of `utterances` scored against their normalised transcripts (percent).
    static func score(
        _ network: SpeechNetwork, utterances: [Utterance], beam: PrefixBeamOptions? = nil,
        scorer: (any PrefixScorer)? = nil
    ) throws
        -> (score: SpeechScore, hypotheses: [String], references: [String])
    {
        let split = try SpeechData.load(utterances, alphabet: network.config.alphabet)
        let hypotheses = try network.transcribe(features: split.features, beam: beam, scorer: scorer)
        let wer = wordErrorRate(hypotheses: hypotheses, references: split.transcripts).rate * 100
        let cer = characterErrorRate(hypotheses: hypotheses, references: split.transcripts).rate * 100
        return (SpeechScore(wer: wer, cer: cer, utterances: utterances.count), hypotheses, split.transcripts)
    }
}

/// `zoo eval speech`
struct EvaluateSpeech: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speech", abstract: "Transcribe a split and score it with WER and CER.",
        aliases: ["asr", "speech-recognition"])

    @OptionGroup var evaluation: EvaluationFlags<SpeechKind>
    @OptionGroup var decoding: SpeechDecodingOptions

    func run() throws {
        let path = try evaluation.checkpointPath()
        let network = try SpeechNetwork.load(path: path)
        let source = try evaluation.evaluationData(checkpoint: path)
        let corpus = try speechCorpus(source.path, quiet: evaluation.json)
        let split = evaluation.splitOption.split
        let utterances = evaluation.splitOption.pick(valid: corpus.valid, test: corpus.test)
        try SpeechCorpus(train: [], valid: [], test: utterances).checkAudio()
        let (beam, scorer) = try decoding.decoder(alphabet: network.config.alphabet)
        let result = try SpeechEvaluation.score(network, utterances: utterances, beam: beam, scorer: scorer)
        if evaluation.json {
            try printJSON(result.score, adding: ["data": source.path ?? "built-in"])
        } else {
            print(source.line)
            print(
                String(
                    format: "%@ split (%@): WER %.2f %% | CER %.2f %% | %d utterances", split,
                    decoding.beam == 1 ? "greedy" : "beam \(decoding.beam)",
                    result.score.wer, result.score.cer, result.score.utterances))
        }
    }
}

/// `zoo transcribe`
struct TranscribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe", abstract: "Transcribe audio files with a trained recogniser.")

    @Option(help: "Checkpoint. (default: runs/speech/best.safetensors)") var checkpoint: String?
    @OptionGroup var decoding: SpeechDecodingOptions
    @Option(
        help:
            "Write each file's log-mel spectrogram with the characters of the best path under it as a PNG (several files: OUT-1.png, OUT-2.png, ...)."
    )
    var plot: String?
    @OptionGroup var threads: ThreadsOption
    @Argument(help: "Audio files (any format libsndfile reads, any sample rate, any channel count).") var audio:
        [String]

    func validate() throws {
        if audio.isEmpty { throw ValidationError("give at least one audio file") }
    }

    func run() throws {
        threads.apply()
        let path = try resolveCheckpoint(checkpoint, for: .speech)
        let network = try SpeechNetwork.load(path: path)
        let (beam, scorer) = try decoding.decoder(alphabet: network.config.alphabet)
        // Several files: `path<TAB>transcript` a line, as `zoo caption` prints captions.
        for (file, text) in zip(audio, try network.transcribe(files: audio, beam: beam, scorer: scorer)) {
            print(audio.count == 1 ? text : file + "\t" + text)
        }
        guard let plot else { return }
        fflush(nil)
        for (index, file) in audio.enumerated() {
            let url = URL(fileURLWithPath: plot)
            let out =
                audio.count == 1
                ? plot
                : url.deletingPathExtension().path + "-\(index + 1)."
                    + (url.pathExtension.isEmpty ? "png" : url.pathExtension)
            try network.plotAlignment(
                of: try AudioFile.read(path: file), title: URL(fileURLWithPath: file).lastPathComponent, to: out)
            FileHandle.standardError.write(Data("zoo: spectrogram and alignment written to \(out)\n".utf8))
        }
    }
}

/// `zoo data speech`
struct SpeechDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speech", abstract: "Synthesise the built-in English speech data set with espeak-ng.",
        aliases: ["asr", "speech-recognition"])
    @Option(help: "Directory to write into.") var out: String
    @Option(
        parsing: .unconditional, help: "Training utterances; validation and test get a twentieth each (at least 5).")
    var utterances: Int = 3000
    @Flag(help: "Replace train.tsv, valid.tsv and test.tsv if they exist.") var overwrite = false

    func validate() throws {
        if utterances <= 0 { throw ValidationError("--utterances must be positive") }
    }

    func run() throws {
        let written = try DefaultSpeechCorpus.write(
            to: out, trainCount: utterances, heldOutCount: max(5, utterances / 20),
            overwrite: overwrite
        ) {
            print($0)
            fflush(nil)
        }
        for path in written { print(path) }
    }
}

/// `zoo tune <task>`
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune", abstract: "Tune decoding settings on the validation split.", subcommands: [TuneSpeech.self]
    )
}

/// `zoo tune speech`: a grid search of the language-model weight α and the word bonus β.
struct TuneSpeech: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speech", abstract: "Grid-search --lm-weight and --word-bonus on the validation split (WER).",
        aliases: ["asr", "speech-recognition"])

    @Option(help: "Checkpoint. (default: runs/speech/best.safetensors)") var checkpoint: String?
    @Option(help: "The character language model (zoo train lm) to fuse.") var lm: String
    @Option(
        help:
            "Data: a speech data directory. (default: the run's data, from run.json beside the checkpoint; else the built-in corpus)"
    ) var data: String?
    @Option(parsing: .unconditional, help: "Beam size of CTC prefix beam search.") var beam: Int = 8
    @OptionGroup var threads: ThreadsOption
    @Flag(help: "Print one JSON object a setting, then the best.") var json = false

    static let weights = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5]
    static let bonuses = [0.0, 0.5, 1.0, 2.0, 3.0]

    func validate() throws {
        if beam <= 1 { throw ValidationError("--beam must be at least 2") }
    }

    struct Trial: Encodable {
        let lmWeight: Double, wordBonus: Double, wer: Double, cer: Double
        enum CodingKeys: String, CodingKey {
            case lmWeight = "lm_weight"
            case wordBonus = "word_bonus"
            case wer, cer
        }
    }

    func run() throws {
        threads.apply()
        let path = try resolveCheckpoint(checkpoint, for: .speech)
        let network = try SpeechNetwork.load(path: path)
        let scorer = try CharacterLanguageModelScorer(
            model: try LanguageModelNetwork.load(path: lm), symbols: network.config.alphabet.symbols)
        let source = try EvaluationData(given: data, checkpoint: path)
        let corpus = try speechCorpus(source.path, quiet: json)
        if !json { print(source.line) }
        try SpeechCorpus(train: [], valid: corpus.valid, test: []).checkAudio()
        let split = try SpeechData.load(corpus.valid, alphabet: network.config.alphabet)
        var best: Trial?
        for weight in Self.weights {
            for bonus in Self.bonuses {
                let hypotheses = try network.transcribe(
                    features: split.features,
                    beam: PrefixBeamOptions(
                        beamSize: beam, languageModelWeight: weight, wordBonus: bonus), scorer: scorer)
                let trial = Trial(
                    lmWeight: weight, wordBonus: bonus,
                    wer: wordErrorRate(hypotheses: hypotheses, references: split.transcripts).rate * 100,
                    cer: characterErrorRate(hypotheses: hypotheses, references: split.transcripts).rate * 100)
                if json {
                    try printJSON(trial)
                } else {
                    print(
                        String(
                            format: "--lm-weight %.2f --word-bonus %.1f: WER %.2f %% | CER %.2f %%", weight, bonus,
                            trial.wer, trial.cer))
                    fflush(nil)
                }
                if best == nil || trial.wer < best!.wer { best = trial }
            }
        }
        guard let best else { return }
        if json {
            try printJSON(["best": best])
        } else {
            print(
                String(
                    format:
                        "best on the validation split (%d utterances): --lm-weight %.2f --word-bonus %.1f (WER %.2f %%)",
                    split.features.count, best.lmWeight, best.wordBonus, best.wer))
        }
    }
}
