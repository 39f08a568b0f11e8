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
    let depth: Int
    private let blocks: [Block]
    private let storage: Tensor?

    /// Whether the engine's own kernel runs: the CPU has AVX2/FMA and tests have not asked for
    /// the baseline (`zoo_vector_kernels_use_baseline`).
    static var kernelEnabled: Bool { zoo_vector_kernels_avx2() != 0 }

    /// op(B) (k × n) is `w`ᵀ when `transposed` (w: n × k), else `w` (k × n); `columnBlocks` are
    /// the column ranges of op(B) that `multiply(block:)` uses, one per index. Blocks are packed
    /// in a fork of `shares`, each by the share that `owner(block)` names (the one that will use
    /// it: the packed block is then in its core's cache). `rows` is the m of every product and
    /// `uses` how many products each block will serve.
    init(
        _ w: UnsafePointer<Float>, leadingDimension: Int, transposed: Bool, k: Int,
        columnBlocks: [Range<Int>], rows: Int, uses: Int, shares: Int, owner: (Int) -> Int
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
        Engine.team.run(shares: shares) { member in
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

/// A weight W (n × k, applied as Wᵀ, as `nn.Linear` and the recurrent cells store theirs)
/// packed once for a run of products that all use it unchanged: a decoder's steps, where BLAS
/// would repack it at every call. One column block per share of the forks that use it.
public final class PackedWeight {
    let columns: PackedColumns
    let blocks: [Range<Int>]
    let outputs: Int

    /// Packs `weight` (n × k) for products of up to `rows` rows, in one block per share of a
    /// fork over that work, or in `shares` blocks (weights used side by side cut alike).
    /// `weight` must not change while this is in use.
    public convenience init(_ weight: Tensor, rows: Int) {
        self.init(weight, rows: rows, shares: Engine.shares(work: 2 * rows * weight.count, grain: Engine.productGrain))
    }

    /// `transposed`: products A · Wᵀ with W (n × k), as layers apply their weights; false:
    /// A · W with W (k × n), as the backward pass sends a gradient back through them.
    init(_ weight: Tensor, rows: Int, shares: Int, transposed: Bool = true) {
        precondition(weight.shape.count == 2, "a packed weight is a matrix, got \(weight.shape)")
        let n = weight.shape[transposed ? 0 : 1], k = weight.shape[transposed ? 1 : 0]
        outputs = n
        blocks = (0..<shares).map { memberRange($0, of: shares, count: n, align: 16) }
        columns = PackedColumns(
            weight.data, leadingDimension: weight.shape[1], transposed: transposed, k: k, columnBlocks: blocks,
            rows: rows, uses: 2, shares: shares, owner: { $0 })
    }

    /// W packed for products A · W, W (k × n) as stored: a backward pass's dx = dy · W.
    static func asStored(_ weight: Tensor, rows: Int) -> PackedWeight {
        PackedWeight(
            weight, rows: rows, shares: Engine.shares(work: 2 * rows * weight.count, grain: Engine.productGrain),
            transposed: false)
    }

    /// C[:, block's columns] = A (m × k) · op(W)[:, block's columns], or += when `accumulate`.
    func multiply(
        block: Int, m: Int, a: UnsafePointer<Float>, lda: Int, accumulate: Bool, c: UnsafeMutablePointer<Float>,
        ldc: Int
    ) {
        let range = blocks[block]
        guard !range.isEmpty else { return }
        columns.multiply(block: block, m: m, a: a, lda: lda, accumulate: accumulate, c: c + range.lowerBound, ldc: ldc)
    }

    /// Runs `body` for every block: one share each when this product (`flops`: it may have
    /// fewer rows than the packing allowed for) pays for a fork, else one after another here.
    func forEachBlock(flops: Int, _ body: (Int) -> Void) {
        if blocks.count == 1 || Engine.shares(work: flops, grain: Engine.productGrain) == 1 {
            for block in blocks.indices { body(block) }
        } else {
            Engine.team.run(shares: blocks.count, body)
        }
    }

    /// C (m × n) = A (m × k) · op(W), or += when `accumulate`.
    func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int)
    {
        forEachBlock(flops: 2 * m * outputs * columns.depth) { block in
            multiply(block: block, m: m, a: a, lda: lda, accumulate: accumulate, c: c, ldc: ldc)
        }
    }
}
