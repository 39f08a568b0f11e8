// Matrix products on the tape, through BLAS. Backward of C = op(A) op(B):
// dop(A) = dC op(B)ᵀ and dop(B) = op(A)ᵀ dC, written back through the transposes.

/// op(a) · op(b) for 2-D `a` (M, K) and `b` (K, N), where op transposes when asked.
public func matmul(
    _ a: Variable, transposed transA: Bool = false, _ b: Variable, transposed transB: Bool = false,
    tape: Tape
) -> Variable {
    precondition(a.shape.count == 2 && b.shape.count == 2, "matmul needs 2-D tensors, got \(a.shape) and \(b.shape)")
    return batchedProduct(a, transA, b, transB, batch: 1, tape: tape)
}

/// op(a[i]) · op(b[i]) for each i of a batch: `a` (B, M, K), `b` (B, K, N) → (B, M, N)
/// (`torch.bmm`).
public func batchedMatmul(
    _ a: Variable, transposed transA: Bool = false, _ b: Variable, transposed transB: Bool = false,
    tape: Tape
) -> Variable {
    precondition(
        a.shape.count == 3 && b.shape.count == 3 && a.shape[0] == b.shape[0],
        "batchedMatmul needs (B, M, K) and (B, K, N), got \(a.shape) and \(b.shape)")
    return batchedProduct(a, transA, b, transB, batch: a.shape[0], tape: tape)
}

private func batchedProduct(
    _ a: Variable, _ transA: Bool, _ b: Variable, _ transB: Bool, batch: Int,
    tape: Tape
) -> Variable {
    let (ra, ca) = (a.shape[a.shape.count - 2], a.shape[a.shape.count - 1])
    let (rb, cb) = (b.shape[b.shape.count - 2], b.shape[b.shape.count - 1])
    let m = transA ? ca : ra, k = transA ? ra : ca
    let n = transB ? rb : cb
    precondition(
        (transB ? cb : rb) == k,
        "matmul: inner sizes differ in \(a.shape)\(transA ? "ᵀ" : "") · \(b.shape)\(transB ? "ᵀ" : "")")
    let shape = (a.shape.count == 3 ? [batch] : []) + [m, n]
    // sgemm with beta 0 writes every element; only an empty inner dimension leaves them to us.
    let out = k == 0 ? Tensor(zeros: shape) : Tensor(uninitialized: shape)
    let sizeA = ra * ca, sizeB = rb * cb, sizeC = m * n
    // One product of a batch item: split across the team when there is one item, else serial
    // (the items are spread over the team instead).
    func product(
        _ tA: Bool, _ tB: Bool, _ m: Int, _ n: Int, _ k: Int, _ x: UnsafePointer<Float>, _ ldx: Int,
        _ y: UnsafePointer<Float>, _ ldy: Int, _ beta: Float, _ z: UnsafeMutablePointer<Float>, _ ldz: Int
    ) {
        if batch == 1 {
            BLAS.parallelSgemm(
                transA: tA, transB: tB, m: m, n: n, k: k, a: x, lda: ldx, b: y, ldb: ldy, beta: beta, c: z, ldc: ldz)
        } else {
            BLAS.sgemm(
                transA: tA, transB: tB, m: m, n: n, k: k, a: x, lda: ldx, b: y, ldb: ldy, beta: beta, c: z, ldc: ldz)
        }
    }
    func eachItem(_ body: (Int) -> Void) {
        // Large items split their own product across the team; small ones are spread over it.
        if batch == 1 || 2 * m * n * k >= 2_000_000 {
            for i in 0..<batch { body(i) }
        } else {
            parallelChunks(batch) { range in for i in range { body(i) } }
        }
    }
    eachItem { i in
        product(
            transA, transB, m, n, k, a.value.data + i * sizeA, ca, b.value.data + i * sizeB, cb, 0,
            out.data + i * sizeC, n)
    }
    let result = Variable(out, requiresGrad: tape.needsGradient(a, b))
    if result.requiresGrad {
        tape.record {
            guard let dC = result.grad?.data else { return }
            let da = a.requiresGrad ? a.gradient().data : nil
            let db = b.requiresGrad ? b.gradient().data : nil
            eachItem { i in
                let dCi = UnsafePointer(dC + i * sizeC)
                if let da {
                    // A stored (M, K): dA = dC op(B)ᵀ; stored (K, M): dA = op(B) dCᵀ.
                    if transA {
                        product(transB, true, k, m, n, b.value.data + i * sizeB, cb, dCi, n, 1, da + i * sizeA, ca)
                    } else {
                        product(false, !transB, m, k, n, dCi, n, b.value.data + i * sizeB, cb, 1, da + i * sizeA, ca)
                    }
                }
                if let db {
                    // B stored (K, N): dB = op(A)ᵀ dC; stored (N, K): dB = dCᵀ op(A).
                    if transB {
                        product(true, transA, n, k, m, dCi, n, a.value.data + i * sizeA, ca, 1, db + i * sizeB, cb)
                    } else {
                        product(!transA, false, k, n, m, a.value.data + i * sizeA, ca, dCi, n, 1, db + i * sizeB, cb)
                    }
                }
            }
        }
    }
    return result
}
