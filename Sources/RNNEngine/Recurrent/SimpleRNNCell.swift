import Foundation

// The Elman RNN's pointwise step: h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), act = tanh or ReLU.

/// Activates `gates` (B, H) in place (they become h') and writes h'.
@inline(__always)
func simpleRNNStepForward(
    gates: UnsafeMutablePointer<Float>, hPrev: UnsafePointer<Float>, hNext: UnsafeMutablePointer<Float>,
    batch: Int, hiddenSize H: Int, relu: Bool, time t: Int, lengths: UnsafePointer<Int32>?
) {
    for b in 0..<batch {
        let g = gates + b * H, hp = hPrev + b * H, hn = hNext + b * H
        if let lengths, t >= Int(lengths[b]) {
            g.update(repeating: 0, count: H)
            hn.update(from: hp, count: H)
            continue
        }
        for j in 0..<H {
            let h = relu ? reluActivation(g[j]) : tanhActivation(g[j])
            g[j] = h
            hn[j] = h
        }
    }
}

/// Turns `gates` (holding h') into dLoss/d(pre-activation) in place.
@inline(__always)
func simpleRNNStepBackward(
    gates: UnsafeMutablePointer<Float>, dh: UnsafePointer<Float>, dhPrev: UnsafeMutablePointer<Float>,
    batch: Int, hiddenSize H: Int, relu: Bool, time t: Int, lengths: UnsafePointer<Int32>?
) {
    for b in 0..<batch {
        let g = gates + b * H, dhb = dh + b * H, dhp = dhPrev + b * H
        if let lengths, t >= Int(lengths[b]) {
            dhp.update(from: dhb, count: H)
            continue
        }
        for j in 0..<H {
            let h = g[j]
            g[j] = relu ? (h > 0 ? dhb[j] : 0) : dhb[j] * (1 - h * h)
            dhp[j] = 0
        }
    }
}
