#ifndef ZOO_CBLAS_SHIM_H
#define ZOO_CBLAS_SHIM_H
#include <cblas.h>

/* OpenBLAS extensions: not in the reference CBLAS header on every distribution. */
char *openblas_get_corename(void);
char *openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
#endif
