import Dispatch
import EngineSupport
import Foundation
import HTTPTypes
import Hummingbird
import ImageCaptioning
import LanguageModel
import RNNEngine
import SpeechRecognition
import Translation

/// `zoo serve`: the page (`/`), the JSON API (`/v1/...`), `/healthz` and `/openapi.json`, over
/// the models given. Inference runs in bounded slots on Dispatch's threads (`InferenceGate`).
public struct ZooServer: Sendable {
    public let models: ServedModels
    public let configuration: ServerConfiguration
    let gate: InferenceGate
    let translations: RequestBatcher<Int, String, TranslatedSentence>?
    let captions: RequestBatcher<Int, [UInt8], [GeneratedCaption]>?

    public init(models: ServedModels, configuration: ServerConfiguration) {
        self.models = models
        self.configuration = configuration
        let gate = InferenceGate(
            capacity: configuration.concurrentInferences, queueLimit: configuration.queuedInferences,
            queueSeconds: configuration.limits.queueSeconds)
        self.gate = gate
        // Keyed by the beam: a batch shares its decoding settings.
        translations = models.translation.map { pool in
            Self.batcher(pool, gate: gate, configuration: configuration) { model, beam, texts in
                try model.translate(texts, options: TranslationOptions(beamSize: beam)).map { $0[0] }
            }
        }
        captions = models.captioning.map { pool in
            Self.batcher(pool, gate: gate, configuration: configuration) { model, beam, images in
                try model.captionAlternatives(
                    images: images, options: CaptionOptions(beamSize: beam, nBest: Self.captionAlternatives(beam: beam))
                )
            }
        }
    }

    /// A batcher whose batches decode with one of `pool`'s models in one of the gate's slots.
    static func batcher<Model, Input: Sendable, Output: Sendable>(
        _ pool: ModelPool<Model>, gate: InferenceGate, configuration: ServerConfiguration,
        decode: @escaping @Sendable (Model, Int, [Input]) throws -> [Output]
    ) -> RequestBatcher<Int, Input, Output> {
        RequestBatcher(
            maximumBatch: configuration.maximumBatch, lanes: configuration.concurrentInferences,
            queueLimit: configuration.queuedInferences
        ) { beam, inputs in
            try await gate.run { try pool.withModel { model in try userError { try decode(model, beam, inputs) } } }
        }
    }

    /// The router with every route; tests drive it in process.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        if let key = configuration.apiKey { router.add(middleware: BearerTokenMiddleware(key: key)) }
        router.get("/") { _, _ in Self.resource(PackageResources.index_html, type: "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in Self.resource(PackageResources.app_js, type: "text/javascript; charset=utf-8") }
        router.get("/style.css") { _, _ in Self.resource(PackageResources.style_css, type: "text/css; charset=utf-8") }
        router.get("/openapi.json") { _, _ in Self.resource(PackageResources.openapi_json, type: "application/json") }
        router.get("/healthz") { _, _ in Self.json(["status": "ok"]) }
        router.get("/v1/models") { _, _ in Self.json(self.modelList()) }
        router.post("/v1/sample") { request, _ in try await self.sample(request) }
        router.post("/v1/translate") { request, _ in try await self.translate(request) }
        router.post("/v1/transcribe") { request, _ in try await self.transcribe(request) }
        router.post("/v1/caption") { request, _ in try await self.caption(request) }
        return router
    }

    /// Serves until SIGINT or SIGTERM, then lets the requests in flight finish.
    public func run(onReady: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let address =
            "http://\(configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host):\(configuration.port)/"
        let app = Application(
            router: router(),
            // A connection that sends or reads nothing for this long is closed: a client that
            // stalls in the middle of an upload does not hold the connection forever.
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(configuration.limits.idleSeconds)))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "zoo"),
            onServerRunning: { _ in onReady(address) })
        try await app.runService()
    }

    // MARK: Responses

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(data: jsonBody(value))))
    }

    static func resource(_ bytes: [UInt8], type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    struct ModelList: Encodable {
        struct Missing: Encodable {
            var task: ServedTask
            var train: String
        }
        var models: [ModelDescription]
        var missing: [Missing]
    }

    func modelList() -> ModelList {
        ModelList(
            models: ServedTask.allCases.compactMap { models.descriptions[$0] },
            missing: ServedTask.allCases.filter { models.descriptions[$0] == nil }.map {
                ModelList.Missing(task: $0, train: $0.trainCommand)
            })
    }

    /// The model of `task`, or a 404 that says how to get one.
    func pool<Model>(_ pool: ModelPool<Model>?, _ task: ServedTask) throws -> ModelPool<Model> {
        guard let pool else {
            throw APIError(
                .notFound,
                "this server has no \(task.rawValue) model; train one with `\(task.trainCommand)` and start zoo serve again"
            )
        }
        return pool
    }

    // MARK: Language model

    struct SamplePiece: Encodable { var text: String }

    func sample(_ request: Request) async throws -> Response {
        let pool = try pool(models.languageModel, .languageModel)
        let limits = configuration.limits
        let body = try await request.decodeJSON(SampleRequest.self, limit: limits.jsonBytes)
        let prompt = body.prompt ?? ""
        let length = body.length ?? 200
        let temperature = body.temperature ?? 0.8
        guard prompt.count <= limits.textCharacters else {
            throw APIError.badRequest(
                "the prompt has \(prompt.count) characters, more than the \(limits.textCharacters) this server takes")
        }
        guard (1...limits.sampleLength).contains(length) else {
            throw APIError.badRequest("\"length\" must be between 1 and \(limits.sampleLength), not \(length)")
        }
        guard temperature > 0, temperature <= 10, temperature.isFinite else {
            throw APIError.badRequest("\"temperature\" must be above 0 and at most 10, not \(temperature)")
        }
        if let topK = body.topK, topK < 1 { throw APIError.badRequest("\"top_k\" must be at least 1, not \(topK)") }
        let sampling = SamplingOptions(temperature: temperature, topK: body.topK)
        let seed = body.seed ?? UInt64.random(in: 1...UInt64.max)

        guard body.stream == true else {
            let text = try await gate.run {
                try pool.withModel { model in
                    var rng = RandomGenerator(seed: seed)
                    return try Self.userError {
                        try model.generate(prompt: prompt, length: length, sampling: sampling, rng: &rng)
                    }
                }
            }
            return Self.json(["text": text])
        }
        // Streamed: the tokens go out as server-sent events while the model generates them.
        try await gate.enter()
        let (pieces, continuation) = AsyncStream<String>.makeStream()
        let gate = self.gate
        DispatchQueue.global(qos: .userInitiated).async {
            do {
                _ = try pool.withModel { model in
                    var rng = RandomGenerator(seed: seed)
                    return try Self.userError {
                        try model.generate(prompt: prompt, length: length, sampling: sampling, rng: &rng) { piece in
                            continuation.yield(
                                "data: " + String(decoding: jsonBody(SamplePiece(text: piece)), as: UTF8.self) + "\n\n")
                        }
                    }
                }
                continuation.yield("event: done\ndata: {}\n\n")
            } catch {
                let message = (error as? APIError)?.message ?? "\(error)"
                continuation.yield(
                    "event: error\ndata: " + String(decoding: jsonBody(["error": message]), as: UTF8.self) + "\n\n")
            }
            continuation.finish()
            Task { await gate.leave() }
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                for await event in pieces { try await writer.write(ByteBuffer(string: event)) }
                try await writer.finish(nil)
            })
    }

    // MARK: Translation

    struct TranslationAnswer: Encodable {
        var translation: String
        var sourceTokens: [String]
        var targetTokens: [String]
        /// One row per target token, one column per source token.
        var attention: [[Float]]
        var score: Double
        var finished: Bool
        var unknownSourceTokens: Int

        enum CodingKeys: String, CodingKey {
            case translation
            case sourceTokens = "source_tokens"
            case targetTokens = "target_tokens"
            case attention, score, finished
            case unknownSourceTokens = "unknown_source_tokens"
        }
    }

    func translate(_ request: Request) async throws -> Response {
        _ = try pool(models.translation, .translation)
        let limits = configuration.limits
        let body = try await request.decodeJSON(TranslateRequest.self, limit: limits.jsonBytes)
        let beam = body.beam ?? 5
        guard !body.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw APIError.badRequest("\"text\" is empty: send a sentence to translate")
        }
        guard body.text.count <= limits.textCharacters else {
            throw APIError.badRequest(
                "\"text\" has \(body.text.count) characters, more than the \(limits.textCharacters) this server takes")
        }
        guard (1...limits.beamSize).contains(beam) else {
            throw APIError.badRequest("\"beam\" must be between 1 and \(limits.beamSize), not \(beam)")
        }
        guard let translations else { throw APIError(.internalServerError, "the translation model has no batcher") }
        let best = try await translations.submit(body.text, key: beam)
        return Self.json(
            TranslationAnswer(
                translation: best.text, sourceTokens: best.sourceTokens, targetTokens: best.targetTokens,
                attention: best.attention, score: best.score, finished: best.finished,
                unknownSourceTokens: best.unknownSourceTokens))
    }

    // MARK: Speech

    func transcribe(_ request: Request) async throws -> Response {
        let pool = try pool(models.speech, .speech)
        let limits = configuration.limits
        let bytes = try await request.uploadedFile(limit: limits.audioBytes, what: "audio file")
        let beam = try Self.beamParameter(request, default: 1, limit: limits.beamSize)
        let picture = request.uri.queryParameters.get("alignment") == "true"
        let result = try await gate.run {
            try UploadedFile.with(bytes, suffix: ".audio") { path in
                let clip: AudioClip
                do {
                    clip = try AudioFile.read(path: path)
                } catch let error as AudioError {
                    throw APIError(
                        .unsupportedMediaType,
                        UploadedFile.describe(error, path: path)
                            + " (formats that work: WAV of any sample format, FLAC, Ogg Vorbis, Ogg Opus, MP3, AIFF, ...)"
                    )
                }
                let seconds = Double(clip.samples.count) / Double(max(clip.sampleRate, 1))
                guard seconds <= limits.audioSeconds else {
                    throw APIError(
                        .contentTooLarge,
                        "the audio is \(Int(seconds.rounded())) s long, more than the \(Int(limits.audioSeconds)) s this server transcribes; cut it into shorter clips"
                    )
                }
                return try pool.withModel { model -> [String: String] in
                    let options = beam > 1 ? PrefixBeamOptions(beamSize: beam) : nil
                    let text = try model.transcribe(clips: [clip], beam: options)[0]
                    var answer = ["transcript": text]
                    if picture {
                        answer["alignment"] = try UploadedFile.pngDataURL {
                            try model.plotAlignment(of: clip, title: text, to: $0)
                        }
                    }
                    return answer
                }
            }
        }
        return Self.json(result)
    }

    // MARK: Captioning

    /// The alternatives a caption request gets back: the beam's best, at most five.
    static func captionAlternatives(beam: Int) -> Int { min(beam, 5) }

    struct Alternative: Encodable {
        var caption: String
        var score: Double
        var logProbability: Double

        enum CodingKeys: String, CodingKey {
            case caption, score
            case logProbability = "log_probability"
        }
    }

    struct Caption: Encodable {
        var caption: String
        var words: [String]
        var logProbability: Double
        var finished: Bool
        /// One row per word: its weights over the grid × grid feature map, row by row.
        var attention: [[Float]]
        var grid: Int
        /// The beam's best captions, best first, the caption above included.
        var alternatives: [Alternative]
        /// The attention maps drawn over the image, as a PNG data URL, when asked for.
        var attentionMap: String?

        enum CodingKeys: String, CodingKey {
            case caption, words
            case logProbability = "log_probability"
            case finished, attention, grid, alternatives
            case attentionMap = "attention_map"
        }
    }

    func caption(_ request: Request) async throws -> Response {
        _ = try pool(models.captioning, .captioning)
        guard let captions, let preprocessor = models.captionPreprocessor else {
            throw APIError(.internalServerError, "the captioning model has no batcher")
        }
        let limits = configuration.limits
        let bytes = try await request.uploadedFile(limit: limits.imageBytes, what: "image")
        let beam = try Self.beamParameter(request, default: 3, limit: limits.beamSize)
        let picture = request.uri.queryParameters.get("attention_map") == "true"
        // Decoded and resized alone; captioned in a batch with the images that arrive with it.
        let (image, resized) = try await gate.run {
            try UploadedFile.with(bytes, suffix: ".png") { path -> (RGBImage, [UInt8]) in
                // The reader refuses a header that declares more pixels than the limit before it
                // decodes anything: a small file cannot make the server allocate gigapixels.
                let image: RGBImage
                do {
                    image = try RGBImage(pngFile: path, maximumPixels: limits.imagePixels)
                } catch let error as ImageFileError {
                    let message = UploadedFile.describe(error, path: path)
                    switch error {
                    case .notPNG:
                        throw APIError.unsupportedMediaType(
                            message + "; the captioner reads PNG: convert other formats first")
                    case .tooLarge: throw APIError(.contentTooLarge, message + "; scale it down first")
                    default: throw APIError(.unprocessableContent, message)
                    }
                }
                return (image, preprocessor.resize(image))
            }
        }
        let alternatives = try await captions.submit(resized, key: beam)
        let caption = alternatives[0]
        let map =
            picture
            ? try UploadedFile.pngDataURL { try CaptionAttentionMap.image(caption, over: image).writePNG(to: $0) } : nil
        let result = Caption(
            caption: caption.text, words: caption.tokens, logProbability: caption.logProbability,
            finished: caption.finished, attention: caption.attention, grid: caption.gridSize,
            alternatives: alternatives.map {
                Alternative(caption: $0.text, score: $0.score, logProbability: $0.logProbability)
            },
            attentionMap: map)
        return Self.json(result)
    }

    // MARK: Helpers

    /// `?beam=N`, checked.
    static func beamParameter(_ request: Request, default value: Int, limit: Int) throws -> Int {
        guard let text = request.uri.queryParameters.get("beam") else { return value }
        guard let beam = Int(text), (1...limit).contains(beam) else {
            throw APIError.badRequest("beam must be a whole number between 1 and \(limit), not \"\(text)\"")
        }
        return beam
    }

    /// Runs `body`; an error the libraries throw about the input becomes a 422 with its words.
    static func userError<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.unprocessableContent, "\(error)")
        }
    }
}
