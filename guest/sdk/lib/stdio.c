/* Character I/O on top of the platform's console (UART or SBI, chosen at link time). */
#include <platform.h>
#include <stdio.h>

int putchar(int c) {
  console_putc((char)c);
  return (unsigned char)c;
}

int puts(const char *s) {
  while (*s) console_putc(*s++);
  console_putc('\n');
  return 0;
}

int getchar(void) {
  int c;
  while ((c = console_getc()) < 0) {
  }
  return c;
}
