import Datasets
import Foundation
import TestSupport
import Translation
import XCTest

/// A codec over the tokens "w4", "w5", ... (ids 4 ...), after the four special tokens.
func syntheticCodec(size: Int) -> SentenceCodec {
    SentenceCodec(
        vocabulary: Vocabulary(tokens: ["<pad>", "<unk>", "<s>", "</s>"] + (4..<size).map { "w\($0)" }), bytePairs: nil)
}

final class TextTests: XCTestCase {
    func testWordTokenizerSplitsPunctuationAndDetokenizes() {
        let sentence = "\"Don't stop,\" she said (it's 3.14 km, well-known)!"
        let tokens = WordTokenizer.tokens(sentence)
        XCTAssertEqual(
            tokens,
            ["\"", "Don't", "stop", ",", "\"", "she", "said", "(", "it's", "3.14", "km", ",", "well-known", ")", "!"])
        XCTAssertEqual(WordTokenizer.detokenize(tokens), sentence)
        XCTAssertEqual(
            WordTokenizer.detokenize(WordTokenizer.tokens("Ich habe gedacht, dass er kommt.")),
            "Ich habe gedacht, dass er kommt.")
    }

    func testBytePairEncodingLearnsTheMostFrequentPairsFirst() {
        // Sennrich et al.'s example: "e s" (9) ties with "s t</w>" (9); the pair that sorts first wins.
        let bpe = BytePairEncoding.learn(wordCounts: ["low": 5, "lower": 2, "newest": 6, "widest": 3], merges: 10)
        XCTAssertEqual(Array(bpe.merges.prefix(2)), [["e", "s"], ["es", "t</w>"]])
        XCTAssertLessThan(bpe.segment("newest").count, 4)  // a frequent word is a few subwords, not six letters
        // Any word, seen or not, comes back whole.
        for word in ["lowest", "newer", "zebra", "wider"] {
            XCTAssertEqual(BytePairEncoding.join(bpe.segment(word)), [word])
        }
        XCTAssertLessThan(bpe.segment("lowest").count, 6)  // "es t" learned: fewer pieces than letters
        // Learning stops when no pair occurs twice.
        XCTAssertLessThan(BytePairEncoding.learn(wordCounts: ["ab": 1, "cd": 1], merges: 10).merges.count, 1)
    }

    func testCodecRoundTripsTextAndMarksUnknownWords() {
        let sentences = ["The cat sat on the mat.", "The dog sat on the log."]
        var counts = SentenceCodec.wordCounts(sentences)
        counts["catalog"] = 1
        let bpe = BytePairEncoding.learn(wordCounts: counts, merges: 30)
        let codec = SentenceCodec.build(
            sentences: sentences, bytePairs: bpe, settings: VocabularySettings(subword: .bpe))
        let (ids, unknown) = codec.encode("The dog sat on the mat.")
        XCTAssertEqual(unknown, 0)
        XCTAssertEqual(codec.decode(ids), "The dog sat on the mat.")
        // Letters never seen in training become <unk>, counted, and the rest of the text survives.
        let (strange, unseen) = codec.encode("The zyx sat.")
        XCTAssertGreaterThan(unseen, 0)
        XCTAssertTrue(codec.decode(strange).hasPrefix("The "), codec.decode(strange))
        XCTAssertTrue(codec.decode(strange).hasSuffix(" sat."), codec.decode(strange))
    }
}

final class ParallelCorpusTests: TemporaryDirectoryTestCase {
    func write(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testBadFilesAreNamedWithTheirLine() throws {
        let noTab = try write("a.tsv", "Hello.\tHallo.\nGood night. Gute Nacht.\n")
        XCTAssertEqual(try? ParallelCorpus.readPairs(noTab).pairs.count, nil)
        XCTAssertThrowsError(try ParallelCorpus.readPairs(noTab)) {
            XCTAssertEqual("\($0)", "\(noTab) line 2: expected `source<TAB>target`, found no tab")
        }
        let binary = directory + "/b.tsv"
        try Data([0x48, 0x69, 0x09, 0x48, 0x0A, 0xC3, 0x28, 0x09, 0x41, 0x0A]).write(to: URL(fileURLWithPath: binary))
        XCTAssertThrowsError(try ParallelCorpus.readPairs(binary)) {
            XCTAssertEqual("\($0)", "\(binary) line 2: not valid UTF-8")
        }
        let empty = try write("c.tsv", "")
        XCTAssertThrowsError(try ParallelCorpus.load(path: empty)) {
            XCTAssertEqual("\($0)", "\(empty): the file is empty")
        }
        XCTAssertThrowsError(try ParallelCorpus.load(path: directory + "/missing.tsv")) {
            XCTAssertTrue("\($0)".contains("no such file"))
        }
        try FileManager.default.createDirectory(atPath: directory + "/splits", withIntermediateDirectories: true)
        _ = try write("splits/train.tsv", "a\tb\n")
        XCTAssertThrowsError(try ParallelCorpus.load(path: directory + "/splits")) {
            XCTAssertTrue("\($0)".contains("valid.tsv is missing"), "\($0)")
        }
    }

    func testEmptySidesAreSkippedAndReportedAndExtraColumnsIgnored() throws {
        let path = try write(
            "d.tsv", "Hi.\tHallo.\tCC-BY 2.0 (France) Attribution: tatoeba.org\n\tLeer.\nEmpty.\t \n\nYes.\tJa.\r\n")
        let (pairs, skipped) = try ParallelCorpus.readPairs(path)
        XCTAssertEqual(
            pairs, [SentencePair(source: "Hi.", target: "Hallo."), SentencePair(source: "Yes.", target: "Ja.")])
        XCTAssertEqual(skipped.map(\.line), [2, 3])
        XCTAssertEqual(skipped.map(\.reason), ["empty source", "empty target"])
    }

    func testBuiltInCorpusIsDeterministicAndKeepsSourcesInOneSplit() {
        let a = DefaultParallelCorpus.pairs(count: 300), b = DefaultParallelCorpus.pairs(count: 300)
        XCTAssertEqual(a, b)
        let corpus = DefaultParallelCorpus.load(count: 2000)
        let train = Set(corpus.train.map(\.source))
        XCTAssertTrue(corpus.test.allSatisfy { !train.contains($0.source) })
        XCTAssertFalse(corpus.valid.isEmpty)
        XCTAssertFalse(corpus.test.isEmpty)
        // Agreement and order the grammar promises, on its own sentences.
        for pair in a {
            XCTAssertTrue([".", "?"].contains(pair.target.last), pair.target)
            if pair.source.contains(" because ") { XCTAssertTrue(pair.target.contains(", weil "), pair.target) }
            XCTAssertFalse(pair.target.contains(" in das "), pair.target)  // contracted to "ins"
            XCTAssertFalse(pair.target.contains(" in dem "), pair.target)  // contracted to "im"
        }
    }
}

final class TranslationModelTests: TemporaryDirectoryTestCase {
    func tinyNetwork(_ config: TranslationConfig, seed: UInt64 = 3) throws -> TranslationNetwork {
        var rng = RandomGenerator(seed: seed)
        return try TranslationNetwork(
            config: config, source: syntheticCodec(size: 9), target: syntheticCodec(size: 11), rng: &rng)
    }

    /// The same loss and gradients as PyTorch's twin of the model (torch_translation.py).
    func testLossAndGradientsMatchPyTorch() throws {
        let golden = repositoryPath("Tests/TranslationTests/Golden")
        let network = try tinyNetwork(TranslationConfig(cell: .lstm, embeddingSize: 6, hiddenSize: 8, dropout: 0))
        try network.loadState(try SafeTensors.read(path: golden + "/model.safetensors"), path: "model.safetensors")
        let expected = try SafeTensors.read(path: golden + "/expected.safetensors")
        func rows(_ name: String) throws -> [[Int32]] {
            let t = try XCTUnwrap(expected.tensors[name])
            return (0..<t.shape[0]).map { r in (0..<t.shape[1]).map { Int32(t[r * t.shape[1] + $0]) }.filter { $0 >= 0 }
            }
        }
        let tape = Tape()
        var rng = RandomGenerator(seed: 0)
        let (loss, tokens) = try network.loss(
            sources: try rows("sources"), targets: try rows("targets"), labelSmoothing: 0.1, tape: tape, rng: &rng)
        XCTAssertEqual(tokens, 13)
        XCTAssertEqual(loss.value[0], try XCTUnwrap(expected.tensors["loss"])[0], accuracy: 1e-5)
        tape.backward(from: loss)
        for parameter in network.parameters.parameters {
            let reference = try XCTUnwrap(expected.tensors["grad." + parameter.name], parameter.name)
            assertClose(parameter.gradient(), reference, relative: 1e-4, absolute: 1e-6, parameter.name)
        }
    }

    func testFiniteDifferencesForEveryConfiguration() throws {
        let configs = [
            TranslationConfig(cell: .lstm, embeddingSize: 3, hiddenSize: 4, layers: 2, attention: .general, dropout: 0),
            TranslationConfig(
                cell: .gru, embeddingSize: 4, hiddenSize: 4, bidirectional: false, attention: .dot, inputFeeding: false,
                dropout: 0, tied: true),
            TranslationConfig(cell: .lstm, embeddingSize: 3, hiddenSize: 4, attention: .additive, dropout: 0.3)
        ]
        for config in configs {
            let network = try tinyNetwork(config)
            checkGradients(of: network.parameters.parameters, maxElementsPerVariable: 6, step: 1e-2, tolerance: 3e-2) {
                tape in
                var rng = RandomGenerator(seed: 11)  // the same dropout masks on every evaluation
                return try network.loss(
                    sources: [[4, 5, 6], [7, 8]], targets: [[5, 6], [7, 8, 9, 4]], labelSmoothing: 0.1,
                    tape: tape, rng: &rng
                ).loss
            }
        }
    }

    /// A sentence translates the same alone and beside a longer one: padding reaches neither
    /// the encoder's final state nor the attention.
    func testPaddingChangesNothing() throws {
        let network = try tinyNetwork(TranslationConfig(cell: .lstm, embeddingSize: 4, hiddenSize: 6, dropout: 0))
        let short = "w4 w5", long = "w6 w7 w8 w4 w5 w6 w7"
        let alone = try network.translate([short], options: TranslationOptions(beamSize: 3, nBest: 2))[0]
        let together = try network.translate([long, short], options: TranslationOptions(beamSize: 3, nBest: 2))[1]
        XCTAssertEqual(alone.map(\.text), together.map(\.text))
        for (a, b) in zip(alone, together) {
            XCTAssertEqual(a.score, b.score, accuracy: 1e-4 * abs(a.score))  // batch size changes summation order only
            XCTAssertEqual(a.attention.count, b.attention.count)
            for (rowA, rowB) in zip(a.attention, b.attention) {
                XCTAssertEqual(rowA.count, 2)
                for (x, y) in zip(rowA, rowB) { XCTAssertEqual(x, y, accuracy: 1e-5) }
                XCTAssertEqual(rowA.reduce(0, +), 1, accuracy: 1e-5)
            }
        }
        // The greedy path gives beam search's best with a beam of 1.
        let greedy = try network.translate([long, short], options: TranslationOptions(beamSize: 1))
        XCTAssertEqual(
            greedy[1].first?.text,
            try network.translate([short], options: TranslationOptions(beamSize: 1))[0].first?.text)
    }

    /// Learns to reverse sequences: the loss falls and BLEU rises.
    func testSmokeTrainingLearnsToReverse() throws {
        var rng = RandomGenerator(seed: 5)
        var pairs: [SentencePair] = []
        for _ in 0..<400 {
            let words = (0..<(2 + rng.int(below: 4))).map { _ in "w\(4 + rng.int(below: 8))" }
            pairs.append(
                SentencePair(source: words.joined(separator: " "), target: words.reversed().joined(separator: " ")))
        }
        let corpus = ParallelCorpus(
            train: Array(pairs[0..<360]), valid: Array(pairs[360...]), test: [],
            trainSource: "train", validSource: "valid", testSource: "test")
        let data = try TranslationData(corpus: corpus, vocabulary: VocabularySettings(), maximumLength: 50)
        let network = try TranslationNetwork(
            config: TranslationConfig(embeddingSize: 16, hiddenSize: 32, dropout: 0),
            source: data.source, target: data.target, rng: &rng)
        let task = try TranslationTrainingTask(
            network: network, data: data,
            settings: TranslationTrainingSettings(batchSize: 16, labelSmoothing: 0), seed: 1)
        let before = try task.validate()
        var options = TrainingOptions.translation(steps: 150)
        options.evaluateEvery = 150
        options.learningRate = 1e-2
        let summary = try Trainer(task: task, options: options).run()
        let after = try task.validate()
        XCTAssertLessThan(
            after.metrics.first { $0.name == "loss" }!.value, before.metrics.first { $0.name == "loss" }!.value * 0.5)
        XCTAssertGreaterThan(
            after.primaryValue, before.primaryValue + 20, "BLEU \(before.primaryValue) → \(after.primaryValue)")
        XCTAssertEqual(summary.primaryMetric, "bleu")
    }

    /// Stopped after step 7 and resumed, a run ends with the tensors of a run never stopped:
    /// the batch order (epoch and position of the bucketed sampler) is part of the checkpoint.
    func testInterruptedRunResumesExactly() throws {
        var rng = RandomGenerator(seed: 9)
        let pairs = (0..<120).map { i -> SentencePair in
            let words = (0..<(2 + i % 4)).map { _ in "w\(4 + rng.int(below: 6))" }
            return SentencePair(source: words.joined(separator: " "), target: words.reversed().joined(separator: " "))
        }
        let corpus = ParallelCorpus(
            train: Array(pairs[0..<100]), valid: Array(pairs[100...]), test: [],
            trainSource: "train", validSource: "valid", testSource: "test")
        let data = try TranslationData(corpus: corpus, vocabulary: VocabularySettings(), maximumLength: 50)
        func trainer(_ out: String, resume: Bool) throws -> Trainer {
            var initRNG = RandomGenerator(seed: 1)
            let network = try TranslationNetwork(
                config: TranslationConfig(embeddingSize: 6, hiddenSize: 8, dropout: 0.2),
                source: data.source, target: data.target, rng: &initRNG)
            let task = try TranslationTrainingTask(
                network: network, data: data,
                settings: TranslationTrainingSettings(batchSize: 16), seed: 1)
            // 7 batches an epoch.
            var options = TrainingOptions.translation(steps: 16, outputDirectory: directory + "/" + out)
            options.evaluateEvery = 5
            options.resume = resume
            return Trainer(task: task, options: options)
        }
        try trainer("whole", resume: false).run()
        let cut = try trainer("cut", resume: false)
        var steps = 0
        cut.shouldStop = {
            steps += 1
            return steps >= 7
        }
        XCTAssertThrowsError(try cut.run())
        try trainer("cut", resume: true).run()
        let whole = try SafeTensors.read(path: directory + "/whole/last.safetensors")
        let resumed = try SafeTensors.read(path: directory + "/cut/last.safetensors")
        for name in whole.names { XCTAssertEqual(resumed.tensors[name]?.array, whole.tensors[name]?.array, name) }
    }

    func testCheckpointRoundTripAndWrongTask() throws {
        let network = try tinyNetwork(
            TranslationConfig(cell: .gru, embeddingSize: 4, hiddenSize: 4, attention: .additive, tied: true))
        let path = directory + "/model.safetensors"
        try network.save(to: path)
        let loaded = try TranslationNetwork.load(path: path)
        XCTAssertEqual(loaded.config, network.config)
        let options = TranslationOptions(beamSize: 2, nBest: 2)
        XCTAssertEqual(
            try loaded.translate(["w4 w5 w6"], options: options)[0].map(\.text),
            try network.translate(["w4 w5 w6"], options: options)[0].map(\.text))
        // Another task's checkpoint is refused by name.
        var metadata = network.checkpointMetadata
        metadata["zoo.task"] = "language-model"
        try SafeTensors.write(network.stateDictionary, metadata: metadata, to: directory + "/lm.safetensors")
        XCTAssertThrowsError(try TranslationNetwork.load(path: directory + "/lm.safetensors")) {
            XCTAssertTrue("\($0)".contains("language-model"), "\($0)")
        }
    }

    func testAttentionMapIsAReadablePNG() throws {
        let network = try tinyNetwork(TranslationConfig(embeddingSize: 4, hiddenSize: 4, dropout: 0))
        let translation = try XCTUnwrap(
            try network.translate(["w4 w5 w6 w7"], options: TranslationOptions(beamSize: 2))[0].first)
        let path = directory + "/map.png"
        try AttentionMapWriter.write(translation, to: path)
        let image = try RGBImage(pngFile: path)
        XCTAssertGreaterThan(image.width, 4 * 28)
        XCTAssertGreaterThan(image.height, translation.targetTokens.count * 28)
    }
}
