#ifndef SDK_STDLIB_H
#define SDK_STDLIB_H

#include <stddef.h>

/*
 * A bump allocator over the RAM between the end of the program and the stacks (linker symbols
 * __heap_start/__heap_end): malloc never reuses memory and free does nothing. Returns NULL when full.
 * Memory is 16-byte aligned. Not safe to call from two harts at once.
 */
void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void free(void *p);

#endif
