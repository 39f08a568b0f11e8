import CKernels

// The LSTM's pointwise step, forward and backward side by side, over a range of hidden units
// (each thread of the time loop owns one range). The matrix products around them live in
// RecurrentDirection.swift; the vector math of each row is in CKernels/cell_kernels.c.
//
// Forward:  i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
//           c' = f ∘ c + i ∘ g,  h' = o ∘ tanh(c')
// where a (B, 4H) = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh, already summed in `gates`.

/// Activates the pre-activations of `units` in `gates` (B, 4H) in place and writes c', h' (B, H).
/// Rows past their sequence length keep the previous state and get zero gates.
@inline(__always)
func lstmStepForward(
    gates: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>, hPrev: UnsafePointer<Float>,
    cNext: UnsafeMutablePointer<Float>, hNext: UnsafeMutablePointer<Float>,
    batch: Int, hiddenSize H: Int, units: Range<Int>, time t: Int, lengths: UnsafePointer<Int32>?
) {
    for b in 0..<batch {
        let g = gates + b * 4 * H
        let cp = cPrev + b * H, hp = hPrev + b * H
        let cn = cNext + b * H, hn = hNext + b * H
        if let lengths, t >= Int(lengths[b]) {
            for gate in 0..<4 { (g + gate * H + units.lowerBound).update(repeating: 0, count: units.count) }
            (cn + units.lowerBound).update(from: cp + units.lowerBound, count: units.count)
            (hn + units.lowerBound).update(from: hp + units.lowerBound, count: units.count)
            continue
        }
        zoo_lstm_forward_row(g, H, cp, cn, hn, units.lowerBound, units.upperBound)
    }
}

/// Turns the activated gates of `units` (B, 4H) into dLoss/d(pre-activations) in place.
/// `dh` is dLoss/dh' for this step; `dc` holds dLoss/dc' on entry and dLoss/dc on return.
/// `dhPrev` receives the part of dLoss/dh that does not go through W_hh (the pass-through of
/// rows past their length); the caller adds dGates · W_hh to it.
@inline(__always)
func lstmStepBackward(
    gates: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>, cNext: UnsafePointer<Float>,
    dh: UnsafePointer<Float>, dc: UnsafeMutablePointer<Float>, dhPrev: UnsafeMutablePointer<Float>,
    batch: Int, hiddenSize H: Int, units: Range<Int>, time t: Int, lengths: UnsafePointer<Int32>?
) {
    for b in 0..<batch {
        let g = gates + b * 4 * H
        let cp = cPrev + b * H, cn = cNext + b * H
        let dhb = dh + b * H, dcb = dc + b * H, dhp = dhPrev + b * H
        if let lengths, t >= Int(lengths[b]) {
            for gate in 0..<4 { (g + gate * H + units.lowerBound).update(repeating: 0, count: units.count) }
            // The state was carried unchanged: dh passes through, dc stays as it is.
            (dhp + units.lowerBound).update(from: dhb + units.lowerBound, count: units.count)
            continue
        }
        zoo_lstm_backward_row(g, H, cp, cn, dhb, dcb, dhp, units.lowerBound, units.upperBound)
    }
}
