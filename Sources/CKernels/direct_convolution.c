/* Stride-1 convolution straight from a zero-padded image, without a patch matrix.
 *
 * A tile is up to 6 output channels × 16 output positions, made of two segments of up to 8
 * positions along an output row. For stride 1, the 8 inputs under kernel entry (c, i, j) of a
 * segment are 8 consecutive floats of the padded image, so the "right-hand matrix" of the
 * product is read in place: one offset per kernel entry, no im2col copy and no packing of the
 * large operand (together about a fifth of a convolution through BLAS on this model's sizes).
 * The weights are packed once per call, 6 channels interleaved per kernel entry, and broadcast.
 * Where the CPU has AVX-512, two such tiles run together on 16-float registers (tile_pair). */
#include "vectors.h"

#include <stdlib.h>

#define ROWS 6      /* most output channels per tile: 12 accumulators + 2 inputs + 1 broadcast */
#define SEGMENT 8   /* output positions per segment: one AVX register */

long zoo_conv_row_tiles(long o) { return (o + ROWS - 1) / ROWS; }

/* Tile t covers channels [o·t/T, o·(t+1)/T): as even as possible (32 → 6,6,5,5,5,5). */
INLINE long tile_start(long o, long t) { return o * t / zoo_conv_row_tiles(o); }

void zoo_conv_pack_weights(const float *w, long o, long k, float *packed) {
    const long tiles = zoo_conv_row_tiles(o);
    for (long t = 0; t < tiles; t++) {
        const long r0 = tile_start(o, t), rows = tile_start(o, t + 1) - r0;
        float *block = packed + r0 * k;
        for (long kk = 0; kk < k; kk++)
            for (long r = 0; r < rows; r++) block[kk * rows + r] = w[(r0 + r) * k + kk];
    }
}

/* Where the segments of an output grid start, in the padded image and in the output plane. */
typedef struct { long input, output, count; } Segment;

INLINE long segment_count(long ho, long wo) { return ho * ((wo + SEGMENT - 1) / SEGMENT); }

long zoo_conv_table_size(long channels, long kernel, long ho, long wo) {
    return 3 * segment_count(ho, wo) + channels * kernel * kernel;
}

/* The segments (as triples of longs), then the padded-image offset of every kernel entry
 * (c, i, j) in the weights' order. */
void zoo_conv_build_tables(long channels, long hp, long wp, long kernel, long ho, long wo, long *tables) {
    Segment *segments = (Segment *)tables;
    long n = 0;
    for (long y = 0; y < ho; y++)
        for (long x = 0; x < wo; x += SEGMENT)
            segments[n++] = (Segment){y * wp + x, y * wo + x, wo - x < SEGMENT ? wo - x : SEGMENT};
    long *offsets = tables + 3 * segment_count(ho, wo);
    n = 0;
    for (long c = 0; c < channels; c++)
        for (long i = 0; i < kernel; i++)
            for (long j = 0; j < kernel; j++) offsets[n++] = (c * hp + i) * wp + j;
}

#if defined(__x86_64__)
#include <immintrin.h>

AVX2 INLINE void finish(__m256 v, float bias, int relu, int accumulate, float *out, long count) {
    float lanes[SEGMENT] __attribute__((aligned(32)));
    if (accumulate) {
        if (count == SEGMENT) v = _mm256_add_ps(v, _mm256_loadu_ps(out));
        else {
            memset(lanes, 0, sizeof lanes);
            memcpy(lanes, out, sizeof(float) * (size_t)count);
            v = _mm256_add_ps(v, _mm256_load_ps(lanes));
        }
    }
    v = _mm256_add_ps(v, _mm256_set1_ps(bias));
    if (relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
    if (count == SEGMENT) _mm256_storeu_ps(out, v);
    else {
        _mm256_store_ps(lanes, v);
        memcpy(out, lanes, sizeof(float) * (size_t)count);
    }
}

/* `rows` channels × two segments over all k kernel entries. `rows` is a constant after
 * inlining, so the accumulators live in registers. */
AVX2 __attribute__((always_inline)) static inline void
tile(const int rows, long k, const long *restrict offsets, const float *restrict w,
     const float *in0, const float *in1, const float *bias, int relu, int accumulate,
     float *out0, long count0, float *out1, long count1, long plane) {
    __m256 lo[ROWS], hi[ROWS];
    for (int r = 0; r < rows; r++) { lo[r] = _mm256_setzero_ps(); hi[r] = _mm256_setzero_ps(); }
    for (long kk = 0; kk < k; kk++) {
        const long offset = offsets[kk];
        __m256 b0 = _mm256_loadu_ps(in0 + offset), b1 = _mm256_loadu_ps(in1 + offset);
        for (int r = 0; r < rows; r++) {
            __m256 x = _mm256_broadcast_ss(w + kk * rows + r);
            lo[r] = _mm256_fmadd_ps(x, b0, lo[r]);
            hi[r] = _mm256_fmadd_ps(x, b1, hi[r]);
        }
    }
    for (int r = 0; r < rows; r++) {
        const float b = bias ? bias[r] : 0;
        finish(lo[r], b, relu, accumulate, out0 + r * plane, count0);
        if (count1 > 0) finish(hi[r], b, relu, accumulate, out1 + r * plane, count1);
    }
}

/* One channel tile over every segment of the image, two segments at a time. */
AVX2 static void channel_tile(long rows, long k, const long *offsets, const float *w, const float *padded,
                              const Segment *segments, long count, const float *bias, int relu, int accumulate,
                              float *out, long plane) {
    for (long s = 0; s < count; s += 2) {
        const Segment first = segments[s];
        const Segment second = s + 1 < count ? segments[s + 1] : (Segment){first.input, first.output, 0};
        const float *in0 = padded + first.input, *in1 = padded + second.input;
        float *out0 = out + first.output, *out1 = out + second.output;
        switch (rows) {
        case 6: tile(6, k, offsets, w, in0, in1, bias, relu, accumulate, out0, first.count, out1, second.count, plane); break;
        case 5: tile(5, k, offsets, w, in0, in1, bias, relu, accumulate, out0, first.count, out1, second.count, plane); break;
        case 4: tile(4, k, offsets, w, in0, in1, bias, relu, accumulate, out0, first.count, out1, second.count, plane); break;
        case 3: tile(3, k, offsets, w, in0, in1, bias, relu, accumulate, out0, first.count, out1, second.count, plane); break;
        case 2: tile(2, k, offsets, w, in0, in1, bias, relu, accumulate, out0, first.count, out1, second.count, plane); break;
        default: tile(1, k, offsets, w, in0, in1, bias, relu, accumulate, out0, first.count, out1, second.count, plane); break;
        }
    }
}

/* With AVX-512, two channel tiles of the same height at once: a kernel entry's two segments
 * are loaded as one 16-float register, so each broadcast weight feeds one 512-bit FMA, and up
 * to 12 accumulators (two tiles of up to 6 channels) share each load. The weights stay packed
 * in tiles of up to 6 channels: the second tile's are read from its own block. */
AVX512 __attribute__((always_inline)) static inline void
tile_pair(const int rows, long k, const long *restrict offsets, const float *restrict wa, const float *restrict wb,
          const float *in0, const float *in1, const float *bias_a, const float *bias_b, int relu, int accumulate,
          float *out_a, float *out_b, long plane, long output0, long count0, long output1, long count1) {
    __m512 acc[2 * ROWS];
    for (int r = 0; r < 2 * rows; r++) acc[r] = _mm512_setzero_ps();
    for (long kk = 0; kk < k; kk++) {
        const long offset = offsets[kk];
        /* in0's 8 floats in the low half, in1's in the high (a 64-bit insert: AVX-512F has it). */
        const __m512 b = _mm512_castpd_ps(_mm512_insertf64x4(
            _mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(in0 + offset))),
            _mm256_castps_pd(_mm256_loadu_ps(in1 + offset)), 1));
        for (int r = 0; r < rows; r++) {
            acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(wa[kk * rows + r]), b, acc[r]);
            acc[rows + r] = _mm512_fmadd_ps(_mm512_set1_ps(wb[kk * rows + r]), b, acc[rows + r]);
        }
    }
    for (int r = 0; r < 2 * rows; r++) {
        const int second = r >= rows, row = second ? r - rows : r;
        const float *bias = second ? bias_b : bias_a;
        float *channel = (second ? out_b : out_a) + row * plane;
        const float b = bias ? bias[row] : 0;
        finish(_mm512_castps512_ps256(acc[r]), b, relu, accumulate, channel + output0, count0);
        if (count1 > 0)
            finish(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r]), 1)), b, relu, accumulate,
                   channel + output1, count1);
    }
}

/* Two channel tiles of `rows` channels each over every segment of the image. */
AVX512 static void channel_pair(long rows, long k, const long *offsets, const float *wa, const float *wb,
                                const float *padded, const Segment *segments, long count, const float *bias_a,
                                const float *bias_b, int relu, int accumulate, float *out_a, float *out_b,
                                long plane) {
    for (long s = 0; s < count; s += 2) {
        const Segment first = segments[s];
        const Segment second = s + 1 < count ? segments[s + 1] : (Segment){first.input, first.output, 0};
        const float *in0 = padded + first.input, *in1 = padded + second.input;
#define PAIR(R)                                                                                                  \
    tile_pair(R, k, offsets, wa, wb, in0, in1, bias_a, bias_b, relu, accumulate, out_a, out_b, plane, first.output, \
              first.count, second.output, second.count)
        switch (rows) {
        case 6: PAIR(6); break;
        case 5: PAIR(5); break;
        case 4: PAIR(4); break;
        case 3: PAIR(3); break;
        case 2: PAIR(2); break;
        default: PAIR(1); break;
        }
#undef PAIR
    }
}

#else
/* Elsewhere the engine convolves through im2col and BLAS; this portable tile keeps the symbol
 * correct. */
static void channel_tile(long rows, long k, const long *offsets, const float *w, const float *padded,
                         const Segment *segments, long count, const float *bias, int relu, int accumulate,
                         float *out, long plane) {
    for (long s = 0; s < count; s++)
        for (long r = 0; r < rows; r++)
            for (long q = 0; q < segments[s].count; q++) {
                float sum = 0;
                for (long kk = 0; kk < k; kk++) sum += w[kk * rows + r] * padded[segments[s].input + offsets[kk] + q];
                sum += bias ? bias[r] : 0;
                float *y = out + r * plane + segments[s].output + q;
                if (accumulate) sum += *y;
                *y = relu && sum < 0 ? 0 : sum;
            }
}
#endif

void zoo_conv_direct(const float *padded, long channels, long kernel, const long *tables,
                     const float *packed, long o, const float *bias, int relu, int accumulate,
                     float *out, long ho, long wo, long tile_begin, long tile_end) {
    const long k = channels * kernel * kernel, plane = ho * wo;
    const long count = segment_count(ho, wo);
    const Segment *segments = (const Segment *)tables;
    const long *offsets = tables + 3 * count;
    /* Channel tiles outside: a tile's weights (6·k floats) stay in L1 while the image streams. */
    for (long t = tile_begin; t < tile_end; t++) {
        const long r0 = tile_start(o, t), rows = tile_start(o, t + 1) - r0;
#if defined(__x86_64__)
        /* With AVX-512, tiles of equal height go two at a time (tile_pair). */
        const long r1 = tile_start(o, t + 1);
        if (zoo_vectors_use_avx512 && t + 1 < tile_end && tile_start(o, t + 2) - r1 == rows) {
            channel_pair(rows, k, offsets, packed + r0 * k, packed + r1 * k, padded, segments, count,
                         bias ? bias + r0 : NULL, bias ? bias + r1 : NULL, relu, accumulate, out + r0 * plane,
                         out + r1 * plane, plane);
            t++;
            continue;
        }
#endif
        channel_tile(rows, k, offsets, packed + r0 * k, padded, segments, count, bias ? bias + r0 : NULL, relu,
                     accumulate, out + r0 * plane, plane);
    }
}
