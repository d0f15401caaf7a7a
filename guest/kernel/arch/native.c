/*
 * The arch interface on the real (or faithfully emulated) machine: CSR instructions, sfence.vma, wfi,
 * and SBI calls to the firmware for the timer, the console and power-off (those in sbi-common.c, shared
 * with the PARAVIRT build). The trap vector and sret are in entry.S.
 */
#include <csr.h>

#include "../kernel.h"
#include "arch.h"
#include "sbi-common.h"

extern char arch_trap_vector[];

void arch_init(int cpu) {
  (void)cpu; /* every CSR here is the calling hart's own */
  /* sscratch = 0 tells the trap vector it interrupted the kernel (see entry.S). */
  csr_write(sscratch, 0);
  csr_write(stvec, (uintptr_t)arch_trap_vector);
  csr_clear(sstatus, MSTATUS_SIE | MSTATUS_SUM);
  csr_write(sie, SIP_SSIP | SIP_STIP | MIP_SEIP); /* IPIs, timer, external interrupts through the PLIC */
  sbi_common_init();
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
   * wfi with SIE = 0: it wakes on any interrupt pending and enabled in sie, whatever SIE says (the
   * privileged spec), and at once when one already is — so an IPI sent after the caller looked for work
   * is not lost, as it would be if SIE were on first (taken, then a wfi waiting for the next one).
   * Then SIE on for a moment takes the interrupt: trap_handler runs.
   */
  wfi();
  arch_irq_enable();
  arch_irq_disable();
}

void arch_ipi_clear(void) { csr_clear(sip, SIP_SSIP); }

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

void arch_pagetable_free(uintptr_t pa) { kfree(pa); }

/* Stores take effect at once: there is nothing to batch. */
void arch_lazy_mmu_begin(void) {}
void arch_lazy_mmu_end(void) {}
void arch_lazy_mmu_flush(void) {}

void arch_user_access_begin(void) { csr_set(sstatus, MSTATUS_SUM); }
void arch_user_access_end(void) { csr_clear(sstatus, MSTATUS_SUM); }

/* A plain read of sstatus: under trap-and-emulate it must trap to be right (see ktest's `sum`). */
int arch_user_access_enabled(void) { return (csr_read(sstatus) & MSTATUS_SUM) != 0; }

int arch_user_copy_physical(void) { return 0; }
