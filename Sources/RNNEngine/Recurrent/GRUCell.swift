import CKernels

// The GRU's pointwise step, forward and backward side by side, over a range of hidden units,
// with PyTorch's formula:
//   r = σ(x_r + h_r),  z = σ(x_z + h_z),  n = tanh(x_n + r ∘ h_n),  h' = (1 − z) ∘ n + z ∘ h
// where x_* = x W_i*ᵀ + b_i* (in `gates`) and h_* = h W_h*ᵀ + b_h* (in `hidden`), each (B, 3H).

/// Writes the activated r, z, n into `gates` in place, adds b_hn into the n block of `hidden`
/// (kept for the backward pass) and writes h' (B, H). Rows past their length keep h and get
/// zero gates.
@inline(__always)
func gruStepForward(
    gates: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>, hiddenBias: UnsafePointer<Float>,
    hPrev: UnsafePointer<Float>, hNext: UnsafeMutablePointer<Float>,
    batch: Int, hiddenSize H: Int, units: Range<Int>, time t: Int, lengths: UnsafePointer<Int32>?
) {
    for b in 0..<batch {
        let g = gates + b * 3 * H, hh = hidden + b * 3 * H
        let hp = hPrev + b * H, hn = hNext + b * H
        if let lengths, t >= Int(lengths[b]) {
            for gate in 0..<3 {
                (g + gate * H + units.lowerBound).update(repeating: 0, count: units.count)
                (hh + gate * H + units.lowerBound).update(repeating: 0, count: units.count)
            }
            (hn + units.lowerBound).update(from: hp + units.lowerBound, count: units.count)
            continue
        }
        zoo_gru_forward_row(g, hh, hiddenBias, H, hp, hn, units.lowerBound, units.upperBound)
    }
}

/// Turns `gates` into dLoss/d(x-side pre-activations) and `hidden` into dLoss/d(h-side
/// pre-activations) for `units`, in place, and writes the direct part of dLoss/dh into
/// `dhPrev` (the caller adds dHidden · W_hh).
@inline(__always)
func gruStepBackward(
    gates: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>,
    hPrev: UnsafePointer<Float>, dh: UnsafePointer<Float>, dhPrev: UnsafeMutablePointer<Float>,
    batch: Int, hiddenSize H: Int, units: Range<Int>, time t: Int, lengths: UnsafePointer<Int32>?
) {
    for b in 0..<batch {
        let g = gates + b * 3 * H, hh = hidden + b * 3 * H
        let hp = hPrev + b * H, dhb = dh + b * H, dhp = dhPrev + b * H
        if let lengths, t >= Int(lengths[b]) {
            // gates and hidden rows were zeroed in the forward pass
            (dhp + units.lowerBound).update(from: dhb + units.lowerBound, count: units.count)
            continue
        }
        zoo_gru_backward_row(g, hh, H, hp, dhb, dhp, units.lowerBound, units.upperBound)
    }
}
