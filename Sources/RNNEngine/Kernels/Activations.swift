// Vectorised activations for the fused gate loops, `laneCount` lanes at a time. Measured over
// [-30, 30] (ActivationAccuracyTests): exp within 8e-8 relative, sigmoid and tanh within 9e-8
// absolute, so results match PyTorch within float rounding.

typealias Lanes = SIMD8<Float>
typealias LaneBits = SIMD8<UInt32>
typealias LaneInts = SIMD8<Int32>
/// The width the gate loops step by.
let laneCount = Lanes.scalarCount

/// e^x for each lane: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^n by
/// building the exponent bits. Inputs are clamped to ±87.3, where e^x is still finite.
@inline(__always)
func exp(_ x: Lanes) -> Lanes {
    let low = Lanes(repeating: -87.3), high = Lanes(repeating: 87.3)
    let clamped = x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
    // Round x/ln2 to the nearest integer with the 1.5·2²³ trick (no SSE4.1 rounding needed).
    let magic = Lanes(repeating: 12_582_912)
    let shifted = clamped * 1.442_695_04 + magic
    let n = shifted - magic
    let r = clamped - n * 0.693_145_75 - n * 1.428_606_8e-6
    var p = Lanes(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_6e-2
    p = p * r + 0.166_666_66
    p = p * r + 0.5
    p = p * r * r + r + 1
    let exponentBits = (unsafeBitCast(shifted, to: LaneInts.self) &- 0x4B40_0000 &+ 127) &<< 23
    return p * unsafeBitCast(exponentBits, to: Lanes.self)
}

@inline(__always) func sigmoid(_ x: Lanes) -> Lanes { 1 / (1 + exp(-x)) }

/// tanh(x) = sign(x) · (1 − e^{−2|x|}) / (1 + e^{−2|x|}), exact in sign and saturating cleanly.
@inline(__always)
func tanh(_ x: Lanes) -> Lanes {
    let magnitude = abs(x)
    let e = exp(-2 * magnitude)
    let t = (1 - e) / (1 + e)
    // Copy x's sign bit onto t.
    let signBit = unsafeBitCast(x, to: LaneBits.self) & 0x8000_0000
    return unsafeBitCast(unsafeBitCast(t, to: LaneBits.self) | signBit, to: Lanes.self)
}

@inline(__always) func relu(_ x: Lanes) -> Lanes { x.replacing(with: 0, where: x .< 0) }

@inline(__always)
func abs(_ x: Lanes) -> Lanes {
    unsafeBitCast(unsafeBitCast(x, to: LaneBits.self) & 0x7FFF_FFFF, to: Lanes.self)
}

/// Loads `n` (≤ laneCount) floats; lanes past n are 0.
@inline(__always)
func load(_ p: UnsafePointer<Float>, _ n: Int) -> Lanes {
    n == laneCount ? UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) : loadPartial(p, n)
}

/// Stores the first `n` (≤ laneCount) lanes.
@inline(__always)
func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    if n == laneCount { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self) } else { storePartial(v, p, n) }
}

// The partial forms stay out of line: inlined, their lane-by-lane inserts make the compiler
// scalarise the whole loop body around them.
@inline(never)
func loadPartial(_ p: UnsafePointer<Float>, _ n: Int) -> Lanes {
    var v = Lanes(repeating: 0)
    for i in 0..<n { v[i] = p[i] }
    return v
}

@inline(never)
func storePartial(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { p[i] = v[i] }
}

// Scalar forms for code outside the gate loops (same functions, one lane used).
@inline(__always) func sigmoid(_ x: Float) -> Float { sigmoid(Lanes(repeating: x))[0] }

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
