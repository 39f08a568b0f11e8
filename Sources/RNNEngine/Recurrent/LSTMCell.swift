import Foundation

// The LSTM's pointwise step, forward and backward side by side. The matrix products around
// them live in RecurrentDirection.swift.
//
// Forward:  i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
//           c' = f ∘ c + i ∘ g,  h' = o ∘ tanh(c')
// where a (B, 4H) = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh, already summed in `gates`.

/// Activates the pre-activations in `gates` (B, 4H) in place and writes c', h' (B, H).
/// Rows past their sequence length keep the previous state and get zero gates.
@inline(__always)
func lstmStepForward(
    gates: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>, hPrev: UnsafePointer<Float>,
    cNext: UnsafeMutablePointer<Float>, hNext: UnsafeMutablePointer<Float>,
    batch: Int, hiddenSize H: Int, time t: Int, lengths: UnsafePointer<Int32>?
) {
    for b in 0..<batch {
        let g = gates + b * 4 * H
        let cp = cPrev + b * H, hp = hPrev + b * H
        let cn = cNext + b * H, hn = hNext + b * H
        if let lengths, t >= Int(lengths[b]) {
            g.update(repeating: 0, count: 4 * H)
            cn.update(from: cp, count: H)
            hn.update(from: hp, count: H)
            continue
        }
        for j in 0..<H {
            let i = sigmoid(g[j])
            let f = sigmoid(g[H + j])
            let gg = tanhActivation(g[2 * H + j])
            let o = sigmoid(g[3 * H + j])
            let c = f * cp[j] + i * gg
            g[j] = i; g[H + j] = f; g[2 * H + j] = gg; g[3 * H + j] = o
            cn[j] = c
            hn[j] = o * tanhActivation(c)
        }
    }
}

/// Turns the activated gates (B, 4H) into dLoss/d(pre-activations) in place.
/// `dh` is dLoss/dh' for this step; `dc` holds dLoss/dc' on entry and dLoss/dc on return.
/// `dhPrev` receives the part of dLoss/dh that does not go through W_hh (the pass-through of
/// rows past their length); the caller adds dGates · W_hh to it.
@inline(__always)
func lstmStepBackward(
    gates: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>, cNext: UnsafePointer<Float>,
    dh: UnsafePointer<Float>, dc: UnsafeMutablePointer<Float>, dhPrev: UnsafeMutablePointer<Float>,
    batch: Int, hiddenSize H: Int, time t: Int, lengths: UnsafePointer<Int32>?
) {
    for b in 0..<batch {
        let g = gates + b * 4 * H
        let cp = cPrev + b * H, cn = cNext + b * H
        let dhb = dh + b * H, dcb = dc + b * H, dhp = dhPrev + b * H
        if let lengths, t >= Int(lengths[b]) {
            g.update(repeating: 0, count: 4 * H)
            dhp.update(from: dhb, count: H)  // state was carried unchanged; dc stays as it is
            continue
        }
        for j in 0..<H {
            let i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j]
            let tc = tanhActivation(cn[j])
            let dcTotal = dcb[j] + dhb[j] * o * (1 - tc * tc)
            let di = dcTotal * gg, df = dcTotal * cp[j], dg = dcTotal * i, dout = dhb[j] * tc
            g[j] = di * i * (1 - i)
            g[H + j] = df * f * (1 - f)
            g[2 * H + j] = dg * (1 - gg * gg)
            g[3 * H + j] = dout * o * (1 - o)
            dcb[j] = dcTotal * f
            dhp[j] = 0
        }
    }
}
