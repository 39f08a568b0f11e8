import CKernels
import Foundation

// Softmax and log-softmax along an axis, with an optional mask: a masked position gets exactly
// zero weight (−∞ in log space) and no gradient, as `masked_fill(~mask, -inf)` followed by
// softmax does in PyTorch, except that a row with every position masked is an error, not NaN.

/// softmax(x) along `axis`. `mask` (one flag per element of x, true = keep) hides positions.
public func softmax(_ x: Variable, axis: Int = -1, mask: [Bool]? = nil, tape: Tape) throws -> Variable {
    try softmaxOp(x, axis: axis, mask: mask, logarithm: false, tape: tape)
}

/// log softmax(x) along `axis`; masked positions are −∞.
public func logSoftmax(_ x: Variable, axis: Int = -1, mask: [Bool]? = nil, tape: Tape) throws -> Variable {
    try softmaxOp(x, axis: axis, mask: mask, logarithm: true, tape: tape)
}

/// A mask for scores laid out (B, rows, S): position s of item b is kept when s < lengths[b].
/// `rowsPerItem` is how many score rows each item has (decoder steps, 1 for a single query).
public func lengthMask(lengths: [Int], positions S: Int, rowsPerItem: Int = 1) -> [Bool] {
    var mask = [Bool](repeating: false, count: lengths.count * rowsPerItem * S)
    for (b, length) in lengths.enumerated() {
        for r in 0..<rowsPerItem {
            let row = (b * rowsPerItem + r) * S
            for s in 0..<min(length, S) { mask[row + s] = true }
        }
    }
    return mask
}

private func softmaxOp(_ x: Variable, axis requested: Int, mask: [Bool]?, logarithm: Bool, tape: Tape) throws
    -> Variable
{
    let axis = requested < 0 ? x.shape.count + requested : requested
    precondition(
        mask == nil || mask!.count == x.value.count,
        "softmax mask has \(mask!.count) flags for \(x.value.count) elements")
    let layout = axisLayout(x.shape, axis: axis)
    if let mask {
        for row in 0..<(layout.outer * layout.inner) {
            let base = (row / layout.inner) * layout.length * layout.inner + row % layout.inner
            guard (0..<layout.length).contains(where: { mask[base + $0 * layout.inner] }) else {
                throw EngineError.allPositionsMasked(row: row)
            }
        }
    }
    let out = Tensor(uninitialized: x.shape)
    // Probabilities, kept for the backward of log-softmax (its output is not enough at −∞).
    let probabilities = logarithm ? Tensor(uninitialized: x.shape) : out
    if layout.inner == 1 {
        softmaxContiguousRows(
            x.value.data, probabilities: probabilities.data, logarithms: logarithm ? out.data : nil,
            rows: layout.outer, length: layout.length, mask: mask)
    } else {
        softmaxStridedRows(
            x.value.data, probabilities: probabilities.data, logarithms: logarithm ? out.data : nil,
            layout: layout, mask: mask)
    }
    return opResult(out, of: x, tape: tape) { dy, dx in
        // Through the tensor, which the closure keeps alive.
        softmaxBackward(
            dy, into: dx, probabilities: probabilities.data, layout: layout, mask: mask, logarithm: logarithm)
    }
}

/// Softmax over the last axis: contiguous rows, in parallel, with the vector exponential.
/// `logarithms`, when given, receives log-softmax.
private func softmaxContiguousRows(
    _ input: UnsafePointer<Float>, probabilities p: UnsafeMutablePointer<Float>,
    logarithms y: UnsafeMutablePointer<Float>?, rows: Int, length: Int, mask: [Bool]?
) {
    parallelChunks(rows, minimumPerChunk: max(1, 16_384 / max(length, 1))) { chunk in
        for o in chunk {
            let base = o * length
            let xs = input + base, ps = p + base
            var maximum = -Float.infinity
            if let mask {
                for l in 0..<length where mask[base + l] { maximum = max(maximum, xs[l]) }
            } else {
                for l in 0..<length { maximum = max(maximum, xs[l]) }
            }
            for l in 0..<length { ps[l] = xs[l] - maximum }
            zoo_exp(ps, ps, length)
            if let mask { for l in 0..<length where !mask[base + l] { ps[l] = 0 } }
            var total: Float = 0
            for l in 0..<length { total += ps[l] }
            let inverse = 1 / total, shift = maximum + logf(total)
            if let y {
                let ys = y + base
                for l in 0..<length { ys[l] = xs[l] - shift }
                if let mask { for l in 0..<length where !mask[base + l] { ys[l] = -.infinity } }
            }
            for l in 0..<length { ps[l] *= inverse }
        }
    }
}

/// Softmax over an inner axis: positions `inner` apart.
private func softmaxStridedRows(
    _ input: UnsafePointer<Float>, probabilities p: UnsafeMutablePointer<Float>,
    logarithms y: UnsafeMutablePointer<Float>?, layout: (outer: Int, length: Int, inner: Int),
    mask: [Bool]?
) {
    let (outer, length, inner) = layout
    for o in 0..<outer {
        for i in 0..<inner {
            let base = o * length * inner + i
            @inline(__always) func kept(_ l: Int) -> Bool { mask?[base + l * inner] ?? true }
            var maximum = -Float.infinity
            for l in 0..<length where kept(l) { maximum = max(maximum, input[base + l * inner]) }
            var total: Float = 0
            for l in 0..<length {
                let e = kept(l) ? expf(input[base + l * inner] - maximum) : 0
                p[base + l * inner] = e
                total += e
            }
            let inverse = 1 / total, logTotal = logf(total)
            for l in 0..<length {
                let k = base + l * inner
                p[k] *= inverse
                if let y { y[k] = kept(l) ? input[k] - maximum - logTotal : -.infinity }
            }
        }
    }
}

/// The input gradient of softmax, dx = p ∘ (dy − Σ dy∘p), or of log-softmax, dx = dy − p Σ dy,
/// over the kept positions of each row.
private func softmaxBackward(
    _ dy: UnsafeMutablePointer<Float>, into dx: UnsafeMutablePointer<Float>,
    probabilities p: UnsafeMutablePointer<Float>,
    layout: (outer: Int, length: Int, inner: Int), mask: [Bool]?, logarithm: Bool
) {
    let (outer, length, inner) = layout
    for o in 0..<outer {
        for i in 0..<inner {
            let base = o * length * inner + i
            var dot: Float = 0
            for l in 0..<length where mask?[base + l * inner] ?? true {
                let k = base + l * inner
                dot += logarithm ? dy[k] : dy[k] * p[k]
            }
            for l in 0..<length where mask?[base + l * inner] ?? true {
                let k = base + l * inner
                dx[k] += logarithm ? dy[k] - p[k] * dot : p[k] * (dy[k] - dot)
            }
        }
    }
}
