#ifndef BACKPROP_CMPI_SHIM_H
#define BACKPROP_CMPI_SHIM_H
// Open MPI's C interface. Its handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM…)
// are macros over the addresses of globals, which Swift cannot import: each
// is wrapped in a function here.
#include <mpi.h>

static inline MPI_Comm backprop_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype backprop_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype backprop_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype backprop_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype backprop_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype backprop_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op backprop_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op backprop_mpi_max(void) { return MPI_MAX; }
static inline void *backprop_mpi_in_place(void) { return MPI_IN_PLACE; }
#endif
