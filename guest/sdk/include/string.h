#ifndef SDK_STRING_H
#define SDK_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *dst, const char *src);
size_t strnlen(const char *s, size_t max);
/* C's strncpy: copies at most n bytes and pads with NULs; the result is unterminated if src is long. */
char *strncpy(char *dst, const char *src, size_t n);

#endif
