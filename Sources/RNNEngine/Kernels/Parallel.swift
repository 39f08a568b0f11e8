/// The engine's threading: one team of threads (the caller plus persistent workers) runs every
/// parallel loop and splits the large matrix products; OpenBLAS itself runs single-threaded
/// inside each member, so the two never compete for the same cores.
public enum Engine {
    /// The team, created on first use. Behind a lock: any thread may ask for it, and a team
    /// replaced by `setThreads` stays valid for whoever still holds it.
    private static let currentTeam = Mutex<ThreadTeam?>(nil)

    /// The number of threads the engine uses (default: the machine's cores, at most 8).
    public static var threads: Int { team.size }

    static var team: ThreadTeam {
        currentTeam.withLock { current in
            if let current { return current }
            let team = ThreadTeam(size: min(8, ProcessInfo.processInfo.activeProcessorCount))
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
            if current?.size != n { current = ThreadTeam(size: n) }
        }
        BLAS.threads = 1
    }
}

import Foundation
import Synchronization

/// Runs `body` over `chunks` of 0..<count on the engine's team. Small counts run inline:
/// a hand-off costs more than a few thousand flops.
func parallelChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let team = Engine.team
    let chunks = min(team.size, max(1, count / max(1, minimumPerChunk)))
    if chunks <= 1 { body(0..<count); return }
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
