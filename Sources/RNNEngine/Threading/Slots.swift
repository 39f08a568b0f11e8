import Foundation

/// One value per index, written by whichever thread computes it (under a lock).
final class Slots<Value>: @unchecked Sendable {
    private var values: [Value?]
    private let lock = NSLock()
    init(count: Int) { values = Array(repeating: nil, count: count) }
    subscript(index: Int) -> Value? {
        get { lock.withLock { values[index] } }
        set { lock.withLock { values[index] = newValue } }
    }
}

/// `transform` of every index in 0..<count on `workers` threads (index k on worker k mod
/// workers), the results in index order: for independent work on files (decoding audio or
/// images, writing them) that would leave a core idle on one thread. A worker stops at its
/// first error; the error of the lowest failing index is thrown.
public func concurrentMap<T>(count: Int, workers: Int = 2, _ transform: @Sendable (Int) throws -> T) throws -> [T] {
    let results = Slots<Result<T, Error>>(count: count)
    DispatchQueue.concurrentPerform(iterations: max(1, workers)) { worker in
        for index in stride(from: worker, to: count, by: max(1, workers)) {
            do {
                results[index] = .success(try transform(index))
            } catch {
                results[index] = .failure(error)
                return
            }
        }
    }
    var values: [T] = []
    values.reserveCapacity(count)
    for index in 0..<count {
        guard let result = results[index] else {
            // Skipped after an earlier error of its worker: that error is at a lower index.
            continue
        }
        values.append(try result.get())
    }
    return values
}
