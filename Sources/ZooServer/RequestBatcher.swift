/// Requests for the same model that arrive together, decoded as one batch: sixteen sentences in
/// one decoder pass cost little more than one, where sixteen passes cost sixteen times as much.
/// Each item decodes as it would alone (the decoders give every item its own length limit), so
/// batching changes the throughput, never an answer.
///
/// Up to `lanes` batches run at once (the server's inference slots); each takes whatever has
/// queued, at most `maximumBatch`, of one key (the settings a batch must share, e.g. the beam).
actor RequestBatcher<Key: Hashable & Sendable, Input: Sendable, Output: Sendable> {
    typealias Work = @Sendable (Key, [Input]) async throws -> [Output]

    private let maximumBatch: Int
    private let lanes: Int
    private let queueLimit: Int
    private let work: Work
    private var pending: [(key: Key, input: Input, continuation: CheckedContinuation<Output, any Error>)] = []
    private var running = 0

    init(maximumBatch: Int, lanes: Int, queueLimit: Int, work: @escaping Work) {
        self.maximumBatch = max(1, maximumBatch)
        self.lanes = max(1, lanes)
        self.queueLimit = queueLimit
        self.work = work
    }

    func submit(_ input: Input, key: Key) async throws -> Output {
        guard pending.count < queueLimit else {
            throw APIError(
                .serviceUnavailable, "the server is busy (\(pending.count) requests waiting); try again shortly",
                retryAfter: 1)
        }
        return try await withCheckedThrowingContinuation { continuation in
            pending.append((key, input, continuation))
            if running < lanes {
                running += 1
                Task { await drain() }
            }
        }
    }

    /// One lane: batches of the oldest request's key, until nothing waits.
    private func drain() async {
        while let key = pending.first?.key {
            var batch: [(input: Input, continuation: CheckedContinuation<Output, any Error>)] = []
            var rest: [(key: Key, input: Input, continuation: CheckedContinuation<Output, any Error>)] = []
            for entry in pending {
                if entry.key == key && batch.count < maximumBatch {
                    batch.append((entry.input, entry.continuation))
                } else {
                    rest.append(entry)
                }
            }
            pending = rest
            await run(batch, key: key)
        }
        running -= 1
    }

    private func run(_ batch: [(input: Input, continuation: CheckedContinuation<Output, any Error>)], key: Key) async {
        do {
            let outputs = try await work(key, batch.map(\.input))
            for (entry, output) in zip(batch, outputs) { entry.continuation.resume(returning: output) }
        } catch  where batch.count > 1 {
            // One bad item fails its batch: each is tried alone, so only it gets the error.
            for entry in batch {
                do {
                    entry.continuation.resume(returning: try await work(key, [entry.input])[0])
                } catch {
                    entry.continuation.resume(throwing: error)
                }
            }
        } catch {
            batch[0].continuation.resume(throwing: error)
        }
    }
}
