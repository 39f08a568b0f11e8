/* The optimizers' updates (optimizer_steps.h), compiled for the baseline target and for
 * AVX2/FMA here, for AVX-512 in wide_kernels.c, and the entry points that pick one. */
#include "optimizer_steps.h"

DEFINE_OPTIMIZER_VARIANT(baseline, static)
#if defined(__x86_64__)
DEFINE_OPTIMIZER_VARIANT(avx2, static AVX2)
#include "wide_kernels.h"
#endif

void zoo_adam_update(float *p, const float *g, float *m, float *v, long n, float beta1, float beta2,
                     float l2, float shrink, float step_size, float root_correction, float epsilon) {
    struct adam a = {beta1, beta2, l2, shrink, step_size, root_correction, epsilon};
    DISPATCH(adam, p, g, m, v, 0, n, a);
}

double zoo_sum_squares(const float *x, long n) { return DISPATCH(sum_squares, x, n); }

void zoo_scale(float *x, long n, float factor) { DISPATCH(scale, x, n, factor); }
