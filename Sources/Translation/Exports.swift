@_exported import EngineSupport
// `import Translation` is enough to train and run a translation model: the engine's types
// (TrainingOptions, Trainer, RandomGenerator, ...) come with it.
@_exported import RNNEngine
