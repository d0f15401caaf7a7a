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
 *   satp + sfence.vma             PV_SET_BASEPTR (queued)
 *   a PTE store                   a plain store until the table is pinned; PV_MMU_UPDATE (queued) after
 *   nothing                       PV_PIN_TABLE / PV_UNPIN_TABLE for page-table pages (queued)
 *   sstatus.SUM                   PV_USER_ACCESS (copyin/copyout go through the identity map instead)
 *
 * The queued calls go to the hypervisor as one PV_MULTICALL, with the PV_IRET, PV_BLOCK or
 * PV_USER_ACCESS that needs them done: most exits carry a page-table batch for free. That needs a
 * kernel alone on its machine: with more than one CPU present each call is sent at once (below).
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

static volatile struct pv_shared *shared(void) { return &pv_shared_pages[mycpu()->id].fields; }

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

/* ---- the batch: page-table work and the call that follows it, in one exit ---------------------- */
/*
 * Everything the kernel asks of the hypervisor's MMU — PV_MMU_UPDATE requests, PV_PIN_TABLE,
 * PV_UNPIN_TABLE, PV_SET_BASEPTR — is queued, in order, as entries of one PV_MULTICALL (Xen's multicall),
 * and sent together with the call that needs it done: the PV_IRET back to user mode, PV_BLOCK,
 * PV_USER_ACCESS. A context switch, a fork's new address space or an exit's teardown therefore costs no
 * exit of its own. The batch also goes when it is full, at the end of the outermost lazy section if it
 * holds updates, and at once for an update outside one (arch.h: such a store reads back at once).
 *
 * Only a kernel alone on its machine (one CPU present) holds calls back like this. With more CPUs, one
 * CPU's switch away from an address space still queued when another CPU, taking the big lock, unpins
 * that address space would be refused by the hypervisor (Xen's guests make other CPUs drop such a table
 * first, by IPI; this kernel does not): so there each call but the updates of a lazy section is sent at
 * once, and every queue is empty whenever the lock changes hands.
 *
 * Page tables are ordinary memory until they are pinned, as in Xen: a new address space is built with
 * plain stores (uvm_create, exec, fork's copy), and pinned — its leaf tables, then its root — when it is
 * first made current. Only stores into pinned tables are requests. `pinned` says which frames are (or
 * will be, once the queued calls are done) pinned page tables; the big lock guards it.
 *
 * Tables whose PV_UNPIN_TABLE is queued stay read-only until the batch is done, so they cannot go back to
 * kalloc (which writes into a free page) before that: arch_pagetable_free marks them, the batch moves
 * them to `to_free` as it is sent, and the CPU frees them at its next page-table call (holding the lock,
 * so the batch is done: the CPU runs kernel code again).
 */
#define UNPIN_MAX 32

/* What the PV layer keeps per CPU: every call below acts on the calling vCPU. */
struct pv_cpu {
  uint32_t mmu_queued;
  uint32_t ncalls;
  int lazy_depth;
  int user_access; /* the state PV_USER_ACCESS was last given: the kernel knows it, nothing to read */
  uint32_t nunpinning;
  uint32_t nto_free;
  /* One entry is always left for the call the batch is sent with. */
  struct pv_multicall_entry calls[PV_MULTICALL_MAX];
  uintptr_t unpinning[UNPIN_MAX];
  uint8_t free_wanted[UNPIN_MAX];
  uintptr_t to_free[UNPIN_MAX];
};
static struct pv_cpu pv_cpus[NCPU];
/* One request queue per CPU, each page-aligned: exactly one page. */
static struct pv_mmu_request mmu_queues[NCPU][PV_MMU_UPDATE_MAX] __attribute__((aligned(PAGE_SIZE)));

static struct pv_cpu *pv_cpu(void) { return &pv_cpus[mycpu()->id]; }

/* Whether calls may wait for the next exit: the kernel is alone on its machine. */
static int batching(void) { return cpu_present_count() == 1; }

/* A bit per 4 KiB frame of 0x8000_0000..0xffff_ffff (where vm_init requires RAM to be). */
static uint32_t pinned[0x80000000u / PAGE_SIZE / 32];

static uint32_t frame_bit(uintptr_t pa) {
  if (pa < USER_END) panic("pv: a page table below RAM");
  return (uint32_t)((pa - USER_END) / PAGE_SIZE);
}
static int is_pinned(uintptr_t pa) { return (pinned[frame_bit(pa) / 32] >> (frame_bit(pa) % 32)) & 1; }
static void set_pinned(uintptr_t pa, int on) {
  uint32_t b = frame_bit(pa);
  if (on) pinned[b / 32] |= 1u << (b % 32);
  else pinned[b / 32] &= ~(1u << (b % 32));
}

/* Frees the tables this CPU's sent batches unpinned (it holds the lock, and runs again: they are done). */
static void reap(struct pv_cpu *pc) {
  uint32_t n = pc->nto_free;
  pc->nto_free = 0;
  for (uint32_t i = 0; i < n; i++) kfree(pc->to_free[i]);
}

static const char *const pv_names[] = {"REGISTER_SHARED", "SET_TRAP_HANDLER", "MMU_UPDATE", "PIN_TABLE",
                                       "UNPIN_TABLE", "SET_BASEPTR", "IRET", "BLOCK", "USER_ACCESS",
                                       "EVENT_CHECK", "MULTICALL"};
static const char *pv_name(uint32_t fid) { return fid < sizeof pv_names / sizeof *pv_names ? pv_names[fid] : "?"; }

/*
 * Sends this CPU's batch, ending with call `fid` (a0, a1) when fid >= 0, and returns that call's result;
 * any refusal is a kernel bug and panics, saying which entry and why. The queues are emptied before the
 * ecall: an event delivered as it returns runs the trap handler, which may start a batch of its own.
 * Frees nothing: it may run without the lock (the PV_IRET and PV_BLOCK paths).
 */
static struct pv_ret submit(struct pv_cpu *pc, long fid, uintptr_t a0, uintptr_t a1) {
  uint32_t n = pc->ncalls;
  if (n == 0) {
    if (fid < 0) return (struct pv_ret){SBI_SUCCESS, 0};
    struct pv_ret r = pv_call2((unsigned long)fid, a0, a1); /* nothing queued: the usual case */
    if (r.error != SBI_SUCCESS) {
      printf("pv: %s refused: SBI error %ld\n", pv_name((uint32_t)fid), r.error);
      panic(pv_name((uint32_t)fid));
    }
    return r;
  }
  struct pv_multicall_entry *calls = pc->calls;
  if (fid >= 0) calls[n++] = (struct pv_multicall_entry){(uint32_t)fid, a0, a1, 0};
  pc->ncalls = 0;
  pc->mmu_queued = 0;
  for (uint32_t i = 0; i < pc->nunpinning; i++)
    if (pc->free_wanted[i]) pc->to_free[pc->nto_free++] = pc->unpinning[i];
  pc->nunpinning = 0;
  struct pv_ret r;
  uint32_t failed = 0;
  if (n == 1) {
    r = pv_call2(calls[0].fid, calls[0].arg0, calls[0].arg1); /* one call needs no multicall */
  } else {
    r = pv_call2(PV_MULTICALL, (uintptr_t)calls, n);
    failed = (uint32_t)r.value;
    if (r.error == SBI_SUCCESS) r.value = calls[n - 1].result;
  }
  if (r.error != SBI_SUCCESS) {
    const struct pv_multicall_entry *e = &calls[failed < n ? failed : 0];
    printf("pv: %s refused (entry %lu of %lu): SBI error %ld\n", pv_name(e->fid), (unsigned long)failed,
           (unsigned long)n, r.error);
    if (e->fid == PV_MMU_UPDATE) {
      uint32_t done = n > 1 ? e->result : (uint32_t)r.value;
      const struct pv_mmu_request *q = (const struct pv_mmu_request *)(uintptr_t)e->arg0 + done;
      printf("pv: request %lu of %lu: entry %08lx = %08lx\n", (unsigned long)done, (unsigned long)e->arg1,
             (unsigned long)q->ptr, (unsigned long)q->val);
    }
    panic(pv_name(e->fid));
  }
  return r;
}

/* Sends this CPU's batch now (holding the lock) and frees what it unpinned. */
static void flush(struct pv_cpu *pc) {
  submit(pc, -1, 0, 0);
  reap(pc);
}

/* Appends call `fid` to the batch (sending the batch first if it is full; at once without batching). */
static void queue_call(struct pv_cpu *pc, uint32_t fid, uintptr_t a0, uintptr_t a1) {
  if (pc->ncalls == PV_MULTICALL_MAX - 1) flush(pc);
  pc->calls[pc->ncalls++] = (struct pv_multicall_entry){fid, a0, a1, 0};
  if (!batching()) flush(pc);
}

/* Pins the table at `pa` unless it is: a root's leaf tables first, since a root may only point at pinned ones. */
static void pin(struct pv_cpu *pc, uintptr_t pa, int level) {
  if (is_pinned(pa)) return;
  if (level == 1) {
    /* Only user space has leaf tables: the kernel's half holds megapages (vm_init), and a pointer there
       would make the hypervisor refuse the root, loudly. */
    const pte_t *root = (const pte_t *)pa;
    for (uint32_t i = 0; i < VPN1(USER_END); i++)
      if ((root[i] & PTE_V) && !(root[i] & PTE_LEAF_BITS)) pin(pc, PTE_TO_PA(root[i]), 0);
  }
  set_pinned(pa, 1);
  queue_call(pc, PV_PIN_TABLE, pa, level);
}

void arch_set_pte(pte_t *ptep, pte_t pte) {
  uintptr_t table = PAGE_ROUND_DOWN((uintptr_t)ptep);
  if (!is_pinned(table)) {
    *(volatile pte_t *)ptep = pte; /* not a live table yet: ordinary memory */
    return;
  }
  struct pv_cpu *pc = pv_cpu();
  if ((pte & PTE_V) && !(pte & PTE_LEAF_BITS)) pin(pc, PTE_TO_PA(pte), 0); /* a new leaf table, live root */
  if (pc->mmu_queued == PV_MMU_UPDATE_MAX || pc->ncalls == PV_MULTICALL_MAX - 1) flush(pc);
  struct pv_mmu_request *q = &mmu_queues[mycpu()->id][pc->mmu_queued++];
  *q = (struct pv_mmu_request){(uintptr_t)ptep, pte};
  struct pv_multicall_entry *last = pc->ncalls > 0 ? &pc->calls[pc->ncalls - 1] : 0;
  if (last && last->fid == PV_MMU_UPDATE && last->arg0 + 8 * last->arg1 == (uintptr_t)q)
    last->arg1++; /* the same run of requests */
  else
    pc->calls[pc->ncalls++] = (struct pv_multicall_entry){PV_MMU_UPDATE, (uintptr_t)q, 1, 0};
  if (pc->lazy_depth == 0 || pc->mmu_queued == PV_MMU_UPDATE_MAX) flush(pc);
}

void arch_lazy_mmu_begin(void) { pv_cpu()->lazy_depth++; }

void arch_lazy_mmu_end(void) {
  struct pv_cpu *pc = pv_cpu();
  if (pc->lazy_depth <= 0) panic("arch_lazy_mmu_end without arch_lazy_mmu_begin");
  if (--pc->lazy_depth == 0 && pc->mmu_queued > 0) flush(pc);
}

void arch_lazy_mmu_flush(void) { flush(pv_cpu()); }

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
  /* Back to user mode: the next trap from there starts on this frame and finds the CPU in it (pv-entry.S). */
  if (arch_trap_from_user(tf)) {
    shared()->kernel_sp = (uintptr_t)tf;
    tf->regs[0] = (uint32_t)(uintptr_t)mycpu();
  }
  submit(pv_cpu(), PV_IRET, (uintptr_t)tf, 0); /* the batch, then the return: one exit */
  panic("PV_IRET returned");
}

/* ---- interrupts: the mask word, no exit ------------------------------------------------------------ */
void arch_irq_enable(void) {
  submit(pv_cpu(), -1, 0, 0); /* an event's handler may switch address spaces (may run unlocked: no reap) */
  volatile struct pv_shared *sh = shared();
  sh->mask = 0;
  /* The unmasking store before the pending load (the hypervisor may set pending from another hart). */
  __asm__ volatile("fence rw, rw" ::: "memory");
  if (sh->pending != 0) pv_call0(PV_EVENT_CHECK);
}

void arch_irq_disable(void) { shared()->mask = 1; }

/*
 * The software event (an IPI: SBI IPI raised it) is acknowledged in the shared page, as sip.SSIP
 * natively: the guest clears its own pending bit, atomically, since the hypervisor sets bits there.
 */
void arch_ipi_clear(void) { __atomic_fetch_and(&shared()->pending, ~(uint32_t)SIP_SSIP, __ATOMIC_SEQ_CST); }

void arch_idle(void) {
  /* The batch, then: unmask, wait for an event and deliver it (trap_handler runs) before returning. */
  submit(pv_cpu(), PV_BLOCK, 0, 0);
  shared()->mask = 1;
}

/* ---- address spaces and page tables --------------------------------------------------------------- */
/*
 * Queued, not sent (when batching): the switch reaches the hypervisor with the batch, before anything
 * that could tell the difference — the return to user mode, a block, a user-access window. The kernel
 * itself is mapped alike in every address space. The root is pinned here the first time it is used.
 */
void arch_set_satp(uintptr_t root) {
  struct pv_cpu *pc = pv_cpu();
  reap(pc);
  pin(pc, root, 1);
  queue_call(pc, PV_SET_BASEPTR, root, 0);
}

/*
 * No TLB to flush: the hypervisor applies every update to the tables the hardware walks (its shadows)
 * as it validates it, and PV_SET_BASEPTR needs no flush either; the guest cannot even name a TLB.
 */
void arch_flush_tlb(void) {}
void arch_flush_tlb_page(uintptr_t va) { (void)va; }

/* A new table is ordinary memory until its address space is first made current (arch_set_satp). */
void arch_pagetable_new(uintptr_t pa, int root) {
  (void)root;
  reap(pv_cpu());
  if (is_pinned(pa)) panic("arch_pagetable_new: a pinned page table");
}

void arch_pagetable_release(uintptr_t pa, int root) {
  (void)root;
  if (!is_pinned(pa)) return; /* never made live */
  struct pv_cpu *pc = pv_cpu();
  reap(pc);
  if (pc->nunpinning == UNPIN_MAX || pc->ncalls == PV_MULTICALL_MAX - 1) flush(pc); /* room for both */
  set_pinned(pa, 0);
  pc->unpinning[pc->nunpinning] = pa;
  pc->free_wanted[pc->nunpinning++] = 0;
  queue_call(pc, PV_UNPIN_TABLE, pa, 0);
}

void arch_pagetable_free(uintptr_t pa) {
  if (is_pinned(pa)) panic("arch_pagetable_free: a pinned page table");
  struct pv_cpu *pc = pv_cpu();
  for (uint32_t i = 0; i < pc->nunpinning; i++)
    if (pc->unpinning[i] == pa) {
      pc->free_wanted[i] = 1; /* read-only until the batch with its unpin is done */
      return;
    }
  kfree(pa);
}

void arch_user_access_begin(void) {
  struct pv_cpu *pc = pv_cpu();
  submit(pc, PV_USER_ACCESS, 1, 0); /* the batch first: the accesses go through the user's mappings */
  reap(pc);
  pc->user_access = 1;
}

void arch_user_access_end(void) {
  struct pv_cpu *pc = pv_cpu();
  submit(pc, PV_USER_ACCESS, 0, 0);
  pc->user_access = 0;
}

int arch_user_access_enabled(void) { return pv_cpu()->user_access; }

/* Opening the window is a hypercall each way: copyin and copyout go through the kernel's own map. */
int arch_user_copy_physical(void) { return 1; }
