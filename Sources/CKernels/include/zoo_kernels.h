#ifndef ZOO_KERNELS_H
#define ZOO_KERNELS_H
/* The engine's own kernels, where Swift alone cannot reach the CPU's vector instructions
 * (the package is built for baseline x86-64; these pick AVX2/FMA at run time).
 *
 * The matrix kernels are for two products OpenBLAS handles badly. The recurrent product of
 * every timestep, (B × K) · (K × N) with the same right-hand matrix at each step: OpenBLAS
 * repacks that matrix on every call; here it is packed once per sequence. And a stride-1
 * convolution, which through BLAS needs its patch matrix laid out (im2col) and then packed
 * again; here it is read in place from the padded image.
 *
 * Packed layout of the recurrent product: panels of 16 columns; panel p holds rows 0..<K of
 * columns 16p..<16p+16, 16 floats per row, zero past the last column. The buffer must be
 * 32-byte aligned. */
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the CPU has AVX2 and FMA, the instructions the kernels are written for; else 0. */
int zoo_cpu_has_avx2_fma(void);
/* 1 when the CPU also has AVX-512F, which the engine's kernels have a compilation for. */
int zoo_cpu_has_avx512(void);

/* Floats needed to pack a K × N matrix. */
size_t zoo_packed_size(long k, long n);

/* Packs op(B) = Wᵀ, where W is N × K row-major with leading dimension ldw. */
void zoo_pack_transposed(const float *w, long ldw, long k, long n, float *packed);

/* Packs op(B) = W, where W is K × N row-major with leading dimension ldw. */
void zoo_pack_plain(const float *w, long ldw, long k, long n, float *packed);

/* C (M × N) = A (M × K) · packed (K × N), or C += when accumulate is non-zero. A and C are
 * row-major with leading dimensions lda and ldc. Only call when zoo_vector_kernels_avx2(). */
void zoo_packed_gemm(long m, long n, long k, const float *a, long lda, const float *packed,
                     int accumulate, float *c, long ldc);

/* Stride-1 convolution read straight from a zero-padded image (channels × hp × wp, with at
 * least 8 readable floats past its end): out (o × ho × wo, ho = hp − kernel + 1, wo likewise)
 * = conv + bias (bias may be NULL), plus out's own values when accumulate is non-zero, then
 * max(·, 0) when relu is non-zero. Output channels go in zoo_conv_row_tiles(o) tiles; a call
 * computes tiles tile_begin..<tile_end. The weights
 * (o × channels·kernel², PyTorch's layout) are first packed by zoo_conv_pack_weights into o·k
 * floats. Only call zoo_conv_direct when zoo_vector_kernels_avx2(). */
long zoo_conv_row_tiles(long o);
void zoo_conv_pack_weights(const float *w, long o, long k, float *packed);
/* The position tables zoo_conv_direct reads (output segments and kernel-entry offsets for one
 * geometry): zoo_conv_table_size longs, filled by zoo_conv_build_tables once and reused for
 * every image of that geometry (the caller owns them: no allocation inside the kernel). */
long zoo_conv_table_size(long channels, long kernel, long ho, long wo);
void zoo_conv_build_tables(long channels, long hp, long wp, long kernel, long ho, long wo, long *tables);
void zoo_conv_direct(const float *padded, long channels, long kernel, const long *tables,
                     const float *packed, long o, const float *bias, int relu, int accumulate,
                     float *out, long ho, long wo, long tile_begin, long tile_end);

/* The pointwise cell steps over one batch row and the hidden units j0..<j1 (see
 * Sources/RNNEngine/Recurrent for the formulas). Pointers start at the row: g is its gates,
 * (G·H) floats with the gate blocks H apart; the others are H-long rows. AVX2/FMA is used when
 * the CPU has it. */
void zoo_lstm_forward_row(float *g, long H, const float *cp, float *cn, float *hn, long j0, long j1);
void zoo_lstm_backward_row(float *g, long H, const float *cp, const float *cn, const float *dh, float *dc,
                           float *dhp, long j0, long j1);
void zoo_gru_forward_row(float *g, float *hh, const float *bias, long H, const float *hp, float *hn,
                         long j0, long j1);
void zoo_gru_backward_row(float *g, float *hh, long H, const float *hp, const float *dh, float *dhp,
                          long j0, long j1);
void zoo_rnn_forward_row(float *g, float *hn, int relu, long j0, long j1);
void zoo_rnn_backward_row(float *g, const float *dh, float *dhp, int relu, long j0, long j1);

/* The activations the cell steps use, over n floats (for tests and any other caller). */
void zoo_exp(const float *x, float *y, long n);
void zoo_sigmoid(const float *x, float *y, long n);
void zoo_tanh(const float *x, float *y, long n);

/* One Adam/AdamW step over n parameters p with gradients g and moments m, v (see Adam.swift). */
void zoo_adam_update(float *p, const float *g, float *m, float *v, long n, float beta1, float beta2,
                     float l2, float shrink, float step_size, float root_correction, float epsilon);

/* Σ x² over n floats (in double across blocks), and x *= factor: for gradient clipping. */
double zoo_sum_squares(const float *x, long n);
void zoo_scale(float *x, long n, float factor);

/* 1 while the AVX2/FMA kernels run (the packed product included), 0 for the baseline. */
int zoo_vector_kernels_avx2(void);

/* Tests: 1 forces the baseline everywhere (cell steps, optimizer passes, and BLAS instead of the
 * packed product), 0 restores the choice the CPU allows. */
void zoo_vector_kernels_use_baseline(int baseline);

/* 1 while the engine's kernels run their AVX-512 compilation. Tests: use 0 forces the AVX2
 * one, 1 restores AVX-512 where the CPU has it. */
int zoo_vector_kernels_avx512(void);
void zoo_vector_kernels_use_avx512(int use);

/* CPUs in the calling process's affinity mask; 0 when it cannot be read. */
int zoo_affinity_cpu_count(void);

#ifdef __cplusplus
}
#endif
#endif
