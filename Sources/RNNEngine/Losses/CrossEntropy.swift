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
    var lossSum = 0.0
    var count = 0
    for r in 0..<rows {
        let row = logits + r * V
        let target = targets[r]
        if let ignoreIndex, target == ignoreIndex {
            if let gradient { (gradient + r * V).update(repeating: 0, count: V) }
            continue
        }
        precondition(target >= 0 && Int(target) < V, "cross-entropy: target \(target) outside 0..<\(V)")
        var maxValue = -Float.infinity
        for c in 0..<V { maxValue = max(maxValue, row[c]) }
        var sumExp: Float = 0
        for c in 0..<V { sumExp += expf(row[c] - maxValue) }
        let logZ = maxValue + logf(sumExp)
        var rowLoss = Double(logZ - row[Int(target)])
        if ε > 0 {
            var meanNegLogP: Double = 0
            for c in 0..<V { meanNegLogP += Double(logZ - row[c]) }
            rowLoss = Double(1 - ε) * rowLoss + Double(ε) * meanNegLogP / Double(V)
        }
        lossSum += rowLoss
        count += 1
        if let gradient {
            let g = gradient + r * V
            let inverseZ = 1 / sumExp
            let smooth = ε / Float(V)
            for c in 0..<V { g[c] = (expf(row[c] - maxValue) * inverseZ - smooth) * gradientScale }
            g[Int(target)] -= (1 - ε) * gradientScale
        }
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
        crossEntropyRows(logits: logits.value.data, rows: rows, classes: V, targets: t.baseAddress!,
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
            let dx = input.gradient().data
            for k in 0..<gradient.count { dx[k] += dLoss * gradient.data[k] }
        }
    }
    return loss
}
