/* The AVX-512 compilation of the cell steps and the optimizer updates: the same bodies as
 * cell_kernels.c and optimizer_kernels.c, on 16-float vectors (one zmm register each). A file
 * of its own because a translation unit has one vector width. Chosen at run time where the
 * CPU has AVX-512F (zoo_vectors_use_avx512). */
#if defined(__x86_64__)
#define LANES 16
#include "cell_steps.h"
#include "optimizer_steps.h"
#include "wide_kernels.h"

#define HIDDEN __attribute__((visibility("hidden"))) AVX512
DEFINE_CELL_VARIANT(avx512, HIDDEN)
DEFINE_OPTIMIZER_VARIANT(avx512, HIDDEN)
#endif
