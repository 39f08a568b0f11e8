import CKernels

// The Elman RNN's pointwise step over a range of hidden units:
//   h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), act = tanh or ReLU.

/// Activates `gates` (B, H) in place (they become h') and writes h'.
@inline(__always)
func simpleRNNStepForward(
    gates: UnsafeMutablePointer<Float>, hPrev: UnsafePointer<Float>, hNext: UnsafeMutablePointer<Float>,
    batch: Int, hiddenSize H: Int, relu useRelu: Bool, units: Range<Int>, time t: Int, lengths: UnsafePointer<Int32>?
) {
    for b in 0..<batch {
        let g = gates + b * H, hp = hPrev + b * H, hn = hNext + b * H
        if let lengths, t >= Int(lengths[b]) {
            (g + units.lowerBound).update(repeating: 0, count: units.count)
            (hn + units.lowerBound).update(from: hp + units.lowerBound, count: units.count)
            continue
        }
        zoo_rnn_forward_row(g, hn, useRelu ? 1 : 0, units.lowerBound, units.upperBound)
    }
}

/// Turns `gates` (holding h') into dLoss/d(pre-activation) in place.
@inline(__always)
func simpleRNNStepBackward(
    gates: UnsafeMutablePointer<Float>, dh: UnsafePointer<Float>, dhPrev: UnsafeMutablePointer<Float>,
    batch: Int, hiddenSize H: Int, relu useRelu: Bool, units: Range<Int>, time t: Int, lengths: UnsafePointer<Int32>?
) {
    for b in 0..<batch {
        let g = gates + b * H, dhb = dh + b * H, dhp = dhPrev + b * H
        if let lengths, t >= Int(lengths[b]) {
            (dhp + units.lowerBound).update(from: dhb + units.lowerBound, count: units.count)
            continue
        }
        zoo_rnn_backward_row(g, dhb, dhp, useRelu ? 1 : 0, units.lowerBound, units.upperBound)
    }
}
