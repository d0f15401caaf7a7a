/*
 * The arch interface in the PARAVIRT build: the kernel runs deprivileged under rvisor's hypervisor and
 * asks it, through the PV interface (pv.h, docs/pv-abi.md), for everything the native build does with a
 * privileged instruction. The trap vector is in pv-entry.S; time, timer, console and power-off are the
 * same SBI calls as natively (sbi-common.c).
 *
 *   native                        PARAVIRT
 *   stvec, sscratch               PV_SET_TRAP_HANDLER, shared.kernel_sp (per CPU: its own page and entry)
 *   sstatus.SIE                   shared.mask (no exit; PV_EVENT_CHECK if an event waits on unmasking)
 *   wfi                           PV_BLOCK
 *   sret                          PV_IRET
 *   satp + sfence.vma             PV_SET_BASEPTR
 *   a PTE store                   PV_MMU_UPDATE (batched in lazy MMU mode)
 *   nothing                       PV_PIN_TABLE / PV_UNPIN_TABLE for page-table pages
 *   sstatus.SUM                   PV_USER_ACCESS
 *
 * Page tables hold guest-physical frame numbers (the hypervisor shadows them), and the kernel is
 * identity-mapped, so every address handed to the hypervisor is simply the kernel's pointer.
 */
#include <csr.h>
#include <sbi.h>
#include <stdio.h>

#include "../kernel.h"
#include "pv.h"
#include "sbi-common.h"

/* pv-entry.S: one trap entry per CPU, PV_TRAP_ENTRY_SIZE bytes apart, each knowing its CPU's page. */
extern char pv_trap_entries[];

/*
 * The pages registered with PV_REGISTER_SHARED, one per CPU (the interface is per vCPU): the whole page
 * is the hypervisor's to read and write.
 */
union pv_shared_page {
  struct pv_shared fields;
  uint8_t bytes[PAGE_SIZE];
};
union pv_shared_page pv_shared_pages[NCPU] __attribute__((aligned(PAGE_SIZE))); /* pv-entry.S too */

/* What the PV layer keeps per CPU: every call below acts on the calling vCPU. */
struct pv_cpu {
  uint32_t mmu_queued;
  int lazy_depth;
  int user_access; /* the state PV_USER_ACCESS was last given: the kernel knows it, nothing to read */
};
static struct pv_cpu pv_cpus[NCPU];

static volatile struct pv_shared *shared(void) { return &pv_shared_pages[mycpu()->id].fields; }
static struct pv_cpu *pv_cpu(void) { return &pv_cpus[mycpu()->id]; }

_Static_assert(__builtin_offsetof(struct pv_shared, status) == PV_SHARED_STATUS, "pv.h offsets");
_Static_assert(__builtin_offsetof(struct pv_shared, saved_sp) == PV_SHARED_SAVED_SP, "pv.h offsets");
_Static_assert(__builtin_offsetof(struct pv_shared, kernel_sp) == PV_SHARED_KERNEL_SP, "pv.h offsets");
_Static_assert(sizeof(struct trapframe) == 36 * 4, "PV_IRET's frame: 32 registers, epc, status (asm.h)");

/* Any refusal is a kernel bug (or a hypervisor one): say which call and why, then stop. */
static void check(struct pv_ret r, const char *call) {
  if (r.error == SBI_SUCCESS) return;
  printf("pv: %s refused: SBI error %ld\n", call, r.error);
  panic(call);
}

/* ---- page-table updates, batched ------------------------------------------------------------------ */
/*
 * arch_set_pte queues a request; the queue goes to the hypervisor in one PV_MMU_UPDATE when it is full,
 * at the end of the outermost lazy section, at once outside one, and before every arch call that might
 * depend on the tables (mmu_flush's callers). One queue per CPU, each page-aligned: exactly one page.
 */
static struct pv_mmu_request mmu_queues[NCPU][PV_MMU_UPDATE_MAX] __attribute__((aligned(PAGE_SIZE)));

static void mmu_flush(void) {
  struct pv_cpu *pc = pv_cpu();
  uint32_t n = pc->mmu_queued;
  if (n == 0) return;
  pc->mmu_queued = 0;
  struct pv_mmu_request *mmu_queue = mmu_queues[mycpu()->id];
  struct pv_ret r = pv_call2(PV_MMU_UPDATE, (uintptr_t)mmu_queue, n);
  if (r.error == SBI_SUCCESS && (uint32_t)r.value == n) return;
  uint32_t bad = (uint32_t)r.value < n ? (uint32_t)r.value : 0;
  printf("pv: PV_MMU_UPDATE refused request %lu of %lu (entry %08lx = %08lx): SBI error %ld\n",
         (unsigned long)bad, (unsigned long)n, (unsigned long)mmu_queue[bad].ptr,
         (unsigned long)mmu_queue[bad].val, r.error);
  panic("PV_MMU_UPDATE");
}

void arch_set_pte(pte_t *ptep, pte_t pte) {
  struct pv_cpu *pc = pv_cpu();
  mmu_queues[mycpu()->id][pc->mmu_queued++] = (struct pv_mmu_request){(uintptr_t)ptep, pte};
  if (pc->lazy_depth == 0 || pc->mmu_queued == PV_MMU_UPDATE_MAX) mmu_flush();
}

void arch_lazy_mmu_begin(void) { pv_cpu()->lazy_depth++; }

void arch_lazy_mmu_end(void) {
  struct pv_cpu *pc = pv_cpu();
  if (pc->lazy_depth <= 0) panic("arch_lazy_mmu_end without arch_lazy_mmu_begin");
  if (--pc->lazy_depth == 0) mmu_flush();
}

void arch_lazy_mmu_flush(void) { mmu_flush(); }

/* ---- start-up ------------------------------------------------------------------------------------- */
void arch_init(int cpu) {
  sbi_common_init();
  if (sbi_probe_extension(SBI_EXT_RVISOR_PV) <= 0)
    panic("no rvisor PV interface (SBI extension 0x09525650): this kernel runs only in pv mode");
  /* A CPU coming (back) online starts afresh: nothing queued, no section open, the user window shut. */
  pv_cpus[cpu] = (struct pv_cpu){0};
  /* Events stay masked, as sstatus.SIE = 0 natively, from the moment the page is registered. */
  pv_shared_pages[cpu].fields.mask = 1;
  check(pv_call1(PV_REGISTER_SHARED, (uintptr_t)&pv_shared_pages[cpu]), "PV_REGISTER_SHARED");
  uintptr_t entry = (uintptr_t)pv_trap_entries + (uintptr_t)cpu * PV_TRAP_ENTRY_SIZE;
  check(pv_call1(PV_SET_TRAP_HANDLER, entry), "PV_SET_TRAP_HANDLER");
}

/* ---- traps ---------------------------------------------------------------------------------------- */
int arch_trap_from_user(const struct trapframe *tf) { return (tf->status & SSTATUS_SPP) == 0; }

void arch_trapframe_init_user(struct trapframe *tf, uint32_t pc, uint32_t sp) {
  /* PV_IRET to user mode (SPP = 0) with events unmasked (SPIE); no other status bit means anything. */
  *tf = (struct trapframe){.epc = pc, .status = SSTATUS_SPIE};
  tf->regs[TF_SP] = sp;
}

void arch_trap_return(struct trapframe *tf) {
  mmu_flush();
  /* Back to user mode: the next trap from there starts on this frame and finds the CPU in it (pv-entry.S). */
  if (arch_trap_from_user(tf)) {
    shared()->kernel_sp = (uintptr_t)tf;
    tf->regs[0] = (uint32_t)(uintptr_t)mycpu();
  }
  check(pv_call1(PV_IRET, (uintptr_t)tf), "PV_IRET");
  panic("PV_IRET returned");
}

/* ---- interrupts: the mask word, no exit ------------------------------------------------------------ */
void arch_irq_enable(void) {
  mmu_flush(); /* an event's handler may switch address spaces */
  volatile struct pv_shared *sh = shared();
  sh->mask = 0;
  /* The unmasking store before the pending load (the hypervisor may set pending from another hart). */
  __asm__ volatile("fence rw, rw" ::: "memory");
  if (sh->pending != 0) pv_call0(PV_EVENT_CHECK);
}

void arch_irq_disable(void) { shared()->mask = 1; }

void arch_idle(void) {
  mmu_flush();
  /* Unmasks, waits for an event and delivers it (trap_handler runs) before returning, unmasked. */
  pv_call0(PV_BLOCK);
  shared()->mask = 1;
}

/* ---- address spaces and page tables --------------------------------------------------------------- */
void arch_set_satp(uintptr_t root) {
  mmu_flush();
  check(pv_call1(PV_SET_BASEPTR, root), "PV_SET_BASEPTR");
}

/*
 * No TLB to flush: the hypervisor applies every PV_MMU_UPDATE to the tables the hardware walks (its
 * shadows) synchronously, flushing what it must itself, and PV_SET_BASEPTR needs no flush either; the
 * guest cannot even name a TLB. A queued update is not yet in the guest's own table either, so nothing
 * can see it early.
 */
void arch_flush_tlb(void) {}
void arch_flush_tlb_page(uintptr_t va) { (void)va; }

void arch_pagetable_new(uintptr_t pa, int root) {
  /* The queue first: it may unmap this very frame from a user table, which pinning would refuse. */
  mmu_flush();
  check(pv_call2(PV_PIN_TABLE, pa, root ? 1 : 0), "PV_PIN_TABLE");
}

void arch_pagetable_release(uintptr_t pa, int root) {
  (void)root;
  mmu_flush(); /* updates into this table are refused once it is unpinned */
  check(pv_call1(PV_UNPIN_TABLE, pa), "PV_UNPIN_TABLE");
}

void arch_user_access_begin(void) {
  mmu_flush(); /* the accesses go through the user's mappings */
  check(pv_call1(PV_USER_ACCESS, 1), "PV_USER_ACCESS");
  pv_cpu()->user_access = 1;
}

void arch_user_access_end(void) {
  check(pv_call1(PV_USER_ACCESS, 0), "PV_USER_ACCESS");
  pv_cpu()->user_access = 0;
}

int arch_user_access_enabled(void) { return pv_cpu()->user_access; }
