/* The SDK's formatted output: a subset of C's printf family, enough for tests and benchmarks. */
#ifndef SDK_STDIO_H
#define SDK_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#define EOF (-1)

/* Conversions: %d %i %u %x %X %o %c %s %p %% with flags '-', '0', a width, and the l/ll length. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int vprintf(const char *fmt, va_list ap);
int puts(const char *s);
int putchar(int c);
/* Blocks until a byte arrives on the console. */
int getchar(void);

#endif
