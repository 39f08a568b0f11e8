// Row and column passes over matrices, and vector reductions. The gate activations of the
// recurrent cells live in CKernels (cell_kernels.c), compiled for AVX2/FMA where the CPU has it.

/// Adds `bias` (n) to each of `rows` rows of `matrix` (rows × n).
@inline(__always)
func addBiasRows(_ matrix: UnsafeMutablePointer<Float>, rows: Int, _ bias: UnsafePointer<Float>, n: Int) {
    for r in 0..<rows {
        let row = matrix + r * n
        for j in 0..<n { row[j] += bias[j] }
    }
}

/// sums[j] += Σ_r matrix[r, j] for j in `columns`, over `rows` rows with leading dimension `ld`.
@inline(__always)
func accumulateColumnSums(
    _ matrix: UnsafePointer<Float>, rows: Int, columns: Range<Int>, ld: Int, into sums: UnsafeMutablePointer<Float>
) {
    for r in 0..<rows {
        let row = matrix + r * ld
        for j in columns { sums[j] += row[j] }
    }
}

/// The same over all `n` columns, split across the engine's threads.
func accumulateColumnSums(
    _ matrix: UnsafePointer<Float>, rows: Int, columns n: Int, ld: Int, into sums: UnsafeMutablePointer<Float>
) {
    parallelChunks(n, minimumPerChunk: 64) { range in
        accumulateColumnSums(matrix, rows: rows, columns: range, ld: ld, into: sums)
    }
}

// Reductions in eight lanes: a scalar loop adds in order and does not vectorise.

/// Σ x[i] · y[i] for i < count.
@inline(__always)
func laneDot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        lanes +=
            UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            * UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var total = lanes.sum()
    while i < count {
        total += x[i] * y[i]
        i += 1
    }
    return total
}

/// Σ x[i] for i < count.
@inline(__always)
func laneSum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        lanes += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var total = lanes.sum()
    while i < count {
        total += x[i]
        i += 1
    }
    return total
}
