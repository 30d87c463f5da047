#ifndef BACKPROP_CZLIB_SHIM_H
#define BACKPROP_CZLIB_SHIM_H
// zlib's gz* file interface reads plain and gzip-compressed files alike.
#include <zlib.h>
#endif
