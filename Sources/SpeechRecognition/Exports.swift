@_exported import EngineSupport
// `import SpeechRecognition` is enough to train and run a speech recogniser: the engine's types
// (TrainingOptions, Trainer, RandomGenerator, ...) come with it.
@_exported import RNNEngine
