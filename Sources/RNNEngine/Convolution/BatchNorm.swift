import Foundation

/// Batch normalisation over the channels of NCHW images (or the features of (N, C) rows):
/// PyTorch's `nn.BatchNorm2d` / `nn.BatchNorm1d` with affine weight and bias and running
/// statistics. Names: `<name>.weight` (ones), `<name>.bias` (zeros), and the buffers
/// `<name>.running_mean`, `<name>.running_var` (F32) and `<name>.num_batches_tracked` (I64).
///
/// Training normalises with the batch's mean and biased variance and updates the running
/// statistics with `momentum` (the running variance takes the unbiased batch variance, as
/// PyTorch does); evaluation normalises with the running statistics.
public final class BatchNorm {
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Buffer
    public let runningVariance: Buffer
    public let batchesTracked: Buffer
    public let channels: Int
    public let epsilon: Float
    public let momentum: Float

    public init(channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1, name: String, store: ParameterStore) {
        self.channels = channels
        self.epsilon = epsilon
        self.momentum = momentum
        weight = store.declare(name + ".weight", shape: [channels]) { $0.fill(1) }
        bias = store.declare(name + ".bias", shape: [channels]) { _ in }
        runningMean = store.declareBuffer(name + ".running_mean", shape: [channels])
        runningVariance = store.declareBuffer(name + ".running_var", shape: [channels]) { $0.fill(1) }
        batchesTracked = store.declareBuffer(name + ".num_batches_tracked", shape: [], dtype: "I64")
    }

    public func callAsFunction(_ x: Variable, tape: Tape) -> Variable {
        precondition(
            (x.shape.count == 4 || x.shape.count == 2) && x.shape[1] == channels,
            "batch norm over \(channels) channels needs (N, \(channels)[, H, W]), got \(x.shape)")
        let N = x.shape[0], C = channels
        let spatial = x.shape.count == 4 ? x.shape[2] * x.shape[3] : 1
        let m = N * spatial
        let input = x.value.data
        var mean = [Float](repeating: 0, count: C), inverseStd = [Float](repeating: 0, count: C)
        let training = tape.isTraining
        for c in 0..<C {
            if training {
                var s = 0.0, ss = 0.0
                forEachElement(c, N, C, spatial) { s += Double(input[$0]) }
                let mu = s / Double(m)
                forEachElement(c, N, C, spatial) {
                    let d = Double(input[$0]) - mu
                    ss += d * d
                }
                let variance = ss / Double(m)
                mean[c] = Float(mu)
                inverseStd[c] = Float(1 / (variance + Double(epsilon)).squareRoot())
                let unbiased = m > 1 ? ss / Double(m - 1) : variance
                runningMean.value[c] = (1 - momentum) * runningMean.value[c] + momentum * Float(mu)
                runningVariance.value[c] = (1 - momentum) * runningVariance.value[c] + momentum * Float(unbiased)
            } else {
                mean[c] = runningMean.value[c]
                inverseStd[c] = 1 / (runningVariance.value[c] + epsilon).squareRoot()
            }
        }
        if training { batchesTracked.value[0] += 1 }
        // x̂ = (x − μ)·σ⁻¹ is kept for the backward pass; y = γ x̂ + β.
        let normalized = Tensor(uninitialized: x.shape)
        let out = Tensor(uninitialized: x.shape)
        for c in 0..<C {
            let gamma = weight.value[c], beta = bias.value[c], mu = mean[c], inv = inverseStd[c]
            forEachElement(c, N, C, spatial) { k in
                let h = (input[k] - mu) * inv
                normalized.data[k] = h
                out.data[k] = gamma * h + beta
            }
        }
        let result = Variable(out, requiresGrad: tape.needsGradient(x, weight, bias))
        if result.requiresGrad {
            tape.record { [weight, bias] in
                guard let dy = result.grad?.data else { return }
                let h = normalized.data
                for c in 0..<C {
                    var sumDy: Float = 0, sumDyH: Float = 0
                    forEachElement(c, N, C, spatial) { k in
                        sumDy += dy[k]
                        sumDyH += dy[k] * h[k]
                    }
                    weight.gradient()[c] += sumDyH
                    bias.gradient()[c] += sumDy
                    guard x.requiresGrad else { continue }
                    let dx = x.gradient().data
                    let scale = weight.value[c] * inverseStd[c]
                    if training {
                        // The batch statistics depend on x too.
                        let meanDy = sumDy / Float(m), meanDyH = sumDyH / Float(m)
                        forEachElement(c, N, C, spatial) { k in dx[k] += scale * (dy[k] - meanDy - h[k] * meanDyH) }
                    } else {
                        forEachElement(c, N, C, spatial) { k in dx[k] += scale * dy[k] }
                    }
                }
            }
        }
        return result
    }
}

/// Calls `body(k)` for the offset of every element of channel c in an (N, C, spatial) layout.
@inline(__always)
private func forEachElement(_ c: Int, _ N: Int, _ C: Int, _ spatial: Int, _ body: (Int) -> Void) {
    for n in 0..<N {
        let base = (n * C + c) * spatial
        for s in 0..<spatial { body(base + s) }
    }
}
