/// How `zoo serve` listens and what it accepts.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// When set, every `/v1/` request needs `Authorization: Bearer <key>`.
    public var apiKey: String?
    /// Inferences that run at once; each task keeps this many copies of its model, since a
    /// model's inference buffers serve one request at a time.
    public var concurrentInferences: Int
    /// Requests that may wait for a free slot; beyond them a request is answered 503 with
    /// Retry-After instead of piling up in memory.
    public var queuedInferences: Int
    /// Translation and captioning requests that arrive together are decoded as one batch of at
    /// most this many (1: each alone).
    public var maximumBatch: Int
    public var limits: ServerLimits

    public init(
        host: String = "127.0.0.1", port: Int = 8080, apiKey: String? = nil, concurrentInferences: Int = 2,
        queuedInferences: Int = 32, maximumBatch: Int = 16, limits: ServerLimits = ServerLimits()
    ) {
        self.host = host
        self.port = port
        self.apiKey = apiKey
        self.concurrentInferences = concurrentInferences
        self.queuedInferences = queuedInferences
        self.maximumBatch = maximumBatch
        self.limits = limits
    }
}

/// What a public server must bound: bodies, text, audio, pixels, beams and waiting.
public struct ServerLimits: Sendable {
    /// A JSON request body (sample, translate).
    public var jsonBytes = 64 << 10
    /// An uploaded audio file.
    public var audioBytes = 16 << 20
    /// An uploaded image.
    public var imageBytes = 8 << 20
    /// Characters of a prompt or of a sentence to translate.
    public var textCharacters = 2000
    /// Tokens one sample may generate.
    public var sampleLength = 2000
    /// Seconds of audio one request may transcribe.
    public var audioSeconds = 30.0
    /// Pixels of an uploaded image, read from its header before anything is decoded.
    public var imagePixels = 16_000_000
    /// The widest beam a request may ask for.
    public var beamSize = 16
    /// Seconds a request may wait for a free inference slot before it is answered 503.
    public var queueSeconds = 30.0
    /// Seconds a connection may send and read nothing before it is closed.
    public var idleSeconds = 30

    public init() {}
}
