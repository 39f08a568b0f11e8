/* The pointwise steps of the recurrent cells over one batch row and a range of hidden units,
 * and the activations they use, written once on vectors of LANES floats. Included by
 * cell_kernels.c (8 lanes: the baseline and AVX2/FMA compilations) and by wide_kernels.c (16
 * lanes: AVX-512). The formulas, and the masking of rows past their length, are documented
 * beside their callers in Sources/RNNEngine/Recurrent. */
#ifndef ZOO_CELL_STEPS_H
#define ZOO_CELL_STEPS_H
#include "vectors.h"

/* e^x: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^n built in the
 * exponent bits. Inputs are clamped to ±87.3, where e^x is still finite. */
INLINE vf vexp(vf x) {
    x = __builtin_elementwise_min(__builtin_elementwise_max(x, splat(-87.3f)), splat(87.3f));
    const vf magic = splat(12582912.0f); /* 1.5·2²³: adding it rounds to an integer */
    vf shifted = x * 1.44269504f + magic;
    vf n = shifted - magic;
    vf r = x - n * 0.69314575f - n * 1.4286068e-6f;
    vf p = splat(1.98756915e-4f);
    p = p * r + 1.39819995e-3f;
    p = p * r + 8.3334519e-3f;
    p = p * r + 4.1665796e-2f;
    p = p * r + 0.16666666f;
    p = p * r + 0.5f;
    p = p * r * r + r + 1.0f;
    vi bits = ((vi)shifted - 0x4B400000 + 127) << 23;
    return p * (vf)bits;
}

INLINE vf vsigmoid(vf x) { return 1.0f / (1.0f + vexp(-x)); }

/* tanh(x) = sign(x)·(1 − e^{−2|x|}) / (1 + e^{−2|x|}): exact in sign, saturates cleanly. */
INLINE vf vtanh(vf x) {
    vi sign = (vi)x & (int)0x80000000;
    vf magnitude = (vf)((vi)x & 0x7FFFFFFF);
    vf e = vexp(-2.0f * magnitude);
    vf t = (1.0f - e) / (1.0f + e);
    return (vf)((vi)t | sign);
}

INLINE vf vrelu(vf x) { return __builtin_elementwise_max(x, splat(0)); }


INLINE void lstm_forward_step(long j, long w, float *g, long H, const float *cp, float *cn, float *hn) {
    vf i = vsigmoid(load(g + j, w)), f = vsigmoid(load(g + H + j, w));
    vf gg = vtanh(load(g + 2 * H + j, w)), o = vsigmoid(load(g + 3 * H + j, w));
    vf c = f * load(cp + j, w) + i * gg;
    store(i, g + j, w); store(f, g + H + j, w); store(gg, g + 2 * H + j, w); store(o, g + 3 * H + j, w);
    store(c, cn + j, w);
    store(o * vtanh(c), hn + j, w);
}

INLINE void lstm_backward_step(long j, long w, float *g, long H, const float *cp, const float *cn, const float *dh,
                               float *dc, float *dhp) {
    vf i = load(g + j, w), f = load(g + H + j, w), gg = load(g + 2 * H + j, w), o = load(g + 3 * H + j, w);
    vf tc = vtanh(load(cn + j, w)), d = load(dh + j, w);
    vf total = load(dc + j, w) + d * o * (1.0f - tc * tc);
    store(total * gg * i * (1.0f - i), g + j, w);
    store(total * load(cp + j, w) * f * (1.0f - f), g + H + j, w);
    store(total * i * (1.0f - gg * gg), g + 2 * H + j, w);
    store(d * tc * o * (1.0f - o), g + 3 * H + j, w);
    store(total * f, dc + j, w);
    store(splat(0), dhp + j, w);
}

INLINE void gru_forward_step(long j, long w, float *g, float *hh, const float *bias, long H, const float *hp, float *hn) {
    vf r = vsigmoid(load(g + j, w) + load(hh + j, w) + load(bias + j, w));
    vf z = vsigmoid(load(g + H + j, w) + load(hh + H + j, w) + load(bias + H + j, w));
    vf hidden = load(hh + 2 * H + j, w) + load(bias + 2 * H + j, w);
    vf n = vtanh(load(g + 2 * H + j, w) + r * hidden);
    store(r, g + j, w); store(z, g + H + j, w); store(n, g + 2 * H + j, w);
    store(hidden, hh + 2 * H + j, w);
    store((1.0f - z) * n + z * load(hp + j, w), hn + j, w);
}

INLINE void gru_backward_step(long j, long w, float *g, float *hh, long H, const float *hp, const float *dh, float *dhp) {
    vf r = load(g + j, w), z = load(g + H + j, w), n = load(g + 2 * H + j, w);
    vf hidden = load(hh + 2 * H + j, w), d = load(dh + j, w);
    vf dn = d * (1.0f - z) * (1.0f - n * n);
    vf dz = d * (load(hp + j, w) - n) * z * (1.0f - z);
    vf dr = dn * hidden * r * (1.0f - r);
    store(dr, g + j, w); store(dz, g + H + j, w); store(dn, g + 2 * H + j, w);
    store(dr, hh + j, w); store(dz, hh + H + j, w); store(dn * r, hh + 2 * H + j, w);
    store(d * z, dhp + j, w);
}

INLINE void rnn_forward_step(long j, long w, float *g, float *hn, int relu) {
    vf a = load(g + j, w);
    vf h = relu ? vrelu(a) : vtanh(a);
    store(h, g + j, w);
    store(h, hn + j, w);
}

INLINE void rnn_backward_step(long j, long w, float *g, const float *dh, float *dhp, int relu) {
    vf h = load(g + j, w), d = load(dh + j, w);
    vf grad = relu ? (vf)((vi)d & (h > 0)) : d * (1.0f - h * h);
    store(grad, g + j, w);
    store(splat(0), dhp + j, w);
}

/* kind: 0 exp, 1 sigmoid, 2 tanh (for the accuracy tests). */
INLINE void activation_step(long j, long w, int kind, const float *x, float *y) {
    vf v = load(x + j, w);
    store(kind == 0 ? vexp(v) : kind == 1 ? vsigmoid(v) : vtanh(v), y + j, w);
}

/* Every body compiled as SUFFIX with ATTRIBUTES (static and a target, or hidden for the
 * AVX-512 compilation that wide_kernels.c exports to the dispatchers). */
#define DEFINE_CELL_VARIANT(SUFFIX, ATTRIBUTES)                                                           \
    ATTRIBUTES void lstm_forward_##SUFFIX(float *g, long H, const float *cp, float *cn,       \
                                                 float *hn, long j0, long j1) {                      \
        OVER_UNITS(lstm_forward_step, g, H, cp, cn, hn);                                                 \
    }                                                                                                \
    ATTRIBUTES void lstm_backward_##SUFFIX(float *g, long H, const float *cp, const float *cn, \
                                                  const float *dh, float *dc, float *dhp, long j0,   \
                                                  long j1) {                                         \
        OVER_UNITS(lstm_backward_step, g, H, cp, cn, dh, dc, dhp);                                       \
    }                                                                                                \
    ATTRIBUTES void gru_forward_##SUFFIX(float *g, float *hh, const float *bias, long H,       \
                                                const float *hp, float *hn, long j0, long j1) {      \
        OVER_UNITS(gru_forward_step, g, hh, bias, H, hp, hn);                                            \
    }                                                                                                \
    ATTRIBUTES void gru_backward_##SUFFIX(float *g, float *hh, long H, const float *hp,        \
                                                 const float *dh, float *dhp, long j0, long j1) {    \
        OVER_UNITS(gru_backward_step, g, hh, H, hp, dh, dhp);                                            \
    }                                                                                                \
    ATTRIBUTES void rnn_forward_##SUFFIX(float *g, float *hn, int relu, long j0, long j1) {   \
        OVER_UNITS(rnn_forward_step, g, hn, relu);                                                       \
    }                                                                                                \
    ATTRIBUTES void rnn_backward_##SUFFIX(float *g, const float *dh, float *dhp, int relu,    \
                                                 long j0, long j1) {                                 \
        OVER_UNITS(rnn_backward_step, g, dh, dhp, relu);                                                 \
    }                                                                                                \
    ATTRIBUTES void activation_##SUFFIX(int kind, const float *x, float *y, long j1) {        \
        const long j0 = 0;                                                                           \
        OVER_UNITS(activation_step, kind, x, y);                                                     \
    }

#endif
