import Foundation
import SpeechRecognition
import TestSupport
import XCTest

/// "Speech" where each letter is a tone: a, b and c at 500, 1500 and 3000 Hz, 80–120 ms each,
/// with 40 ms of silence between letters. A recogniser must learn to read the tones in order.
final class SpeechTrainingTests: TemporaryDirectoryTestCase {
    func writeToneCorpus(count: Int) throws {
        var rng = RandomGenerator(seed: 4)
        let frequencies: [Character: Double] = ["a": 500, "b": 1500, "c": 3000]
        var lines: [[String]] = [[], [], []]
        for k in 0..<count {
            let text = String((0..<(2 + rng.int(below: 3))).map { _ in "abc".randomElement(using: &rng)! })
            var samples: [Float] = []
            for letter in text {
                samples += tone(frequencies[letter]!, seconds: 0.08 + 0.04 * rng.uniformDouble(), rate: 16_000)
                samples += [Float](repeating: 0, count: 640)
            }
            for i in samples.indices { samples[i] += 0.01 * (rng.uniform() - 0.5) }  // a little noise
            let name = "u\(k).wav"
            try AudioFile.write(samples, sampleRate: 16_000, format: .wav16, to: directory + "/" + name)
            lines[k % 10 == 0 ? 1 : k % 10 == 1 ? 2 : 0].append("\(name)\t\(text.uppercased())")
        }
        for (file, split) in zip(["train.tsv", "valid.tsv", "test.tsv"], lines) {
            try Data((split.joined(separator: "\n") + "\n").utf8).write(
                to: URL(fileURLWithPath: directory + "/" + file))
        }
    }

    func testSmokeTrainingLearnsToReadTones() throws {
        try writeToneCorpus(count: 200)
        let corpus = try SpeechCorpus.load(path: directory)
        try corpus.checkAudio()
        let alphabet = Alphabet(symbols: Array("abc"))
        let data = try SpeechData(corpus: corpus, alphabet: alphabet)
        var rng = RandomGenerator(seed: 1)
        let network = try SpeechNetwork(
            config: SpeechConfig(hiddenSize: 32, layers: 1, dropout: 0, alphabet: alphabet), rng: &rng)
        let task = try SpeechTrainingTask(
            network: network, data: data, settings: SpeechTrainingSettings(batchSize: 16), seed: 1)
        let before = try task.validate()
        var options = TrainingOptions(steps: 200, evaluateEvery: 200, logEvery: 200, learningRate: 5e-3)
        options.clipNorm = 5
        let summary = try Trainer(task: task, options: options).run()
        let after = try task.validate()
        XCTAssertEqual(summary.primaryMetric, "wer")
        let cer = after.metrics.first { $0.name == "cer" }!.value
        XCTAssertLessThan(cer, 15, "CER \(before.metrics) → \(after.metrics)")
        XCTAssertLessThan(after.primaryValue, before.primaryValue)
    }

    /// Global normalisation: statistics of the training split, saved and loaded with the model.
    func testGlobalNormalisationIsMeasuredAndKept() throws {
        try writeToneCorpus(count: 40)
        let alphabet = Alphabet(symbols: Array("abc"))
        let data = try SpeechData(corpus: try SpeechCorpus.load(path: directory), alphabet: alphabet)
        var rng = RandomGenerator(seed: 1)
        let network = try SpeechNetwork(
            config: SpeechConfig(hiddenSize: 8, layers: 1, alphabet: alphabet, normalization: .global), rng: &rng)
        let task = try SpeechTrainingTask(
            network: network, data: data, settings: SpeechTrainingSettings(batchSize: 8), seed: 1)
        // Over all training frames, each normalised feature has mean 0 and deviation 1.
        var sum = 0.0, square = 0.0, count = 0.0
        for utterance in task.data.train.features {
            for f in 0..<utterance.shape[0] {
                let v = Double(utterance[f * 80 + 7])
                sum += v
                square += v * v
                count += 1
            }
        }
        XCTAssertEqual(sum / count, 0, accuracy: 1e-3)
        XCTAssertEqual(square / count, 1, accuracy: 1e-2)
        let path = directory + "/model.safetensors"
        try network.save(to: path)
        let loaded = try SpeechNetwork.load(path: path)
        XCTAssertEqual(loaded.config.normalization, .global)
        XCTAssertEqual(loaded.normalize(data.valid.features[0]).array, network.normalize(data.valid.features[0]).array)
    }

    func testATranscriptTooLongForItsAudioIsNamed() throws {
        try AudioFile.write(
            tone(500, seconds: 0.1, rate: 16_000), sampleRate: 16_000, format: .wav16, to: directory + "/short.wav")
        try Data("short.wav\tabcabcabcabc\n".utf8).write(to: URL(fileURLWithPath: directory + "/train.tsv"))
        try Data("short.wav\tab\n".utf8).write(to: URL(fileURLWithPath: directory + "/valid.tsv"))
        try Data("short.wav\tab\n".utf8).write(to: URL(fileURLWithPath: directory + "/test.tsv"))
        let alphabet = Alphabet(symbols: Array("abc"))
        let data = try SpeechData(corpus: try SpeechCorpus.load(path: directory), alphabet: alphabet)
        var rng = RandomGenerator(seed: 1)
        let network = try SpeechNetwork(config: SpeechConfig(hiddenSize: 8, layers: 1, alphabet: alphabet), rng: &rng)
        // Named when the task is made, before step 1.
        XCTAssertThrowsError(
            try SpeechTrainingTask(
                network: network, data: data, settings: SpeechTrainingSettings(batchSize: 1), seed: 1)
        ) {
            XCTAssertTrue("\($0)".contains("\(self.directory!)/train.tsv line 1: the transcript needs"), "\($0)")
        }
    }
}
