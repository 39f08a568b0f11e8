/// A mask of 0 and 1/(1−p) (inverted dropout, as PyTorch): kept units are scaled while
/// training so that nothing changes at inference.
public func dropoutMask(shape: [Int], probability p: Float, rng: inout RandomGenerator) -> Tensor {
    let mask = Tensor(zeros: shape)
    let scale = 1 / (1 - p)
    for k in 0..<mask.count { mask.data[k] = rng.uniform() < p ? 0 : scale }
    return mask
}

/// Zeroes each element with probability `p` while the tape is training; identity otherwise.
public func dropout(_ x: Variable, probability p: Float, tape: Tape, rng: inout RandomGenerator) -> Variable {
    precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1), got \(p)")
    guard tape.isTraining, p > 0 else { return x }
    let mask = dropoutMask(shape: x.shape, probability: p, rng: &rng)
    let out = Tensor(zeros: x.shape)
    for k in 0..<out.count { out.data[k] = x.value.data[k] * mask.data[k] }
    let result = Variable(out, requiresGrad: tape.needsGradient(x))
    if result.requiresGrad {
        tape.record {
            guard let dOut = result.grad else { return }
            let dx = x.gradient().data
            for k in 0..<dOut.count { dx[k] += dOut.data[k] * mask.data[k] }
        }
    }
    return result
}
