#ifndef ZOO_CBLAS_SHIM_H
#define ZOO_CBLAS_SHIM_H
#include <cblas.h>

/* OpenBLAS extensions: not in the reference CBLAS header on every distribution. */
char *openblas_get_corename(void);
char *openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);

/* The engine's worker threads spin-wait between BLAS calls; PAUSE tells the core so. */
static inline void zoo_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
#endif
