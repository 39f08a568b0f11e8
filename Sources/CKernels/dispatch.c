#include "vectors.h"

#if defined(__x86_64__)
int zoo_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int zoo_cpu_has_avx512(void) {
    __builtin_cpu_init();
    return zoo_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f");
}

int zoo_vectors_use_avx2 = 0;
int zoo_vectors_use_avx512 = 0;

/* Chosen once, when the program loads. */
__attribute__((constructor)) static void choose_vector_kernels(void) {
    zoo_vectors_use_avx2 = zoo_cpu_has_avx2_fma();
    zoo_vectors_use_avx512 = zoo_cpu_has_avx512();
}

void zoo_vector_kernels_use_baseline(int baseline) {
    zoo_vectors_use_avx2 = baseline ? 0 : zoo_cpu_has_avx2_fma();
    zoo_vectors_use_avx512 = baseline ? 0 : zoo_cpu_has_avx512();
}

void zoo_vector_kernels_use_avx512(int use) { zoo_vectors_use_avx512 = use && zoo_cpu_has_avx512(); }

int zoo_vector_kernels_avx2(void) { return zoo_vectors_use_avx2; }
int zoo_vector_kernels_avx512(void) { return zoo_vectors_use_avx512; }
#else
int zoo_cpu_has_avx2_fma(void) { return 0; }
int zoo_cpu_has_avx512(void) { return 0; }

void zoo_vector_kernels_use_baseline(int baseline) { (void)baseline; }
void zoo_vector_kernels_use_avx512(int use) { (void)use; }

int zoo_vector_kernels_avx2(void) { return 0; }
int zoo_vector_kernels_avx512(void) { return 0; }
#endif
