import XCTest

@testable import RNNEngine

final class BatchingTests: XCTestCase {
    func testBucketsCoverEveryExampleOnceWithLittlePaddingAndResumeExactly() throws {
        var rng = RandomGenerator(seed: 2)
        let lengths = (0..<1000).map { _ in 1 + rng.int(below: 60) }
        var sampler = try BucketedBatchSampler(lengths: lengths, batchSize: 16, poolBatches: 20, seed: 7)
        XCTAssertEqual(sampler.batchesPerEpoch, 63)
        var seen: [Int] = []
        var padded = 0, real = 0
        for _ in 0..<sampler.batchesPerEpoch {
            let batch = sampler.next()
            seen += batch
            let longest = batch.map { lengths[$0] }.max()!
            padded += batch.map { longest - lengths[$0] }.reduce(0, +)
            real += batch.map { lengths[$0] }.reduce(0, +)
        }
        XCTAssertEqual(seen.sorted(), Array(0..<1000), "every example exactly once per epoch")
        // Batches of 16 in input order pad about as much as they hold; bucketed ones a fraction of that.
        var randomPadded = 0
        for start in stride(from: 0, to: 1000, by: 16) {
            let batch = lengths[start..<min(start + 16, 1000)]
            randomPadded += batch.map { batch.max()! - $0 }.reduce(0, +)
        }
        XCTAssertLessThan(Double(padded) / Double(real), 0.1)
        XCTAssertLessThan(padded * 8, randomPadded, "bucketed \(padded) vs in-order \(randomPadded) padding")

        // The next epoch has another order; a sampler restored at (epoch, position) continues alike.
        let secondEpochFirst = sampler.next()
        var restored = try BucketedBatchSampler(lengths: lengths, batchSize: 16, poolBatches: 20, seed: 7)
        try restored.restore(epoch: sampler.epoch, position: sampler.position)
        var original = sampler
        for _ in 0..<100 { XCTAssertEqual(restored.next(), original.next()) }
        var fresh = try BucketedBatchSampler(lengths: lengths, batchSize: 16, poolBatches: 20, seed: 7)
        XCTAssertNotEqual(fresh.next(), secondEpochFirst)
        XCTAssertThrowsError(try BucketedBatchSampler(lengths: [], batchSize: 4, seed: 1))
    }

    func testPaddedBatchIsTimeMajorWithMask() {
        let batch = PaddedBatch([[5, 6, 7], [8], [9, 10]], padding: 0)
        XCTAssertEqual(batch.steps, 3)
        XCTAssertEqual(batch.ids, [5, 8, 9, 6, 0, 10, 7, 0, 0])
        XCTAssertEqual(batch.mask, [true, true, true, true, false, true, true, false, false])
        XCTAssertEqual(batch.lengths, [3, 1, 2])
        XCTAssertEqual(batch.ids(paddedWith: -100), [5, 8, 9, 6, -100, 10, 7, -100, -100])
    }
}
