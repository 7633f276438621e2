#ifndef MODELGATE_CMEMORY_H
#define MODELGATE_CMEMORY_H
// glibc's malloc_trim, which Swift's Glibc module does not export.
#ifdef __GLIBC__
#include <malloc.h>
static inline int cmemory_trim(void) { return malloc_trim(0); }
#else
static inline int cmemory_trim(void) { return 0; }
#endif
#endif
