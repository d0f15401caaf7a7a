/*
 * Time: a periodic tick (TICK_HZ) from the SBI timer drives preemption and wakes sleepers; uptime
 * reads the `time` counter, whose rate the device tree gives.
 *
 * Every CPU has its own timer (SBI set_timer arms the calling hart's) and ticks on its own, ending its
 * process's time slice; the boot CPU's tick also counts `ticks` and wakes the sleepers. Only that part
 * is shared: an idle CPU (which ticks without the big kernel lock) takes the lock for it alone.
 */
#include "kernel.h"

volatile uint32_t ticks;
static uint32_t timebase_hz;
static uint64_t boot_time, interval;

void timer_init(uint32_t hz) {
  timebase_hz = hz;
  interval = hz / TICK_HZ;
  boot_time = arch_time();
  mycpu()->tick_deadline = boot_time + interval;
  arch_set_timer(mycpu()->tick_deadline);
}

void timer_start_cpu(void) {
  mycpu()->tick_deadline = arch_time() + interval;
  arch_set_timer(mycpu()->tick_deadline);
}

void timer_tick(int locked) {
  struct cpu *c = mycpu();
  c->ticks++;
  if (c->proc) {
    c->proc->ticks++;
    c->busy_ticks++;
  }
  /* The next deadline follows the last one, unless we fell behind: then a full slice from now. */
  uint64_t now = arch_time();
  c->tick_deadline += interval;
  if (c->tick_deadline <= now) c->tick_deadline = now + interval;
  arch_set_timer(c->tick_deadline);
  if (c->id != (int)boot_hartid) return;
  if (!locked) bkl_acquire();
  ticks++;
  wakeup((const void *)&ticks);
  if (!locked) bkl_release();
}

uint64_t uptime_ms(void) { return (arch_time() - boot_time) * 1000 / timebase_hz; }

void sleep_ms(uint32_t ms) {
  uint64_t until = arch_time() + (uint64_t)ms * timebase_hz / 1000;
  while (arch_time() < until && !current()->killed) sleep_on((const void *)&ticks);
}
