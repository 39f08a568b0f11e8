import Datasets
import Foundation
import TestSupport
import XCTest

@testable import ImageCaptioning

/// A codec of words w4, w5, ... after the four special tokens.
func syntheticCaptionCodec(size: Int) -> CaptionCodec {
    CaptionCodec(
        vocabulary: Vocabulary(
            tokens: [CaptionCodec.padding, CaptionCodec.unknown, CaptionCodec.start, CaptionCodec.end]
                + (4..<size).map { "w\($0)" }))
}

final class CaptionDataTests: TemporaryDirectoryTestCase {
    /// An empty train.tsv is named, not its directory.
    func testAnEmptyManifestIsNamed() throws {
        try Data().write(to: URL(fileURLWithPath: directory + "/train.tsv"))
        for split in ["valid", "test"] {
            try Data("a.png\ta cat\n".utf8).write(to: URL(fileURLWithPath: directory + "/\(split).tsv"))
        }
        XCTAssertThrowsError(try CaptionCorpus.load(path: directory)) {
            XCTAssertEqual("\($0)", "\(self.directory!)/train.tsv: the training split has no image with a caption")
        }
    }

    func testWordsAndCodec() {
        XCTAssertEqual(
            CaptionCodec.words("A dog's ball, on the GRASS!  (2 dogs)"),
            ["a", "dog's", "ball", "on", "the", "grass", "2", "dogs"])
        let codec = CaptionCodec.build(captions: ["a red circle", "a blue circle", "a red square"], minimumFrequency: 2)
        XCTAssertEqual(codec.vocabulary.tokens, ["<pad>", "<unk>", "<start>", "<end>", "a", "circle", "red"])
        XCTAssertEqual(codec.encode("A red triangle"), [4, 6, 1])
        XCTAssertEqual(codec.decode([4, 6, 5, 3, 4]), "a red circle")
    }

    func testResizingAveragesAreasAndInterpolates() {
        var image = RGBImage(width: 2, height: 2)
        image.pixels = [0, 0, 0, 100, 100, 100, 200, 200, 200, 40, 40, 40]
        XCTAssertEqual(ImagePreprocessor(size: 1).resize(image), [85, 85, 85])  // (0 + 100 + 200 + 40) / 4
        let up = ImagePreprocessor(size: 4).resize(image)
        XCTAssertEqual(up[0], 0)  // corners keep their pixel
        XCTAssertEqual(up[(0 * 4 + 1) * 3], 25)  // a quarter of the way to 100
        let batch = ImagePreprocessor(size: 1).batch([[0, 255, 51]], flips: [true])
        XCTAssertEqual(batch.shape, [1, 3, 1, 1])
        for (value, expected) in zip(batch.array, [Float(-1), 1, -0.6]) {
            XCTAssertEqual(value, expected, accuracy: 1e-6)
        }
    }

    func testCorpusLayoutsAndErrorsNameTheLine() throws {
        try DefaultCaptionCorpus.write(to: directory + "/scenes", trainCount: 20, heldOutCount: 5).forEach {
            XCTAssertTrue(FileManager.default.fileExists(atPath: $0))
        }
        let corpus = try CaptionCorpus.load(path: directory + "/scenes")
        XCTAssertEqual(corpus.train.count, 20)
        XCTAssertTrue(corpus.train.allSatisfy { $0.captions.count == 5 })
        XCTAssertThrowsError(try DefaultCaptionCorpus.write(to: directory + "/scenes", trainCount: 2, heldOutCount: 1))
        {
            XCTAssertTrue("\($0)".contains("already exists"), "\($0)")
        }
        // Flickr8k's files.
        let flickr = directory + "/flickr"
        try FileManager.default.createDirectory(atPath: flickr + "/Images", withIntermediateDirectories: true)
        for n in 0..<3 {
            try FileManager.default.copyItem(atPath: corpus.train[n].imagePath, toPath: flickr + "/Images/p\(n).png")
        }
        try "p0.jpg#0\tA dog runs.\np0.jpg#1\tA brown dog.\np1.jpg#0\tTwo cats.\np2.jpg#0\tA bird.\n"
            .write(toFile: flickr + "/Flickr8k.token.txt", atomically: true, encoding: .utf8)
        for (name, image) in [("train", "p0.jpg"), ("dev", "p1.jpg"), ("test", "p2.jpg")] {
            try "\(image)\n".write(toFile: flickr + "/Flickr_8k.\(name)Images.txt", atomically: true, encoding: .utf8)
        }
        let flickrCorpus = try CaptionCorpus.load(path: flickr)
        XCTAssertEqual(flickrCorpus.train.first?.captions, ["A dog runs.", "A brown dog."])
        XCTAssertTrue(flickrCorpus.train[0].imagePath.hasSuffix("Images/p0.png"))
        XCTAssertNoThrow(try ImageSet(flickrCorpus.train, preprocessor: ImagePreprocessor(size: 16)))
        // A line without a tab, and an image that is not a PNG.
        let bad = directory + "/bad"
        try FileManager.default.createDirectory(atPath: bad, withIntermediateDirectories: true)
        try "a.png\tok\nno tab here\n".write(toFile: bad + "/train.tsv", atomically: true, encoding: .utf8)
        for split in ["valid", "test"] {
            try "a.png\tok\n".write(toFile: bad + "/\(split).tsv", atomically: true, encoding: .utf8)
        }
        XCTAssertThrowsError(try CaptionCorpus.load(path: bad)) {
            XCTAssertTrue("\($0)".contains("train.tsv line 2"), "\($0)")
        }
        try "a.png\tok\n".write(toFile: bad + "/train.tsv", atomically: true, encoding: .utf8)
        try "not an image".write(toFile: bad + "/a.png", atomically: true, encoding: .utf8)
        let badCorpus = try CaptionCorpus.load(path: bad)
        XCTAssertThrowsError(try ImageSet(badCorpus.train, preprocessor: ImagePreprocessor(size: 8))) {
            XCTAssertTrue("\($0)".contains("train.tsv line 1") && "\($0)".contains("not a PNG"), "\($0)")
        }
        XCTAssertThrowsError(try CaptionCorpus.load(path: directory + "/nowhere")) {
            XCTAssertTrue("\($0)".contains("no such file"))
        }
    }
}

final class CaptionModelTests: TemporaryDirectoryTestCase {
    /// The same loss (cross-entropy and attention penalty), gradients and batch-norm statistics as
    /// the PyTorch twin (torch_captioning.py), loaded by name.
    func testLossAndGradientsMatchPyTorch() throws {
        let golden = repositoryPath("Tests/ImageCaptioningTests/Golden")
        var rng = RandomGenerator(seed: 1)
        let network = try CaptionNetwork(
            config: CaptionConfig(
                imageSize: 8, channels: [3, 4], batchNorm: true, embeddingSize: 5,
                hiddenSize: 6, attentionSize: 4, dropout: 0, attentionPenalty: 0.5),
            codec: syntheticCaptionCodec(size: 9), rng: &rng)
        try network.parameters.load(
            try SafeTensors.read(path: golden + "/model.safetensors"), path: "model.safetensors")
        let expected = try SafeTensors.read(path: golden + "/expected.safetensors")
        let tape = Tape()
        let (loss, tokens) = try network.loss(
            images: Variable(try XCTUnwrap(expected.tensors["images"])),
            captions: [[4, 5, 6], [7, 8, 4, 5, 6], [8]], tape: tape, rng: &rng)
        XCTAssertEqual(tokens, 12)
        XCTAssertEqual(loss.value[0], try XCTUnwrap(expected.tensors["loss"])[0], accuracy: 1e-5)
        tape.backward(from: loss)
        for parameter in network.parameters.parameters {
            let reference = try XCTUnwrap(expected.tensors["grad." + parameter.name], parameter.name)
            assertClose(parameter.gradient(), reference, relative: 1e-4, absolute: 1e-6, parameter.name)
        }
        for (name, tensor) in network.parameters.namedTensors where name.contains("running") {
            assertClose(tensor, try XCTUnwrap(expected.tensors["after." + name]), relative: 1e-5, absolute: 1e-6, name)
        }
    }

    func testFiniteDifferences() throws {
        for batchNorm in [false, true] {
            var rng = RandomGenerator(seed: 4)
            let network = try CaptionNetwork(
                config: CaptionConfig(
                    imageSize: 4, channels: [2, 3], batchNorm: batchNorm, embeddingSize: 3,
                    hiddenSize: 4, attentionSize: 3, dropout: 0.2, attentionPenalty: 1),
                codec: syntheticCaptionCodec(size: 7), rng: &rng)
            let images = Tensor(zeros: [2, 3, 4, 4])
            rng.fillUniform(images, -1, 1)
            checkGradients(of: network.parameters.parameters, maxElementsPerVariable: 4, step: 1e-2, tolerance: 3e-2) {
                tape in
                var dropoutRNG = RandomGenerator(seed: 11)
                return try network.loss(
                    images: Variable(images), captions: [[4, 5], [6, 4, 5]], tape: tape, rng: &dropoutRNG
                ).loss
            }
        }
    }

    /// Beam search gives a caption even when no beam reaches <end>, and a beam of 1 equals greedy.
    func testDecodingAlwaysGivesACaption() throws {
        var rng = RandomGenerator(seed: 2)
        let network = try CaptionNetwork(
            config: CaptionConfig(
                imageSize: 8, channels: [3, 4], embeddingSize: 4, hiddenSize: 6,
                attentionSize: 4, dropout: 0),
            codec: syntheticCaptionCodec(size: 12), rng: &rng)
        let images = (0..<3).map { _ in (0..<(8 * 8 * 3)).map { _ in UInt8(rng.int(below: 256)) } }
        let beam = try network.caption(images: images, options: CaptionOptions(beamSize: 4, maximumLength: 3))
        XCTAssertEqual(beam.count, 3)
        for caption in beam {
            XCTAssertFalse(caption.tokens.isEmpty)
            XCTAssertEqual(caption.attention.count, caption.tokens.count)
            XCTAssertEqual(caption.attention[0].count, 16)  // a 4 × 4 grid
            XCTAssertEqual(caption.attention[0].reduce(0, +), 1, accuracy: 1e-5)
        }
        // The n-best of the same beam: the caption first, ranked by score, each scored alike.
        let alternatives = try network.captionAlternatives(
            images: images, options: CaptionOptions(beamSize: 4, nBest: 3, maximumLength: 3))
        XCTAssertEqual(alternatives.map(\.count), [3, 3, 3])
        XCTAssertEqual(alternatives.map(\.[0].text), beam.map(\.text))
        for list in alternatives { XCTAssertEqual(list.map(\.score), list.map(\.score).sorted(by: >)) }
        XCTAssertThrowsError(
            try network.captionAlternatives(images: images, options: CaptionOptions(beamSize: 2, nBest: 3)))
        let greedy = try network.caption(images: images, options: CaptionOptions(beamSize: 1, maximumLength: 5))
        let one = try network.caption(
            images: images, options: CaptionOptions(beamSize: 1, maximumLength: 5, batchSize: 1))
        XCTAssertEqual(greedy.map(\.text), one.map(\.text))
        let map = CaptionAttentionMap.image(beam[0], over: RGBImage(width: 20, height: 10))
        try map.writePNG(to: directory + "/map.png")
        XCTAssertEqual(try RGBImage(pngFile: directory + "/map.png").width, map.width)
    }

    /// A small captioner learns the built-in scenes a little: the loss falls and BLEU-1 rises.
    func testSmokeTrainingLearns() throws {
        _ = try DefaultCaptionCorpus.write(to: directory + "/scenes", trainCount: 120, heldOutCount: 10)
        let corpus = try CaptionCorpus.load(path: directory + "/scenes")
        let data = try CaptionData(corpus: corpus, imageSize: 16)
        var rng = RandomGenerator(seed: 3)
        let network = try CaptionNetwork(
            config: CaptionConfig(
                imageSize: 16, channels: [8, 16], embeddingSize: 16, hiddenSize: 32,
                attentionSize: 16, dropout: 0, attentionPenalty: 0.1),
            codec: data.codec, rng: &rng)
        let task = try CaptionTrainingTask(
            network: network, data: data, settings: CaptionTrainingSettings(batchSize: 16), seed: 1)
        let before = try task.validate()
        let options = TrainingOptions(
            steps: 120, evaluateEvery: 120, logEvery: 120, learningRate: 5e-3, outputDirectory: nil)
        let summary = try Trainer(task: task, options: options).run()
        let after = try task.validate()
        func value(_ result: ValidationResult, _ name: String) -> Double {
            result.metrics.first { $0.name == name }!.value
        }
        XCTAssertLessThan(
            value(after, "loss"), value(before, "loss") * 0.6, "loss \(value(before, "loss")) → \(value(after, "loss"))"
        )
        XCTAssertGreaterThan(value(after, "bleu1"), value(before, "bleu1") + 20)
        XCTAssertEqual(summary.primaryMetric, "bleu4")
        // The checkpoint round-trips and a translation checkpoint is refused by name.
        try network.save(to: directory + "/c.safetensors")
        let loaded = try CaptionNetwork.load(path: directory + "/c.safetensors")
        XCTAssertEqual(
            try loaded.caption(images: [data.valid.images[0]]).first?.text,
            try network.caption(images: [data.valid.images[0]]).first?.text)
    }
}
