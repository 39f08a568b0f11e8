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

    /// Which compilation of the engine's own kernels runs: "avx512" on CPUs with AVX-512F,
    /// "avx2_fma" on CPUs with AVX2 and FMA, else "baseline".
    public static var kernels: String {
        guard PackedColumns.kernelEnabled else { return "baseline" }
        return zoo_vector_kernels_avx512() != 0 ? "avx512" : "avx2_fma"
    }

    /// The CPUs this process may use (affinity mask, cgroup quota). Each op forks only as many
    /// of them as its work pays for (`shares(work:grain:)`), so a large team costs small work nothing.
    public static var defaultThreads: Int { AvailableProcessors.count }

    /// Work units (flops) per share below which splitting a matrix product further costs more
    /// in hand-offs than it saves: about 50 µs of one core's sgemm, where a fork that must wake
    /// sleeping workers costs several.
    static let productGrain = 1_000_000
    /// The same for one timestep of a recurrent layer, whose workers are awake and spinning
    /// between timesteps (a hand-off of about a microsecond): some 5 µs of matrix-vector work.
    static let timestepGrain = 64_000

    /// Tests set this to split every op as wide as the team, whatever its size and the CPUs,
    /// so that small inputs still run the parallel paths.
    nonisolated(unsafe) static var splitsEveryOp = false
    /// The CPUs a fork may spread over (tests stand in for a larger machine).
    nonisolated(unsafe) static var cpusForForks = AvailableProcessors.count

    /// The shares of a fork over `work` units: one per `grain` units, at most the team and the
    /// CPUs this process may use (a share beyond them only waits for a core).
    static func shares(work: Int, grain: Int) -> Int {
        let team = team.size
        if splitsEveryOp { return team }
        return max(1, min(team, cpusForForks, work / max(1, grain)))
    }

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

/// Runs `body` over chunks of 0..<count on the engine's team, one per `minimumPerChunk`
/// elements at most. Small counts run inline: a hand-off costs more than a few thousand flops.
func parallelChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let chunks = min(count, Engine.shares(work: count, grain: minimumPerChunk))
    if chunks <= 1 {
        body(0..<count)
        return
    }
    Engine.team.run(shares: chunks) { member in
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

/// The chunks of a fork's work, in runs that each share owns (its part of the weights, which
/// then stays in its core's cache from one fork to the next). A member takes its own share's
/// chunks first, then, done early, those of shares still behind: their member slowed by a busy
/// core, or not yet arrived. `reset` before each fork; `next` hands out each chunk once.
final class ChunkQueues: @unchecked Sendable {
    let count: Int
    var shares: Int { owned.count }
    private let owned: [Range<Int>]
    private let taken: [PaddedCounter]

    init(count: Int, shares: Int) {
        self.count = count
        owned = (0..<shares).map { memberRange($0, of: shares, count: count, align: 1) }
        taken = owned.map { _ in PaddedCounter() }
    }

    /// The share that owns `chunk`.
    func share(of chunk: Int) -> Int { owned.firstIndex { $0.contains(chunk) } ?? 0 }

    func reset() { for counter in taken { counter.value.store(0, ordering: .relaxed) } }

    @inline(__always)
    func next(for share: Int) -> Int? {
        let shares = owned.count
        for offset in 0..<shares {
            let s = (share + offset) % shares
            let run = owned[s], counter = taken[s]
            guard counter.value.load(ordering: .relaxed) < run.count else { continue }
            let index = counter.value.add(1, ordering: .relaxed).oldValue
            if index < run.count { return run.lowerBound + index }
        }
        return nil
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
