#ifndef ZOO_CMPI_SHIM_H
#define ZOO_CMPI_SHIM_H
#include <mpi.h>

/* Open MPI's handles and constants are macros over global objects, which Swift cannot import:
   these accessors return them. */
static inline MPI_Comm zoo_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype zoo_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype zoo_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype zoo_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype zoo_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype zoo_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Op zoo_mpi_sum(void) { return MPI_SUM; }
static inline void *zoo_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int zoo_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
#endif
