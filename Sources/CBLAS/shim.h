#ifndef BACKPROP_CBLAS_SHIM_H
#define BACKPROP_CBLAS_SHIM_H
// OpenBLAS's CBLAS interface plus its thread-count control.
#include <cblas.h>
#endif
