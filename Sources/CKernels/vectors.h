/* What the vector kernels share: vectors of LANES floats (8, or 16 where a file defines LANES
 * before including this: the AVX-512 compilation), partial loads and stores, the walk over a
 * range in vector steps, and the run-time choice between the AVX-512, the AVX2/FMA and the
 * baseline compilation of each kernel. Private to CKernels. */
#ifndef ZOO_VECTORS_H
#define ZOO_VECTORS_H
#include "zoo_kernels.h"
#include <string.h>

/* Every function taking or returning a vector is inlined, so no vector ever crosses a call
 * boundary whose ABI could differ between the two compilations. */
#pragma clang diagnostic ignored "-Wpsabi"

#ifndef LANES
#define LANES 8
#endif
typedef float vf __attribute__((vector_size(4 * LANES)));
typedef int vi __attribute__((vector_size(4 * LANES)));
#define INLINE static inline __attribute__((always_inline))

INLINE vf splat(float x) { return (vf){0} + x; }

/* Loads n ≤ LANES floats (zero past n) and stores the first n lanes. */
INLINE vf load(const float *p, long n) {
    vf v = splat(0);
    memcpy(&v, p, sizeof(float) * (size_t)n);
    return v;
}
INLINE void store(vf v, float *p, long n) { memcpy(p, &v, sizeof(float) * (size_t)n); }

/* Each step handles w ≤ LANES units from j. OVER_UNITS walks j0..<j1 with full steps, where w is a
 * constant and loads and stores are single vector moves, then one narrower step if needed. */
#define OVER_UNITS(step, ...)                                                                      \
    do {                                                                                          \
        long j = j0;                                                                              \
        for (; j + LANES <= j1; j += LANES) step(j, LANES, __VA_ARGS__);                           \
        if (j < j1) step(j, j1 - j, __VA_ARGS__);                                                 \
    } while (0)

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,fma")))
/* 1 when the AVX2/FMA compilation runs (the default where the CPU has it). */
extern int zoo_vectors_use_avx2;
/* 1 when the AVX-512 compilation runs (the default where the CPU has it). */
extern int zoo_vectors_use_avx512;
/* The AVX-512 compilations are in wide_kernels.c (16 lanes: a file of their own). */
#define DISPATCH(name, ...)                                                                        \
    (zoo_vectors_use_avx512 ? name##_avx512(__VA_ARGS__)                                          \
     : zoo_vectors_use_avx2 ? name##_avx2(__VA_ARGS__)                                            \
                            : name##_baseline(__VA_ARGS__))
#else
#define DISPATCH(name, ...) name##_baseline(__VA_ARGS__)
#endif

#endif
