import CKernels
import Foundation
import Synchronization

/// The engine's threading: one team of threads (the caller plus persistent workers) runs every
/// parallel loop and splits the large matrix products; OpenBLAS itself runs single-threaded
/// inside each member, so the two never compete for the same cores.
public enum Engine {
    /// The team, created on first use. Behind a lock: any thread may ask for it, and a team
    /// replaced by `setThreads` stays valid for whoever still holds it.
    private static let currentTeam = Mutex<ThreadTeam?>(nil)

    /// The number of threads the engine uses (default: `defaultThreads`).
    public static var threads: Int { team.size }

    /// Which of the engine's own kernels run: "avx2_fma" on CPUs with AVX2 and FMA, else "baseline".
    public static var kernels: String { PackedColumns.kernelEnabled ? "avx2_fma" : "baseline" }

    /// Whether the packed product runs its AVX-512 compilation (CPUs with AVX-512F).
    public static var packedProductUsesAVX512: Bool { PackedColumns.kernelEnabled && zoo_vector_kernels_avx512() != 0 }

    /// The CPUs this process may use (affinity mask, cgroup quota), at most 8.
    public static var defaultThreads: Int { min(8, AvailableProcessors.count) }

    static var team: ThreadTeam {
        currentTeam.withLock { current in
            if let current { return current }
            let team = ThreadTeam(size: defaultThreads)
            current = team
            BLAS.threads = 1
            return team
        }
    }

    /// Sets the number of threads for the engine's loops and matrix products.
    /// Call before any work starts (the CLI does it from `--threads`).
    public static func setThreads(_ n: Int) {
        let n = max(1, n)
        currentTeam.withLock { current in
            if current?.size != n {
                current?.retire()
                current = ThreadTeam(size: n)
            }
        }
        BLAS.threads = 1
    }
}

/// Runs `body` over `chunks` of 0..<count on the engine's team. Small counts run inline:
/// a hand-off costs more than a few thousand flops.
func parallelChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let team = Engine.team
    let chunks = min(team.size, max(1, count / max(1, minimumPerChunk)))
    if chunks <= 1 {
        body(0..<count)
        return
    }
    team.run { member in
        guard member < chunks else { return }
        let start = count * member / chunks, end = count * (member + 1) / chunks
        if start < end { body(start..<end) }
    }
}

/// The part of 0..<count that team member `member` of `members` owns, in multiples of `align`.
@inline(__always)
func memberRange(_ member: Int, of members: Int, count: Int, align: Int = 8) -> Range<Int> {
    let blocks = (count + align - 1) / align
    let start = min(count, blocks * member / members * align)
    let end = min(count, blocks * (member + 1) / members * align)
    return start..<end
}

/// Chunks of work that the team's members take as they become free, within one fork: a member
/// that runs slower (its core shared with another process) simply takes fewer. `reset` before
/// each fork; `next` hands out each index once.
final class ChunkQueue: @unchecked Sendable {
    let count: Int
    private let taken = Atomic<Int>(0)

    init(count: Int) { self.count = count }

    func reset() { taken.store(0, ordering: .relaxed) }

    @inline(__always)
    func next() -> Int? {
        let index = taken.add(1, ordering: .relaxed).oldValue
        return index < count ? index : nil
    }
}

/// 0..<count cut into about four chunks per team member, each a multiple of `align` (the
/// packed kernel's tile width) and at least `align` wide; one chunk for a team of one. A team
/// larger than the CPUs it may use gets one chunk per member instead: there a member is often
/// preempted holding a chunk, and small chunks measured slower (72% against 104% of the
/// default team's speed with 4 threads on 2 CPUs, `zoo bench --only lstm-lm --threads 4`).
func workChunks(count: Int, members: Int, align: Int = 16) -> [Range<Int>] {
    guard members > 1, count > align else { return [0..<count] }
    if members > AvailableProcessors.count {
        return (0..<members).map { memberRange($0, of: members, count: count, align: align) }
    }
    let size = max(align, (count + 4 * members - 1) / (4 * members) / align * align)
    return stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }
}
