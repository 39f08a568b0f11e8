/* The optimizers' updates and the gradient norm's sums: one pass over the flat parameter
 * buffer, in vector steps of LANES floats. Included by optimizer_kernels.c (8 lanes) and
 * wide_kernels.c (16 lanes, AVX-512). */
#ifndef ZOO_OPTIMIZER_STEPS_H
#define ZOO_OPTIMIZER_STEPS_H
#include "vectors.h"

/* Adam / AdamW (see Sources/RNNEngine/Optimization/Adam.swift for the formula):
 *   grad = g + l2·p;  m = β1·m + (1−β1)·grad;  v = β2·v + (1−β2)·grad²
 *   p = p·shrink − stepSize · m / (√v · rootCorrection + ε) */
struct adam { float beta1, beta2, l2, shrink, step_size, root_correction, epsilon; };

INLINE void adam_step(long j, long w, float *p, const float *g, float *m, float *v, struct adam a) {
    vf param = load(p + j, w);
    vf grad = load(g + j, w) + a.l2 * param;
    vf first = a.beta1 * load(m + j, w) + (1.0f - a.beta1) * grad;
    vf second = a.beta2 * load(v + j, w) + (1.0f - a.beta2) * grad * grad;
    vf denominator = __builtin_elementwise_sqrt(second) * a.root_correction + a.epsilon;
    store(first, m + j, w);
    store(second, v + j, w);
    store(param * a.shrink - a.step_size * first / denominator, p + j, w);
}

/* Σ x² for gradient clipping: LANES float lanes per block of 4096, blocks summed in double. */
INLINE void square_step(long j, long w, const float *x, vf *sums) {
    vf v = load(x + j, w);
    *sums += v * v;
}

INLINE void scale_step(long j, long w, float *x, float factor) { store(load(x + j, w) * factor, x + j, w); }

#define DEFINE_OPTIMIZER_VARIANT(SUFFIX, ATTRIBUTES)                                                         \
    ATTRIBUTES void adam_##SUFFIX(float *p, const float *g, float *m, float *v, long j0,    \
                                         long j1, struct adam a) {                                 \
        OVER_UNITS(adam_step, p, g, m, v, a);                                                      \
    }                                                                                              \
    ATTRIBUTES double sum_squares_##SUFFIX(const float *x, long n) {                        \
        double total = 0;                                                                          \
        for (long block = 0; block < n; block += 4096) {                                           \
            vf sums = {0};                                                                        \
            const long j0 = block, j1 = n - block < 4096 ? n : block + 4096;                       \
            OVER_UNITS(square_step, x, &sums);                                                     \
            for (int lane = 0; lane < LANES; lane++) total += sums[lane];                          \
        }                                                                                          \
        return total;                                                                              \
    }                                                                                              \
    ATTRIBUTES void scale_##SUFFIX(float *x, long j1, float factor) {                       \
        const long j0 = 0;                                                                         \
        OVER_UNITS(scale_step, x, factor);                                                         \
    }

#endif
