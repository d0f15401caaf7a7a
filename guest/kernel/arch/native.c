/*
 * The arch interface on the real (or faithfully emulated) machine: CSR instructions, sfence.vma, wfi,
 * and SBI calls to the firmware for the timer, the console and power-off. The trap vector and sret
 * are in entry.S.
 */
#include <csr.h>
#include <sbi.h>

#include "arch.h"

extern char arch_trap_vector[];

static int have_dbcn; /* the firmware has the debug console extension (SBI 2.0) */

void arch_init(void) {
  /* sscratch = 0 tells the trap vector it interrupted the kernel (see entry.S). */
  csr_write(sscratch, 0);
  csr_write(stvec, (uintptr_t)arch_trap_vector);
  csr_clear(sstatus, MSTATUS_SIE | MSTATUS_SUM);
  csr_write(sie, SIP_STIP);
  have_dbcn = sbi_probe_extension(SBI_EXT_DBCN) > 0;
}

int arch_trap_from_user(const struct trapframe *tf) { return (tf->status & SSTATUS_SPP) == 0; }

void arch_trapframe_init_user(struct trapframe *tf, uint32_t pc, uint32_t sp) {
  for (int i = 0; i < 32; i++) tf->regs[i] = 0;
  tf->regs[TF_SP] = sp;
  tf->epc = pc;
  /* sret to U-mode (SPP = 0) with SIE = 1 afterwards (SPIE); SUM stays clear. */
  tf->status = (csr_read(sstatus) & ~(SSTATUS_SPP | MSTATUS_SUM | SSTATUS_SIE)) | SSTATUS_SPIE;
  tf->cause = 0;
  tf->tval = 0;
}

void arch_irq_enable(void) { csr_set(sstatus, SSTATUS_SIE); }
void arch_irq_disable(void) { csr_clear(sstatus, SSTATUS_SIE); }

void arch_idle(void) {
  /*
   * wfi with SIE = 0 would wake but not trap; enabling SIE around it lets the pending interrupt be
   * taken (and handled by trap_handler) before we turn interrupts off again.
   */
  arch_irq_enable();
  wfi();
  arch_irq_disable();
}

void arch_set_satp(uintptr_t root) {
  csr_write(satp, SATP_MODE_SV32 | (root >> 12));
  sfence_vma();
}

void arch_flush_tlb(void) { sfence_vma(); }

void arch_flush_tlb_page(uintptr_t va) { __asm__ volatile("sfence.vma %0, zero" ::"r"(va) : "memory"); }

void arch_set_pte(pte_t *ptep, pte_t pte) { *(volatile pte_t *)ptep = pte; }

void arch_pagetable_new(uintptr_t pa, int root) {
  (void)pa;
  (void)root;
}

void arch_pagetable_release(uintptr_t pa, int root) {
  (void)pa;
  (void)root;
}

void arch_user_access_begin(void) { csr_set(sstatus, MSTATUS_SUM); }
void arch_user_access_end(void) { csr_clear(sstatus, MSTATUS_SUM); }

uint64_t arch_time(void) { return rdtime64(); }

void arch_set_timer(uint64_t when) { sbi_set_timer(when); }

void arch_console_write(const char *buf, size_t n) {
  while (n > 0) {
    if (!have_dbcn) {
      sbi_console_putchar((unsigned char)*buf++);
      n--;
      continue;
    }
    /* DBCN takes a physical address: the kernel is identity-mapped, so its addresses are physical. */
    struct sbiret r = sbi_debug_console_write(n, (uintptr_t)buf, 0);
    if (r.error != SBI_SUCCESS) return;
    buf += r.value;
    n -= (size_t)r.value;
  }
}

size_t arch_console_read(char *buf, size_t n) {
  if (!have_dbcn) {
    size_t got = 0;
    int c;
    while (got < n && (c = sbi_console_getchar()) >= 0) buf[got++] = (char)c;
    return got;
  }
  struct sbiret r = sbi_debug_console_read(n, (uintptr_t)buf, 0);
  return r.error == SBI_SUCCESS ? (size_t)r.value : 0;
}

void arch_shutdown(int failed) {
  sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN, failed ? SBI_SRST_REASON_SYSTEM_FAILURE : SBI_SRST_REASON_NONE);
  sbi_shutdown(); /* a firmware without SRST */
}
