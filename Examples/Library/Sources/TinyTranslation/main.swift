// Trains a tiny translator from pairs made here (English → the same words reversed and
// capitalised), then translates a sentence it never saw: RNN Zoo as a library, with
// `import Translation` alone and no files written.
//
//     swift run --package-path Examples/Library TinyTranslation
import Foundation
import Translation

let words = ["red", "cat", "sees", "a", "big", "dog", "the", "house", "runs", "home"]
var rng = RandomGenerator(seed: 3)
var pairs: [SentencePair] = []
for _ in 0..<600 {
    let sentence = (0..<(3 + rng.int(below: 4))).map { _ in words[rng.int(below: words.count)] }
    pairs.append(
        SentencePair(
            source: sentence.joined(separator: " ") + ".",
            target: sentence.reversed().map { $0.uppercased() }.joined(separator: " ") + "."))
}
let corpus = ParallelCorpus.split(pairs, source: "example pairs")  // 90/5/5 by a hash of the source
let data = try TranslationData(corpus: corpus, vocabulary: VocabularySettings(), maximumLength: 20)
let network = try TranslationNetwork(
    config: TranslationConfig(embeddingSize: 32, hiddenSize: 64, dropout: 0),
    source: data.source, target: data.target, rng: &rng)
let task = try TranslationTrainingTask(
    network: network, data: data,
    settings: TranslationTrainingSettings(batchSize: 32, labelSmoothing: 0), seed: 1)
var options = TrainingOptions.translation(steps: 300)  // no output directory: nothing is written
options.evaluateEvery = 100
options.learningRate = 0.005
let trainer = Trainer(task: task, options: options)
trainer.onEvent = { event in
    if case .validation(let step, let metrics, _) = event, let bleu = metrics.first(where: { $0.name == "bleu" }) {
        print(String(format: "step %3d: validation BLEU %.1f", step, bleu.value))
    }
}
let summary = try trainer.run()

let sentence = "the big dog runs home."
let best = try network.translate([sentence], options: TranslationOptions(beamSize: 3))[0][0]
print("\(sentence) → \(best.text)")
guard let bleu = summary.bestValidationScore, bleu > 50 else {
    print("validation BLEU stayed at \(summary.bestValidationScore ?? .nan)")
    exit(1)
}
