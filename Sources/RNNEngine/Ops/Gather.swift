// Index selection: pick slices of one axis by index (`torch.index_select`). Beam search reorders
// its states with it; a bidirectional encoder's two final states are joined with it.

/// out[..., k, ...] = x[..., indices[k], ...] along `axis`. An index may repeat (its gradient
/// is the sum of every use); one outside the axis throws, naming it.
public func indexSelect(_ x: Variable, axis: Int = 0, indices: [Int], tape: Tape) throws -> Variable {
    let (outer, length, inner) = axisLayout(x.shape, axis: axis)
    for index in indices where index < 0 || index >= length {
        throw EngineError.indexOutOfRange(what: "index", index: index, bound: length)
    }
    var shape = x.shape
    shape[axis] = indices.count
    let out = Tensor(uninitialized: shape)
    let n = indices.count
    for o in 0..<outer {
        for (k, index) in indices.enumerated() {
            (out.data + (o * n + k) * inner).update(from: x.value.data + (o * length + index) * inner, count: inner)
        }
    }
    return opResult(out, of: x, tape: tape) { dy, dx in
        for o in 0..<outer {
            for (k, index) in indices.enumerated() {
                let target = dx + (o * length + index) * inner, source = dy + (o * n + k) * inner
                for i in 0..<inner { target[i] += source[i] }
            }
        }
    }
}
