/* What the vector kernels share: 8-float vectors, partial loads and stores, the walk over a
 * range in vector steps, and the run-time choice between the AVX2/FMA and the baseline
 * compilation of each kernel. Private to CKernels. */
#ifndef ZOO_VECTORS_H
#define ZOO_VECTORS_H
#include "zoo_kernels.h"
#include <string.h>

/* Every function taking or returning a vector is inlined, so no vector ever crosses a call
 * boundary whose ABI could differ between the two compilations. */
#pragma clang diagnostic ignored "-Wpsabi"

typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
#define LANES 8
#define INLINE static inline __attribute__((always_inline))

INLINE v8f splat(float x) { return (v8f){x, x, x, x, x, x, x, x}; }

/* Loads n ≤ 8 floats (zero past n) and stores the first n lanes. */
INLINE v8f load(const float *p, long n) {
    v8f v = splat(0);
    memcpy(&v, p, sizeof(float) * (size_t)n);
    return v;
}
INLINE void store(v8f v, float *p, long n) { memcpy(p, &v, sizeof(float) * (size_t)n); }

/* Each step handles w ≤ 8 units from j. OVER_UNITS walks j0..<j1 with full steps, where w is a
 * constant and loads and stores are single vector moves, then one narrower step if needed. */
#define OVER_UNITS(step, ...)                                                                      \
    do {                                                                                          \
        long j = j0;                                                                              \
        for (; j + LANES <= j1; j += LANES) step(j, LANES, __VA_ARGS__);                           \
        if (j < j1) step(j, j1 - j, __VA_ARGS__);                                                 \
    } while (0)

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma")))
/* 1 when the AVX2/FMA compilation runs (the default where the CPU has it). */
extern int zoo_vectors_use_avx2;
/* 1 when the packed product runs its AVX-512 compilation (the default where the CPU has it). */
extern int zoo_vectors_use_avx512;
#define DISPATCH(name, ...) (zoo_vectors_use_avx2 ? name##_avx2(__VA_ARGS__) : name##_baseline(__VA_ARGS__))
#else
#define DISPATCH(name, ...) name##_baseline(__VA_ARGS__)
#endif

#endif
