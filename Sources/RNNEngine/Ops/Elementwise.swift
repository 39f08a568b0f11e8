import CKernels
import Foundation

// Elementwise ops on the tape. Binary ops broadcast as PyTorch does (a (B, 1, H) query against a
// (B, S, H) memory); the gradient of a stretched operand is summed over the stretched positions.

/// a + b, broadcasting.
public func add(_ a: Variable, _ b: Variable, tape: Tape) -> Variable {
    binaryOp(a, b, tape: tape, forward: { $0 + $1 }, gradientA: { _, _ in 1 }, gradientB: { _, _ in 1 })
}

/// a − b, broadcasting.
public func subtract(_ a: Variable, _ b: Variable, tape: Tape) -> Variable {
    binaryOp(a, b, tape: tape, forward: { $0 - $1 }, gradientA: { _, _ in 1 }, gradientB: { _, _ in -1 })
}

/// a ∘ b, broadcasting.
public func multiply(_ a: Variable, _ b: Variable, tape: Tape) -> Variable {
    binaryOp(a, b, tape: tape, forward: { $0 * $1 }, gradientA: { _, y in y }, gradientB: { x, _ in x })
}

/// The shared forward and backward of a broadcasting binary op: `gradientA(x, y)` is ∂f/∂x.
@inline(__always)
private func binaryOp(
    _ a: Variable, _ b: Variable, tape: Tape,
    forward f: (Float, Float) -> Float,
    gradientA: @escaping (Float, Float) -> Float, gradientB: @escaping (Float, Float) -> Float
) -> Variable {
    let x = a.value.data, y = b.value.data
    let out: Tensor
    let plan: BroadcastPlan?
    if a.shape == b.shape {
        plan = nil
        out = Tensor(uninitialized: a.shape)
        for k in 0..<out.count { out.data[k] = f(x[k], y[k]) }
    } else {
        let p = BroadcastPlan(a.shape, b.shape)
        plan = p
        out = Tensor(uninitialized: p.shape)
        let o = out.data
        p.forEach { k, i, j in o[k] = f(x[i], y[j]) }
    }
    let result = Variable(out, requiresGrad: tape.needsGradient(a, b))
    if result.requiresGrad {
        tape.record {
            guard let dOut = result.grad?.data else { return }
            let x = a.value.data, y = b.value.data
            let da = a.requiresGrad ? a.gradient().data : nil
            let db = b.requiresGrad ? b.gradient().data : nil
            if let plan {
                plan.forEach { k, i, j in
                    da?[i] += dOut[k] * gradientA(x[i], y[j])
                    db?[j] += dOut[k] * gradientB(x[i], y[j])
                }
            } else {
                if let da { for k in 0..<out.count { da[k] += dOut[k] * gradientA(x[k], y[k]) } }
                if let db { for k in 0..<out.count { db[k] += dOut[k] * gradientB(x[k], y[k]) } }
            }
        }
    }
    return result
}

/// s · x.
public func scale(_ x: Variable, by s: Float, tape: Tape) -> Variable {
    unaryOp(x, tape: tape, forward: .scalar { $0 * s }, derivative: { _, _ in s })
}

/// tanh(x).
public func tanh(_ x: Variable, tape: Tape) -> Variable {
    unaryOp(x, tape: tape, forward: .vector(zoo_tanh), derivative: { _, y in 1 - y * y })
}

/// σ(x) = 1 / (1 + e^−x).
public func sigmoid(_ x: Variable, tape: Tape) -> Variable {
    unaryOp(x, tape: tape, forward: .vector(zoo_sigmoid), derivative: { _, y in y * (1 - y) })
}

/// max(x, 0); the gradient at 0 is 0, as in PyTorch.
public func relu(_ x: Variable, tape: Tape) -> Variable {
    unaryOp(x, tape: tape, forward: .scalar { max($0, 0) }, derivative: { x, _ in x > 0 ? 1 : 0 })
}

/// The shared forward and backward of an elementwise function: `derivative(x, y)` is f′ at x,
/// given y = f(x) as well.
/// The activations have vector kernels (CKernels, within 9e-8 of the exact functions).
private enum ElementwiseForward {
    case scalar((Float) -> Float)
    case vector((UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void)
}

@inline(__always)
private func unaryOp(
    _ x: Variable, tape: Tape, forward: ElementwiseForward, derivative: @escaping (Float, Float) -> Float
) -> Variable {
    let out = Tensor(uninitialized: x.shape)
    let input = x.value.data, o = out.data
    switch forward {
    case .scalar(let f): for k in 0..<out.count { o[k] = f(input[k]) }
    case .vector(let f): f(input, o, out.count)
    }
    return opResult(out, of: x, tape: tape) { dOut, dx in
        let input = x.value.data, o = out.data
        for k in 0..<out.count { dx[k] += dOut[k] * derivative(input[k], o[k]) }
    }
}
