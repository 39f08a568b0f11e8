import CMPI
import Foundation
import RNNEngine

/// The ranks of an `mpirun` job as the training loop's `Communicator`, over Open MPI's
/// MPI_COMM_WORLD. Only the main thread calls MPI (the engine's worker threads never do), so
/// MPI is initialised at MPI_THREAD_FUNNELED. MPI's default error handler ends the whole job on
/// a failed collective, so no rank is ever left waiting for a dead one.
public final class MPICommunicator: Communicator, Sendable {
    public let rank: Int
    public let size: Int

    /// Whether this process was started by `mpirun` (Open MPI sets these in each rank's
    /// environment); a plain `zoo train` never initialises MPI.
    public static var isLaunchedByMPI: Bool {
        ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil
            || ProcessInfo.processInfo.environment["PMIX_RANK"] != nil
    }

    /// Initialises MPI; call once per process, before any other rank's collective.
    public init() {
        var provided: Int32 = 0
        MPI_Init_thread(nil, nil, zoo_mpi_thread_funneled(), &provided)
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(zoo_mpi_comm_world(), &rank)
        MPI_Comm_size(zoo_mpi_comm_world(), &size)
        self.rank = Int(rank)
        self.size = Int(size)
    }

    /// Ends MPI cleanly (every rank, at a normal exit).
    public func finish() { MPI_Finalize() }

    /// Ends every rank of the job now, with `code` (a rank that failed alone: the others may
    /// be waiting in a collective it will never join).
    public func abort(code: Int32) -> Never {
        MPI_Abort(zoo_mpi_comm_world(), code)
        exit(code)
    }

    /// MPI counts are 32-bit: larger buffers go in pieces.
    private static let piece = 1 << 28

    /// Below this many floats a buffer is summed by one MPI_Allreduce (latency counts there,
    /// not bandwidth).
    private static let ringThreshold = 1 << 14
    /// A ring step's block goes in segments of at most this many floats (256 KB), so that
    /// what arrives is added while it is still in cache.
    private static let segment = 1 << 16
    private static let ringTag: Int32 = 7

    /// Where a ring step's segment arrives before it is added (kept between steps).
    private let arrivals = FloatScratch()

    public func sum(_ buffer: UnsafeMutableBufferPointer<Float>) {
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let n = min(Self.piece, buffer.count - offset)
            if size > 1 && n >= Self.ringThreshold {
                ringSum(base + offset, count: n)
            } else {
                MPI_Allreduce(
                    zoo_mpi_in_place(), base + offset, Int32(n), zoo_mpi_float(), zoo_mpi_sum(), zoo_mpi_comm_world())
            }
            offset += n
        }
    }

    /// A large sum as a ring (as Horovod and NCCL sum gradients): the buffer is cut into one
    /// block per rank; in size − 1 steps each rank passes a block to the next rank and adds the
    /// block it receives from the previous one, after which each rank holds one block summed
    /// over all; size − 1 more steps pass the summed blocks round. Each rank sends and
    /// receives 2 (size − 1) / size of the buffer, the least any sum can, and every element is
    /// added on one rank, so all ranks get the same bits. Measured on two ranks with
    /// translation's 5.5 MB of gradients: where shared memory may not map the other rank's
    /// pages (containers: `btl_vader_single_copy_mechanism none`), Open MPI's own allreduce
    /// took 6.5–9.3 ms a step with the waiting, and the ring alone 1.5–1.7 (up to 5.5 in some
    /// runs); where it may, both take 0.6–2.5 ms (docs/data-parallel.md).
    private func ringSum(_ base: UnsafeMutablePointer<Float>, count: Int) {
        let next = Int32((rank + 1) % size), previous = Int32((rank + size - 1) % size)
        let blocks = (0..<size).map { shard(count, rank: $0) }
        let arrived = arrivals.floats(min(Self.segment, blocks.map(\.count).max() ?? 0))
        // Step s sends block rank − s and receives block rank − s − 1, segment by segment.
        for s in 0..<(size - 1) {
            let send = blocks[(rank - s + 2 * size) % size]
            let receive = blocks[(rank - s - 1 + 2 * size) % size]
            var done = 0
            while done < max(send.count, receive.count) {
                let sending = max(0, min(Self.segment, send.count - done))
                let receiving = max(0, min(Self.segment, receive.count - done))
                MPI_Sendrecv(
                    base + send.lowerBound + done, Int32(sending), zoo_mpi_float(), next, Self.ringTag,
                    arrived, Int32(receiving), zoo_mpi_float(), previous, Self.ringTag, zoo_mpi_comm_world(), nil)
                let into = base + receive.lowerBound + done
                for i in 0..<receiving { into[i] += arrived[i] }
                done += Self.segment
            }
        }
        // Rank r now holds block r + 1 summed; step s passes block rank + 1 − s on.
        for s in 0..<(size - 1) {
            let send = blocks[(rank + 1 - s + 2 * size) % size]
            let receive = blocks[(rank - s + 2 * size) % size]
            MPI_Sendrecv(
                base + send.lowerBound, Int32(send.count), zoo_mpi_float(), next, Self.ringTag,
                base + receive.lowerBound, Int32(receive.count), zoo_mpi_float(), previous, Self.ringTag,
                zoo_mpi_comm_world(), nil)
        }
    }

    public func sum(_ values: inout [Double]) {
        let count = Int32(values.count)
        values.withUnsafeMutableBufferPointer {
            _ = MPI_Allreduce(
                zoo_mpi_in_place(), $0.baseAddress, count, zoo_mpi_double(), zoo_mpi_sum(), zoo_mpi_comm_world())
        }
    }

    public func broadcast(_ bytes: inout [UInt8], from root: Int) {
        var count = Int64(bytes.count)
        MPI_Bcast(&count, 1, zoo_mpi_int64(), Int32(root), zoo_mpi_comm_world())
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(count)) }
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = min(Self.piece, raw.count - offset)
                MPI_Bcast(raw.baseAddress! + offset, Int32(n), zoo_mpi_byte(), Int32(root), zoo_mpi_comm_world())
                offset += n
            }
        }
    }

    public func allGather(_ bytes: [UInt8]) -> [[UInt8]] {
        // Gathered as MPI_Allgatherv of one piece (validation texts and carried states are far
        // below 2 GiB); the counts first, so every rank knows where each part lies.
        var counts = [Int32](repeating: 0, count: size)
        var mine = Int32(bytes.count)
        MPI_Allgather(&mine, 1, zoo_mpi_int32(), &counts, 1, zoo_mpi_int32(), zoo_mpi_comm_world())
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { displacements[r] = displacements[r - 1] + counts[r - 1] }
        let total = Int(counts.reduce(0, +))
        var all = [UInt8](repeating: 0, count: max(total, 1))
        bytes.withUnsafeBytes { send in
            _ = MPI_Allgatherv(
                send.baseAddress, mine, zoo_mpi_byte(), &all, counts, displacements, zoo_mpi_byte(),
                zoo_mpi_comm_world())
        }
        return (0..<size).map { r in
            Array(all[Int(displacements[r])..<Int(displacements[r] + counts[r])])
        }
    }

    /// Waits until every rank reaches it (one rank made data the others read).
    public func barrier() { MPI_Barrier(zoo_mpi_comm_world()) }
}

/// A float buffer that grows to the largest size asked of it and is reused after.
private final class FloatScratch: @unchecked Sendable {
    private var storage = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var capacity = 1

    func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            storage.deallocate()
            storage = .allocate(capacity: count)
            capacity = count
        }
        return storage
    }

    deinit { storage.deallocate() }
}
