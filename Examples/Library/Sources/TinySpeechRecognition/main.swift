// Synthesises a little English with espeak-ng, trains a small CTC recogniser on it for a few
// dozen steps and transcribes one test file: RNN Zoo as a library, with
// `import SpeechRecognition` alone. Too short a run to transcribe well; it shows the calls.
//
//     swift run --package-path Examples/Library TinySpeechRecognition
import Datasets
import Foundation
import SpeechRecognition

let directory = NSTemporaryDirectory() + "tiny-speech-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: directory) }
_ = try DefaultSpeechCorpus.write(to: directory, trainCount: 80, heldOutCount: 8)  // needs espeak-ng
let corpus = try SpeechCorpus.load(path: directory)  // train.tsv, valid.tsv, test.tsv
let data = try SpeechData(corpus: corpus, alphabet: .english)  // log-mel features of every utterance
var rng = RandomGenerator(seed: 1)
let network = try SpeechNetwork(config: SpeechConfig(hiddenSize: 64, layers: 2), rng: &rng)
let task = try SpeechTrainingTask(network: network, data: data, settings: SpeechTrainingSettings(batchSize: 8), seed: 1)
let options = TrainingOptions(steps: 40, evaluateEvery: 20, logEvery: 10, learningRate: 3e-3)  // writes no files
var losses: [Double] = []
let trainer = Trainer(task: task, options: options)
trainer.onEvent = { event in
    if case .progress(_, let loss, _, _, _, _) = event { losses.append(loss) }
}
_ = try trainer.run()
let file = corpus.test[0].audioPath
print("\(corpus.test[0].transcript) → \(try network.transcribe(files: [file])[0])")
print(String(format: "CTC loss per utterance: %.2f → %.2f", losses.first ?? .nan, losses.last ?? .nan))
guard let first = losses.first, let last = losses.last, last < first else { exit(1) }
