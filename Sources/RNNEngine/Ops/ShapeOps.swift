// Ops that move elements without computing: reshape, permute, concatenate, slice, split.
// Each backward moves the gradient back the same way.

/// The same elements with another shape. The value is a view; the gradient is added back.
public func reshape(_ x: Variable, _ shape: [Int], tape: Tape) -> Variable {
    precondition(shape.reduce(1, *) == x.value.count, "cannot reshape \(x.shape) to \(shape)")
    let result = Variable(x.value.reshaped(shape), requiresGrad: tape.needsGradient(x))
    if result.requiresGrad {
        tape.record {
            guard let dOut = result.grad else { return }
            x.gradient().add(dOut)
        }
    }
    return result
}

/// Reorders the dimensions: result dimension d is input dimension `axes[d]` (`Tensor.permute`).
public func permute(_ x: Variable, _ axes: [Int], tape: Tape) -> Variable {
    let rank = x.shape.count
    precondition(
        axes.count == rank && Set(axes) == Set(0..<rank), "permute: \(axes) is not a permutation of 0..<\(rank)")
    var inputStrides = [Int](repeating: 1, count: rank)
    for d in stride(from: rank - 2, through: 0, by: -1) { inputStrides[d] = inputStrides[d + 1] * x.shape[d + 1] }
    let shape = axes.map { x.shape[$0] }
    // The result read in row-major order is the input read with these strides.
    let strides = axes.map { inputStrides[$0] }
    let out = Tensor(uninitialized: shape)
    forEachStrided(shape: shape, strides: strides) { k, i in out.data[k] = x.value.data[i] }
    return opResult(out, of: x, tape: tape) { dOut, dx in
        forEachStrided(shape: shape, strides: strides) { k, i in dx[i] += dOut[k] }
    }
}

/// Swaps two dimensions.
public func transpose(_ x: Variable, _ a: Int, _ b: Int, tape: Tape) -> Variable {
    var axes = Array(0..<x.shape.count)
    axes.swapAt(a, b)
    return permute(x, axes, tape: tape)
}

/// Calls `body(k, i)` for each element k of `shape` in row-major order, with i = Σ index·stride.
private func forEachStrided(shape: [Int], strides: [Int], _ body: (Int, Int) -> Void) {
    let count = shape.reduce(1, *)
    guard count > 0 else { return }
    var index = [Int](repeating: 0, count: shape.count)
    var offset = 0
    for k in 0..<count {
        body(k, offset)
        var d = shape.count - 1
        while d >= 0 {
            index[d] += 1
            offset += strides[d]
            if index[d] < shape[d] { break }
            offset -= strides[d] * shape[d]
            index[d] = 0
            d -= 1
        }
    }
}

/// Joins tensors along `axis`; the other dimensions must agree (`torch.cat`).
public func concatenate(_ parts: [Variable], axis: Int, tape: Tape) -> Variable {
    precondition(!parts.isEmpty, "concatenate needs at least one tensor")
    let first = parts[0].shape
    for p in parts {
        precondition(
            p.shape.count == first.count
                && zip(p.shape, first).enumerated().allSatisfy { $0.offset == axis || $0.element.0 == $0.element.1 },
            "concatenate along \(axis): \(p.shape) does not match \(first)")
    }
    var shape = first
    shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
    let (outer, total, inner) = axisLayout(shape, axis: axis)
    let out = Tensor(uninitialized: shape)
    var start = 0
    var starts: [Int] = []
    for p in parts {
        starts.append(start)
        let width = p.shape[axis] * inner
        for o in 0..<outer {
            (out.data + o * total * inner + start * inner).update(from: p.value.data + o * width, count: width)
        }
        start += p.shape[axis]
    }
    let result = Variable(out, requiresGrad: tape.needsGradient(parts))
    if result.requiresGrad {
        tape.record {
            guard let dOut = result.grad?.data else { return }
            for (p, start) in zip(parts, starts) where p.requiresGrad {
                let width = p.shape[axis] * inner
                let dp = p.gradient().data
                for o in 0..<outer {
                    let source = dOut + o * total * inner + start * inner, target = dp + o * width
                    for j in 0..<width { target[j] += source[j] }
                }
            }
        }
    }
    return result
}

/// Positions `range` of `axis` (`x.narrow(axis, start, length)`).
public func slice(_ x: Variable, axis: Int, _ range: Range<Int>, tape: Tape) -> Variable {
    let (outer, length, inner) = axisLayout(x.shape, axis: axis)
    precondition(
        range.lowerBound >= 0 && range.upperBound <= length, "slice \(range) outside 0..<\(length) of axis \(axis)")
    var shape = x.shape
    shape[axis] = range.count
    let width = range.count * inner
    let out = Tensor(uninitialized: shape)
    for o in 0..<outer {
        (out.data + o * width).update(from: x.value.data + (o * length + range.lowerBound) * inner, count: width)
    }
    return opResult(out, of: x, tape: tape) { dOut, dx in
        for o in 0..<outer {
            let target = dx + (o * length + range.lowerBound) * inner, source = dOut + o * width
            for j in 0..<width { target[j] += source[j] }
        }
    }
}

/// Cuts `axis` into consecutive pieces of the given sizes (`torch.split`).
public func split(_ x: Variable, sizes: [Int], axis: Int, tape: Tape) -> [Variable] {
    precondition(sizes.reduce(0, +) == x.shape[axis], "split sizes \(sizes) do not add up to \(x.shape[axis])")
    var start = 0
    return sizes.map { size in
        defer { start += size }
        return slice(x, axis: axis, start..<(start + size), tape: tape)
    }
}

extension Tape {
    /// Whether an op over any of `inputs` must record its backward.
    func needsGradient(_ inputs: [Variable]) -> Bool {
        isRecording && inputs.contains { $0.requiresGrad }
    }
}
