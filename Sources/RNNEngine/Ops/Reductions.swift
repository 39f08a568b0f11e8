// Sums and means along an axis (the axis is removed, as in `x.sum(axis)`), and over everything.

/// Σ over `axis`.
public func sum(_ x: Variable, axis: Int, tape: Tape) -> Variable {
    reduce(x, axis: axis, scale: 1, tape: tape)
}

/// The mean over `axis`.
public func mean(_ x: Variable, axis: Int, tape: Tape) -> Variable {
    reduce(x, axis: axis, scale: 1 / Float(max(x.shape[axis], 1)), tape: tape)
}

/// Σ of every element, as a (1) tensor: a scalar loss.
public func sum(_ x: Variable, tape: Tape) -> Variable {
    reduce(reshape(x, [x.value.count], tape: tape), axis: 0, scale: 1, tape: tape, keepScalar: true)
}

private func reduce(_ x: Variable, axis: Int, scale: Float, tape: Tape, keepScalar: Bool = false) -> Variable {
    let (outer, length, inner) = axisLayout(x.shape, axis: axis)
    var shape = x.shape
    shape.remove(at: axis)
    if keepScalar && shape.isEmpty { shape = [1] }
    let out = Tensor(zeros: shape)
    let input = x.value.data, y = out.data
    for o in 0..<outer {
        for l in 0..<length {
            let row = input + (o * length + l) * inner, target = y + o * inner
            for i in 0..<inner { target[i] += row[i] }
        }
    }
    if scale != 1 { for k in 0..<out.count { y[k] *= scale } }
    return opResult(out, of: x, tape: tape) { dy, dx in
        for o in 0..<outer {
            for l in 0..<length {
                let row = dx + (o * length + l) * inner, source = dy + o * inner
                for i in 0..<inner { row[i] += scale * source[i] }
            }
        }
    }
}
