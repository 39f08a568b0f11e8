// Row and column passes over matrices, outside the time loop. The gate activations of the
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
