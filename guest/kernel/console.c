/*
 * The consoles: printf's characters are gathered in a buffer per console and written a line at a time
 * (one SBI call, or one hvc0 transmit, per line, not per byte). Each process has its console (`tty`,
 * kernel.h): TTY_SBI, the firmware's (the domain's serial console), or TTY_HVC, hvc0 (hvc.c). Input on
 * the SBI console is polled, and a reader sleeps until the next tick while nothing has arrived; hvc0's
 * reader sleeps until its interrupt.
 *
 * Output for hvc0 that the device cannot take (it is gone, or a caller with no process finds another
 * writer's chunk in flight) goes to the SBI console rather than nowhere.
 */
#include <platform.h>
#include <string.h>

#include "kernel.h"

#define OUT_LEN 256

static struct {
  char buf[OUT_LEN];
  size_t len;
} out[2];

/* The console of the running process (the SBI one outside any process, or without hvc0). */
static int my_tty(void) {
  struct proc *p = current();
  return p && p->tty == TTY_HVC && hvc_present() ? TTY_HVC : TTY_SBI;
}

static void flush_tty(int tty) {
  size_t n = out[tty].len;
  if (n == 0) return;
  if (tty == TTY_SBI) {
    arch_console_write(out[TTY_SBI].buf, n);
    out[TTY_SBI].len = 0;
    return;
  }
  /* hvc_write may sleep: take the line out first, so other writers can go on filling the buffer. */
  char line[OUT_LEN];
  memcpy(line, out[TTY_HVC].buf, n);
  out[TTY_HVC].len = 0;
  if (hvc_write(line, n) < 0) arch_console_write(line, n);
}

void console_flush(void) {
  flush_tty(TTY_SBI);
  flush_tty(TTY_HVC);
}

/* The SDK's printf and putchar end here. */
void console_putc(char c) {
  int tty = my_tty();
  out[tty].buf[out[tty].len++] = c;
  if (c == '\n' || out[tty].len == OUT_LEN) flush_tty(tty);
}

int console_getc(void) {
  char c;
  return arch_console_read(&c, 1) == 1 ? (unsigned char)c : -1;
}

void console_write(const char *buf, size_t n) {
  int tty = my_tty();
  flush_tty(tty);
  if (tty == TTY_HVC && hvc_write(buf, n) == 0) return;
  arch_console_write(buf, n);
}

int console_read_byte(void) {
  int tty = my_tty();
  flush_tty(tty);
  if (tty == TTY_HVC) return hvc_getc();
  for (;;) {
    int c = console_getc();
    if (c >= 0) return c;
    if (current()->killed) return -1;
    sleep_on((const void *)&ticks);
  }
}

size_t console_read_more(char *buf, size_t n) {
  return my_tty() == TTY_HVC ? hvc_read_nowait(buf, n) : arch_console_read(buf, n);
}
