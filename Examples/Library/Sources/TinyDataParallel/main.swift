// The tiny character LSTM of TinyLanguageModel, trained data-parallel: each rank of an
// `mpirun` job computes the gradient of its share of every batch and the ranks sum them
// (ZooMPI's MPICommunicator) before each step. Started alone it is a job of one rank, and
// it prints the same losses either way (to float-summation rounding):
//
//     swift build --package-path Examples/Library --product TinyDataParallel
//     mpirun -np 2 Examples/Library/.build/debug/TinyDataParallel
import Foundation
import LanguageModel
import ZooMPI

let communicator = MPICommunicator()  // MPI_Init; every rank runs this same program
let sentences = "the cat sat on the mat. the dog sat on the log. a cat and a dog sat on a mat.\n"
let corpus = try Corpus(
    text: CorpusText.split(String(repeating: sentences, count: 60), source: "example"),
    tokenization: .char)
var rng = RandomGenerator(seed: 1)  // the same seed everywhere; rank 0's weights are broadcast anyway
let network = try LanguageModelNetwork(
    config: LanguageModelConfig(embeddingSize: 16, hiddenSize: 64),
    vocabulary: corpus.vocabulary, rng: &rng)
let task = try LanguageModelTrainingTask(
    network: network, corpus: corpus,
    settings: LanguageModelTrainingSettings(batchSize: 8, bptt: 32))  // the global batch: 8 streams in all

var options = TrainingOptions.languageModel(steps: 150)
options.evaluateEvery = 50
options.learningRate = 0.01
let trainer = Trainer(task: task, options: options, communicator: communicator)
trainer.onEvent = { event in  // rank 0 alone hears the events
    if case .validation(let step, let metrics, _) = event, let loss = metrics.first(where: { $0.name == "loss" }) {
        print(String(format: "step %3d: validation loss %.4f nats/char", step, loss.value))
    }
}
let summary = try trainer.run()
let uniform = log(Double(corpus.vocabulary.count))
if communicator.rank == 0 {
    print("trained on \(communicator.size) rank(s)")
}
communicator.finish()
guard let best = summary.bestValidationScore, best < 0.5 * uniform else {
    print("the validation loss did not fall below half of \(uniform) nats: \(summary.bestValidationScore ?? .nan)")
    exit(1)
}
