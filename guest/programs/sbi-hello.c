// rvisor: s-mode
/*
 * An S-mode program that only knows the firmware through SBI: it prints through the debug console
 * (DBCN), probes the extensions, takes one supervisor timer interrupt set with SBI TIME, and shuts down
 * with SBI SRST. It runs on the boot shim under QEMU and on rvisor's own SBI firmware alike.
 */
#include <csr.h>
#include <platform.h>
#include <sbi.h>
#include <stdio.h>
#include <string.h>

static volatile int ticks;

/* STIP stays raised until the next set_timer, so the handler moves the deadline out of reach. */
__attribute__((interrupt("supervisor"), aligned(4))) static void on_trap(void) {
  unsigned long cause = csr_read(scause);
  if (cause == (CAUSE_INTERRUPT | IRQ_S_TIMER)) {
    sbi_set_timer(~(uint64_t)0);
    ticks++;
  } else {
    printf("unexpected trap: scause=%08lx sepc=%08lx\n", cause, csr_read(sepc));
    sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN, SBI_SRST_REASON_SYSTEM_FAILURE);
  }
}

static const struct {
  const char *name;
  long eid;
} probes[] = {
    {"BASE", SBI_EXT_BASE}, {"TIME", SBI_EXT_TIME}, {"IPI", SBI_EXT_IPI},   {"RFENCE", SBI_EXT_RFENCE},
    {"HSM", SBI_EXT_HSM},   {"SRST", SBI_EXT_SRST}, {"DBCN", SBI_EXT_DBCN}, {"none (0x12345678)", 0x12345678},
};

int main(unsigned long hartid, void *dtb) {
  (void)dtb;
  static const char greeting[] = "Hello from S-mode, through SBI DBCN!\n";
  struct sbiret w = sbi_debug_console_write(strlen(greeting), (unsigned long)greeting, 0);
  if (w.error != SBI_SUCCESS || w.value != (long)strlen(greeting)) return 1;

  long version = sbi_get_spec_version();
  printf("hart %lu: SBI spec %lu.%lu\n", hartid, SBI_SPEC_MAJOR(version), SBI_SPEC_MINOR(version));
  int failures = 0;
  for (unsigned i = 0; i < sizeof probes / sizeof probes[0]; i++) {
    long present = sbi_probe_extension(probes[i].eid);
    printf("probe %s: %s\n", probes[i].name, present ? "yes" : "no");
    if ((probes[i].eid == 0x12345678) == (present != 0)) failures++;
  }
  struct sbiret status = sbi_hart_get_status(hartid);
  printf("HSM status of hart %lu: %ld\n", hartid, status.value);
  if (status.error != SBI_SUCCESS || status.value != SBI_HSM_STATE_STARTED) failures++;
  if (sbi_ecall(SBI_EXT_BASE, 99, 0, 0, 0, 0, 0, 0).error != SBI_ERR_NOT_SUPPORTED) failures++;

  csr_write(stvec, (unsigned long)on_trap);
  csr_set(sie, SIP_STIP);
  csr_set(sstatus, SSTATUS_SIE);
  sbi_set_timer(rdtime64() + TIMEBASE_HZ / 1000);
  while (ticks == 0) wfi();
  csr_clear(sstatus, SSTATUS_SIE);
  printf("supervisor timer interrupt taken: %d\n", ticks);

  printf("%s; shutting down through SRST\n", failures == 0 ? "PASS" : "FAIL");
  uint32_t reason = failures == 0 ? SBI_SRST_REASON_NONE : SBI_SRST_REASON_SYSTEM_FAILURE;
#ifdef SHUTDOWN_REASON /* set by a test of how the firmware maps reset reasons to exit statuses */
  reason = SHUTDOWN_REASON;
#endif
  sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN, reason);
  return 1; /* SRST does not return */
}
