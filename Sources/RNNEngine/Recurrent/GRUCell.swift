import Foundation

// The GRU's pointwise step, forward and backward side by side, with PyTorch's formula:
//   r = σ(x_r + h_r),  z = σ(x_z + h_z),  n = tanh(x_n + r ∘ h_n),  h' = (1 − z) ∘ n + z ∘ h
// where x_* = x W_i*ᵀ + b_i* (in `gates`) and h_* = h W_h*ᵀ + b_h* (in `hidden`), each (B, 3H).

/// Writes the activated r, z, n into `gates` in place, adds b_hh into `hidden` (kept for the
/// backward pass) and writes h' (B, H). Rows past their length keep h and get zero gates.
@inline(__always)
func gruStepForward(
    gates: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>, hiddenBias: UnsafePointer<Float>,
    hPrev: UnsafePointer<Float>, hNext: UnsafeMutablePointer<Float>,
    batch: Int, hiddenSize H: Int, time t: Int, lengths: UnsafePointer<Int32>?
) {
    for b in 0..<batch {
        let g = gates + b * 3 * H, hh = hidden + b * 3 * H
        let hp = hPrev + b * H, hn = hNext + b * H
        if let lengths, t >= Int(lengths[b]) {
            g.update(repeating: 0, count: 3 * H)
            hh.update(repeating: 0, count: 3 * H)
            hn.update(from: hp, count: H)
            continue
        }
        for j in 0..<H {
            let hr = hh[j] + hiddenBias[j]
            let hz = hh[H + j] + hiddenBias[H + j]
            let hnj = hh[2 * H + j] + hiddenBias[2 * H + j]
            let r = sigmoid(g[j] + hr)
            let z = sigmoid(g[H + j] + hz)
            let n = tanhActivation(g[2 * H + j] + r * hnj)
            g[j] = r; g[H + j] = z; g[2 * H + j] = n
            hh[2 * H + j] = hnj
            hn[j] = (1 - z) * n + z * hp[j]
        }
    }
}

/// Turns `gates` into dLoss/d(x-side pre-activations) and `hidden` into dLoss/d(h-side
/// pre-activations), in place, and writes the direct part of dLoss/dh into `dhPrev`
/// (the caller adds dHidden · W_hh).
@inline(__always)
func gruStepBackward(
    gates: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>,
    hPrev: UnsafePointer<Float>, dh: UnsafePointer<Float>, dhPrev: UnsafeMutablePointer<Float>,
    batch: Int, hiddenSize H: Int, time t: Int, lengths: UnsafePointer<Int32>?
) {
    for b in 0..<batch {
        let g = gates + b * 3 * H, hh = hidden + b * 3 * H
        let hp = hPrev + b * H, dhb = dh + b * H, dhp = dhPrev + b * H
        if let lengths, t >= Int(lengths[b]) {
            // gates and hidden rows were zeroed in the forward pass
            dhp.update(from: dhb, count: H)
            continue
        }
        for j in 0..<H {
            let r = g[j], z = g[H + j], n = g[2 * H + j], hnj = hh[2 * H + j]
            let d = dhb[j]
            let dnPre = d * (1 - z) * (1 - n * n)
            let dzPre = d * (hp[j] - n) * z * (1 - z)
            let drPre = dnPre * hnj * r * (1 - r)
            g[j] = drPre; g[H + j] = dzPre; g[2 * H + j] = dnPre
            hh[j] = drPre; hh[H + j] = dzPre; hh[2 * H + j] = dnPre * r
            dhp[j] = d * z
        }
    }
}
