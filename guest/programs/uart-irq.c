// rvisor: s-mode
/*
 * UART receive interrupts through the PLIC, taken in S-mode: the program enables the 16550's
 * received-data interrupt and its PLIC source for this hart's S-mode context, then sleeps in WFI. Each
 * interrupt claims the source, drains the receiver and completes it. Each input line is echoed
 * upper-cased through the UART's transmitter; "quit" (or Ctrl-D) ends the run. It prints how many
 * lines it took and powers off through SBI SRST.
 *
 * The devices are where QEMU virt has them (UART 0x1000_0000, IRQ 10; PLIC 0x0c00_0000), so the same
 * ELF runs on QEMU behind the boot shim, on rvisor's board behind its SBI firmware, and as a domain of
 * the hypervisor, whose virtual PLIC and UART are then what it programs.
 */
#include <csr.h>
#include <platform.h>
#include <sbi.h>
#include <stdint.h>
#include <stdio.h>

#define UART 0x10000000u
#define UART_RBR 0
#define UART_THR 0
#define UART_IER 1
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define MCR_OUT2 0x08
#define UART_IRQ 10

#define PLIC 0x0c000000u
#define PLIC_PRIORITY(src) (PLIC + 4 * (src))
#define PLIC_ENABLE(ctx) (PLIC + 0x2000 + 0x80 * (ctx))
#define PLIC_THRESHOLD(ctx) (PLIC + 0x200000 + 0x1000 * (ctx))
#define PLIC_CLAIM(ctx) (PLIC + 0x200004 + 0x1000 * (ctx))

static inline uint8_t rd8(uint32_t a) { return *(volatile uint8_t *)a; }
static inline void wr8(uint32_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline uint32_t rd32(uint32_t a) { return *(volatile uint32_t *)a; }
static inline void wr32(uint32_t a, uint32_t v) { *(volatile uint32_t *)a = v; }

static unsigned context; /* this hart's S-mode PLIC context: 2 * hartid + 1 */
static volatile char ring[1024]; /* bytes received, in order; the handler writes, main reads */
static volatile unsigned head, tail;
static volatile unsigned interrupts;

static void uart_putc(char c) {
  while ((rd8(UART + UART_LSR) & LSR_THRE) == 0) {
  }
  wr8(UART + UART_THR, (uint8_t)c);
}

/* Drains the receiver into the ring (a full ring drops bytes, and says so at the end). */
static unsigned dropped;
static void receive(void) {
  while ((rd8(UART + UART_LSR) & LSR_DR) != 0) {
    char c = (char)rd8(UART + UART_RBR);
    if (head - tail < sizeof ring) ring[head++ % sizeof ring] = c;
    else dropped++;
  }
}

__attribute__((interrupt("supervisor"), aligned(4))) static void on_trap(void) {
  unsigned long cause = csr_read(scause);
  if (cause != (CAUSE_INTERRUPT | IRQ_S_EXT)) {
    printf("unexpected trap: scause=%08lx sepc=%08lx\n", cause, csr_read(sepc));
    sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN, SBI_SRST_REASON_SYSTEM_FAILURE);
  }
  uint32_t src = rd32(PLIC_CLAIM(context));
  if (src == UART_IRQ) {
    interrupts++;
    receive();
  }
  if (src != 0) wr32(PLIC_CLAIM(context), src); /* complete */
}

/* The next received byte, sleeping until one arrives. */
static char next_byte(void) {
  while (head == tail) __asm__ volatile("wfi");
  return ring[tail++ % sizeof ring];
}

int main(unsigned long hartid, void *dtb) {
  (void)dtb;
  context = 2 * (unsigned)hartid + 1;
  printf("uart-irq: type lines, 'quit' ends\n");
  csr_write(stvec, (uintptr_t)on_trap);
  wr32(PLIC_PRIORITY(UART_IRQ), 1);
  wr32(PLIC_ENABLE(context), rd32(PLIC_ENABLE(context)) | (1u << UART_IRQ));
  wr32(PLIC_THRESHOLD(context), 0);
  wr8(UART + UART_MCR, MCR_OUT2);
  wr8(UART + UART_IER, 1); /* received data available */
  csr_set(sie, SIP_SEIP);
  csr_set(sstatus, SSTATUS_SIE);
  unsigned count = 0;
  char line[128];
  unsigned len = 0;
  for (;;) {
    char c = next_byte();
    if (c == 4) break; /* Ctrl-D */
    if (c != '\n' && c != '\r') {
      if (len < sizeof line) line[len++] = c;
      continue;
    }
    if (len == 0) continue;
    if (len == 4 && line[0] == 'q' && line[1] == 'u' && line[2] == 'i' && line[3] == 't') break;
    count++;
    for (unsigned i = 0; i < len; i++) uart_putc(line[i] >= 'a' && line[i] <= 'z' ? line[i] - 32 : line[i]);
    uart_putc('\n');
    len = 0;
  }
  printf("uart-irq: %u lines, interrupts taken: %s, bytes dropped: %u\n", count, interrupts > 0 ? "yes" : "no",
         dropped);
  return interrupts > 0 ? 0 : 1;
}
