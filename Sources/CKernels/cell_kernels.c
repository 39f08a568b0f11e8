/* The recurrent cells' pointwise steps (cell_steps.h), compiled for the baseline target and
 * for AVX2/FMA here, for AVX-512 in wide_kernels.c, and the entry points that pick one at run
 * time. */
#include "zoo_kernels.h"

#include "cell_steps.h"

DEFINE_CELL_VARIANT(baseline, static)
#if defined(__x86_64__)
DEFINE_CELL_VARIANT(avx2, static AVX2)
#include "wide_kernels.h"
#endif

void zoo_lstm_forward_row(float *g, long H, const float *cp, float *cn, float *hn, long j0, long j1) {
    DISPATCH(lstm_forward, g, H, cp, cn, hn, j0, j1);
}
void zoo_lstm_backward_row(float *g, long H, const float *cp, const float *cn, const float *dh, float *dc,
                           float *dhp, long j0, long j1) {
    DISPATCH(lstm_backward, g, H, cp, cn, dh, dc, dhp, j0, j1);
}
void zoo_gru_forward_row(float *g, float *hh, const float *bias, long H, const float *hp, float *hn,
                         long j0, long j1) {
    DISPATCH(gru_forward, g, hh, bias, H, hp, hn, j0, j1);
}
void zoo_gru_backward_row(float *g, float *hh, long H, const float *hp, const float *dh, float *dhp,
                          long j0, long j1) {
    DISPATCH(gru_backward, g, hh, H, hp, dh, dhp, j0, j1);
}
void zoo_rnn_forward_row(float *g, float *hn, int relu, long j0, long j1) {
    DISPATCH(rnn_forward, g, hn, relu, j0, j1);
}
void zoo_rnn_backward_row(float *g, const float *dh, float *dhp, int relu, long j0, long j1) {
    DISPATCH(rnn_backward, g, dh, dhp, relu, j0, j1);
}
void zoo_exp(const float *x, float *y, long n) { DISPATCH(activation, 0, x, y, n); }
void zoo_sigmoid(const float *x, float *y, long n) { DISPATCH(activation, 1, x, y, n); }
void zoo_tanh(const float *x, float *y, long n) { DISPATCH(activation, 2, x, y, n); }
