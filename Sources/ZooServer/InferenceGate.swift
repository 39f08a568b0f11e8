import Dispatch
import Foundation

/// Bounds the inferences that run at once and the requests that wait for one. Inference runs
/// on Dispatch's threads, never on the event loops nor on Swift's cooperative pool (two threads
/// on two cores), so a long transcription never holds up the server's other work.
actor InferenceGate {
    let capacity: Int
    let queueLimit: Int
    let queueSeconds: Double
    private var running = 0
    private var waiting: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextID: UInt64 = 0

    init(capacity: Int, queueLimit: Int, queueSeconds: Double) {
        self.capacity = max(1, capacity)
        self.queueLimit = max(0, queueLimit)
        self.queueSeconds = queueSeconds
    }

    /// Takes a slot, waiting in line for one; 503 when the line is full or the wait too long.
    func enter() async throws {
        if running < capacity {
            running += 1
            return
        }
        guard waiting.count < queueLimit else {
            throw APIError(
                .serviceUnavailable,
                "the server is busy (\(capacity) running, \(waiting.count) waiting); try again shortly", retryAfter: 1)
        }
        nextID += 1
        let id = nextID
        let seconds = queueSeconds
        Task { [weak self] in
            try? await Task.sleep(for: .seconds(seconds))
            await self?.expire(id)
        }
        try await withCheckedThrowingContinuation { continuation in
            waiting.append((id, continuation))
        }
    }

    /// Gives the slot to the next in line, or frees it.
    func leave() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().continuation.resume()
        }
    }

    private func expire(_ id: UInt64) {
        guard let index = waiting.firstIndex(where: { $0.id == id }) else { return }
        waiting.remove(at: index).continuation.resume(
            throwing: APIError(
                .serviceUnavailable, "the server stayed busy for \(Int(queueSeconds)) s; try again shortly",
                retryAfter: 2))
    }

    /// Runs `work` in a slot, on a Dispatch thread.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await enter()
        do {
            let result = try await offloaded(work)
            leave()
            return result
        } catch {
            leave()
            throw error
        }
    }
}

/// `work` on one of Dispatch's threads, awaited.
func offloaded<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async { continuation.resume(with: Result { try work() }) }
    }
}
