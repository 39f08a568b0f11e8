import EngineSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ImageCaptioning
import LanguageModel
import RNNEngine
import SpeechRecognition
import TestSupport
import Translation
import XCTest

@testable import ZooServer

/// Tiny untrained models of the four tasks, saved once for every test: the API's behaviour does
/// not depend on what a model learned.
enum TinyModels {
    static let directory: String = {
        let directory = NSTemporaryDirectory() + "zoo-server-test-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }()

    static let checkpoints: [ServedTask: String] = {
        var rng = RandomGenerator(seed: 1)
        var paths: [ServedTask: String] = [:]
        do {
            let text = Vocabulary(tokens: Array("\n abcdefghijklmnopqrstuvwxyzT.").map(String.init))
            let lm = try LanguageModelNetwork(
                config: LanguageModelConfig(embeddingSize: 8, hiddenSize: 16), vocabulary: text, rng: &rng)
            paths[.languageModel] = directory + "/lm.safetensors"
            try lm.save(to: paths[.languageModel]!)

            let words = ["<pad>", "<unk>", "<s>", "</s>", "the", "dog", "saw", "children", "our", "."]
            let codec = SentenceCodec(vocabulary: Vocabulary(tokens: words), bytePairs: nil)
            let translation = try TranslationNetwork(
                config: TranslationConfig(cell: .lstm, embeddingSize: 6, hiddenSize: 8, dropout: 0), source: codec,
                target: codec,
                rng: &rng)
            paths[.translation] = directory + "/translation.safetensors"
            try translation.save(to: paths[.translation]!)

            let speech = try SpeechNetwork(
                config: SpeechConfig(hiddenSize: 8, layers: 1, alphabet: Alphabet(symbols: Array("abc "))), rng: &rng)
            paths[.speech] = directory + "/speech.safetensors"
            try speech.save(to: paths[.speech]!)

            let captions = CaptionCodec(
                vocabulary: Vocabulary(
                    tokens: [
                        CaptionCodec.padding, CaptionCodec.unknown, CaptionCodec.start, CaptionCodec.end, "a", "red",
                        "circle"
                    ]))
            let captioning = try CaptionNetwork(
                config: CaptionConfig(
                    imageSize: 8, channels: [3, 4], embeddingSize: 5, hiddenSize: 6, attentionSize: 4, dropout: 0),
                codec: captions, rng: &rng)
            paths[.captioning] = directory + "/captioning.safetensors"
            try captioning.save(to: paths[.captioning]!)
        } catch {
            XCTFail("the tiny models could not be made: \(error)")
        }
        return paths
    }()

    /// Half a second of a tone as 16-bit WAV.
    static let wav: [UInt8] = {
        let path = directory + "/tone.wav"
        let samples = (0..<8000).map { Float(sin(Double($0) * 2 * .pi * 440 / 16000)) * 0.3 }
        try? AudioFile.write(samples, sampleRate: 16000, format: .wav16, to: path)
        return (try? Array(Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
    }()

    /// A 20 × 16 PNG with a red square.
    static let png: [UInt8] = {
        let path = directory + "/square.png"
        var image = RGBImage(width: 20, height: 16)
        for y in 4..<12 { for x in 6..<14 { image.set(x, y, (220, 30, 30)) } }
        try? image.writePNG(to: path)
        return (try? Array(Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
    }()
}

func responseJSON(_ buffer: ByteBuffer) throws -> [String: Any] {
    try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any], String(buffer: buffer))
}

/// A 4xx answer is JSON with a message that says `containing`.
func assertAPIError(
    _ response: TestResponse, _ status: HTTPResponse.Status, containing: String, file: StaticString = #filePath,
    line: UInt = #line
) throws {
    XCTAssertEqual(response.status, status, String(buffer: response.body), file: file, line: line)
    XCTAssertEqual(response.headers[.contentType], "application/json; charset=utf-8", file: file, line: line)
    let message = try XCTUnwrap(try responseJSON(response.body)["error"] as? String, file: file, line: line)
    XCTAssertTrue(message.contains(containing), "“\(message)” should say “\(containing)”", file: file, line: line)
}

final class ServerAPITests: XCTestCase {
    func makeApplication(
        checkpoints: [ServedTask: String] = TinyModels.checkpoints,
        configuration: ServerConfiguration = ServerConfiguration()
    ) throws -> some ApplicationProtocol {
        let server = ZooServer(
            models: try ServedModels(checkpoints: checkpoints, copies: 2), configuration: configuration)
        return Application(router: server.router())
    }

    func testHealthModelsPageAndOpenAPI() async throws {
        try await makeApplication().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) {
                XCTAssertEqual(try responseJSON($0.body)["status"] as? String, "ok")
            }
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let body = try responseJSON(response.body)
                let models = try XCTUnwrap(body["models"] as? [[String: Any]])
                XCTAssertEqual(
                    Set(models.compactMap { $0["task"] as? String }), ["lm", "translation", "speech", "captioning"])
                XCTAssertTrue(models.allSatisfy { ($0["parameters"] as? Int ?? 0) > 0 })
                XCTAssertEqual((body["missing"] as? [Any])?.count, 0)
            }
            try await client.execute(uri: "/", method: .get) { response in
                XCTAssertEqual(response.headers[.contentType], "text/html; charset=utf-8")
                XCTAssertTrue(String(buffer: response.body).contains("<title>RNN Zoo</title>"))
            }
            try await client.execute(uri: "/app.js", method: .get) {
                XCTAssertTrue(String(buffer: $0.body).contains("/v1/translate"))
            }
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                let paths = try XCTUnwrap(try responseJSON(response.body)["paths"] as? [String: Any])
                XCTAssertEqual(
                    Set(paths.keys),
                    ["/healthz", "/v1/models", "/v1/sample", "/v1/translate", "/v1/transcribe", "/v1/caption"])
            }
        }
    }

    func testSampleAnswersAndStreams() async throws {
        try await makeApplication().test(.router) { client in
            let request = ByteBuffer(string: #"{"prompt": "the ", "length": 12, "temperature": 0.7, "seed": 3}"#)
            var first = ""
            try await client.execute(
                uri: "/v1/sample", method: .post, headers: [.contentType: "application/json"], body: request
            ) {
                XCTAssertEqual($0.status, .ok)
                first = try XCTUnwrap(try responseJSON($0.body)["text"] as? String)
                XCTAssertEqual(first.count, 12, "a character model generates one character a token")
            }
            // The same seed, streamed: the same text, one event per token, then done.
            let streamed = ByteBuffer(
                string: #"{"prompt": "the ", "length": 12, "temperature": 0.7, "seed": 3, "stream": true}"#)
            try await client.execute(uri: "/v1/sample", method: .post, body: streamed) { response in
                XCTAssertEqual(response.headers[.contentType], "text/event-stream")
                let events = String(buffer: response.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
                XCTAssertEqual(events.count, 13)
                XCTAssertEqual(events.last, "event: done\ndata: {}")
                let text = try events.dropLast().map { event -> String in
                    let object =
                        try JSONSerialization.jsonObject(with: Data(event.dropFirst("data: ".count).utf8))
                        as? [String: String]
                    return object?["text"] ?? "?"
                }.joined()
                XCTAssertEqual(text, first)
            }
            try await client.execute(uri: "/v1/sample", method: .post, body: ByteBuffer(string: #"{"length": 0}"#)) {
                try assertAPIError($0, .badRequest, containing: "\"length\" must be between 1 and 2000")
            }
            try await client.execute(
                uri: "/v1/sample", method: .post, body: ByteBuffer(string: #"{"temperature": -1}"#)
            ) {
                try assertAPIError($0, .badRequest, containing: "temperature")
            }
            try await client.execute(
                uri: "/v1/sample", method: .post, body: ByteBuffer(string: #"{"prompt": "ÄÖÜ", "length": 3}"#)
            ) {
                try assertAPIError($0, .unprocessableContent, containing: "vocabulary")
            }
        }
    }

    func testTranslateAndEveryBadRequest() async throws {
        try await makeApplication().test(.router) { client in
            let good = ByteBuffer(string: #"{"text": "the children saw our dog .", "beam": 3}"#)
            try await client.execute(
                uri: "/v1/translate", method: .post, headers: [.contentType: "application/json"], body: good
            ) {
                XCTAssertEqual($0.status, .ok, String(buffer: $0.body))
                let body = try responseJSON($0.body)
                XCTAssertNotNil(body["translation"] as? String)
                let sources = try XCTUnwrap(body["source_tokens"] as? [String])
                let attention = try XCTUnwrap(body["attention"] as? [[Double]])
                XCTAssertEqual(sources, ["the", "children", "saw", "our", "dog", "."])
                XCTAssertTrue(attention.allSatisfy { $0.count == sources.count && abs($0.reduce(0, +) - 1) < 1e-4 })
            }
            try await client.execute(uri: "/v1/translate", method: .post) {
                try assertAPIError($0, .badRequest, containing: "empty")
            }
            try await client.execute(
                uri: "/v1/translate", method: .post, headers: [.contentType: "text/plain"],
                body: ByteBuffer(string: "the dog")
            ) { try assertAPIError($0, .unsupportedMediaType, containing: "application/json") }
            try await client.execute(uri: "/v1/translate", method: .post, body: ByteBuffer(string: "{\"text\": ")) {
                try assertAPIError($0, .badRequest, containing: "not valid JSON")
            }
            try await client.execute(
                uri: "/v1/translate", method: .post, body: ByteBuffer(string: #"{"sentence": "x"}"#)
            ) {
                try assertAPIError($0, .badRequest, containing: "no \"text\"")
            }
            try await client.execute(uri: "/v1/translate", method: .post, body: ByteBuffer(string: #"{"text": 5}"#)) {
                try assertAPIError($0, .badRequest, containing: "\"text\" has the wrong type")
            }
            try await client.execute(
                uri: "/v1/translate", method: .post, body: ByteBuffer(string: #"{"text": "the", "beam": 0}"#)
            ) {
                try assertAPIError($0, .badRequest, containing: "\"beam\" must be between 1 and 16")
            }
            let long = ByteBuffer(string: "{\"text\": \"" + String(repeating: "dog ", count: 600) + "\"}")
            try await client.execute(uri: "/v1/translate", method: .post, body: long) {
                try assertAPIError($0, .badRequest, containing: "more than the 2000")
            }
            let huge = ByteBuffer(string: "{\"text\": \"" + String(repeating: "x", count: 70_000) + "\"}")
            try await client.execute(uri: "/v1/translate", method: .post, body: huge) {
                try assertAPIError($0, .contentTooLarge, containing: "64 KiB")
            }
            try await client.execute(uri: "/v1/summarise", method: .post, body: good) {
                try assertAPIError($0, .notFound, containing: "no such endpoint")
            }
            // Still serving after all of that.
            try await client.execute(uri: "/v1/translate", method: .post, body: good) { XCTAssertEqual($0.status, .ok) }
        }
    }

    func testTranscribeTakesAudioAndNamesWhatIsWrong() async throws {
        try await makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/v1/transcribe?alignment=true", method: .post, headers: [.contentType: "audio/wav"],
                body: ByteBuffer(bytes: TinyModels.wav)
            ) {
                XCTAssertEqual($0.status, .ok, String(buffer: $0.body))
                let body = try responseJSON($0.body)
                XCTAssertNotNil(body["transcript"] as? String)
                XCTAssertTrue((body["alignment"] as? String)?.hasPrefix("data:image/png;base64,") ?? false)
            }
            try await client.execute(
                uri: "/v1/transcribe", method: .post, body: ByteBuffer(string: "hello, this is text\n")
            ) {
                try assertAPIError($0, .unsupportedMediaType, containing: "formats that work")
                XCTAssertFalse(
                    String(buffer: $0.body).contains("zoo-serve-"), "the server's temporary path stays private")
            }
            try await client.execute(uri: "/v1/transcribe", method: .post) {
                try assertAPIError($0, .badRequest, containing: "empty")
            }
            try await client.execute(
                uri: "/v1/transcribe?beam=x", method: .post, body: ByteBuffer(bytes: TinyModels.wav)
            ) {
                try assertAPIError($0, .badRequest, containing: "beam must be a whole number")
            }
        }
    }

    func testCaptionTakesPNGsAndRefusesBadOnes() async throws {
        try await makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/v1/caption?attention_map=true", method: .post, headers: [.contentType: "image/png"],
                body: ByteBuffer(bytes: TinyModels.png)
            ) {
                XCTAssertEqual($0.status, .ok, String(buffer: $0.body))
                let body = try responseJSON($0.body)
                XCTAssertNotNil(body["caption"] as? String)
                XCTAssertEqual(body["grid"] as? Int, 4)
                // The default beam of 3 gives three alternatives, best first, the caption first.
                let alternatives = try XCTUnwrap(body["alternatives"] as? [[String: Any]])
                XCTAssertEqual(alternatives.count, 3)
                XCTAssertEqual(alternatives[0]["caption"] as? String, body["caption"] as? String)
                let scores = alternatives.compactMap { $0["score"] as? Double }
                XCTAssertEqual(scores, scores.sorted(by: >))
                XCTAssertTrue((body["attention_map"] as? String)?.hasPrefix("data:image/png;base64,") ?? false)
            }
            // The page's multipart upload.
            let boundary = "zoo-test-boundary"
            let formType: HTTPFields = [.contentType: "multipart/form-data; boundary=\(boundary)"]
            /// A form of one PNG part with `headers`.
            func form(_ headers: String) -> ByteBuffer {
                var form = ByteBuffer(string: "--\(boundary)\r\n\(headers)\r\n\r\n")
                form.writeBytes(TinyModels.png)
                form.writeString("\r\n--\(boundary)--\r\n")
                return form
            }
            let plain = form(
                "Content-Disposition: form-data; name=\"file\"; filename=\"square.png\"\r\nContent-Type: image/png")
            try await client.execute(uri: "/v1/caption", method: .post, headers: formType, body: plain) {
                XCTAssertEqual($0.status, .ok, String(buffer: $0.body))
            }

            // A header name with a byte outside ASCII stopped the process inside multipart-kit
            // (found by fuzzing); a file name in UTF-8, as browsers send it, is fine.
            let hostile = form("Content-Dispösition: form-data; name=\"file\"")
            try await client.execute(uri: "/v1/caption", method: .post, headers: formType, body: hostile) {
                try assertAPIError($0, .badRequest, containing: "outside ASCII")
            }
            let named = form("Content-Disposition: form-data; name=\"file\"; filename=\"Bäume.png\"")
            try await client.execute(uri: "/v1/caption", method: .post, headers: formType, body: named) {
                XCTAssertEqual($0.status, .ok, String(buffer: $0.body))
            }

            let truncated = Array(TinyModels.png.prefix(TinyModels.png.count / 2))
            try await client.execute(uri: "/v1/caption", method: .post, body: ByteBuffer(bytes: truncated)) {
                try assertAPIError($0, .unprocessableContent, containing: "the uploaded file")
            }
            try await client.execute(uri: "/v1/caption", method: .post, body: ByteBuffer(string: "GIF89a...")) {
                try assertAPIError($0, .unsupportedMediaType, containing: "not a PNG")
            }
            // A header that declares 100000 × 100000 pixels: refused before anything is decoded.
            let bomb = pngDeclaringSize(TinyModels.png, width: 100_000, height: 100_000)
            try await client.execute(uri: "/v1/caption", method: .post, body: ByteBuffer(bytes: bomb)) {
                try assertAPIError($0, .contentTooLarge, containing: "100000 x 100000")
            }
        }
    }

    func testWithoutModelsEveryTaskSaysWhatToTrain() async throws {
        try await makeApplication(checkpoints: [:]).test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let missing = try XCTUnwrap(try responseJSON(response.body)["missing"] as? [[String: String]])
                XCTAssertEqual(
                    missing.map { $0["train"] ?? "" }.sorted(),
                    [
                        "zoo train captioning", "zoo train lm", "zoo train speech", "zoo train translation"
                    ])
            }
            try await client.execute(
                uri: "/v1/translate", method: .post, body: ByteBuffer(string: #"{"text": "the dog"}"#)
            ) {
                try assertAPIError($0, .notFound, containing: "zoo train translation")
            }
            try await client.execute(uri: "/v1/caption", method: .post, body: ByteBuffer(bytes: TinyModels.png)) {
                try assertAPIError($0, .notFound, containing: "zoo train captioning")
            }
        }
    }

    func testAnAPIKeyGuardsTheAPIButNotThePage() async throws {
        let configuration = ServerConfiguration(apiKey: "s3cret")
        try await makeApplication(configuration: configuration).test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) {
                try assertAPIError($0, .unauthorized, containing: "Bearer")
            }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer wrong"]) {
                XCTAssertEqual($0.status, .unauthorized)
            }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer s3cret"]) {
                XCTAssertEqual($0.status, .ok)
            }
            try await client.execute(uri: "/", method: .get) { XCTAssertEqual($0.status, .ok) }
            try await client.execute(uri: "/healthz", method: .get) { XCTAssertEqual($0.status, .ok) }
        }
    }

    /// Beyond the running and the waiting, a request is told to come back (503, Retry-After),
    /// and a slot that frees goes to the next in line.
    func testTheGateBoundsRunningAndWaiting() async throws {
        let gate = InferenceGate(capacity: 1, queueLimit: 1, queueSeconds: 30)
        try await gate.enter()
        let waiter = Task { try await gate.enter() }
        try await Task.sleep(for: .milliseconds(100))
        do {
            try await gate.enter()
            XCTFail("a third request got in")
        } catch let error as APIError {
            XCTAssertEqual(error.status, .serviceUnavailable)
            XCTAssertEqual(error.retryAfter, 1)
            XCTAssertEqual(error.response().headers[.retryAfter], "1")
        }
        await gate.leave()
        try await waiter.value  // the waiting one got the slot
        await gate.leave()
    }
}

/// What the batcher's work saw, for the tests.
actor BatchLog {
    var sizes: [Int] = []
    func record(_ size: Int) { sizes.append(size) }
}

final class RequestBatcherTests: XCTestCase {
    /// Requests that arrive while a batch runs wait for the next one and go together; each gets
    /// its own answer; one bad input fails alone, not the batch it came in.
    func testRequestsThatArriveTogetherShareABatchAndKeepTheirAnswers() async throws {
        let log = BatchLog()
        let batcher = RequestBatcher<Int, Int, Int>(maximumBatch: 4, lanes: 1, queueLimit: 100) { key, inputs in
            await log.record(inputs.count)
            try await Task.sleep(for: .milliseconds(50))
            if inputs.contains(13) { throw APIError.badRequest("13 is refused") }
            return inputs.map { $0 * key }
        }
        let answers = try await withThrowingTaskGroup(of: (Int, Result<Int, APIError>).self) { group in
            for input in 0..<15 {
                group.addTask {
                    do {
                        return (input, .success(try await batcher.submit(input, key: 2)))
                    } catch let error as APIError {
                        return (input, .failure(error))
                    }
                }
            }
            var answers: [Int: Result<Int, APIError>] = [:]
            for try await (input, answer) in group { answers[input] = answer }
            return answers
        }
        for input in 0..<15 where input != 13 {
            XCTAssertEqual(try answers[input]?.get(), input * 2)
        }
        guard case .failure(let error)? = answers[13] else { return XCTFail("13 was answered") }
        XCTAssertEqual(error.message, "13 is refused")
        let sizes = await log.sizes
        XCTAssertLessThanOrEqual(sizes.max() ?? 0, 4)
        XCTAssertGreaterThan(sizes.max() ?? 0, 1, "nothing was batched: \(sizes)")
    }

    /// Batched translations are the translations each sentence gets alone.
    func testABatchTranslatesEachSentenceAsAlone() async throws {
        let models = try ServedModels(checkpoints: TinyModels.checkpoints, copies: 1)
        let server = ZooServer(models: models, configuration: ServerConfiguration(concurrentInferences: 1))
        let sentences = ["the dog saw our children .", "our dog .", "the children saw the dog saw our dog ."]
        let alone = try models.translation!.withModel { model in
            try sentences.map { try model.translate([$0], options: TranslationOptions(beamSize: 3))[0][0].text }
        }
        let together = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (k, sentence) in sentences.enumerated() {
                group.addTask { (k, try await server.translations!.submit(sentence, key: 3).text) }
            }
            var texts = [String](repeating: "", count: sentences.count)
            for try await (k, text) in group { texts[k] = text }
            return texts
        }
        XCTAssertEqual(together, alone)
    }
}
