// sgemm on the shapes RNN Zoo's models run, timed with one BLAS library: OpenBLAS (what zoo
// links), BLIS or oneDNN. Compiled once per library (scripts/blas_shapes.sh does it) and run at
// a given thread count; prints one line per shape: microseconds per product and GFLOP/s.
//
// Row-major throughout, as the engine calls BLAS: C (m×n) = A (m×k) · op(B) + 0·C, with op(B)
// = Bᵀ where the model's weight is stored (out × in), as PyTorch's are.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(USE_OPENBLAS)
#include <cblas.h>
#define LIBRARY "openblas"
static void set_threads(int n) { openblas_set_num_threads(n); }
static void gemm(int transA, int transB, long m, long n, long k, const float *a, long lda, const float *b,
                 long ldb, float *c, long ldc) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k,
                1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}
// y (rows) = W (rows × cols) · x: how the engine runs a batch of one.
static void gemv(long rows, long cols, const float *w, const float *x, float *y) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, cols, 1.0f, w, cols, x, 1, 0.0f, y, 1);
}
#elif defined(USE_BLIS)
#include <blis.h>
#define LIBRARY "blis"
static void set_threads(int n) { bli_thread_set_num_threads(n); }
static void gemm(int transA, int transB, long m, long n, long k, const float *a, long lda, const float *b,
                 long ldb, float *c, long ldc) {
    float one = 1, zero = 0;
    // Row-major: row stride lda, column stride 1 (BLIS takes both strides).
    bli_sgemm(transA ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, transB ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, m, n, k,
              &one, (float *)a, lda, 1, (float *)b, ldb, 1, &zero, c, ldc, 1);
}
static void gemv(long rows, long cols, const float *w, const float *x, float *y) {
    float one = 1, zero = 0;
    bli_sgemv(BLIS_NO_TRANSPOSE, BLIS_NO_CONJUGATE, rows, cols, &one, (float *)w, cols, 1, (float *)x, 1, &zero, y, 1);
}
#elif defined(USE_DNNL)
#include <dnnl.h>
#include <omp.h>
#define LIBRARY "onednn"
static void set_threads(int n) { omp_set_num_threads(n); }
static void gemm(int transA, int transB, long m, long n, long k, const float *a, long lda, const float *b,
                 long ldb, float *c, long ldc) {
    dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}
// oneDNN has no gemv: the product of one row, x (1 × cols) · Wᵀ.
static void gemv(long rows, long cols, const float *w, const float *x, float *y) {
    gemm(0, 1, 1, rows, cols, x, cols, w, cols, y, rows);
}
#else
#error "compile with -DUSE_OPENBLAS, -DUSE_BLIS or -DUSE_DNNL"
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

struct shape {
    const char *name;
    long m, n, k;
    int transA, transB;
    int vector;  // run as y = W · x (sgemv), as the engine does for a batch of one
};

// From `zoo bench`'s workloads: lstm-lm (batch 32, 64 steps, embedding 128, hidden 512,
// vocabulary 96) and seq2seq-attn (batch 64, hidden 256, decoder input 384, ~580 target words).
static const struct shape shapes[] = {
    {"lstm input projection (T·B × E) · W_ihᵀ", 2048, 2048, 128, 0, 1},
    {"lstm recurrent step, batch 32", 32, 2048, 512, 0, 1},
    {"lstm recurrent step, batch 1, as sgemm", 1, 2048, 512, 0, 1},
    {"lstm recurrent step, batch 1, as sgemv", 1, 2048, 512, 0, 1, 1},
    {"lm output (T·B × H) · W_outᵀ", 2048, 96, 512, 0, 1},
    {"lstm dW_hh = dGatesᵀ · H", 2048, 512, 2048, 1, 0},
    {"decoder cell step, batch 64", 64, 1024, 384, 0, 1},
    {"decoder generator, batch 64", 64, 580, 256, 0, 1},
};

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    double seconds = argc > 2 ? atof(argv[2]) : 0.5;
    set_threads(threads);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const struct shape *p = &shapes[s];
        long rowsA = p->transA ? p->k : p->m, colsA = p->transA ? p->m : p->k;
        long rowsB = p->transB ? p->n : p->k, colsB = p->transB ? p->k : p->n;
        float *a = malloc(sizeof(float) * rowsA * colsA), *b = malloc(sizeof(float) * rowsB * colsB);
        float *c = malloc(sizeof(float) * p->m * p->n);
        for (long i = 0; i < rowsA * colsA; i++) a[i] = (float)((i * 7919) % 1000) / 1000 - 0.5f;
        for (long i = 0; i < rowsB * colsB; i++) b[i] = (float)((i * 104729) % 1000) / 1000 - 0.5f;
#define PRODUCT()                                                                                  \
    (p->vector ? gemv(p->n, p->k, b, a, c) : gemm(p->transA, p->transB, p->m, p->n, p->k, a, colsA, b, colsB, c, p->n))
        for (int warm = 0; warm < 3; warm++) PRODUCT();
        long calls = 0;
        double start = now(), elapsed;
        do {
            for (int i = 0; i < 10; i++) PRODUCT();
            calls += 10;
            elapsed = now() - start;
        } while (elapsed < seconds);
        double micro = 1e6 * elapsed / calls, gflops = 2.0 * p->m * p->n * p->k * calls / elapsed / 1e9;
        printf("%s\t%d\t%s\t%ldx%ldx%ld\t%.2f\t%.1f\n", LIBRARY, threads, p->name, p->m, p->n, p->k, micro, gflops);
        free(a);
        free(b);
        free(c);
    }
    return 0;
}
