/// Scales all gradients so that their global L2 norm is at most `maxNorm`, as PyTorch's
/// `clip_grad_norm_` (coefficient maxNorm / (norm + 1e-6), applied only when below 1).
/// Returns the norm before clipping, for logging exploding gradients.
@discardableResult
public func clipGradientNorm(_ store: ParameterStore, maxNorm: Float) -> Float {
    let g = store.gradients.data
    let n = store.gradients.count
    var sumSquares: Double = 0
    var k = 0
    // Four partial sums in Float, flushed to Double: fast and accurate enough for a norm.
    while k < n {
        let end = min(n, k + 4096)
        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
        var j = k
        while j + 4 <= end {
            s0 += g[j] * g[j]; s1 += g[j + 1] * g[j + 1]; s2 += g[j + 2] * g[j + 2]; s3 += g[j + 3] * g[j + 3]
            j += 4
        }
        while j < end { s0 += g[j] * g[j]; j += 1 }
        sumSquares += Double(s0 + s1 + s2 + s3)
        k = end
    }
    let norm = Float(sumSquares.squareRoot())
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        for j in 0..<n { g[j] *= coefficient }
    }
    return norm
}
