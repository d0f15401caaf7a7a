/*
 * rvisor's paravirtual interface, guest side (docs/pv-abi.md): an SBI vendor extension whose calls
 * replace the privileged instructions, and the page each vCPU shares with the hypervisor. Included by
 * pv.c and, for the constants, by pv-entry.S.
 */
#ifndef KERNEL_ARCH_PV_H
#define KERNEL_ARCH_PV_H

#define SBI_EXT_RVISOR_PV 0x09525650 /* in the SBI vendor-extension range */

/* Function ids: ecall with a7 = SBI_EXT_RVISOR_PV, a6 = FID, a0..a1 = arguments; a0 = error, a1 = value. */
#define PV_REGISTER_SHARED 0  /* a0 = guest-physical address of the page-aligned shared page */
#define PV_SET_TRAP_HANDLER 1 /* a0 = guest-virtual address of the trap handler */
#define PV_MMU_UPDATE 2       /* a0 = guest-physical address of requests, a1 = count; a1 = how many done */
#define PV_PIN_TABLE 3        /* a0 = guest-physical page, a1 = level (1 root, 0 leaf table) */
#define PV_UNPIN_TABLE 4      /* a0 = guest-physical page */
#define PV_SET_BASEPTR 5      /* a0 = guest-physical address of a pinned root: the PV satp */
#define PV_IRET 6             /* a0 = guest-physical address of a struct trapframe; never returns */
#define PV_BLOCK 7            /* unmask, wait for an event, deliver it as the call returns */
#define PV_USER_ACCESS 8      /* a0 = 1 open, 0 close: the PV sstatus.SUM */
#define PV_EVENT_CHECK 9      /* deliver a pending unmasked event as the call returns */
#define PV_MULTICALL 10       /* a0 = guest-physical address of entries, a1 = count; a1 = entries done */

#define PV_MMU_UPDATE_MAX 512 /* requests per PV_MMU_UPDATE */
#define PV_MULTICALL_MAX 64   /* entries per PV_MULTICALL */

#define PV_TRAP_ENTRY_SIZE 32 /* bytes between the per-CPU trap entries of pv-entry.S */

/* struct pv_shared's offsets, for pv-entry.S. */
#define PV_SHARED_MASK 0
#define PV_SHARED_PENDING 4
#define PV_SHARED_EPC 8
#define PV_SHARED_CAUSE 12
#define PV_SHARED_TVAL 16
#define PV_SHARED_STATUS 20
#define PV_SHARED_SAVED_SP 24
#define PV_SHARED_KERNEL_SP 28

#ifndef __ASSEMBLER__
#include <stdint.h>

/* The start of the shared page; all little-endian words. */
struct pv_shared {
  uint32_t mask;      /* guest: nonzero masks events (the PV sstatus.SIE = 0); set to 1 on delivery */
  uint32_t pending;   /* hypervisor: events waiting, in sip bit positions (5 timer, 1 software) */
  uint32_t epc;       /* hypervisor, on delivery: sepc */
  uint32_t cause;     /* scause */
  uint32_t tval;      /* stval */
  uint32_t status;    /* SPP (bit 8): trapped from the kernel; SPIE (bit 5): events were unmasked */
  uint32_t saved_sp;  /* the trapped context's sp */
  uint32_t kernel_sp; /* guest: the sp a trap from user mode starts on (the PV sscratch) */
};

/* One PV_MMU_UPDATE request: store `val` into the page-table entry at guest-physical `ptr`. */
struct pv_mmu_request {
  uint32_t ptr;
  uint32_t val;
};

/*
 * One PV_MULTICALL entry: a call (MMU_UPDATE, PIN_TABLE, UNPIN_TABLE, SET_BASEPTR, USER_ACCESS; IRET or
 * BLOCK only last) and its two arguments; the hypervisor writes the call's value into `result`.
 */
struct pv_multicall_entry {
  uint32_t fid;
  uint32_t arg0;
  uint32_t arg1;
  uint32_t result;
};

struct pv_ret {
  long error; /* an SBI error code */
  long value;
};

static inline struct pv_ret pv_call2(unsigned long fid, unsigned long arg0, unsigned long arg1) {
  register unsigned long a0 __asm__("a0") = arg0;
  register unsigned long a1 __asm__("a1") = arg1;
  register unsigned long a6 __asm__("a6") = fid;
  register unsigned long a7 __asm__("a7") = SBI_EXT_RVISOR_PV;
  /* "memory": a call may deliver an event, whose handler runs kernel code before the call returns. */
  __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
  return (struct pv_ret){(long)a0, (long)a1};
}

static inline struct pv_ret pv_call1(unsigned long fid, unsigned long arg0) { return pv_call2(fid, arg0, 0); }
static inline struct pv_ret pv_call0(unsigned long fid) { return pv_call2(fid, 0, 0); }
#endif

#endif
