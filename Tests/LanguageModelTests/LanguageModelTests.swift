import Foundation
import TestSupport
import XCTest

@testable import LanguageModel
@testable import RNNEngine

final class LanguageModelTests: TemporaryDirectoryTestCase {
    func testTokenizationHandlesAnyScriptAndWords() {
        XCTAssertEqual(Tokenization.char.tokens("añ😀\n中"), ["a", "ñ", "😀", "\n", "中"])
        XCTAssertEqual(Tokenization.word.tokens("a b\n\nc  d\n"), ["a", "b", "<eos>", "<eos>", "c", "d", "<eos>"])
        XCTAssertEqual(Tokenization.char.detokenize(["a", "😀"]), "a😀")
    }

    func testWordCorpusMapsUnseenWordsToUnknown() throws {
        let text = CorpusText(
            train: "the cat sat\nthe dog sat\n", valid: "the bird sat\n", test: "a cat\n",
            trainSource: "t", validSource: "v", testSource: "s")
        let corpus = try Corpus(text: text, tokenization: .word)
        let unk = try XCTUnwrap(corpus.vocabulary.id(of: "<unk>"))
        XCTAssertEqual(corpus.valid[1], unk)
        XCTAssertEqual(corpus.valid.count, 4)
        // A character vocabulary has no <unk>: unseen characters are dropped and counted.
        let chars = try Corpus(text: text, tokenization: .char)
        XCTAssertNil(chars.vocabulary.id(of: "<unk>"))
        let encoded = Corpus.encode(["c", "z", "a"], vocabulary: chars.vocabulary)
        XCTAssertEqual(encoded.dropped, 1)
        XCTAssertEqual(encoded.ids.count, 2)
        let words = Corpus.encode(["the", "bird"], vocabulary: corpus.vocabulary)
        XCTAssertEqual(words.dropped, 0)
        XCTAssertEqual(words.mappedToUnknown, 1)
    }

    func testSplitIsInOrderAndAtLineBoundaries() {
        let lines = (0..<200).map { "line \($0)" }.joined(separator: "\n") + "\n"
        let corpus = CorpusText.split(lines, source: "x")
        XCTAssertEqual(corpus.train + corpus.valid + corpus.test, lines)
        XCTAssertTrue(corpus.train.hasSuffix("\n") && corpus.valid.hasSuffix("\n"))
        XCTAssertGreaterThan(corpus.train.count, 8 * corpus.valid.count)
    }

    func testBadDataGivesErrorsNamingTheFile() throws {
        let fm = FileManager.default
        XCTAssertThrowsError(try CorpusText.load(path: directory + "/nope.txt")) {
            XCTAssertEqual($0 as? CorpusError, .missing(path: self.directory + "/nope.txt"))
        }
        let empty = directory + "/empty.txt"
        XCTAssertTrue(fm.createFile(atPath: empty, contents: Data()))
        XCTAssertThrowsError(try CorpusText.load(path: empty)) {
            XCTAssertEqual($0 as? CorpusError, .empty(path: empty))
        }
        let blank = directory + "/blank.txt"
        XCTAssertTrue(fm.createFile(atPath: blank, contents: Data(" \n\n".utf8)))
        XCTAssertThrowsError(try CorpusText.load(path: blank)) {
            XCTAssertEqual($0 as? CorpusError, .empty(path: blank))
        }
        let binary = directory + "/model.bin"
        XCTAssertTrue(fm.createFile(atPath: binary, contents: Data([0x89, 0x50, 0x4E, 0x47, 0x00, 0x01])))
        XCTAssertThrowsError(try CorpusText.load(path: binary)) { error in
            XCTAssertTrue("\(error)".hasPrefix(binary + ": not a text file"), "\(error)")
        }
        let latin1 = directory + "/latin1.txt"
        XCTAssertTrue(fm.createFile(atPath: latin1, contents: Data([0x63, 0x61, 0x66, 0xE9, 0x0A])))
        XCTAssertThrowsError(try CorpusText.load(path: latin1)) { XCTAssertTrue("\($0)".contains("not valid UTF-8")) }
        let splits = directory + "/splits"
        try fm.createDirectory(atPath: splits, withIntermediateDirectories: true)
        XCTAssertTrue(fm.createFile(atPath: splits + "/train.txt", contents: Data("abc\n".utf8)))
        XCTAssertTrue(fm.createFile(atPath: splits + "/test.txt", contents: Data("abc\n".utf8)))
        XCTAssertThrowsError(try CorpusText.load(path: splits)) {
            XCTAssertEqual($0 as? CorpusError, .missingSplit(directory: splits, file: "valid.txt"))
        }
    }

    func testCheckpointRoundTripAndWrongTask() throws {
        var rng = RandomGenerator(seed: 3)
        let vocabulary = Vocabulary(tokens: ["a", "b", "\n", "é"])
        for tied in [false, true] {
            let config = LanguageModelConfig(
                cell: .gru, embeddingSize: 6, hiddenSize: 6, layers: 2, tokens: .char, tied: tied)
            let network = try LanguageModelNetwork(config: config, vocabulary: vocabulary, rng: &rng)
            let path = directory + "/lm-\(tied).safetensors"
            try network.save(to: path)
            let loaded = try LanguageModelNetwork.load(path: path)
            XCTAssertEqual(loaded.config, config)
            XCTAssertEqual(loaded.vocabulary, vocabulary)
            XCTAssertEqual(loaded.parameters.values.array, network.parameters.values.array)
            XCTAssertEqual(
                try SafeTensors.read(path: path).tensors["decoder.weight"]?.shape, [4, 6], "PyTorch's state_dict names")
        }
        let other = directory + "/other.safetensors"
        try SafeTensors.write([("x", Tensor(zeros: [1]))], metadata: ["zoo.task": "translation"], to: other)
        XCTAssertThrowsError(try LanguageModelNetwork.load(path: other)) {
            XCTAssertEqual(
                $0 as? CheckpointError, .wrongTask(path: other, found: "translation", expected: "language-model"))
        }
        // The right task with the wrong shape names the tensor and both shapes.
        let config = LanguageModelConfig(cell: .lstm, embeddingSize: 4, hiddenSize: 5, tokens: .char)
        let network = try LanguageModelNetwork(config: config, vocabulary: vocabulary, rng: &rng)
        var tensors = network.stateDictionary
        tensors[0] = ("encoder.weight", Tensor(zeros: [7, 4]))
        let wrong = directory + "/wrong.safetensors"
        try SafeTensors.write(tensors, metadata: network.checkpointMetadata, to: wrong)
        XCTAssertThrowsError(try LanguageModelNetwork.load(path: wrong)) {
            XCTAssertEqual(
                "\($0)", "\(wrong): tensor 'encoder.weight' has shape [7, 4] in the file but the model expects [4, 4]")
        }
    }

    func testSmokeTrainingLowersLossAndResumesExactly() throws {
        func makeTrainer(steps: Int, out: String, resume: Bool) throws -> (Trainer, [String]) {
            (try smallTrainer(cell: .lstm, steps: steps, logEvery: 5, out: out, resume: resume), [])
        }
        var whole: [String] = []
        let (a, _) = try makeTrainer(steps: 60, out: directory + "/whole", resume: false)
        a.output = { whole.append($0) }
        let summary = try a.run()
        let losses = whole.compactMap { line -> Double? in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["train_loss"] as? Double
        }
        XCTAssertLessThan(losses.last!, losses.first! * 0.6, "\(losses)")
        XCTAssertNotNil(summary.bestValidationScore)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/whole/loss.png"))

        var split: [String] = []
        let (b1, _) = try makeTrainer(steps: 25, out: directory + "/split", resume: false)
        b1.output = { split.append($0) }
        try b1.run()
        let (b2, _) = try makeTrainer(steps: 60, out: directory + "/split", resume: true)
        b2.output = { split.append($0) }
        try b2.run()
        // Every training line of the uninterrupted run appears identically in the resumed one.
        let trainLines = { (lines: [String]) in
            lines.filter { $0.contains("train_loss") }.map {
                $0.replacingOccurrences(of: #""units_per_s": [0-9.e+]+, "#, with: "", options: .regularExpression)
            }.map { $0.replacingOccurrences(of: #", "eta_s": [0-9.e+-]+"#, with: "", options: .regularExpression) }
        }
        XCTAssertEqual(trainLines(split), trainLines(whole))

        // A run shorter than the evaluation interval evaluates once at its end, and resumes.
        let (short, _) = try makeTrainer(steps: 3, out: directory + "/short", resume: false)
        short.output = { _ in }
        XCTAssertEqual(try short.run().steps, 3)
        let (longer, _) = try makeTrainer(steps: 6, out: directory + "/short", resume: true)
        longer.output = { _ in }
        XCTAssertEqual(try longer.run().steps, 6)

        // A second run into the same directory is refused instead of destroying the first.
        let (c, _) = try makeTrainer(steps: 5, out: directory + "/whole", resume: false)
        XCTAssertThrowsError(try c.run()) { XCTAssertTrue("\($0)".contains("already holds a training run")) }
    }

    /// A tied model's checkpoints list `decoder.weight` as PyTorch's state_dict does (the same
    /// values as `encoder.weight`), so `load_state_dict(strict=True)` takes them; they resume.
    func testTiedCheckpointsHoldTheDecoderWeightAndResume() throws {
        let text = String(repeating: "abcabd abcabd\nxyz xyz\n", count: 40)
        let corpus = try Corpus(text: CorpusText.split(text, source: "generated"), tokenization: .char)
        func run(steps: Int, resume: Bool) throws {
            var rng = RandomGenerator(seed: 5)
            let config = LanguageModelConfig(cell: .lstm, embeddingSize: 8, hiddenSize: 8, tokens: .char, tied: true)
            let network = try LanguageModelNetwork(config: config, vocabulary: corpus.vocabulary, rng: &rng)
            let task = try LanguageModelTrainingTask(
                network: network, corpus: corpus,
                settings: LanguageModelTrainingSettings(batchSize: 4, bptt: 8))
            var options = TrainingOptions(
                steps: steps, evaluateEvery: 5, logEvery: 5, learningRate: 0.02,
                outputDirectory: directory + "/tied")
            options.resume = resume
            let trainer = Trainer(task: task, options: options)
            trainer.output = { _ in }
            try trainer.run()
        }
        try run(steps: 5, resume: false)
        for name in ["best", "last"] {
            let file = try SafeTensors.read(path: directory + "/tied/\(name).safetensors")
            let decoder = try XCTUnwrap(file.tensors["decoder.weight"], "\(name) lacks decoder.weight")
            XCTAssertEqual(decoder.array, file.tensors["encoder.weight"]?.array)
            XCTAssertNotNil(file.tensors["decoder.bias"])
        }
        _ = try LanguageModelNetwork.load(path: directory + "/tied/best.safetensors")
        try run(steps: 10, resume: true)
    }

    /// A run stopped on request mid-interval, then resumed, ends exactly where an uninterrupted
    /// run ends: the same tensors and the same progress lines.
    func testInterruptedRunResumesExactly() throws {
        func trainer(steps: Int, out: String, resume: Bool) throws -> Trainer {
            try smallTrainer(cell: .gru, steps: steps, logEvery: 4, out: out, resume: resume)
        }
        func progress(_ lines: [String]) -> [String] {
            lines.filter { $0.hasPrefix(#"{"step""#) }.map {
                $0.replacingOccurrences(
                    of: #", "(units_per_s|eta_s)": [0-9.e+-]+"#, with: "", options: .regularExpression)
            }
        }
        var whole: [String] = []
        let a = try trainer(steps: 30, out: directory + "/whole", resume: false)
        a.output = { whole.append($0) }
        try a.run()

        var cut: [String] = []
        let b = try trainer(steps: 30, out: directory + "/cut", resume: false)
        b.output = { cut.append($0) }
        var steps = 0
        b.shouldStop = {
            steps += 1
            return steps >= 13
        }  // asked after every step: stops after step 13
        XCTAssertThrowsError(try b.run()) { error in
            guard case TrainingError.interrupted(_, let step) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(step, 13)
        }
        let c = try trainer(steps: 30, out: directory + "/cut", resume: true)
        c.output = { cut.append($0) }
        try c.run()
        XCTAssertEqual(progress(cut), progress(whole))
        let finalWhole = try SafeTensors.read(path: directory + "/whole/last.safetensors")
        let finalCut = try SafeTensors.read(path: directory + "/cut/last.safetensors")
        for name in finalWhole.names {
            XCTAssertEqual(finalCut.tensors[name]?.array, finalWhole.tensors[name]?.array, name)
        }
        XCTAssertTrue(cut.contains { $0.hasPrefix(#"{"event": "resumed", "step": 13"#) }, "\(cut)")

        // Resuming with fewer steps than the run has says so.
        let d = try trainer(steps: 20, out: directory + "/cut", resume: true)
        XCTAssertThrowsError(try d.run()) { XCTAssertTrue("\($0)".contains("already at step 30"), "\($0)") }
    }

    /// The library trains without writing anything and reports progress as values; its errors
    /// do not speak of command-line flags.
    func testLibraryTrainsWithoutFilesAndReportsEvents() throws {
        let text = String(repeating: "abcabd abcabd\nxyz xyz\n", count: 40)
        let corpus = try Corpus(text: CorpusText.split(text, source: "generated"), tokenization: .char)
        var rng = RandomGenerator(seed: 5)
        let network = try LanguageModelNetwork(
            config: LanguageModelConfig(embeddingSize: 8, hiddenSize: 16),
            vocabulary: corpus.vocabulary, rng: &rng)
        let task = try LanguageModelTrainingTask(
            network: network, corpus: corpus,
            settings: LanguageModelTrainingSettings(batchSize: 4, bptt: 8))
        var options = TrainingOptions.languageModel(steps: 10)
        options.evaluateEvery = 5
        options.logEvery = 5
        let trainer = Trainer(task: task, options: options)
        var validations: [Int] = [], progress = 0
        trainer.onEvent = { event in
            switch event {
            case .validation(let step, _, _): validations.append(step)
            case .progress: progress += 1
            case .run: break
            }
        }
        let before = try FileManager.default.contentsOfDirectory(atPath: FileManager.default.currentDirectoryPath)
        let summary = try trainer.run()
        XCTAssertEqual(validations, [5, 10])
        XCTAssertEqual(progress, 2)
        XCTAssertNil(summary.bestCheckpoint)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: FileManager.default.currentDirectoryPath), before)
        var resume = options
        resume.resume = true
        XCTAssertThrowsError(try Trainer(task: task, options: resume).run()) { error in
            XCTAssertFalse("\(error)".contains("--"), "\(error)")
        }
        var streamed = ""
        let generated = try network.generate(prompt: "ab", length: 12, rng: &rng) { streamed += $0 }
        XCTAssertEqual(streamed, generated)
    }

    /// A tiny char model on a repetitive text, evaluated every 10 steps, printing JSON lines.
    private func smallTrainer(cell: CellKind, steps: Int, logEvery: Int, out: String, resume: Bool) throws -> Trainer {
        let text = String(repeating: "abcabd abcabd\nxyz xyz\n", count: 60)
        let corpus = try Corpus(text: CorpusText.split(text, source: "generated"), tokenization: .char)
        var rng = RandomGenerator(seed: 5)
        let config = LanguageModelConfig(cell: cell, embeddingSize: 8, hiddenSize: 16, tokens: .char, dropout: 0.1)
        let network = try LanguageModelNetwork(config: config, vocabulary: corpus.vocabulary, rng: &rng)
        let task = try LanguageModelTrainingTask(
            network: network, corpus: corpus,
            settings: LanguageModelTrainingSettings(batchSize: 4, bptt: 8))
        var options = TrainingOptions(
            steps: steps, evaluateEvery: 10, logEvery: logEvery, learningRate: 0.02, outputDirectory: out)
        options.resume = resume
        options.json = true
        let trainer = Trainer(task: task, options: options)
        trainer.lossCurvePlotter = LossCurveChart()
        return trainer
    }

    /// The experiment behind `zoo gradients`: at initialisation a tanh RNN's gradient vanishes
    /// over a window while an LSTM whose forget gates start open keeps it; with PyTorch's
    /// forget gates (near 0.5) the LSTM's vanishes too. Recall training targets the first token.
    func testGradientFlowSeparatesTheCells() throws {
        let ids = try Corpus(
            text: .split(String(repeating: "the quick brown fox jumps over the lazy dog.\n", count: 40), source: "fox"),
            tokenization: .char)
        var settings = GradientFlowSettings()
        settings.length = 40
        settings.trainingSteps = 2
        settings.hiddenSize = 32
        let ratio = { (flow: GradientFlow) in flow.initial[0] / flow.initial[flow.length - 1] }
        let rnn = try measureGradientFlow(
            .rnnTanh, ids: ids.train, vocabularySize: ids.vocabulary.count, settings: settings)
        let lstm = try measureGradientFlow(
            .lstm, ids: ids.train, vocabularySize: ids.vocabulary.count, settings: settings)
        settings.forgetBias = 0
        let closed = try measureGradientFlow(
            .lstm, ids: ids.train, vocabularySize: ids.vocabulary.count, settings: settings)
        XCTAssertLessThan(ratio(rnn), 1e-4)
        XCTAssertGreaterThan(ratio(lstm), 1e-2)
        XCTAssertLessThan(ratio(closed), ratio(lstm) * 1e-3)
        XCTAssertEqual(rnn.trained.count, 40)
        XCTAssertEqual(rnn.trainingLosses.count, 2)
    }
}
