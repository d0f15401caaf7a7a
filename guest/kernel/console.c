/*
 * The console: printf's characters are gathered in a buffer and written a line at a time through the
 * firmware (one SBI call per line, not per byte); input is polled, and a reader sleeps until the next
 * tick while nothing has arrived.
 */
#include <platform.h>

#include "kernel.h"

static char out[256];
static size_t out_len;

void console_flush(void) {
  if (out_len == 0) return;
  arch_console_write(out, out_len);
  out_len = 0;
}

/* The SDK's printf and putchar end here. */
void console_putc(char c) {
  out[out_len++] = c;
  if (c == '\n' || out_len == sizeof out) console_flush();
}

int console_getc(void) {
  char c;
  return arch_console_read(&c, 1) == 1 ? (unsigned char)c : -1;
}

void console_write(const char *buf, size_t n) {
  console_flush();
  arch_console_write(buf, n);
}

int console_read_byte(void) {
  console_flush();
  for (;;) {
    int c = console_getc();
    if (c >= 0) return c;
    if (current()->killed) return -1;
    sleep_on((const void *)&ticks);
  }
}
