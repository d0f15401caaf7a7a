/*
 * The arch interface: every privileged operation the kernel performs, and nothing else, goes through
 * these functions — CSR accesses, sfence.vma, wfi, sret, satp switches, page-table stores and the
 * firmware (SBI) services. The rest of the kernel is plain C over memory, so a paravirtualized build
 * replaces this one interface (as Linux's pv_ops does) and leaves every other file unchanged.
 *
 * arch/native.c and arch/entry.S implement it for the bare machine (or an unmodified-guest hypervisor):
 * the real instructions and SBI calls. arch/pv.c and arch/pv-entry.S implement it in the PARAVIRT build,
 * through rvisor's PV interface (docs/pv-abi.md) instead of privileged instructions. Both builds share
 * arch/head.S (_start) and arch/sbi-common.c (time, timer, console, power-off).
 *
 * Interrupts: the kernel runs with sstatus.SIE = 0 except inside arch_idle(); user code is always
 * interruptible (S-mode interrupts are taken from U-mode whatever SIE says).
 *
 * CPUs: everything here acts on the calling hart (its CSRs, its timer, its PV registration). In the
 * kernel, tp points at the calling CPU's struct cpu (kernel.h); user code owns tp, so a trap from user
 * mode restores it from regs[0] of the trap frame, where arch_trap_return left it.
 */
#ifndef KERNEL_ARCH_H
#define KERNEL_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "../riscv.h"

/*
 * The registers of an interrupted context, saved by the trap vector on the kernel stack. Offsets are
 * fixed: arch/entry.S stores the fields at 4 * index.
 */
struct trapframe {
  uint32_t regs[32]; /* x0..x31 by number; regs[0] is unused, regs[2] is the interrupted sp */
  uint32_t epc;      /* sepc: where the context resumes */
  uint32_t status;   /* sstatus at the trap: SPP tells whether it came from U-mode */
  uint32_t cause;    /* scause */
  uint32_t tval;     /* stval */
};
#define TF_RA 1
#define TF_SP 2
#define TF_A0 10
#define TF_A1 11
#define TF_A2 12
#define TF_A7 17

/* ---- start-up ---------------------------------------------------------------------------------- */
/*
 * Installs the trap vector, enables the supervisor timer and software (IPI) interrupts, clears SUM: on
 * every CPU as it comes online (the boot CPU first), with tp already set; `cpu` is its number (the hart
 * id, < NCPU).
 */
void arch_init(int cpu);

/* ---- traps --------------------------------------------------------------------------------------- */
/* Implemented by the kernel (trap.c): called by the trap vector with the saved context. */
void trap_handler(struct trapframe *tf);
/* Whether the trapped context was running in U-mode. */
int arch_trap_from_user(const struct trapframe *tf);
/* Fills a trap frame that enters U-mode at `pc` with stack `sp` and interrupts enabled. */
void arch_trapframe_init_user(struct trapframe *tf, uint32_t pc, uint32_t sp);
/*
 * Restores `tf` and returns to the context it describes (sret); never returns. Returning to user mode,
 * it leaves tp (the CPU) in tf->regs[0] for the next trap from there.
 */
__attribute__((noreturn)) void arch_trap_return(struct trapframe *tf);

/* ---- interrupts -------------------------------------------------------------------------------- */
void arch_irq_enable(void);
void arch_irq_disable(void);
/*
 * Waits for an interrupt and handles it (trap_handler runs) before returning; called with interrupts
 * off, and returns with them off. An interrupt that became pending since they were turned off (an IPI
 * sent after the caller last looked for work) ends the wait at once: it is never lost in between.
 */
void arch_idle(void);
/*
 * Inter-processor interrupts (SBI IPI): arch_ipi_send gives hart `hartid` a supervisor software
 * interrupt; arch_ipi_clear acknowledges the calling hart's (clears sip.SSIP, or its PV form), as the
 * trap handler does on taking one.
 */
void arch_ipi_send(unsigned long hartid);
void arch_ipi_clear(void);

/* ---- address spaces ---------------------------------------------------------------------------- */
/* Makes the page table rooted at physical `root` the current one (Sv32, ASID 0) and flushes the TLB. */
void arch_set_satp(uintptr_t root);
void arch_flush_tlb(void);
void arch_flush_tlb_page(uintptr_t va);
/* Stores a page-table entry: every write to a page table goes through here. */
void arch_set_pte(pte_t *ptep, pte_t pte);
/*
 * A zeroed page becomes a page table (root or leaf level), or stops being one before it is freed.
 * Natively nothing needs doing; a paravirtualized kernel tells the hypervisor (Xen's pin/unpin).
 */
void arch_pagetable_new(uintptr_t pa, int root);
void arch_pagetable_release(uintptr_t pa, int root);
/*
 * Gives a released page-table page back to the page allocator (kfree): natively at once; a
 * paravirtualized kernel may wait until the hypervisor has dropped it as a page table, since until then
 * it stays read-only.
 */
void arch_pagetable_free(uintptr_t pa);
/*
 * Lazy MMU mode (Linux's arch_enter/leave_lazy_mmu_mode), around code that writes many entries: inside
 * it arch_set_pte may queue its stores and apply them as one batch — at arch_lazy_mmu_end at the latest,
 * and before any other arch call that could depend on them. Sections nest (the outermost end applies).
 * Inside a section, an entry stored in it may still read as its old value: call arch_lazy_mmu_flush()
 * before reading one back. arch_lazy_mmu_flush also completes whatever else the arch has queued, such as
 * page-table pages waiting to be freed (arch_pagetable_free). Natively all three do nothing; the
 * PARAVIRT build batches its hypercalls.
 */
void arch_lazy_mmu_begin(void);
void arch_lazy_mmu_end(void);
void arch_lazy_mmu_flush(void);
/* Opens and closes the window in which the kernel may touch user pages (sstatus.SUM). */
void arch_user_access_begin(void);
void arch_user_access_end(void);
/* Whether that window is open now (natively: sstatus.SUM, read back). */
int arch_user_access_enabled(void);
/*
 * Whether copyin/copyout should reach user pages at their physical addresses, through the kernel's
 * identity map of RAM (from the same page-table lookups that check them), instead of through the
 * window: natively 0, the window being one CSR write each way; 1 where opening it costs more.
 */
int arch_user_copy_physical(void);

/* ---- time -------------------------------------------------------------------------------------- */
/* The `time` counter (ticks of the device tree's timebase-frequency). */
uint64_t arch_time(void);
/* Asks for a supervisor timer interrupt once arch_time() >= when (and clears a pending one). */
void arch_set_timer(uint64_t when);

/* ---- firmware services -------------------------------------------------------------------------- */
/* Writes all `n` bytes to the console. */
void arch_console_write(const char *buf, size_t n);
/* Reads up to `n` bytes that are waiting on the console without blocking; returns how many. */
size_t arch_console_read(char *buf, size_t n);
/* Powers the machine off: exit status 0 when `failed` is 0, a system failure otherwise. */
__attribute__((noreturn)) void arch_shutdown(int failed);
/* Restarts the machine (a cold reboot). */
__attribute__((noreturn)) void arch_reboot(void);
/*
 * Signals event channel `port` of rvisor's hypervisor (the store ring's backend: docs/store-ring.md);
 * returns 0, or -1 when there is no such port (or no such hypervisor).
 */
int arch_event_send(uint32_t port);

/* ---- CPUs (SBI HSM) ------------------------------------------------------------------------------ */
/*
 * Starts stopped hart `hartid` at physical `entry` in S-mode, paging off, a0 = hartid, a1 = `opaque`
 * (the kernel's secondary entry is head.S's _start_secondary); returns an SBI error code (0: started).
 */
long arch_cpu_start(unsigned long hartid, uintptr_t entry, unsigned long opaque);
/* Stops the calling hart; it runs again only from a new arch_cpu_start. */
__attribute__((noreturn)) void arch_cpu_stop(void);
/* The HSM state of `hartid` (SBI_HSM_STATE_*), or a negative SBI error. */
long arch_cpu_status(unsigned long hartid);

#endif
