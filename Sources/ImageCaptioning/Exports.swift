@_exported import EngineSupport
// `import ImageCaptioning` is enough to train and run a captioner: the engine's types
// (TrainingOptions, Trainer, RandomGenerator, ...) come with it.
@_exported import RNNEngine
