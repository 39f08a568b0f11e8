import ArgumentParser
import Datasets
import EngineSupport
import Foundation
import LanguageModel
import RNNEngine

/// `zoo train lm`
struct TrainLanguageModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "language-model", abstract: "Train a character- or word-level RNN language model.",
        aliases: ["lm"])

    @OptionGroup var training: TrainingFlags<LanguageModelKind>
    @OptionGroup var model: ModelFlags<LanguageModelKind>
    @Option(help: "Tokens: char (Unicode characters) or word (whitespace-separated, <eos> per line). (default: char)")
    var tokens: String?
    @Option(
        parsing: .unconditional,
        help:
            "Timesteps per batch, for truncated backpropagation through time. (default: \(TaskDefaults.languageModelBPTT))"
    ) var bptt: Int?
    @Flag(
        inversion: .prefixedNo,
        help:
            "Tie the output layer's weights to the embedding (needs --embedding-size = --hidden-size). (default: --no-tied)"
    )
    var tied: Bool?

    func validate() throws {
        if let tokens, Tokenization(rawValue: tokens) == nil {
            throw ValidationError("--tokens must be char or word, not '\(tokens)'")
        }
        if let bptt, bptt <= 0 { throw ValidationError("--bptt must be positive") }
    }

    /// The run's settings: the flags, or on --resume the run's own (a contradicting flag is refused).
    func settings(_ resolver: RunSettingsResolver) throws -> (RunSettings, TrainingSchedule) {
        let defaults = TaskDefaults.languageModel
        var settings = RunSettings(task: LanguageModelNetwork.taskName)
        settings.data = try training.resolvedData(resolver)
        settings.tokens = try resolver.value("--tokens", tokens, \.tokens, default: Tokenization.char.rawValue)
        let tied = try resolver.value("--tied", self.tied, \.tied, default: false)
        settings.tied = tied
        let dry = training.dryRun
        try model.resolve(into: &settings, resolver: resolver, tied: tied, dryRun: dry)
        settings.batchSize = try resolver.value(
            "--batch-size", training.batchSize, \.batchSize, default: dry ? 4 : defaults.batchSize)
        settings.bptt = try resolver.value("--bptt", bptt, \.bptt, default: dry ? 16 : TaskDefaults.languageModelBPTT)
        let schedule = try training.resolveSchedule(into: &settings, resolver: resolver)
        return (settings, schedule)
    }

    func run() throws {
        let (settings, schedule) = try training.startRun(task: LanguageModelNetwork.taskName, settings)
        let tokenization = Tokenization(rawValue: settings.tokens ?? "") ?? .char
        let text = try settings.data.map { try CorpusText.load(path: $0) } ?? DefaultCorpus.load()
        let corpus = try Corpus(text: text, tokenization: tokenization)
        let config = LanguageModelConfig(
            cell: CellKind(name: settings.cell ?? "") ?? .lstm, embeddingSize: settings.embeddingSize ?? 0,
            hiddenSize: settings.hiddenSize ?? 0, layers: settings.layers ?? 1, tokens: tokenization,
            tied: settings.tied ?? false, dropout: settings.dropout ?? 0)
        var rng = RandomGenerator(seed: schedule.seed)
        let network = try LanguageModelNetwork(config: config, vocabulary: corpus.vocabulary, rng: &rng)
        let task = try LanguageModelTrainingTask(
            network: network, corpus: corpus,
            settings: LanguageModelTrainingSettings(batchSize: settings.batchSize ?? 1, bptt: settings.bptt ?? 1))
        var options = training.trainingOptions(
            task: LanguageModelNetwork.taskName, stepsPerEpoch: task.stepsPerEpoch,
            schedule: schedule)
        options.runSettings = settings
        if !training.json {
            print(
                "language model: \(config.cell.rawValue) \(config.layers)×\(config.hiddenSize), embedding \(config.embeddingSize), "
                    + "\(corpus.vocabulary.count) \(tokenization.rawValue) tokens, \(network.parameters.count) parameters"
            )
            print(
                "data: \(corpus.train.count) training tokens (\(task.stepsPerEpoch) steps per epoch), \(corpus.valid.count) validation tokens"
            )
        }
        let summary = try runTraining(Trainer(task: task, options: options, communicator: Ranks.communicator))
        if training.json {
            try printJSON(summary)
        } else {
            printRunSummary(summary, digits: 4)
        }
    }
}

/// `zoo eval lm`
struct EvaluateLanguageModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "language-model", abstract: "Score a language model on a split, as one stream.", aliases: ["lm"])

    @OptionGroup var evaluation: EvaluationFlags<LanguageModelKind>

    func run() throws {
        let path = try evaluation.checkpointPath()
        let network = try LanguageModelNetwork.load(path: path)
        let source = try evaluation.evaluationData(checkpoint: path)
        let text = try source.path.map { try CorpusText.load(path: $0) } ?? DefaultCorpus.load()
        let split = evaluation.splitOption.split
        let score = try network.score(text: evaluation.splitOption.pick(valid: text.valid, test: text.test))
        guard score.tokens > 0 else {
            throw RunError(
                "\(evaluation.splitOption.pick(valid: text.validSource, test: text.testSource)): the \(split) split has no token the model can score (it needs two, in the model's vocabulary)"
            )
        }
        if evaluation.json {
            try printJSON(score, adding: ["data": source.path ?? "built-in"])
        } else {
            print(source.line)
            var line = String(
                format: "%@ split: loss %.4f nats/token | perplexity %.2f | %.4f bits/token", split,
                score.loss, score.perplexity, score.bitsPerToken)
            if let bpc = score.bitsPerChar { line += String(format: " | %.4f bits/char", bpc) }
            line += " | \(score.tokens) tokens"
            if score.unknown > 0 { line += " | \(score.unknown) unknown dropped" }
            if score.mappedToUnknown > 0 { line += " | \(score.mappedToUnknown) scored as <unk>" }
            print(line)
        }
    }
}

/// `zoo sample`
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Generate text with a language model.")

    @Option(help: "Checkpoint. (default: runs/language-model/best.safetensors)") var checkpoint: String?
    @Option(help: "Text that primes the model. (default: none)") var prompt: String = ""
    @Option(parsing: .unconditional, help: "Tokens to generate.") var length: Int = 200
    @Option(parsing: .unconditional, help: "Sampling temperature; 0 is greedy.") var temperature: Float = 0.8
    @Option(parsing: .unconditional, help: "Sample among the K most likely tokens. (default: all)") var topK: Int?
    @Option(
        parsing: .unconditional,
        help: "Sample among the most likely tokens whose probabilities sum to P. (default: 1, all)") var topP: Float?
    @Option(parsing: .unconditional, help: "Random seed.") var seed: UInt64 = 1
    @OptionGroup var threads: ThreadsOption

    func validate() throws {
        if length < 0 { throw ValidationError("--length must not be negative") }
        if temperature < 0 { throw ValidationError("--temperature must not be negative") }
        if let topK, topK <= 0 { throw ValidationError("--top-k must be positive") }
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
    }

    func run() throws {
        threads.apply()
        let path = try resolveCheckpoint(checkpoint, for: .languageModel)
        let network = try LanguageModelNetwork.load(path: path)
        var rng = RandomGenerator(seed: seed)
        // Checked before the prompt is echoed: a prompt the model cannot read at all is an
        // error, one it reads in part a warning naming what it leaves out.
        let unknown = network.unknownPromptTokens(prompt)
        let readable = network.config.tokens.tokens(prompt).count - unknown.count
        if !unknown.isEmpty {
            let shown = Array(Set(unknown)).sorted().prefix(10).map { $0 == "\n" ? "\\n" : $0 }.joined(separator: " ")
            let what =
                "\(unknown.count) of the prompt's \(network.config.tokens == .word ? "words" : "characters") (\(shown)) are not in the model's vocabulary"
            if readable == 0 && prompt.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) {
                throw RunError(
                    "the model knows none of the prompt's \(network.config.tokens == .word ? "words" : "characters") (\(shown)): "
                        + "its vocabulary is that of the text it was trained on")
            }
            FileHandle.standardError.write(Data("zoo: \(what) and are left out\n".utf8))
        }
        // Word models generate whole words: keep a space between the prompt and the first one.
        let separator =
            network.config.tokens == .word && !prompt.isEmpty && !(prompt.last?.isWhitespace ?? true) ? " " : ""
        let output = FileHandle.standardOutput
        output.write(Data((prompt + separator).utf8))
        // Each token is written as it comes: a long sample shows progress, and Ctrl-C keeps what came.
        _ = try network.generate(
            prompt: prompt, length: length,
            sampling: SamplingOptions(temperature: temperature, topK: topK, topP: topP), rng: &rng
        ) {
            output.write(Data($0.utf8))
        }
        output.write(Data("\n".utf8))
    }
}

/// `zoo data lm`
struct LanguageModelData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "language-model", abstract: "Write the built-in corpus as train/valid/test.txt.", aliases: ["lm"])
    @Option(help: "Directory to write into.") var out: String
    @Flag(help: "Replace train.txt, valid.txt and test.txt if they exist.") var overwrite = false

    func run() throws {
        for path in try DefaultCorpus.write(to: out, overwrite: overwrite) { print(path) }
    }
}
