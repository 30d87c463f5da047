#ifndef BACKPROP_CDEFLATE_SHIM_H
#define BACKPROP_CDEFLATE_SHIM_H
// libdeflate: whole-buffer gzip decompression, about twice as fast as zlib's.
#include <libdeflate.h>
#endif
