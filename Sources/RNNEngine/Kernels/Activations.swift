import Foundation

// Scalar activations used by the fused gate loops. Kept in one place so that a faster
// vectorised version replaces all uses at once.

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

@inline(__always) func tanhActivation(_ x: Float) -> Float { tanhf(x) }

@inline(__always) func reluActivation(_ x: Float) -> Float { x > 0 ? x : 0 }

/// Adds `bias` (n) to each of `rows` rows of `matrix` (rows × n).
@inline(__always)
func addBiasRows(_ matrix: UnsafeMutablePointer<Float>, rows: Int, _ bias: UnsafePointer<Float>, n: Int) {
    for r in 0..<rows {
        let row = matrix + r * n
        for j in 0..<n { row[j] += bias[j] }
    }
}

/// sums[j] += Σ_r matrix[r, j] over `rows` rows of a matrix with leading dimension `ld`.
@inline(__always)
func accumulateColumnSums(
    _ matrix: UnsafePointer<Float>, rows: Int, columns n: Int, ld: Int, into sums: UnsafeMutablePointer<Float>
) {
    for r in 0..<rows {
        let row = matrix + r * ld
        for j in 0..<n { sums[j] += row[j] }
    }
}
