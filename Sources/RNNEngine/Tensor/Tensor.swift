import Foundation

/// A dense Float32 tensor: a shape and a row-major, contiguous, 64-byte aligned buffer.
///
/// `Tensor` is a reference type. Two tensors can share one buffer (a parameter is a
/// view into the model's flat parameter buffer), so mutation is visible to every view;
/// there is no copy-on-write to surprise a hot loop.
public final class Tensor {
    public let shape: [Int]
    public let count: Int
    /// Start of the elements. Hot loops read and write through this pointer.
    public let data: UnsafeMutablePointer<Float>
    /// Keeps a shared buffer alive while this view exists; nil when this tensor owns `data`.
    private let owner: AnyObject?
    /// Bytes of the block `data` points to, when this tensor owns it (0 for a view).
    private let blockBytes: Int

    /// A new tensor filled with zeros.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        (self.data, self.blockBytes) = Tensor.allocate(count)
        self.data.initialize(repeating: 0, count: count)
        self.owner = nil
    }

    /// A new tensor whose contents are undefined: for buffers the caller overwrites entirely
    /// (large per-step buffers, where zero-filling first costs a pass over memory).
    public init(uninitialized shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        (self.data, self.blockBytes) = Tensor.allocate(count)
        self.owner = nil
    }

    /// A new tensor holding a copy of `values`.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(zeros: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    /// A tensor with the given value everywhere.
    public convenience init(shape: [Int], repeating value: Float) {
        self.init(zeros: shape)
        data.update(repeating: value, count: count)
    }

    /// A view of `count(shape)` elements of another tensor's buffer, starting at `offset`.
    public init(viewOf base: Tensor, offset: Int, shape: [Int]) {
        let n = shape.reduce(1, *)
        precondition(offset >= 0 && offset + n <= base.count, "view out of range")
        self.shape = shape
        self.count = n
        self.data = base.data + offset
        self.owner = base
        self.blockBytes = 0
    }

    deinit {
        if owner == nil { LargeBlockCache.shared.release(data, bytes: blockBytes) }
    }

    /// A 64-byte aligned block for `count` floats (a cached one when there is one) and its size.
    private static func allocate(_ count: Int) -> (UnsafeMutablePointer<Float>, Int) {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        if let (block, size) = LargeBlockCache.shared.take(bytes: bytes) {
            return (block.bindMemory(to: Float.self, capacity: max(count, 1)), size)
        }
        var raw: UnsafeMutableRawPointer?
        let size = LargeBlockCache.blockSize(bytes)
        guard posix_memalign(&raw, 64, size) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
        return (raw.bindMemory(to: Float.self, capacity: max(count, 1)), size)
    }

    /// The same elements seen with another shape (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(viewOf: self, offset: 0, shape: newShape)
    }

    /// Rows `range` of the first dimension, as a view.
    public func slice(rows range: Range<Int>) -> Tensor {
        let rowSize = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
        return Tensor(
            viewOf: self, offset: range.lowerBound * rowSize,
            shape: [range.count] + shape.dropFirst())
    }

    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: data, count: count)
    }

    public var array: [Float] { Array(buffer) }

    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    public func copy() -> Tensor {
        let t = Tensor(zeros: shape)
        t.data.update(from: data, count: count)
        return t
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }

    public func zero() { fill(0) }

    public func copy(from other: Tensor) {
        precondition(other.count == count, "copy of \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }

    /// `self += other`, element by element.
    public func add(_ other: Tensor) {
        precondition(other.count == count, "add of \(other.shape) to \(shape)")
        for i in 0..<count { data[i] += other.data[i] }
    }

    public var sum: Double {
        var s = 0.0
        for i in 0..<count { s += Double(data[i]) }
        return s
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = buffer.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape): [\(preview)\(count > 8 ? ", …" : "")])"
    }
}
