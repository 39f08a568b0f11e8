import Dispatch

/// How many threads the engine's own loops use (OpenBLAS has its own setting; `Engine.threads` sets both).
public enum Engine {
    public private(set) static var threads = 2

    /// Sets the engine's and OpenBLAS's thread counts.
    public static func setThreads(_ n: Int) {
        threads = max(1, n)
        BLAS.threads = threads
    }
}

/// Runs `body(chunk)` for `chunks` ranges splitting 0..<count, on up to `Engine.threads` threads.
/// Small counts run inline: a thread hand-off costs more than a few thousand flops.
func parallelChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let chunks = min(Engine.threads, max(1, count / max(1, minimumPerChunk)))
    if chunks <= 1 { body(0..<count); return }
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        let start = count * c / chunks, end = count * (c + 1) / chunks
        if start < end { body(start..<end) }
    }
}
