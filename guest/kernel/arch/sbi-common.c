/*
 * The part of the arch interface that is the same natively and paravirtualized: time is the `time`
 * counter (readable from any mode), and the timer, the console, power-off, the CPUs (HSM) and IPIs are
 * SBI calls — a PV kernel keeps using the standard TIME, DBCN, SRST, HSM and IPI extensions
 * (docs/pv-abi.md) — and so is the event-channel send of rvisor's store ring, which every mode reaches the same way.
 */
#include <csr.h>
#include <sbi.h>

#include "arch.h"
#include "sbi-common.h"

static int have_dbcn; /* the firmware has the debug console extension (SBI 2.0) */

void sbi_common_init(void) { have_dbcn = sbi_probe_extension(SBI_EXT_DBCN) > 0; }

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

/* A mask of one hart, based at it: any hart id fits. */
void arch_ipi_send(unsigned long hartid) { sbi_send_ipi(1, hartid); }

long arch_cpu_start(unsigned long hartid, uintptr_t entry, unsigned long opaque) {
  return sbi_hart_start(hartid, entry, opaque).error;
}

void arch_cpu_stop(void) {
  sbi_hart_stop();
  for (;;) {
    /* hart_stop does not return; a firmware that let it would leave this hart here, doing nothing. */
  }
}

long arch_cpu_status(unsigned long hartid) {
  struct sbiret r = sbi_hart_get_status(hartid);
  return r.error != SBI_SUCCESS ? r.error : r.value;
}

void arch_reboot(void) {
  sbi_system_reset(SBI_SRST_TYPE_COLD_REBOOT, SBI_SRST_REASON_NONE);
  arch_shutdown(1); /* a firmware that cannot reboot */
}

/* rvisor's event-channel extension (src/hypervisor/event-channel.ts). */
#define SBI_EXT_RVISOR_EVTCHN 0x09525645
#define SBI_RVISOR_EVTCHN_SEND 0

int arch_event_send(uint32_t port) {
  return sbi_ecall(SBI_EXT_RVISOR_EVTCHN, SBI_RVISOR_EVTCHN_SEND, port, 0, 0, 0, 0, 0).error == SBI_SUCCESS ? 0 : -1;
}
