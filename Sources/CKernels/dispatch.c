#include "vectors.h"

#if defined(__x86_64__)
int zoo_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int zoo_vectors_use_avx2 = 0;

/* Chosen once, when the program loads. */
__attribute__((constructor)) static void choose_vector_kernels(void) {
    zoo_vectors_use_avx2 = zoo_cpu_has_avx2_fma();
}

void zoo_vector_kernels_use_baseline(int baseline) {
    zoo_vectors_use_avx2 = baseline ? 0 : zoo_cpu_has_avx2_fma();
}

int zoo_vector_kernels_avx2(void) { return zoo_vectors_use_avx2; }
#else
int zoo_cpu_has_avx2_fma(void) { return 0; }

void zoo_vector_kernels_use_baseline(int baseline) { (void)baseline; }

int zoo_vector_kernels_avx2(void) { return 0; }
#endif
