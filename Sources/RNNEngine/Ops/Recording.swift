// What every op with one differentiable input does after its forward pass: wrap the output,
// and, when the tape records, register a backward that adds into the input's gradient.

/// The result of an op on `x`: `out`, with `backward(dOut, dx)` recorded to add dLoss/dx into
/// `dx` from dLoss/dout. Nothing is recorded when `x` takes no gradient or the tape is off.
func opResult(
    _ out: Tensor, of x: Variable, tape: Tape,
    backward: @escaping (_ dOut: UnsafeMutablePointer<Float>, _ dx: UnsafeMutablePointer<Float>) -> Void
) -> Variable {
    let result = Variable(out, requiresGrad: tape.needsGradient(x))
    if result.requiresGrad {
        tape.record {
            guard let dOut = result.grad?.data else { return }
            backward(dOut, x.gradient().data)
        }
    }
    return result
}

/// A tensor seen as (outer, length, inner) around one axis: the elements before it, along it,
/// and after it.
func axisLayout(_ shape: [Int], axis: Int) -> (outer: Int, length: Int, inner: Int) {
    precondition(axis >= 0 && axis < shape.count, "axis \(axis) outside a rank-\(shape.count) tensor")
    return (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
}
