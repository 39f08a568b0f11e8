// Trains a tiny character LSTM on a few sentences, then lets it write: RNN Zoo as a library.
//
//     swift run --package-path Examples/TinyLanguageModel
import Foundation
import LanguageModel

let sentences = "the cat sat on the mat. the dog sat on the log. a cat and a dog sat on a mat.\n"
let corpus = try Corpus(text: CorpusText.split(String(repeating: sentences, count: 60), source: "example"),
                        tokenization: .char)
var rng = RandomGenerator(seed: 1)
let network = try LanguageModelNetwork(
    config: LanguageModelConfig(cell: .lstm, embeddingSize: 16, hiddenSize: 64, tokens: .char),
    vocabulary: corpus.vocabulary, rng: &rng)
let task = try LanguageModelTrainingTask(network: network, corpus: corpus,
                                         settings: LanguageModelTrainingSettings(batchSize: 8, bptt: 32))

let runDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-lm-\(UUID().uuidString)").path
defer { try? FileManager.default.removeItem(atPath: runDirectory) }
let options = TrainingOptions(steps: 150, evaluateEvery: 50, logEvery: 50, learningRate: 0.01, outputDirectory: runDirectory)
let trainer = Trainer(task: task, options: options)
let summary = try trainer.run()

let text = try network.generate(prompt: "the ", length: 60, sampling: SamplingOptions(temperature: 0.5), rng: &rng)
print("sample: the \(text)")
// A model that learned nothing scores log(vocabulary size) nats per character.
let uniform = log(Double(corpus.vocabulary.count))
guard let best = summary.bestValidationScore, best < 0.5 * uniform else {
    print("the validation loss did not fall below half of \(uniform) nats: \(summary.bestValidationScore ?? .nan)")
    exit(1)
}
print(String(format: "validation loss %.3f nats/char (a uniform guess: %.3f)", best, uniform))
