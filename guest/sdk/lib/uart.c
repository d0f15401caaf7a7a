/*
 * The 16550 UART at 0x1000_0000, polled. QEMU's model (and rvisor's) needs no set-up to transmit, so
 * none is done: a program's first byte goes out as soon as it is written.
 *
 *   +0 RBR (read) / THR (write)
 *   +5 LSR: bit 0 DR (a byte is waiting in RBR), bit 5 THRE (THR can take a byte)
 */
#include <platform.h>

#define UART_RBR 0
#define UART_THR 0
#define UART_LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20

static inline volatile uint8_t *uart_reg(unsigned off) { return (volatile uint8_t *)(UART0_BASE + off); }

void uart_putc(char c) {
  while ((*uart_reg(UART_LSR) & LSR_THRE) == 0) {
  }
  *uart_reg(UART_THR) = (uint8_t)c;
}

int uart_getc(void) {
  if ((*uart_reg(UART_LSR) & LSR_DR) == 0) return -1;
  return *uart_reg(UART_RBR);
}
