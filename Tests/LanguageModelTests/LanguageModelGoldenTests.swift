import Foundation
import RNNEngine
import XCTest

@testable import LanguageModel

/// Models trained in PyTorch (Golden/make_golden.py) must score and sample identically here.
final class LanguageModelGoldenTests: XCTestCase {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
        .path

    struct Expected: Decodable {
        struct Model: Decodable {
            let loss: Double
            let tokens: Int
            let unknown: Int
            let greedy: String
        }
        let test_text: String
        let prompt: String
        let char_lstm: Model
        let char_gru: Model
    }

    func testPyTorchModelsScoreAndSampleTheSame() throws {
        let expected = try JSONDecoder().decode(
            Expected.self, from: Data(contentsOf: URL(fileURLWithPath: Self.golden + "/expected.json")))
        for (name, model) in [("char_lstm", expected.char_lstm), ("char_gru", expected.char_gru)] {
            let network = try LanguageModelNetwork.load(path: Self.golden + "/\(name).safetensors")
            let score = try network.score(text: expected.test_text)
            XCTAssertEqual(score.loss, model.loss, accuracy: 1e-4 * model.loss, name)
            XCTAssertEqual(score.tokens, model.tokens, name)
            XCTAssertEqual(score.unknown, model.unknown, name)
            var rng = RandomGenerator(seed: 1)
            let text = try network.generate(
                prompt: expected.prompt, length: 40, sampling: SamplingOptions(temperature: 0), rng: &rng)
            XCTAssertEqual(text, model.greedy, name)
        }
    }

    func testScoreDoesNotDependOnChunking() throws {
        let network = try LanguageModelNetwork.load(path: Self.golden + "/char_lstm.safetensors")
        let ids = Corpus.encode(
            Tokenization.char.tokens("the lazy dog sleeps while the quick fox runs."), vocabulary: network.vocabulary
        ).ids
        let whole = try network.score(ids, chunk: 1000).loss
        for chunk in [1, 3, 17] {
            XCTAssertEqual(try network.score(ids, chunk: chunk).loss, whole, accuracy: 1e-5)
        }
    }
}
