#ifndef BACKPROP_CHWLOC_SHIM_H
#define BACKPROP_CHWLOC_SHIM_H
// hwloc for the machine's topology and thread binding.
#include <hwloc.h>

// glibc declares sched_getcpu only under _GNU_SOURCE, which Swift's Glibc
// module is built without: declare it here so Swift can record which CPU a
// worker runs on.
int sched_getcpu(void);

// The calling thread's floating-point control bits, and a way to make it
// flush denormal results and inputs to zero (x86: MXCSR's FTZ and DAZ bits;
// arm64: FPCR's FZ bit). Denormals cost some CPUs 50-100x per operation;
// training loses nothing without them. Per thread, so workers set and
// restore their own.
#if defined(__x86_64__)
#include <xmmintrin.h>
static inline unsigned long long backprop_float_control(void) { return _mm_getcsr(); }
static inline void backprop_set_float_control(unsigned long long value) { _mm_setcsr((unsigned int)value); }
static inline unsigned long long backprop_flush_denormals_bits(void) { return 0x8040; }
#elif defined(__aarch64__)
static inline unsigned long long backprop_float_control(void) {
  unsigned long long value;
  __asm__ volatile("mrs %0, fpcr" : "=r"(value));
  return value;
}
static inline void backprop_set_float_control(unsigned long long value) {
  __asm__ volatile("msr fpcr, %0" : : "r"(value));
}
static inline unsigned long long backprop_flush_denormals_bits(void) { return 1ULL << 24; }
#else
static inline unsigned long long backprop_float_control(void) { return 0; }
static inline void backprop_set_float_control(unsigned long long value) { (void)value; }
static inline unsigned long long backprop_flush_denormals_bits(void) { return 0; }
#endif
#endif
