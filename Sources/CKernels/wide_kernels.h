/* The AVX-512 compilations of the vector kernels (wide_kernels.c), for the dispatchers of
 * cell_kernels.c and optimizer_kernels.c. Private to CKernels; x86-64 only. */
#ifndef ZOO_WIDE_KERNELS_H
#define ZOO_WIDE_KERNELS_H

struct adam;

void lstm_forward_avx512(float *g, long H, const float *cp, float *cn, float *hn, long j0, long j1);
void lstm_backward_avx512(float *g, long H, const float *cp, const float *cn, const float *dh, float *dc,
                          float *dhp, long j0, long j1);
void gru_forward_avx512(float *g, float *hh, const float *bias, long H, const float *hp, float *hn, long j0,
                        long j1);
void gru_backward_avx512(float *g, float *hh, long H, const float *hp, const float *dh, float *dhp, long j0,
                         long j1);
void rnn_forward_avx512(float *g, float *hn, int relu, long j0, long j1);
void rnn_backward_avx512(float *g, const float *dh, float *dhp, int relu, long j0, long j1);
void activation_avx512(int kind, const float *x, float *y, long j1);
void adam_avx512(float *p, const float *g, float *m, float *v, long j0, long j1, struct adam a);
double sum_squares_avx512(const float *x, long n);
void scale_avx512(float *x, long j1, float factor);

#endif
