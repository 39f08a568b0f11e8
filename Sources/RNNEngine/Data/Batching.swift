/// Length-bucketed batches of examples, for every sequence task: each epoch shuffles the
/// examples, sorts them by length within pools of `poolBatches` batches, cuts the pools into
/// batches and shuffles the batches. Batches hold sequences of similar length (little padding)
/// and still come in a random order.
///
/// The order of epoch e depends only on (seed, e), and the sampler's whole state is (epoch,
/// position), so a resumed run draws exactly the batches an uninterrupted one would.
public struct BucketedBatchSampler: Sendable {
    public let lengths: [Int]
    public let batchSize: Int
    public let poolBatches: Int
    public let seed: UInt64
    public private(set) var epoch = 0
    public private(set) var position = 0
    private var order: [[Int]] = []

    /// - lengths: each example's length (the longer side for a pair); batchSize: examples per batch.
    public init(lengths: [Int], batchSize: Int, poolBatches: Int = 50, seed: UInt64) throws {
        guard !lengths.isEmpty else { throw TrainingError.invalid("no examples to batch") }
        guard batchSize > 0, poolBatches > 0 else { throw TrainingError.invalid("the batch size must be positive") }
        self.lengths = lengths
        self.batchSize = batchSize
        self.poolBatches = poolBatches
        self.seed = seed
        order = Self.batches(lengths: lengths, batchSize: batchSize, poolBatches: poolBatches, seed: seed, epoch: 0)
    }

    /// Batches in one epoch.
    public var batchesPerEpoch: Int { (lengths.count + batchSize - 1) / batchSize }

    /// The example indices of the next batch, longest first.
    public mutating func next() -> [Int] {
        if position == order.count {
            epoch += 1
            position = 0
            order = Self.batches(
                lengths: lengths, batchSize: batchSize, poolBatches: poolBatches, seed: seed, epoch: epoch)
        }
        defer { position += 1 }
        return order[position]
    }

    /// Continues from a saved (epoch, position).
    public mutating func restore(epoch: Int, position: Int) throws {
        guard epoch >= 0, position >= 0, position <= batchesPerEpoch else {
            throw TrainingError.invalid("batch position \(position) of epoch \(epoch) is outside the data")
        }
        self.epoch = epoch
        self.position = position
        order = Self.batches(lengths: lengths, batchSize: batchSize, poolBatches: poolBatches, seed: seed, epoch: epoch)
    }

    /// The sampler's place, as a checkpoint's progress metadata (`epoch`, `position`).
    public var progressMetadata: [String: String] { ["epoch": String(epoch), "position": String(position)] }

    /// Continues from `progressMetadata` read back from the checkpoint at `path`.
    public mutating func restore(progressMetadata metadata: [String: String], path: String) throws {
        guard let epoch = metadata["epoch"].flatMap({ Int($0) }),
            let position = metadata["position"].flatMap({ Int($0) })
        else {
            throw CheckpointError.missingMetadata(path: path, key: "progress.epoch/position")
        }
        do { try restore(epoch: epoch, position: position) } catch {
            throw CheckpointError.missingMetadata(
                path: path, key: "progress.position (was the data or --batch-size changed?)")
        }
    }

    static func batches(lengths: [Int], batchSize: Int, poolBatches: Int, seed: UInt64, epoch: Int) -> [[Int]] {
        var rng = RandomGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1))
        var indices = Array(lengths.indices)
        indices.shuffle(using: &rng)
        var batches: [[Int]] = []
        let pool = batchSize * poolBatches
        for start in stride(from: 0, to: indices.count, by: pool) {
            // Stable: equal lengths keep their shuffled order.
            let sorted = indices[start..<min(start + pool, indices.count)].enumerated()
                .sorted { (lengths[$0.element], $0.offset) > (lengths[$1.element], $1.offset) }.map(\.element)
            for b in stride(from: 0, to: sorted.count, by: batchSize) {
                batches.append(Array(sorted[b..<min(b + batchSize, sorted.count)]))
            }
        }
        batches.shuffle(using: &rng)
        return batches
    }
}

/// Sequences of different lengths padded into one time-major (T, B) block of ids, with their
/// lengths and the mask of real positions.
public struct PaddedBatch: Sendable {
    /// (T, B) time-major: `ids[t · B + b]`; `padding` past each sequence's length.
    public let ids: [Int32]
    public let lengths: [Int]
    public let steps: Int
    public var batch: Int { lengths.count }
    /// (T, B): true where `ids` holds a real token.
    public let mask: [Bool]

    public init(_ sequences: [[Int32]], padding: Int32) {
        let T = sequences.map(\.count).max() ?? 0, B = sequences.count
        var ids = [Int32](repeating: padding, count: T * B)
        var mask = [Bool](repeating: false, count: T * B)
        for (b, sequence) in sequences.enumerated() {
            for (t, id) in sequence.enumerated() {
                ids[t * B + b] = id
                mask[t * B + b] = true
            }
        }
        self.ids = ids
        self.mask = mask
        self.lengths = sequences.map(\.count)
        self.steps = T
    }

    /// The ids with `value` at every padded position (a loss's ignore index).
    public func ids(paddedWith value: Int32) -> [Int32] {
        zip(ids, mask).map { $1 ? $0 : value }
    }
}
