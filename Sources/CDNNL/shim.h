#ifndef BACKPROP_CDNNL_SHIM_H
#define BACKPROP_CDNNL_SHIM_H
// oneDNN's C API (Debian's libdnnl-dev 2.6, built on OpenMP).
#include <oneapi/dnnl/dnnl.h>

// Debian's oneDNN runs its kernels in OpenMP teams as wide as the machine.
// Backprop's workers are threads of their own: each asks for a team of one,
// a setting OpenMP keeps per thread (and oneDNN reads when it plans a
// primitive, not only when it runs one).
extern void omp_set_num_threads(int);
extern int omp_get_max_threads(void);
#endif
