/// The processes of one data-parallel run and the collectives the training loop needs from
/// them. `SingleProcess` is the group of one (plain `zoo train`); the MPI one (module ZooMPI,
/// used under `mpirun`) sums over Open MPI. Every call is collective: every rank makes the same
/// calls in the same order, or the run hangs.
public protocol Communicator: AnyObject {
    /// This process's index, 0 ..< size. Rank 0 prints, writes files and reads checkpoints.
    var rank: Int { get }
    var size: Int { get }
    /// Replaces `buffer` on every rank by its element-wise sum over the ranks.
    func sum(_ buffer: UnsafeMutableBufferPointer<Float>)
    /// The same for a few doubles (losses, counts, flags).
    func sum(_ values: inout [Double])
    /// Rank `root`'s bytes on every rank (the others' `bytes` are replaced, whatever their length).
    func broadcast(_ bytes: inout [UInt8], from root: Int)
    /// Every rank's bytes, in rank order, on every rank.
    func allGather(_ bytes: [UInt8]) -> [[UInt8]]
}

/// The group of one process: every collective is the identity.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func sum(_ buffer: UnsafeMutableBufferPointer<Float>) {}
    public func sum(_ values: inout [Double]) {}
    public func broadcast(_ bytes: inout [UInt8], from root: Int) {}
    public func allGather(_ bytes: [UInt8]) -> [[UInt8]] { [bytes] }
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    /// This rank's share of `count` items (a batch's rows, a validation split's sentences):
    /// contiguous and balanced, so that the shards in rank order are the items in order.
    public func shard(_ count: Int) -> Range<Int> { shard(count, rank: rank) }

    public func shard(_ count: Int, rank: Int) -> Range<Int> {
        (count * rank / size)..<(count * (rank + 1) / size)
    }

    /// This rank's rows of a training batch: every `size`-th row from row `rank`. Batches come
    /// sorted by length, longest first; contiguous shards would give rank 0 the longest rows and
    /// the others would wait for it at every step, interleaved ones are alike in length.
    public func batchRows(_ count: Int) -> [Int] { Array(stride(from: rank, to: count, by: size)) }

    /// Every rank's floats, concatenated in rank order.
    public func allGather(_ values: [Float]) -> [Float] {
        let bytes = values.withUnsafeBytes { Array($0) }
        return allGather(bytes).flatMap { part in
            part.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
    }

    /// Every rank's strings, concatenated in rank order (validation hypotheses).
    public func allGather(_ strings: [String]) -> [String] {
        // Each as its UTF-8 length (4 bytes, little-endian) and bytes: a text may hold any byte.
        var bytes: [UInt8] = []
        for text in strings {
            let utf8 = Array(text.utf8)
            bytes += withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { Array($0) } + utf8
        }
        return allGather(bytes).flatMap { part in
            var texts: [String] = []
            var at = 0
            while at + 4 <= part.count {
                let length = part[at..<(at + 4)].reversed().reduce(0) { $0 << 8 | Int($1) }
                texts.append(String(decoding: part[(at + 4)..<(at + 4 + length)], as: UTF8.self))
                at += 4 + length
            }
            return texts
        }
    }

    /// Sums of a few doubles over the ranks (validation's loss sums and counts).
    public func sum(_ values: [Double]) -> [Double] {
        var values = values
        sum(&values)
        return values
    }

    /// A state of shape [A, B, C] whose middle axis (the batch) is spread over the ranks, each
    /// holding its shard [A, b, C]: the whole, on every rank (a language model's carried state,
    /// for the checkpoint).
    public func allGather(batchAxisOf local: Tensor, batch: Int) -> Tensor {
        precondition(local.shape.count == 3)
        let (outer, inner) = (local.shape[0], local.shape[2])
        let parts = allGather(local.array)
        let whole = Tensor(zeros: [outer, batch, inner])
        parts.withUnsafeBufferPointer { gathered in
            var offset = 0
            for r in 0..<size {
                let rows = shard(batch, rank: r)
                for a in 0..<outer {
                    let count = rows.count * inner
                    (whole.data + (a * batch + rows.lowerBound) * inner).update(
                        from: gathered.baseAddress! + offset, count: count)
                    offset += count
                }
            }
        }
        return whole
    }

    /// This rank's shard [A, b, C] of a state [A, B, C] (the inverse of `allGather(batchAxisOf:)`).
    public func shard(batchAxisOf whole: Tensor) -> Tensor {
        precondition(whole.shape.count == 3)
        let (outer, batch, inner) = (whole.shape[0], whole.shape[1], whole.shape[2])
        let rows = shard(batch)
        let local = Tensor(zeros: [outer, rows.count, inner])
        for a in 0..<outer {
            (local.data + a * rows.count * inner).update(
                from: whole.data + (a * batch + rows.lowerBound) * inner, count: rows.count * inner)
        }
        return local
    }

    /// Rank 0's tensor values on every rank, in place.
    public func broadcast(_ tensor: Tensor) {
        guard size > 1 else { return }
        var bytes = [UInt8](UnsafeRawBufferPointer(start: tensor.data, count: tensor.count * 4))
        broadcast(&bytes, from: 0)
        precondition(bytes.count == tensor.count * 4, "ranks hold tensors of different sizes")
        bytes.withUnsafeBytes {
            tensor.data.update(from: $0.bindMemory(to: Float.self).baseAddress!, count: tensor.count)
        }
    }

    /// Rank 0's doubles on every rank (decisions every rank must take alike).
    public func broadcast(_ values: [Double]) -> [Double] {
        guard size > 1 else { return values }
        var bytes = values.withUnsafeBytes { Array($0) }
        broadcast(&bytes, from: 0)
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
    }

    /// Whether any rank says true.
    public func any(_ flags: [Bool]) -> [Bool] {
        var values = flags.map { $0 ? 1.0 : 0.0 }
        sum(&values)
        return values.map { $0 > 0 }
    }
}

/// What a task training data-parallel is told: its group, and the step being taken (for the
/// dropout masks each rank draws on its own rows).
public final class DataParallelGroup {
    public let communicator: any Communicator
    /// The optimizer step being computed (set by the training loop before each batch).
    public internal(set) var step = 0

    public init(communicator: any Communicator) { self.communicator = communicator }

    /// What a rank whose share of a batch is empty (a last batch smaller than the ranks)
    /// returns from `trainingLoss`: no units, no gradient.
    public static var emptyShareLoss: (loss: Variable, count: Int) { (Variable(Tensor(zeros: [1])), 0) }

    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }

    /// The generator for what each rank draws on its own share (dropout masks): it depends on
    /// the shared generator, the step and the rank, and consumes nothing of the shared one,
    /// so what every rank draws alike (data order, augmentation) stays in step across ranks.
    /// Like DistributedDataParallel's per-process seeds, the masks then differ from a
    /// one-process run's: with dropout, N ranks follow a different random path than one.
    public func localGenerator(from shared: RandomGenerator) -> RandomGenerator {
        var seed = UInt64(step) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(rank + 1) &* 0xD1B5_4A32_D192_ED03
        for word in shared.stateWords { seed = (seed ^ word) &* 0xBF58_476D_1CE4_E5B9 }
        return RandomGenerator(seed: seed)
    }
}
