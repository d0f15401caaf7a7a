/*
 * Boot and interrupts of the shim. Harts and their HSM states:
 *
 *   boot hart (fw_dynamic_info.boot_hart, else 0):  set up ─► STARTED ─► mret to next_addr (S-mode)
 *   every other hart:  set up ─► STOPPED ─► wfi until hart_start ─► START_PENDING ─► STARTED ─► mret
 *   hart_stop:  STARTED ─► STOPPED ─► park_stopped (wait again)
 *
 * M-mode interrupts the shim takes (all others are delegated to S-mode):
 *   machine timer     the program's SBI set_timer deadline passed: raise STIP, mask MTIE until the next set_timer
 *   machine software  another hart wrote this hart's msip: do the work it left in hart_work[]
 */
#include <csr.h>
#include <platform.h>
#include <sbi.h>

#include "shim.h"

void uart_putc(char c);

volatile long hart_state[SHIM_MAX_HARTS] = {HART_ABSENT, HART_ABSENT, HART_ABSENT, HART_ABSENT,
                                            HART_ABSENT, HART_ABSENT, HART_ABSENT, HART_ABSENT};
volatile unsigned long hart_work[SHIM_MAX_HARTS];
static volatile unsigned long start_addr[SHIM_MAX_HARTS], start_opaque[SHIM_MAX_HARTS];
static unsigned long next_mode = PRV_S;

/* Exceptions S-mode handles itself: OpenSBI's set (misaligned fetch, breakpoint, U ecall, page faults)
 * plus those OpenSBI would only redirect to S-mode after failing to emulate them, as the shim emulates
 * nothing: access faults, illegal instructions, misaligned loads and stores. */
#define MEDELEG                                                                                           \
  ((1u << CAUSE_MISALIGNED_FETCH) | (1u << CAUSE_FETCH_ACCESS) | (1u << CAUSE_ILLEGAL_INSTRUCTION) |     \
   (1u << CAUSE_BREAKPOINT) | (1u << CAUSE_MISALIGNED_LOAD) | (1u << CAUSE_LOAD_ACCESS) |                \
   (1u << CAUSE_MISALIGNED_STORE) | (1u << CAUSE_STORE_ACCESS) | (1u << CAUSE_USER_ECALL) |              \
   (1u << CAUSE_FETCH_PAGE_FAULT) | (1u << CAUSE_LOAD_PAGE_FAULT) | (1u << CAUSE_STORE_PAGE_FAULT))
#define MIDELEG (MIP_SSIP | MIP_STIP | MIP_SEIP)

void shim_puts(const char *s) {
  while (*s) uart_putc(*s++);
}

void shim_puthex(unsigned long v) {
  shim_puts("0x");
  for (int i = 28; i >= 0; i -= 4) uart_putc("0123456789abcdef"[(v >> i) & 0xf]);
}

void shim_fail(const char *what, unsigned long v) {
  shim_puts("shim: ");
  shim_puts(what);
  shim_puthex(v);
  shim_puts("\n");
  poweroff(3);
}

static void setup_hart(void) {
  csr_write(medeleg, MEDELEG);
  csr_write(mideleg, MIDELEG);
  csr_write(mcounteren, COUNTEREN_CY | COUNTEREN_TM | COUNTEREN_IR);
  csr_write(mie, MIP_MSIP);
}

/* Waits (at most a second of mtime) until every hart the device tree names has reached the shim. */
static void wait_for_harts(unsigned long mask) {
  uint64_t give_up = clint_mtime() + TIMEBASE_HZ;
  for (unsigned long h = 0; h < SHIM_MAX_HARTS; h++)
    while ((mask & (1ul << h)) && hart_state[h] == HART_ABSENT && clint_mtime() < give_up) {
    }
}

void shim_main(unsigned long hart, unsigned long dtb, const struct fw_dynamic_info *info) {
  setup_hart();
  if (info->magic != FW_DYNAMIC_INFO_MAGIC) shim_fail("no fw_dynamic_info in a2 (magic ", info->magic);
  unsigned long boot_hart = info->version >= 2 && info->boot_hart != (unsigned long)-1 ? info->boot_hart : 0;
  if (hart != boot_hart) {
    hart_state[hart] = SBI_HSM_STATE_STOPPED;
    park_stopped(hart);
  }
  next_mode = info->next_mode;
  hart_state[hart] = SBI_HSM_STATE_STARTED;
  wait_for_harts(fdt_hart_mask((const void *)dtb));
  enter_next(hart, dtb, info->next_addr, next_mode);
}

/* hart_start (ecall.c) fills start_addr/opaque, moves the state to START_PENDING and writes msip. */
void hsm_prepare_start(unsigned long hart, unsigned long addr, unsigned long opaque) {
  start_addr[hart] = addr;
  start_opaque[hart] = opaque;
}

void wait_for_start(unsigned long hart) {
  csr_write(mie, MIP_MSIP);
  csr_clear(mip, MIP_SSIP | MIP_STIP);
  while (hart_state[hart] != SBI_HSM_STATE_START_PENDING) {
    wfi();
    *CLINT_MSIP(hart) = 0;
  }
  *CLINT_MSIP(hart) = 0;
  hart_work[hart] = 0;
  fence();
  hart_state[hart] = SBI_HSM_STATE_STARTED;
  enter_next(hart, start_opaque[hart], start_addr[hart], next_mode);
}

void do_work(unsigned long hart) {
  *CLINT_MSIP(hart) = 0; /* before taking the work, so that work posted after this raises msip again */
  unsigned long work = __atomic_exchange_n(&hart_work[hart], 0, __ATOMIC_ACQ_REL);
  if (work & WORK_SSIP) csr_set(mip, MIP_SSIP);
  if (work & WORK_FENCE_I) fence_i();
  if (work & WORK_SFENCE_VMA) sfence_vma();
}

void shim_trap(struct trap_frame *f) {
  unsigned long cause = csr_read(mcause);
  unsigned long hart = csr_read(mhartid);
  if (cause == (CAUSE_INTERRUPT | IRQ_M_TIMER)) {
    csr_set(mip, MIP_STIP);
    csr_clear(mie, MIP_MTIP);
  } else if (cause == (CAUSE_INTERRUPT | IRQ_M_SOFT)) {
    do_work(hart);
  } else if (cause == CAUSE_SUPERVISOR_ECALL) {
    csr_write(mepc, csr_read(mepc) + 4);
    sbi_ecall_handler(f, hart);
  } else {
    shim_puts("shim: unexpected trap mepc=");
    shim_puthex(csr_read(mepc));
    shim_puts(" mtval=");
    shim_puthex(csr_read(mtval));
    shim_fail(" mcause=", cause);
  }
}
