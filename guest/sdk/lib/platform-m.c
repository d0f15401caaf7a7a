/* The platform layer of M-mode programs: they own the machine, so they talk to the devices directly. */
#include <platform.h>

void uart_putc(char c);
int uart_getc(void);

void console_putc(char c) { uart_putc(c); }
int console_getc(void) { return uart_getc(); }

void poweroff(int code) {
  volatile uint32_t *test = (volatile uint32_t *)TEST_BASE;
  *test = code == 0 ? TEST_PASS : ((uint32_t)code << 16) | TEST_FAIL;
  for (;;) __asm__ volatile("wfi");
}

uint64_t clint_mtime(void) {
  uint32_t hi, lo;
  do {
    hi = *CLINT_MTIME_HI;
    lo = *CLINT_MTIME_LO;
  } while (hi != *CLINT_MTIME_HI);
  return ((uint64_t)hi << 32) | lo;
}

/* Writes hi = all ones first so that no interrupt fires for a half-written (lower) compare value. */
void clint_set_mtimecmp(unsigned hart, uint64_t when) {
  *CLINT_MTIMECMP_HI(hart) = 0xffffffffu;
  *CLINT_MTIMECMP_LO(hart) = (uint32_t)when;
  *CLINT_MTIMECMP_HI(hart) = (uint32_t)(when >> 32);
}
