/*
 * M-mode timer interrupts from the CLINT: the handler counts TICKS interrupts, each one at least a
 * period after the last, and checks that mtime never goes backwards.
 */
#include <csr.h>
#include <platform.h>
#include <stdio.h>

#define TICKS 5
#define PERIOD (TIMEBASE_HZ / 1000) /* 1 ms */

static volatile unsigned ticks;
static volatile unsigned late_or_early; /* interrupts taken before their deadline */
static volatile unsigned backwards;     /* mtime readings lower than the one before */
static uint64_t deadline, last_seen;

__attribute__((interrupt("machine"), aligned(4))) static void on_trap(void) {
  unsigned long cause = csr_read(mcause);
  if (cause != (CAUSE_INTERRUPT | IRQ_M_TIMER)) {
    printf("unexpected trap: mcause=%08lx mepc=%08lx\n", cause, csr_read(mepc));
    poweroff(2);
  }
  uint64_t now = clint_mtime();
  if (now < deadline) late_or_early++;
  if (now < last_seen) backwards++;
  last_seen = now;
  ticks++;
  deadline += PERIOD;
  if (ticks == TICKS)
    clint_set_mtimecmp(0, ~(uint64_t)0);
  else
    clint_set_mtimecmp(0, deadline);
}

int main(unsigned long hartid, void *dtb) {
  (void)dtb;
  csr_write(mtvec, (unsigned long)on_trap);
  last_seen = clint_mtime();
  deadline = last_seen + PERIOD;
  clint_set_mtimecmp(hartid, deadline);
  csr_set(mie, MIP_MTIP);
  csr_set(mstatus, MSTATUS_MIE);

  uint64_t previous = clint_mtime();
  while (ticks < TICKS) {
    uint64_t now = clint_mtime();
    if (now < previous) backwards++;
    previous = now;
    wfi();
  }
  csr_clear(mstatus, MSTATUS_MIE);

  printf("timer: %u interrupts taken\n", ticks);
  printf("timer: none before its deadline: %s\n", late_or_early == 0 ? "yes" : "no");
  printf("timer: mtime monotonic: %s\n", backwards == 0 ? "yes" : "no");
  return late_or_early == 0 && backwards == 0 ? 0 : 1;
}
