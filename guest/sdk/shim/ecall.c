/*
 * The SBI calls the shim answers, by the SBI spec v2.0. a7 = EID, a6 = FID, a0..a5 arguments; the answer
 * is a0 = error, a1 = value (legacy extensions: a0 only). Unknown EIDs and FIDs: SBI_ERR_NOT_SUPPORTED.
 */
#include <csr.h>
#include <platform.h>
#include <sbi.h>

#include "shim.h"

void uart_putc(char c);
int uart_getc(void);
void hsm_prepare_start(unsigned long hart, unsigned long addr, unsigned long opaque);

#define IMPL_VERSION 1

static const long extensions[] = {
    SBI_EXT_LEGACY_CONSOLE_PUTCHAR, SBI_EXT_LEGACY_CONSOLE_GETCHAR, SBI_EXT_LEGACY_SHUTDOWN,
    SBI_EXT_BASE, SBI_EXT_TIME, SBI_EXT_IPI, SBI_EXT_RFENCE, SBI_EXT_HSM, SBI_EXT_SRST, SBI_EXT_DBCN,
};

static struct sbiret ok(long value) { return (struct sbiret){SBI_SUCCESS, value}; }
static struct sbiret err(long error) { return (struct sbiret){error, 0}; }

static int hart_exists(unsigned long hart) { return hart < SHIM_MAX_HARTS && hart_state[hart] != HART_ABSENT; }

static struct sbiret base(long fid, unsigned long a0) {
  switch (fid) {
    case SBI_BASE_GET_SPEC_VERSION: return ok(SBI_SPEC_VERSION(2, 0));
    case SBI_BASE_GET_IMPL_ID: return ok(SBI_IMPL_ID_RVISOR);
    case SBI_BASE_GET_IMPL_VERSION: return ok(IMPL_VERSION);
    case SBI_BASE_PROBE_EXTENSION:
      for (unsigned i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
        if ((unsigned long)extensions[i] == a0) return ok(1);
      return ok(0);
    case SBI_BASE_GET_MVENDORID: return ok(csr_read(mvendorid));
    case SBI_BASE_GET_MARCHID: return ok(csr_read(marchid));
    case SBI_BASE_GET_MIMPID: return ok(csr_read(mimpid));
    default: return err(SBI_ERR_NOT_SUPPORTED);
  }
}

/* The next timer event: the M timer fires at stime_value and shim_trap turns it into STIP. */
static struct sbiret set_timer(unsigned long hart, unsigned long lo, unsigned long hi) {
  clint_set_mtimecmp(hart, ((uint64_t)hi << 32) | lo);
  csr_clear(mip, MIP_STIP);
  csr_set(mie, MIP_MTIP);
  return ok(0);
}

/*
 * Posts `work` to every started hart of (hart_mask, hart_mask_base) — base -1 means all harts — and, for
 * fences, waits until each has done it, doing this hart's own posted work meanwhile so that two harts
 * fencing each other cannot wait forever. Stopped harts are skipped: they hold no state to fence.
 */
static struct sbiret post_work(unsigned long self, unsigned long mask, unsigned long base, unsigned long work) {
  unsigned long targets = 0;
  if (base == (unsigned long)-1) {
    for (unsigned long h = 0; h < SHIM_MAX_HARTS; h++)
      if (hart_exists(h)) targets |= 1ul << h;
  } else {
    for (unsigned long bit = 0; bit < 32; bit++) {
      if (!(mask & (1ul << bit))) continue;
      if (!hart_exists(base + bit)) return err(SBI_ERR_INVALID_PARAM);
      targets |= 1ul << (base + bit);
    }
  }
  for (unsigned long h = 0; h < SHIM_MAX_HARTS; h++) {
    if (!(targets & (1ul << h)) || hart_state[h] != SBI_HSM_STATE_STARTED) continue;
    __atomic_fetch_or(&hart_work[h], work, __ATOMIC_ACQ_REL);
    *CLINT_MSIP(h) = 1;
  }
  if (work == WORK_SSIP) return ok(0);
  for (unsigned long h = 0; h < SHIM_MAX_HARTS; h++) {
    if (!(targets & (1ul << h))) continue;
    while ((hart_work[h] & work) && hart_state[h] == SBI_HSM_STATE_STARTED) do_work(self);
  }
  return ok(0);
}

static struct sbiret rfence(unsigned long self, long fid, unsigned long mask, unsigned long base) {
  switch (fid) {
    case SBI_RFENCE_REMOTE_FENCE_I: return post_work(self, mask, base, WORK_FENCE_I);
    case SBI_RFENCE_REMOTE_SFENCE_VMA:
    case SBI_RFENCE_REMOTE_SFENCE_VMA_ASID: return post_work(self, mask, base, WORK_SFENCE_VMA);
    default: return err(SBI_ERR_NOT_SUPPORTED);
  }
}

static struct sbiret hsm(unsigned long self, long fid, unsigned long a0, unsigned long a1, unsigned long a2) {
  switch (fid) {
    case SBI_HSM_HART_START: {
      if (!hart_exists(a0)) return err(SBI_ERR_INVALID_PARAM);
      /* Claim the stopped hart before filling in where it starts, so two callers cannot mix their
       * arguments; it reads them only once it sees START_PENDING. */
      long expected = SBI_HSM_STATE_STOPPED;
      if (!__atomic_compare_exchange_n(&hart_state[a0], &expected, HART_CLAIMED, 0, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE))
        return err(SBI_ERR_ALREADY_AVAILABLE);
      hsm_prepare_start(a0, a1, a2);
      __atomic_store_n(&hart_state[a0], SBI_HSM_STATE_START_PENDING, __ATOMIC_RELEASE);
      *CLINT_MSIP(a0) = 1;
      return ok(0);
    }
    case SBI_HSM_HART_STOP:
      hart_state[self] = SBI_HSM_STATE_STOPPED;
      park_stopped(self);
    case SBI_HSM_HART_GET_STATUS:
      if (!hart_exists(a0)) return err(SBI_ERR_INVALID_PARAM);
      return ok(hart_state[a0] == HART_CLAIMED ? SBI_HSM_STATE_START_PENDING : hart_state[a0]);
    case SBI_HSM_HART_SUSPEND:
      /* Only the default retentive suspend: wait for an interrupt, then return from the call. */
      if (a0 != SBI_HSM_SUSPEND_RET_DEFAULT) return err(SBI_ERR_INVALID_PARAM);
      wfi();
      return ok(0);
    default: return err(SBI_ERR_NOT_SUPPORTED);
  }
}

/* Shutdown with no reason ends the run with exit status 0, with any other reason with 1; reboots reset. */
static struct sbiret srst(long fid, unsigned long type, unsigned long reason) {
  if (fid != SBI_SRST_SYSTEM_RESET) return err(SBI_ERR_NOT_SUPPORTED);
  if (type > SBI_SRST_TYPE_WARM_REBOOT) return err(type >= 0xF0000000u ? SBI_ERR_NOT_SUPPORTED : SBI_ERR_INVALID_PARAM);
  if (reason > SBI_SRST_REASON_SYSTEM_FAILURE && reason < 0xE0000000u) return err(SBI_ERR_INVALID_PARAM);
  if (type != SBI_SRST_TYPE_SHUTDOWN) *(volatile uint32_t *)TEST_BASE = TEST_RESET;
  poweroff(reason == SBI_SRST_REASON_NONE ? 0 : 1);
}

/* The buffer is a physical address (a0 count, a1 low word, a2 high word): RV32 RAM has no high word. */
static struct sbiret dbcn(long fid, unsigned long n, unsigned long lo, unsigned long hi) {
  if (fid == SBI_DBCN_CONSOLE_WRITE_BYTE) {
    uart_putc((char)n);
    return ok(0);
  }
  if (fid != SBI_DBCN_CONSOLE_WRITE && fid != SBI_DBCN_CONSOLE_READ) return err(SBI_ERR_NOT_SUPPORTED);
  if (hi != 0 || lo < DRAM_BASE || lo + n < lo) return err(SBI_ERR_INVALID_PARAM);
  volatile uint8_t *buf = (volatile uint8_t *)lo;
  unsigned long done = 0;
  if (fid == SBI_DBCN_CONSOLE_WRITE) {
    for (; done < n; done++) uart_putc((char)buf[done]);
  } else {
    for (int c; done < n && (c = uart_getc()) >= 0; done++) buf[done] = (uint8_t)c;
  }
  return ok((long)done);
}

void sbi_ecall_handler(struct trap_frame *f, unsigned long hart) {
  unsigned long *x = f->x;
  long eid = (long)x[REG_A7], fid = (long)x[REG_A6];
  unsigned long a0 = x[REG_A0], a1 = x[REG_A1], a2 = x[REG_A0 + 2];
  struct sbiret r;
  switch (eid) {
    case SBI_EXT_LEGACY_CONSOLE_PUTCHAR:
      uart_putc((char)a0);
      x[REG_A0] = 0;
      return;
    case SBI_EXT_LEGACY_CONSOLE_GETCHAR:
      x[REG_A0] = (unsigned long)uart_getc();
      return;
    case SBI_EXT_LEGACY_SHUTDOWN: poweroff(0);
    case SBI_EXT_BASE: r = base(fid, a0); break;
    case SBI_EXT_TIME: r = fid == SBI_TIME_SET_TIMER ? set_timer(hart, a0, a1) : err(SBI_ERR_NOT_SUPPORTED); break;
    case SBI_EXT_IPI: r = fid == SBI_IPI_SEND_IPI ? post_work(hart, a0, a1, WORK_SSIP) : err(SBI_ERR_NOT_SUPPORTED); break;
    case SBI_EXT_RFENCE: r = rfence(hart, fid, a0, a1); break;
    case SBI_EXT_HSM: r = hsm(hart, fid, a0, a1, a2); break;
    case SBI_EXT_SRST: r = srst(fid, a0, a1); break;
    case SBI_EXT_DBCN: r = dbcn(fid, a0, a1, a2); break;
    default: r = err(SBI_ERR_NOT_SUPPORTED); break;
  }
  x[REG_A0] = (unsigned long)r.error;
  x[REG_A1] = (unsigned long)r.value;
}
