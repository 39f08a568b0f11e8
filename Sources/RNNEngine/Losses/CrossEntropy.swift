import CKernels
import Foundation

/// Sum of the losses and number of scored rows of a softmax cross-entropy, and optionally its
/// gradient. The one implementation behind training (`softmaxCrossEntropy`) and evaluation.
///
/// - logits: (rows, V); targets: rows ids; a row whose target is `ignoreIndex` is skipped.
/// - labelSmoothing ε: the target distribution is (1−ε)·onehot + ε/V, as in PyTorch.
/// - gradient: when given (rows, V), receives (softmax − target distribution) · gradientScale.
public func crossEntropyRows(
    logits: UnsafePointer<Float>, rows: Int, classes V: Int, targets: UnsafePointer<Int32>,
    ignoreIndex: Int32? = nil, labelSmoothing ε: Float = 0,
    gradient: UnsafeMutablePointer<Float>? = nil, gradientScale: Float = 1
) -> (lossSum: Double, count: Int) {
    for r in 0..<rows where targets[r] != ignoreIndex {
        precondition(targets[r] >= 0 && Int(targets[r]) < V, "cross-entropy: target \(targets[r]) outside 0..<\(V)")
    }
    // Rows are independent: they run in parallel, each writing its loss to its own slot, and
    // the slots are summed in order, so the result does not depend on the thread count.
    var rowLosses = [Double](repeating: 0, count: rows)
    rowLosses.withUnsafeMutableBufferPointer { losses in
        let lossesBase = losses.baseAddress!
        parallelChunks(rows, minimumPerChunk: max(1, 32_768 / max(V, 1))) { range in
            // e^(x − max) of one row: the gradient's row when there is one, else scratch.
            let scratch = gradient == nil ? UnsafeMutablePointer<Float>.allocate(capacity: V) : nil
            defer { scratch?.deallocate() }
            for r in range {
                let target = targets[r]
                let g = gradient.map { $0 + r * V }
                if let ignoreIndex, target == ignoreIndex {
                    g?.update(repeating: 0, count: V)
                    continue
                }
                let row = logits + r * V
                let exps = g ?? scratch!
                var maxValue = -Float.infinity
                for c in 0..<V { maxValue = max(maxValue, row[c]) }
                for c in 0..<V { exps[c] = row[c] - maxValue }
                zoo_exp(exps, exps, V)
                var sumExp: Float = 0
                for c in 0..<V { sumExp += exps[c] }
                let logZ = maxValue + logf(sumExp)
                var rowLoss = Double(logZ - row[Int(target)])
                if ε > 0 {
                    var sum: Float = 0
                    for c in 0..<V { sum += row[c] }
                    // mean over classes of −log p_c = logZ − mean(x)
                    rowLoss = Double(1 - ε) * rowLoss + Double(ε) * Double(logZ - sum / Float(V))
                }
                lossesBase[r] = rowLoss
                if let g {
                    let scale = gradientScale / sumExp, smooth = ε / Float(V) * gradientScale
                    for c in 0..<V { g[c] = g[c] * scale - smooth }
                    g[Int(target)] -= (1 - ε) * gradientScale
                }
            }
        }
    }
    var lossSum = 0.0, count = 0
    for r in 0..<rows where targets[r] != ignoreIndex {
        lossSum += rowLosses[r]
        count += 1
    }
    return (lossSum, count)
}

/// Mean softmax cross-entropy of `logits` (N, V) against `targets` (N), over the rows whose
/// target is not `ignoreIndex`: PyTorch's `F.cross_entropy(..., ignore_index, label_smoothing)`.
public func softmaxCrossEntropy(
    _ logits: Variable, targets: [Int32], ignoreIndex: Int32? = nil, labelSmoothing: Float = 0, tape: Tape
) -> Variable {
    let V = logits.shape.last!
    let rows = logits.value.count / V
    precondition(targets.count == rows, "cross-entropy: \(targets.count) targets for \(rows) rows")
    let scored = ignoreIndex.map { ignore in targets.reduce(0) { $0 + ($1 == ignore ? 0 : 1) } } ?? rows
    let needsGradient = tape.needsGradient(logits)
    let gradient: Tensor? = needsGradient ? Tensor(zeros: logits.shape) : nil
    let (lossSum, _) = targets.withUnsafeBufferPointer { t in
        crossEntropyRows(
            logits: logits.value.data, rows: rows, classes: V, targets: t.baseAddress!,
            ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing,
            gradient: gradient?.data, gradientScale: 1 / Float(max(scored, 1)))
    }
    return scalarLoss(lossSum / Double(max(scored, 1)), input: logits, gradient: gradient, tape: tape)
}

/// A scalar loss whose gradient with respect to `input` was computed with the forward pass
/// (`gradient`, for dLoss = 1): records dinput += dLoss · gradient.
func scalarLoss(_ value: Double, input: Variable, gradient: Tensor?, tape: Tape) -> Variable {
    let loss = Variable(Tensor(shape: [1], values: [Float(value)]), requiresGrad: gradient != nil)
    if let gradient {
        tape.record {
            guard let dLoss = loss.grad?[0] else { return }
            // The usual case, a loss nothing else reads: its gradient becomes the input's, with
            // no second buffer of logits' size to zero and add into.
            if input.grad == nil && !(input is Parameter) {
                if dLoss != 1 { for k in 0..<gradient.count { gradient.data[k] *= dLoss } }
                input.grad = gradient
                return
            }
            let dx = input.gradient().data
            for k in 0..<gradient.count { dx[k] += dLoss * gradient.data[k] }
        }
    }
    return loss
}
