// Trains a tiny character LSTM on a few sentences, then lets it write: RNN Zoo as a library,
// with `import LanguageModel` alone, no files written and progress shown its own way.
//
//     swift run --package-path Examples/Library TinyLanguageModel
import Foundation
import LanguageModel

let sentences = "the cat sat on the mat. the dog sat on the log. a cat and a dog sat on a mat.\n"
let corpus = try Corpus(
    text: CorpusText.split(String(repeating: sentences, count: 60), source: "example"),
    tokenization: .char)
var rng = RandomGenerator(seed: 1)
let network = try LanguageModelNetwork(
    config: LanguageModelConfig(embeddingSize: 16, hiddenSize: 64),
    vocabulary: corpus.vocabulary, rng: &rng)
let task = try LanguageModelTrainingTask(
    network: network, corpus: corpus,
    settings: LanguageModelTrainingSettings(batchSize: 8, bptt: 32))

var options = TrainingOptions.languageModel(steps: 150)  // no output directory: nothing is written
options.evaluateEvery = 50
options.learningRate = 0.01
let trainer = Trainer(task: task, options: options)
trainer.onEvent = { event in
    if case .validation(let step, let metrics, _) = event, let loss = metrics.first(where: { $0.name == "loss" }) {
        print(String(format: "step %3d: validation loss %.3f nats/char", step, loss.value))
    }
}
let summary = try trainer.run()

print("sample: the ", terminator: "")
_ = try network.generate(prompt: "the ", length: 60, sampling: SamplingOptions(temperature: 0.5), rng: &rng) {
    print($0, terminator: "")  // tokens as they come
}
print()
// A model that learned nothing scores log(vocabulary size) nats per character.
let uniform = log(Double(corpus.vocabulary.count))
guard let best = summary.bestValidationScore, best < 0.5 * uniform else {
    print("the validation loss did not fall below half of \(uniform) nats: \(summary.bestValidationScore ?? .nan)")
    exit(1)
}
print(String(format: "best validation loss %.3f nats/char (a uniform guess: %.3f)", best, uniform))
