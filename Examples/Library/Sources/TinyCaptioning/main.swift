// Draws a few hundred of the built-in scenes, trains a small captioner on them and captions a
// test image: RNN Zoo as a library, with `import ImageCaptioning` alone.
//
//     swift run --package-path Examples/Library TinyCaptioning
import Datasets
import Foundation
import ImageCaptioning

let directory = NSTemporaryDirectory() + "tiny-captioning-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: directory) }
_ = try DefaultCaptionCorpus.write(to: directory, trainCount: 300, heldOutCount: 20)
let corpus = try CaptionCorpus.load(path: directory)  // train.tsv, valid.tsv, test.tsv
let data = try CaptionData(corpus: corpus, imageSize: 32)  // every PNG decoded and resized once
var rng = RandomGenerator(seed: 1)
let config = CaptionConfig(
    imageSize: 32, channels: [16, 32, 64], embeddingSize: 32, hiddenSize: 64, attentionSize: 32,
    dropout: 0, attentionPenalty: 0.1)
let network = try CaptionNetwork(config: config, codec: data.codec, rng: &rng)
let task = try CaptionTrainingTask(
    network: network, data: data, settings: CaptionTrainingSettings(batchSize: 32), seed: 1)
let trainer = Trainer(
    task: task, options: TrainingOptions(steps: 150, evaluateEvery: 50, logEvery: 50, learningRate: 5e-3))
trainer.onEvent = { event in
    if case .validation(let step, let metrics, _) = event, let bleu = metrics.first(where: { $0.name == "bleu1" }) {
        print(String(format: "step %3d: validation BLEU-1 %.1f", step, bleu.value))
    }
}
_ = try trainer.run()
let test = corpus.test[0]
let caption = try network.caption(pngFiles: [test.imagePath], options: CaptionOptions(beamSize: 3))[0]
print("\(test.imagePath): \(caption.text)\n  (reference: \(test.captions[0]))")
let score = try network.evaluate(try ImageSet(corpus.test, preprocessor: network.preprocessor))
guard score.bleu1 > 30 else {
    print("test BLEU-1 stayed at \(score.bleu1)")
    exit(1)
}
