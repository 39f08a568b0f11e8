import CKernels

/// Scales all gradients so that their global L2 norm is at most `maxNorm`, as PyTorch's
/// `clip_grad_norm_` (coefficient maxNorm / (norm + 1e-6), applied only when below 1).
/// Returns the norm before clipping, for logging exploding gradients.
@discardableResult
public func clipGradientNorm(_ store: ParameterStore, maxNorm: Float) -> Float {
    let g = store.gradients.data
    let n = store.trainableCount  // frozen parameters neither count nor change
    // One partial sum per share over a fixed split: the same threads give the same norm.
    let shares = Engine.shares(work: n, grain: 1 << 15)
    let parts = UnsafeMutableBufferPointer<Double>.allocate(capacity: shares)
    defer { parts.deallocate() }
    Engine.team.run(shares: shares) { member in
        let range = memberRange(member, of: shares, count: n, align: 4096)
        parts[member] = range.isEmpty ? 0 : zoo_sum_squares(g + range.lowerBound, range.count)
    }
    let norm = Float(parts.reduce(0, +).squareRoot())
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        parallelChunks(n, minimumPerChunk: 1 << 15) { range in
            zoo_scale(g + range.lowerBound, range.count, coefficient)
        }
    }
    return norm
}
