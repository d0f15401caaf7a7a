/*
 * printf and snprintf over one formatter. The formatter hands every character to a sink, so printf
 * writes straight to the console (no buffer to overflow) and snprintf into the caller's array.
 */
#include <stdint.h>
#include <stdio.h>

struct sink {
  void (*put)(struct sink *s, char c);
  char *buf;
  size_t size;
  size_t len; /* characters produced, including those that did not fit */
};

static void put_console(struct sink *s, char c) {
  putchar(c);
  s->len++;
}

static void put_buffer(struct sink *s, char c) {
  if (s->len + 1 < s->size) s->buf[s->len] = c;
  s->len++;
}

/* Writes `digits` (already converted, most significant first) with sign, padding and width. */
static void emit_number(struct sink *s, const char *digits, int ndigits, char sign, int width, int left,
                        char pad) {
  int total = ndigits + (sign ? 1 : 0);
  if (!left && pad == ' ')
    for (; total < width; total++) s->put(s, ' ');
  if (sign) s->put(s, sign);
  if (!left && pad == '0')
    for (; total < width; total++) s->put(s, '0');
  for (int i = 0; i < ndigits; i++) s->put(s, digits[i]);
  for (; left && total < width; total++) s->put(s, ' ');
}

static int to_digits(uint64_t v, unsigned base, int upper, char *out) {
  const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char rev[24];
  int n = 0;
  do {
    rev[n++] = set[v % base];
    v /= base;
  } while (v != 0);
  for (int i = 0; i < n; i++) out[i] = rev[n - 1 - i];
  return n;
}

static void format(struct sink *s, const char *fmt, va_list ap) {
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      s->put(s, *fmt);
      continue;
    }
    fmt++;
    int left = 0;
    char pad = ' ';
    for (;; fmt++) {
      if (*fmt == '-') left = 1;
      else if (*fmt == '0') pad = '0';
      else break;
    }
    int width = 0;
    for (; *fmt >= '0' && *fmt <= '9'; fmt++) width = width * 10 + (*fmt - '0');
    int longs = 0;
    for (; *fmt == 'l'; fmt++) longs++;
    if (left) pad = ' ';

    char digits[24];
    int n;
    switch (*fmt) {
      case 'd':
      case 'i': {
        int64_t v = longs >= 2 ? va_arg(ap, long long) : longs == 1 ? va_arg(ap, long) : va_arg(ap, int);
        uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        n = to_digits(mag, 10, 0, digits);
        emit_number(s, digits, n, v < 0 ? '-' : 0, width, left, pad);
        break;
      }
      case 'u':
      case 'x':
      case 'X':
      case 'o': {
        uint64_t v = longs >= 2   ? va_arg(ap, unsigned long long)
                     : longs == 1 ? va_arg(ap, unsigned long)
                                  : va_arg(ap, unsigned int);
        unsigned base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;
        n = to_digits(v, base, *fmt == 'X', digits);
        emit_number(s, digits, n, 0, width, left, pad);
        break;
      }
      case 'p': {
        uintptr_t v = (uintptr_t)va_arg(ap, void *);
        s->put(s, '0');
        s->put(s, 'x');
        n = to_digits(v, 16, 0, digits);
        emit_number(s, digits, n, 0, width > 2 ? width - 2 : 0, left, pad);
        break;
      }
      case 'c':
        digits[0] = (char)va_arg(ap, int);
        emit_number(s, digits, 1, 0, width, left, ' ');
        break;
      case 's': {
        const char *str = va_arg(ap, const char *);
        if (str == NULL) str = "(null)";
        int len = 0;
        while (str[len]) len++;
        for (int i = len; !left && i < width; i++) s->put(s, ' ');
        for (int i = 0; i < len; i++) s->put(s, str[i]);
        for (int i = len; left && i < width; i++) s->put(s, ' ');
        break;
      }
      case '%':
        s->put(s, '%');
        break;
      case '\0':
        return; /* a lone '%' at the end */
      default:  /* unknown conversion: show it rather than guess */
        s->put(s, '%');
        s->put(s, *fmt);
        break;
    }
  }
}

int vprintf(const char *fmt, va_list ap) {
  struct sink s = {put_console, NULL, 0, 0};
  format(&s, fmt, ap);
  return (int)s.len;
}

int printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vprintf(fmt, ap);
  va_end(ap);
  return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
  struct sink s = {put_buffer, buf, size, 0};
  format(&s, fmt, ap);
  if (size > 0) buf[s.len < size ? s.len : size - 1] = '\0';
  return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}
