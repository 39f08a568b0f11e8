/// The weight gradients dW += dyᵀ x that ops add to parameters during one backward pass,
/// summed at its end in one product per parameter.
///
/// A decoder that steps T times adds T products of depth B (the batch) to the same dW: each
/// reads and writes all of dW and makes BLAS pack it again. Stacked into one product of depth
/// T·B, dW is read and written once. For translation's decoder (batch 32, about 20 steps) that
/// is 2.5 MB of W_ih and W_hh gradients a step instead of once a batch, memory traffic that two
/// training processes on one machine otherwise fight over. Only parameters (leaves) are
/// deferred: no op of the pass reads their gradient before it ends.
final class DeferredWeightGradients {
    /// One op's contribution: `rows` rows of dy (rows, out) and x (rows, in), both contiguous.
    private struct Part {
        let dy: Tensor
        let x: Tensor
        let rows: Int
    }

    private var parts: [ObjectIdentifier: [Part]] = [:]
    /// The parameters in the order their first part came, so that sums are taken in one order.
    private var order: [Parameter] = []

    func add(to weight: Parameter, dy: Tensor, x: Tensor, rows: Int) {
        precondition(dy.count >= rows * weight.shape[0] && x.count >= rows * weight.shape[1])
        let key = ObjectIdentifier(weight)
        if parts[key] == nil { order.append(weight) }
        parts[key, default: []].append(Part(dy: dy, x: x, rows: rows))
    }

    /// Adds every parameter's parts to its gradient, then forgets them.
    func flush() {
        for weight in order {
            let list = parts[ObjectIdentifier(weight)] ?? []
            let outSize = weight.shape[0], inSize = weight.shape[1]
            let total = list.reduce(0) { $0 + $1.rows }
            guard total > 0 else { continue }
            var dy = list[0].dy, x = list[0].x
            if list.count > 1 {
                dy = Tensor(uninitialized: [total, outSize])
                x = Tensor(uninitialized: [total, inSize])
                var row = 0
                for part in list {
                    (dy.data + row * outSize).update(from: part.dy.data, count: part.rows * outSize)
                    (x.data + row * inSize).update(from: part.x.data, count: part.rows * inSize)
                    row += part.rows
                }
            }
            BLAS.parallelSgemm(
                transA: true, m: outSize, n: inSize, k: total, a: dy.data, lda: outSize, b: x.data, ldb: inSize,
                beta: 1, c: weight.gradient().data, ldc: inSize)
        }
        parts = [:]
        order = []
    }

    func reset() {
        parts = [:]
        order = []
    }
}

extension Tape {
    /// dW += dyᵀ x for weight W (out, in), from `rows` rows of dy (rows, out) and x (rows, in):
    /// deferred to the end of the backward pass when W is a parameter (see
    /// `DeferredWeightGradients`), added at once otherwise.
    public func addWeightGradient(_ weight: Variable, dy: Tensor, x: Tensor, rows: Int) {
        if let parameter = weight as? Parameter {
            deferredWeightGradients.add(to: parameter, dy: dy, x: x, rows: rows)
        } else {
            let outSize = weight.shape[0], inSize = weight.shape[1]
            BLAS.parallelSgemm(
                transA: true, m: outSize, n: inSize, k: rows, a: dy.data, lda: outSize, b: x.data, ldb: inSize,
                beta: 1, c: weight.gradient().data, ldc: inSize)
        }
    }
}
