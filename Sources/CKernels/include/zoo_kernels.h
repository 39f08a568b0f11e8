#ifndef ZOO_KERNELS_H
#define ZOO_KERNELS_H
/* The engine's own matrix kernel, for the one product OpenBLAS handles badly: the recurrent
 * product of every timestep, (B × K) · (K × N) with the same right-hand matrix at each step.
 * OpenBLAS repacks that matrix on every call; here it is packed once per sequence.
 *
 * Packed layout: panels of 16 columns; panel p holds rows 0..<K of columns 16p..<16p+16,
 * 16 floats per row, zero past the last column. The buffer must be 32-byte aligned. */
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the CPU has AVX2 and FMA, the instructions the kernel is written for; else 0. */
int zoo_packed_gemm_available(void);

/* Floats needed to pack a K × N matrix. */
size_t zoo_packed_size(long k, long n);

/* Packs op(B) = Wᵀ, where W is N × K row-major with leading dimension ldw. */
void zoo_pack_transposed(const float *w, long ldw, long k, long n, float *packed);

/* Packs op(B) = W, where W is K × N row-major with leading dimension ldw. */
void zoo_pack_plain(const float *w, long ldw, long k, long n, float *packed);

/* C (M × N) = A (M × K) · packed (K × N), or C += when accumulate is non-zero. A and C are
 * row-major with leading dimensions lda and ldc. Only call when zoo_packed_gemm_available(). */
void zoo_packed_gemm(long m, long n, long k, const float *a, long lda, const float *packed,
                     int accumulate, float *c, long ldc);

#ifdef __cplusplus
}
#endif
#endif
