#ifndef BACKPROP_CHWLOC_SHIM_H
#define BACKPROP_CHWLOC_SHIM_H
// hwloc for the machine's topology and thread binding.
#include <hwloc.h>

// glibc declares sched_getcpu only under _GNU_SOURCE, which Swift's Glibc
// module is built without: declare it here so Swift can record which CPU a
// worker runs on.
int sched_getcpu(void);
#endif
