@_exported import EngineSupport
// The engine types this library's API takes and returns (RandomGenerator, TrainingOptions,
// Trainer, SamplingOptions, ...) come with `import LanguageModel`: a user needs no second import.
@_exported import RNNEngine
