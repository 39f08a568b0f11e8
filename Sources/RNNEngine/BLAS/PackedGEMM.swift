import CKernels

/// The right-hand matrix of a product that repeats at every timestep — W_hh — packed once,
/// in the column blocks the engine's threads own.
///
/// OpenBLAS repacks its right-hand matrix on every call: for the thin recurrent product
/// (B × H by H × 4H) that repacking is about a sixth of a training step. Packed once per
/// sequence, each timestep only streams the panels. Where the engine's AVX2/FMA kernel cannot
/// run, nothing is packed and `multiply` calls BLAS on the original matrix. A batch of one
/// stays a matrix-vector product (BLAS sgemv): it is memory-bound either way. A single use
/// (one timestep, as in step-by-step decoding) is not worth a packing pass either.
final class PackedColumns {
    private struct Block { let column: Int, count: Int, offset: Int }

    private let source: UnsafePointer<Float>
    private let leadingDimension: Int
    private let transposed: Bool
    private let depth: Int
    private let blocks: [Block]
    private let storage: Tensor?

    /// Whether the engine's own kernel runs: the CPU has AVX2/FMA and tests have not asked for
    /// the baseline (`zoo_vector_kernels_use_baseline`).
    static var kernelEnabled: Bool { zoo_vector_kernels_avx2() != 0 }

    /// op(B) (k × n) is `w`ᵀ when `transposed` (w: n × k), else `w` (k × n); `columnBlocks` are
    /// the column ranges of op(B) that `multiply(block:)` uses, one per index. Blocks are packed
    /// in parallel, each by the team member that `owner(block)` names. `rows` is the m of every
    /// product and `uses` how many products each block will serve.
    init(
        _ w: UnsafePointer<Float>, leadingDimension: Int, transposed: Bool, k: Int,
        columnBlocks: [Range<Int>], rows: Int, uses: Int, owner: (Int) -> Int
    ) {
        source = w
        self.leadingDimension = leadingDimension
        self.transposed = transposed
        depth = k
        var offset = 0
        var blocks: [Block] = []
        for range in columnBlocks {
            blocks.append(Block(column: range.lowerBound, count: range.count, offset: offset))
            offset += zoo_packed_size(k, range.count)
        }
        self.blocks = blocks
        guard PackedColumns.kernelEnabled && rows > 1 && uses > 1 else {
            storage = nil
            return
        }
        let storage = Tensor(uninitialized: [offset])
        self.storage = storage
        let blockOwners = (0..<blocks.count).map(owner)
        Engine.team.run { member in
            for (index, block) in blocks.enumerated() where blockOwners[index] == member && block.count > 0 {
                let packed = storage.data + block.offset
                if transposed {
                    zoo_pack_transposed(w + block.column * leadingDimension, leadingDimension, k, block.count, packed)
                } else {
                    zoo_pack_plain(w + block.column, leadingDimension, k, block.count, packed)
                }
            }
        }
    }

    /// C (m × block's columns) = A (m × k) · op(B)[:, block], or += when `accumulate`.
    @inline(__always)
    func multiply(
        block index: Int, m: Int, a: UnsafePointer<Float>, lda: Int,
        accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let block = blocks[index]
        guard block.count > 0, m > 0 else { return }
        if let storage {
            zoo_packed_gemm(
                m, block.count, depth, a, lda, storage.data + block.offset,
                accumulate ? 1 : 0, c, ldc)
        } else if m == 1 {
            if transposed {
                BLAS.sgemv(
                    rows: block.count, cols: depth, a: source + block.column * leadingDimension,
                    lda: leadingDimension, x: a, beta: accumulate ? 1 : 0, y: c)
            } else {
                BLAS.sgemv(
                    trans: true, rows: depth, cols: block.count, a: source + block.column,
                    lda: leadingDimension, x: a, beta: accumulate ? 1 : 0, y: c)
            }
        } else {
            BLAS.sgemm(
                transB: transposed, m: m, n: block.count, k: depth, a: a, lda: lda,
                b: transposed ? source + block.column * leadingDimension : source + block.column,
                ldb: leadingDimension, beta: accumulate ? 1 : 0, c: c, ldc: ldc)
        }
    }
}
