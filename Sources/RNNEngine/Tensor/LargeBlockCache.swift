import Foundation
import Synchronization

/// Freed tensor buffers of a megabyte or more, kept for the next tensor of the same size.
///
/// glibc serves such blocks with fresh memory mappings and unmaps them on free, so a training
/// step that allocates the same large activations and gradients every time pays a page fault
/// and a zeroing pass per 4 kB page, every step: a quarter of a translation training step with
/// a vocabulary of 8000 (logits and their gradient are 45 MB each). Sizes are rounded up to
/// whole megabytes so that batches of slightly different lengths share blocks; at most
/// `capacity` bytes wait here, the rest is freed.
final class LargeBlockCache: Sendable {
    static let shared = LargeBlockCache(capacity: 1 << 30)
    static let minimumBytes = 1 << 20

    let capacity: Int
    private struct State {
        /// Addresses by block size (as integers: pointers are not Sendable).
        var free: [Int: [UInt]] = [:]
        var cachedBytes = 0
    }
    private let state = Mutex<State>(State())

    init(capacity: Int) { self.capacity = capacity }

    /// The size a block of `bytes` is allocated with: whole megabytes from a megabyte up.
    static func blockSize(_ bytes: Int) -> Int {
        bytes < minimumBytes ? bytes : (bytes + minimumBytes - 1) / minimumBytes * minimumBytes
    }

    /// A cached block for `bytes`, if one is waiting.
    func take(bytes: Int) -> UnsafeMutableRawPointer? {
        guard bytes >= Self.minimumBytes else { return nil }
        let size = Self.blockSize(bytes)
        let address = state.withLock { state -> UInt? in
            guard let block = state.free[size]?.popLast() else { return nil }
            state.cachedBytes -= size
            return block
        }
        return address.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
    }

    /// Keeps a block of `bytes` for reuse, or frees it.
    func release(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        guard bytes >= Self.minimumBytes else { free(pointer); return }
        let size = Self.blockSize(bytes)
        let address = UInt(bitPattern: pointer)
        let kept = state.withLock { state -> Bool in
            guard state.cachedBytes + size <= capacity else { return false }
            state.free[size, default: []].append(address)
            state.cachedBytes += size
            return true
        }
        if !kept { free(pointer) }
    }
}
