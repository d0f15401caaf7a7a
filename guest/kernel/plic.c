/*
 * External interrupts through the PLIC (RISC-V Platform-Level Interrupt Controller specification 1.0).
 * The device tree's `riscv,plic0` node gives its registers; this kernel uses the supervisor context of
 * the boot hart, which on QEMU virt and on rvisor's boards and domains is context 2·hart + 1 (the tree's
 * interrupts-extended lists M and S for each hart in that order).
 *
 *   +0x000000 + 4·source        priority (0 = never; every registered source gets 1)
 *   +0x002000 + 0x80·context    enable bits, one per source
 *   +0x200000 + 0x1000·context  threshold (0: every priority ≥ 1 interrupts), +4 claim/complete
 *
 * A supervisor external interrupt (scause 9, or the PV event of the same number) runs irq_dispatch:
 * claim a source, run its handler, complete it, until claim says 0 — so sources raised meanwhile are
 * not lost.
 */
#include "kernel.h"

static volatile uint32_t *plic; /* the registers, in the I/O window; 0 without a PLIC */
static uint32_t plic_context;
static uint32_t plic_sources;

static struct {
  irq_handler_t handler;
  void *arg;
  uint32_t count;
} irqs[NIRQ];

#define PRIORITY(src) (plic[(src)])
#define ENABLE_WORD(ctx, src) (plic[(0x2000u + 0x80u * (ctx)) / 4 + (src) / 32])
#define THRESHOLD(ctx) (plic[(0x200000u + 0x1000u * (ctx)) / 4])
#define CLAIM(ctx) (plic[(0x200000u + 0x1000u * (ctx)) / 4 + 1])

void plic_init(void) {
  const struct fdt_device *d = fdt_find_compatible("riscv,plic0", 0);
  if (d == 0) d = fdt_find_compatible("sifive,plic-1.0.0", 0);
  if (d == 0) return;
  plic_context = 2 * boot_hartid + 1;
  uint32_t span = 0x200000u + 0x1000u * (plic_context + 1);
  if (d->size < span) return; /* no supervisor context for this hart */
  plic = vm_map_io((uintptr_t)d->base, span);
  plic_sources = NIRQ;
  THRESHOLD(plic_context) = 0;
}

int irq_register(uint32_t source, irq_handler_t handler, void *arg) {
  if (plic == 0 || source == 0 || source >= plic_sources || irqs[source].handler != 0) return -1;
  irqs[source].handler = handler;
  irqs[source].arg = arg;
  PRIORITY(source) = 1;
  ENABLE_WORD(plic_context, source) |= 1u << (source % 32);
  return 0;
}

void irq_dispatch(void) {
  if (plic == 0) return;
  for (;;) {
    uint32_t source = CLAIM(plic_context);
    if (source == 0) return;
    if (source < NIRQ && irqs[source].handler != 0) {
      irqs[source].count++;
      irqs[source].handler(irqs[source].arg);
    }
    CLAIM(plic_context) = source; /* complete */
  }
}

uint32_t irq_count(uint32_t source) { return source < NIRQ ? irqs[source].count : 0; }
