/// NumPy/PyTorch broadcasting of two shapes: aligned at the right, a dimension of 1 (or a
/// missing one) stretches to the other's size.
struct BroadcastPlan {
    /// The result's shape.
    let shape: [Int]
    let count: Int
    /// Element strides of each operand along the result's dimensions (0 where it is stretched).
    let stridesA: [Int], stridesB: [Int]

    init(_ a: [Int], _ b: [Int]) {
        let rank = max(a.count, b.count)
        let paddedA = Array(repeating: 1, count: rank - a.count) + a
        let paddedB = Array(repeating: 1, count: rank - b.count) + b
        var shape: [Int] = []
        for (x, y) in zip(paddedA, paddedB) {
            precondition(x == y || x == 1 || y == 1, "cannot broadcast \(a) with \(b)")
            shape.append(x == 1 ? y : x)
        }
        self.shape = shape
        count = shape.reduce(1, *)
        stridesA = BroadcastPlan.strides(paddedA, stretchedTo: shape)
        stridesB = BroadcastPlan.strides(paddedB, stretchedTo: shape)
    }

    private static func strides(_ dims: [Int], stretchedTo shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 0, count: dims.count)
        var step = 1
        for d in stride(from: dims.count - 1, through: 0, by: -1) {
            strides[d] = dims[d] == 1 && shape[d] != 1 ? 0 : step
            step *= dims[d]
        }
        return strides
    }

    /// Calls `body(out, a, b)` with the element offsets of each result element and of the
    /// operand elements it reads, in row-major order of the result.
    @inline(__always)
    func forEach(_ body: (Int, Int, Int) -> Void) {
        let rank = shape.count
        guard count > 0 else { return }
        if rank == 0 {
            body(0, 0, 0)
            return
        }
        let inner = shape[rank - 1], innerA = stridesA[rank - 1], innerB = stridesB[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var offsetA = 0, offsetB = 0, out = 0
        while out < count {
            for j in 0..<inner { body(out + j, offsetA + j * innerA, offsetB + j * innerB) }
            out += inner
            // Advance the outer dimensions like an odometer.
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                offsetA += stridesA[d]
                offsetB += stridesB[d]
                if index[d] < shape[d] { break }
                offsetA -= stridesA[d] * shape[d]
                offsetB -= stridesB[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}
