import ArgumentParser

/// `zoo train <task>`
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a model.",
        subcommands: [TrainLanguageModel.self, TrainTranslation.self, TrainSpeech.self, TrainCaptioning.self])
}

/// `zoo eval <task>`
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate a checkpoint.",
        subcommands: [
            EvaluateLanguageModel.self, EvaluateTranslation.self, EvaluateSpeech.self, EvaluateCaptioning.self
        ])
}

/// `zoo data <task>`
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Write a task's built-in data set in its documented format.",
        subcommands: [
            LanguageModelData.self, TranslationDataCommand.self, SpeechDataCommand.self, CaptioningDataCommand.self
        ])
}
