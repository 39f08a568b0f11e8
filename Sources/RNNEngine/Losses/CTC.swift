import Foundation

/// Connectionist temporal classification loss over unnormalised `logits` (T, B, C), with the
/// log-softmax fused in: PyTorch's `F.ctc_loss(logits.log_softmax(2), ..., reduction="mean")`.
/// Each utterance's loss is divided by its target length, then averaged over the batch.
///
/// - targets: one label sequence per utterance, labels in 1..<C (`blank` excluded).
/// - inputLengths: frames per utterance (≤ T); frames past it get no gradient.
/// - zeroInfinity: an impossible alignment (target too long for its input) counts as 0 loss
///   and 0 gradient; without it, such an utterance throws `EngineError.ctcLabelsTooLong`
///   naming it (PyTorch would return +∞ and poison the batch).
/// - Throws: for a label that is the blank or outside 0..<C, or an input length outside 0...T.
public func ctcLoss(
    _ logits: Variable, targets: [[Int32]], inputLengths: [Int], blank: Int32 = 0,
    zeroInfinity: Bool = false, tape: Tape
) throws -> Variable {
    precondition(logits.shape.count == 3, "ctc: logits must be (T, B, C), got \(logits.shape)")
    let T = logits.shape[0], B = logits.shape[1], C = logits.shape[2]
    precondition(targets.count == B && inputLengths.count == B, "ctc: need \(B) targets and input lengths")
    for b in 0..<B {
        guard inputLengths[b] >= 0 && inputLengths[b] <= T else {
            throw EngineError.ctcInputLength(item: b, length: inputLengths[b], maximum: T)
        }
        if let bad = targets[b].first(where: { $0 == blank || $0 < 0 || Int($0) >= C }) {
            throw EngineError.ctcLabelOutsideAlphabet(item: b, label: Int(bad), classes: C)
        }
        let needed = ctcFramesNeeded(targets[b])
        if inputLengths[b] < needed && !zeroInfinity {
            throw EngineError.ctcLabelsTooLong(
                item: b, labels: targets[b].count, framesNeeded: needed, frames: inputLengths[b])
        }
    }
    let needsGradient = tape.needsGradient(logits)
    let gradient: Tensor? = needsGradient ? Tensor(zeros: logits.shape) : nil
    var losses = [Double](repeating: 0, count: B)
    losses.withUnsafeMutableBufferPointer { lossBuffer in
        let lossPointer = lossBuffer.baseAddress!
        parallelChunks(B) { range in
            for b in range {
                let scale = 1 / Float(max(targets[b].count, 1)) / Float(B)
                lossPointer[b] = ctcUtterance(
                    logits: logits.value.data, frames: inputLengths[b], batch: B, index: b, classes: C,
                    labels: targets[b], blank: blank, zeroInfinity: zeroInfinity,
                    gradient: gradient?.data, gradientScale: scale)
            }
        }
    }
    var total = 0.0
    for b in 0..<B { total += losses[b] / Double(max(targets[b].count, 1)) }
    return scalarLoss(total / Double(B), input: logits, gradient: gradient, tape: tape)
}

@inline(__always) private func logAdd(_ a: Float, _ b: Float) -> Float {
    if a == -.infinity { return b }
    if b == -.infinity { return a }
    return max(a, b) + log1pf(expf(-abs(a - b)))
}

/// −log p(labels | utterance b) by the forward-backward recursions in log space; writes
/// dLoss/dlogits · gradientScale into the utterance's (T, C) slots of `gradient`.
private func ctcUtterance(
    logits: UnsafePointer<Float>, frames T: Int, batch B: Int, index b: Int, classes C: Int,
    labels: [Int32], blank: Int32, zeroInfinity: Bool,
    gradient: UnsafeMutablePointer<Float>?, gradientScale: Float
) -> Double {
    let S = 2 * labels.count + 1
    // Extended label sequence: blank, l1, blank, l2, ..., blank.
    var extended = [Int](repeating: Int(blank), count: S)
    for (k, label) in labels.enumerated() {
        extended[2 * k + 1] = Int(label)
    }
    if T == 0 { return labels.isEmpty ? 0 : (zeroInfinity ? 0 : .infinity) }

    // Log-softmax of each frame.
    var logProbs = [Float](repeating: 0, count: T * C)
    for t in 0..<T {
        let row = logits + (t * B + b) * C
        var m = -Float.infinity
        for c in 0..<C { m = max(m, row[c]) }
        var s: Float = 0
        for c in 0..<C { s += expf(row[c] - m) }
        let logZ = m + logf(s)
        for c in 0..<C { logProbs[t * C + c] = row[c] - logZ }
    }

    func canSkip(_ s: Int) -> Bool { s >= 2 && extended[s] != Int(blank) && extended[s] != extended[s - 2] }
    let skips = (0..<S).map(canSkip)
    if let logLikelihood = scaledForwardBackward(
        logProbs: logProbs, frames: T, classes: C, extended: extended, skips: skips,
        gradient: gradient.map { $0 + b * C }, rowStride: B * C, gradientScale: gradientScale)
    {
        return logLikelihood == -.infinity ? (zeroInfinity ? 0 : .infinity) : Double(-logLikelihood)
    }

    // Log space: slower (two transcendental functions per addition), but exact where the
    // scaled recursion's probabilities underflow even a double.
    var alpha = [Float](repeating: -.infinity, count: T * S)
    var beta = [Float](repeating: -.infinity, count: T * S)

    alpha[0] = logProbs[extended[0]]
    if S > 1 { alpha[1] = logProbs[extended[1]] }
    for t in 1..<T {
        for s in 0..<S {
            var a = alpha[(t - 1) * S + s]
            if s >= 1 { a = logAdd(a, alpha[(t - 1) * S + s - 1]) }
            if canSkip(s) { a = logAdd(a, alpha[(t - 1) * S + s - 2]) }
            alpha[t * S + s] = a == -.infinity ? a : a + logProbs[t * C + extended[s]]
        }
    }
    var logLikelihood = alpha[(T - 1) * S + S - 1]
    if S > 1 { logLikelihood = logAdd(logLikelihood, alpha[(T - 1) * S + S - 2]) }
    if logLikelihood == -.infinity {
        return zeroInfinity ? 0 : .infinity  // gradient stays 0 for an impossible alignment
    }
    guard let gradient else { return Double(-logLikelihood) }

    beta[(T - 1) * S + S - 1] = logProbs[(T - 1) * C + extended[S - 1]]
    if S > 1 { beta[(T - 1) * S + S - 2] = logProbs[(T - 1) * C + extended[S - 2]] }
    for t in stride(from: T - 2, through: 0, by: -1) {
        for s in 0..<S {
            var v = beta[(t + 1) * S + s]
            if s + 1 < S { v = logAdd(v, beta[(t + 1) * S + s + 1]) }
            if s + 2 < S && canSkip(s + 2) { v = logAdd(v, beta[(t + 1) * S + s + 2]) }
            beta[t * S + s] = v == -.infinity ? v : v + logProbs[t * C + extended[s]]
        }
    }

    // dLoss/dlogit[t, c] = softmax[t, c] − Σ_{s: l'_s = c} α_t(s) β_t(s) / (y_t(c) · p).
    var occupancy = [Float](repeating: -.infinity, count: C)
    for t in 0..<T {
        for c in 0..<C { occupancy[c] = -.infinity }
        for s in 0..<S { occupancy[extended[s]] = logAdd(occupancy[extended[s]], alpha[t * S + s] + beta[t * S + s]) }
        let g = gradient + (t * B + b) * C
        for c in 0..<C {
            let lp = logProbs[t * C + c]
            g[c] = (expf(lp) - expf(occupancy[c] - lp - logLikelihood)) * gradientScale
        }
    }
    return Double(-logLikelihood)
}

/// The forward-backward recursions in probability space, each frame's α (and β) rescaled to
/// sum to 1 and the logarithms of the scales summed (Graves et al., 2006): multiply-adds
/// instead of log-additions. Doubles keep every useful term far above underflow; if a frame's
/// scale or the final probability still comes out 0, returns nil and the caller recomputes in
/// log space, which also decides whether the alignment is truly impossible. Returns the log
/// likelihood and, when `gradient` is given, writes dLoss/dlogits · gradientScale into the rows
/// `gradient + t · rowStride` (nothing is written when nil is returned).
private func scaledForwardBackward(
    logProbs: [Float], frames T: Int, classes C: Int, extended: [Int], skips: [Bool],
    gradient: UnsafeMutablePointer<Float>?, rowStride: Int, gradientScale: Float
) -> Float? {
    let S = extended.count
    let y = logProbs.map { Foundation.exp(Double($0)) }  // (T, C) probabilities
    var alpha = [Double](repeating: 0, count: T * S)
    var logLikelihood = 0.0

    /// Divides row t of `table` by its sum and returns the sum's log, or nil when the sum is 0.
    func normalise(_ table: inout [Double], _ t: Int) -> Double? {
        var sum = 0.0
        for s in 0..<S { sum += table[t * S + s] }
        guard sum > 0, sum.isFinite else { return nil }
        let inverse = 1 / sum
        for s in 0..<S { table[t * S + s] *= inverse }
        return Foundation.log(sum)
    }

    alpha[0] = y[extended[0]]
    if S > 1 { alpha[1] = y[extended[1]] }
    guard let first = normalise(&alpha, 0) else { return nil }
    logLikelihood += first
    for t in 1..<T {
        let previous = (t - 1) * S, row = t * C
        for s in 0..<S {
            var a = alpha[previous + s]
            if s >= 1 { a += alpha[previous + s - 1] }
            if skips[s] { a += alpha[previous + s - 2] }
            alpha[t * S + s] = a * y[row + extended[s]]
        }
        guard let scale = normalise(&alpha, t) else { return nil }
        logLikelihood += scale
    }
    var end = alpha[(T - 1) * S + S - 1]
    if S > 1 { end += alpha[(T - 1) * S + S - 2] }
    guard end > 0 else { return nil }
    logLikelihood += Foundation.log(end)
    guard let gradient else { return Float(logLikelihood) }

    var beta = [Double](repeating: 0, count: T * S)
    beta[(T - 1) * S + S - 1] = y[(T - 1) * C + extended[S - 1]]
    if S > 1 { beta[(T - 1) * S + S - 2] = y[(T - 1) * C + extended[S - 2]] }
    guard normalise(&beta, T - 1) != nil else { return nil }
    for t in stride(from: T - 2, through: 0, by: -1) {
        let next = (t + 1) * S, row = t * C
        for s in 0..<S {
            var v = beta[next + s]
            if s + 1 < S { v += beta[next + s + 1] }
            if s + 2 < S && skips[s + 2] { v += beta[next + s + 2] }
            beta[t * S + s] = v * y[row + extended[s]]
        }
        guard normalise(&beta, t) != nil else { return nil }
    }

    // Posterior of class c at frame t: Σ_{s: l'_s = c} α̂β̂ / y_t(c), normalised over all s (the
    // scales cancel). dLoss/dlogit[t, c] = y_t(c) − posterior.
    var posterior = [Double](repeating: 0, count: C)
    var rows = [Float](repeating: 0, count: T * C)
    for t in 0..<T {
        for c in 0..<C { posterior[c] = 0 }
        var total = 0.0
        for s in 0..<S {
            let probability = y[t * C + extended[s]]
            guard probability > 0 else { continue }
            let share = alpha[t * S + s] * beta[t * S + s] / probability
            posterior[extended[s]] += share
            total += share
        }
        guard total > 0, total.isFinite else { return nil }
        for c in 0..<C { rows[t * C + c] = Float((y[t * C + c] - posterior[c] / total)) * gradientScale }
    }
    rows.withUnsafeBufferPointer { rows in
        for t in 0..<T { (gradient + t * rowStride).update(from: rows.baseAddress! + t * C, count: C) }
    }
    return Float(logLikelihood)
}

/// The fewest frames an alignment of `labels` takes: each label a frame, and a repeated label a
/// blank frame between the two.
public func ctcFramesNeeded(_ labels: [Int32]) -> Int {
    labels.count + zip(labels, labels.dropFirst()).filter { $0 == $1 }.count
}
