import CBLAS

/// Every dense matrix product of the engine goes through here: the only file that imports CBLAS.
///
/// Matrices are row-major. `transA`/`transB` say whether the stored matrix is to be read
/// transposed, as in BLAS: C (m×n) = alpha · op(A) (m×k) · op(B) (k×n) + beta · C.
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C, on raw row-major buffers with leading dimensions.
    @inline(__always)
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = OpenBLASKernel.preparedOnce
        if m == 0 || n == 0 { return }
        if m == 1 {
            // One row (step-by-step generation and decoding of one sequence): OpenBLAS 0.3.21's
            // sgemm runs it about 5× slower than its sgemv does (scripts/blas_shapes.sh). The row
            // c = a · op(B) is computed as the vector op(B)ᵀ · a. With beta 0 the output may hold
            // anything (uninitialised memory): zeroed first, as BLAS versions differ on whether
            // sgemv's beta 0 overwrites a NaN or scales it.
            if beta == 0 { c.update(repeating: 0, count: n) }
            cblas_sgemv(
                CblasRowMajor, transB ? CblasNoTrans : CblasTrans, Int32(transB ? n : k), Int32(transB ? k : n),
                alpha, b, Int32(ldb), a, Int32(transA ? lda : 1), beta, c, 1)
            return
        }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `sgemm` split across as many of the engine's threads as its size pays for (one per
    /// `Engine.productGrain` flops): by columns of C when it is wide enough, else by rows. Each
    /// thread runs single-threaded OpenBLAS on its block.
    public static func parallelSgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let members = Engine.shares(work: 2 * m * n * k, grain: Engine.productGrain)
        if members == 1 {
            sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let splitColumns = n >= 64 * members || n >= m
        Engine.team.run(shares: members) { member in
            if splitColumns {
                let j = memberRange(member, of: members, count: n, align: 16)
                guard !j.isEmpty else { return }
                sgemm(
                    transA: transA, transB: transB, m: m, n: j.count, k: k, alpha: alpha, a: a, lda: lda,
                    b: transB ? b + j.lowerBound * ldb : b + j.lowerBound, ldb: ldb,
                    beta: beta, c: c + j.lowerBound, ldc: ldc)
            } else {
                let i = memberRange(member, of: members, count: m, align: 4)
                guard !i.isEmpty else { return }
                sgemm(
                    transA: transA, transB: transB, m: i.count, n: n, k: k, alpha: alpha,
                    a: transA ? a + i.lowerBound : a + i.lowerBound * lda, lda: lda, b: b, ldb: ldb,
                    beta: beta, c: c + i.lowerBound * ldc, ldc: ldc)
            }
        }
    }

    /// y = alpha · op(A) · x + beta · y with A row-major (rows × cols).
    @inline(__always)
    public static func sgemv(
        trans: Bool = false, rows: Int, cols: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        _ = OpenBLASKernel.preparedOnce
        cblas_sgemv(
            CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(rows), Int32(cols),
            alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// The name of the kernel OpenBLAS chose when it loaded ("Haswell", "SkylakeX", "Prescott", ...).
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's build configuration string (version, DYNAMIC_ARCH, thread limit).
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// One spin-wait hint (PAUSE), for the engine's threads waiting on each other.
    @inline(__always)
    public static func spinPause() { zoo_spin_pause() }

    /// The number of threads OpenBLAS uses for one call.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }
}

extension BLAS {
    /// C = alpha · op(A) · op(B) + beta · C for contiguous 2-D tensors.
    public static func matmul(
        _ a: Tensor, transposed transA: Bool = false, _ b: Tensor, transposed transB: Bool = false,
        into c: Tensor, alpha: Float = 1, beta: Float = 0
    ) {
        precondition(a.shape.count == 2 && b.shape.count == 2 && c.shape.count == 2)
        let m = transA ? a.shape[1] : a.shape[0]
        let k = transA ? a.shape[0] : a.shape[1]
        let kb = transB ? b.shape[1] : b.shape[0]
        let n = transB ? b.shape[0] : b.shape[1]
        precondition(k == kb && c.shape == [m, n], "matmul shapes \(a.shape) \(b.shape) → \(c.shape)")
        parallelSgemm(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
            a: a.data, lda: a.shape[1], b: b.data, ldb: b.shape[1], beta: beta, c: c.data, ldc: n)
    }
}
