import Foundation

/// One value per index, written by whichever thread computes it (under a lock).
public final class Slots<Value>: @unchecked Sendable {
    private var values: [Value?]
    private let lock = NSLock()
    public init(count: Int) { values = Array(repeating: nil, count: count) }
    public subscript(index: Int) -> Value? {
        get { lock.withLock { values[index] } }
        set { lock.withLock { values[index] = newValue } }
    }
}
