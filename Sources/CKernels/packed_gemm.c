#include "vectors.h"

#define PANEL 16  /* columns per panel: two 8-float AVX registers */
#define KC 2048   /* rows of a panel used per pass (longer k: C is reloaded once per pass) */
#define MR 6      /* most rows per tile: 12 accumulators + 2 panel registers + 1 broadcast */

size_t zoo_packed_size(long k, long n) {
    return (size_t)((n + PANEL - 1) / PANEL) * PANEL * (size_t)k;
}

void zoo_pack_transposed(const float *w, long ldw, long k, long n, float *packed) {
    for (long p = 0; p < n; p += PANEL) {
        long cols = n - p < PANEL ? n - p : PANEL;
        float *panel = packed + p * k;
        if (cols < PANEL) memset(panel, 0, sizeof(float) * PANEL * k);
        for (long j = 0; j < cols; j++) {
            const float *row = w + (p + j) * ldw;  /* column p+j of op(B) */
            for (long kk = 0; kk < k; kk++) panel[kk * PANEL + j] = row[kk];
        }
    }
}

void zoo_pack_plain(const float *w, long ldw, long k, long n, float *packed) {
    for (long p = 0; p < n; p += PANEL) {
        long cols = n - p < PANEL ? n - p : PANEL;
        float *panel = packed + p * k;
        for (long kk = 0; kk < k; kk++) {
            memcpy(panel + kk * PANEL, w + kk * ldw + p, sizeof(float) * cols);
            if (cols < PANEL) memset(panel + kk * PANEL + cols, 0, sizeof(float) * (PANEL - cols));
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

/* One tile: rows × 16 columns of C over kc rows of a panel. `rows` is a constant after
 * inlining, so the accumulators live in registers. */
AVX2 __attribute__((always_inline)) static inline void
tile(const int rows, long kc, const float *restrict a, long lda, const float *restrict panel,
     int accumulate, float *restrict c, long ldc, long cols) {
    __m256 lo[MR], hi[MR];
    for (int r = 0; r < rows; r++) { lo[r] = _mm256_setzero_ps(); hi[r] = _mm256_setzero_ps(); }
    /* C is often cold (the forward's gates were written long before this timestep): start
     * fetching it now so the adds at the end do not wait on memory. */
    if (accumulate)
        for (int r = 0; r < rows; r++) {
            _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
            _mm_prefetch((const char *)(c + r * ldc + PANEL - 1), _MM_HINT_T0);
        }
    for (long kk = 0; kk < kc; kk++) {
        __m256 b0 = _mm256_load_ps(panel + kk * PANEL), b1 = _mm256_load_ps(panel + kk * PANEL + 8);
        for (int r = 0; r < rows; r++) {
            __m256 x = _mm256_broadcast_ss(a + r * lda + kk);
            lo[r] = _mm256_fmadd_ps(x, b0, lo[r]);
            hi[r] = _mm256_fmadd_ps(x, b1, hi[r]);
        }
    }
    if (cols == PANEL) {
        for (int r = 0; r < rows; r++) {
            float *out = c + r * ldc;
            if (accumulate) {
                lo[r] = _mm256_add_ps(lo[r], _mm256_loadu_ps(out));
                hi[r] = _mm256_add_ps(hi[r], _mm256_loadu_ps(out + 8));
            }
            _mm256_storeu_ps(out, lo[r]);
            _mm256_storeu_ps(out + 8, hi[r]);
        }
    } else {
        float sums[PANEL] __attribute__((aligned(32)));
        for (int r = 0; r < rows; r++) {
            float *out = c + r * ldc;
            _mm256_store_ps(sums, lo[r]);
            _mm256_store_ps(sums + 8, hi[r]);
            for (long j = 0; j < cols; j++) out[j] = accumulate ? out[j] + sums[j] : sums[j];
        }
    }
}

/* The same product with AVX-512: a panel's 16 columns are one register, so a tile of up to
 * MR512 rows keeps one accumulator per row (12 of the 32 registers). Chosen at run time where
 * the CPU has AVX-512F (zoo_vectors_use_avx512). */
#define MR512 12

AVX512 __attribute__((always_inline)) static inline void
tile512(const int rows, long kc, const float *restrict a, long lda, const float *restrict panel,
        int accumulate, float *restrict c, long ldc, long cols) {
    __m512 acc[MR512];
    for (int r = 0; r < rows; r++) acc[r] = _mm512_setzero_ps();
    if (accumulate)
        for (int r = 0; r < rows; r++) _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
    for (long kk = 0; kk < kc; kk++) {
        __m512 b = _mm512_loadu_ps(panel + kk * PANEL);
        for (int r = 0; r < rows; r++) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[r * lda + kk]), b, acc[r]);
    }
    const __mmask16 mask = (__mmask16)((1u << cols) - 1u);  /* cols ≤ 16 */
    for (int r = 0; r < rows; r++) {
        float *out = c + r * ldc;
        if (accumulate) acc[r] = _mm512_add_ps(acc[r], _mm512_maskz_loadu_ps(mask, out));
        _mm512_mask_storeu_ps(out, mask, acc[r]);
    }
}

/* One tile of `rows` rows with a compilation's kernel: the switch turns `rows` into a constant,
 * so each case inlines a tile whose accumulators live in registers. */
typedef void (*tile_function)(long rows, long kc, const float *a, long lda, const float *panel, int accumulate,
                              float *c, long ldc, long cols);

#define TILE_CASE(kernel, n) \
    case n: kernel(n, kc, a, lda, panel, accumulate, c, ldc, cols); break;

AVX2 static void tile_avx2(long rows, long kc, const float *a, long lda, const float *panel, int accumulate,
                           float *c, long ldc, long cols) {
    switch (rows) {
        TILE_CASE(tile, 6) TILE_CASE(tile, 5) TILE_CASE(tile, 4) TILE_CASE(tile, 3) TILE_CASE(tile, 2)
    default: tile(1, kc, a, lda, panel, accumulate, c, ldc, cols); break;
    }
}

AVX512 static void tile_avx512(long rows, long kc, const float *a, long lda, const float *panel, int accumulate,
                               float *c, long ldc, long cols) {
    switch (rows) {
        TILE_CASE(tile512, 12) TILE_CASE(tile512, 11) TILE_CASE(tile512, 10) TILE_CASE(tile512, 9)
        TILE_CASE(tile512, 8) TILE_CASE(tile512, 7) TILE_CASE(tile512, 6) TILE_CASE(tile512, 5)
        TILE_CASE(tile512, 4) TILE_CASE(tile512, 3) TILE_CASE(tile512, 2)
    default: tile512(1, kc, a, lda, panel, accumulate, c, ldc, cols); break;
    }
}

/* The blocking both compilations share: k in passes of KC rows of the panels, n in panels of
 * 16 columns, m in row tiles of at most `most` rows, as even as possible (32 rows with 6 →
 * 6,6,5,5,5,5). */
static void packed_product(long most, tile_function run, long m, long n, long k, const float *a, long lda,
                           const float *packed, int accumulate, float *c, long ldc) {
    const long tiles = (m + most - 1) / most;
    for (long k0 = 0; k0 < k; k0 += KC) {
        const long kc = k - k0 < KC ? k - k0 : KC;
        const int add = accumulate || k0 > 0;
        for (long p = 0; p < n; p += PANEL) {
            const long cols = n - p < PANEL ? n - p : PANEL;
            const float *panel = packed + p * k + k0 * PANEL;
            long r0 = 0;
            for (long t = 0; t < tiles; t++) {
                const long r1 = m * (t + 1) / tiles;
                run(r1 - r0, kc, a + r0 * lda + k0, lda, panel, add, c + r0 * ldc + p, ldc, cols);
                r0 = r1;
            }
        }
    }
}

void zoo_packed_gemm(long m, long n, long k, const float *a, long lda, const float *packed, int accumulate,
                     float *c, long ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate) for (long i = 0; i < m; i++) memset(c + i * ldc, 0, sizeof(float) * n);
        return;
    }
    if (zoo_vectors_use_avx512)
        packed_product(MR512, tile_avx512, m, n, k, a, lda, packed, accumulate, c, ldc);
    else
        packed_product(MR, tile_avx2, m, n, k, a, lda, packed, accumulate, c, ldc);
}

#else
/* Elsewhere the engine keeps calling BLAS; this portable version keeps the symbol correct. */

void zoo_packed_gemm(long m, long n, long k, const float *a, long lda, const float *packed,
                     int accumulate, float *c, long ldc) {
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
            const float *column = packed + (j / PANEL) * PANEL * k + j % PANEL;
            float sum = 0;
            for (long kk = 0; kk < k; kk++) sum += a[i * lda + kk] * column[kk * PANEL];
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
        }
}
#endif
