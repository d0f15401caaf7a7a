/*
 * Time: a periodic tick (TICK_HZ) from the SBI timer drives preemption and wakes sleepers; uptime
 * reads the `time` counter, whose rate the device tree gives.
 */
#include "kernel.h"

volatile uint32_t ticks;
static uint32_t timebase_hz;
static uint64_t boot_time, interval, deadline;

void timer_init(uint32_t hz) {
  timebase_hz = hz;
  interval = hz / TICK_HZ;
  boot_time = arch_time();
  deadline = boot_time + interval;
  arch_set_timer(deadline);
}

void timer_tick(void) {
  ticks++;
  if (current()) current()->ticks++;
  /* The next deadline follows the last one, unless we fell behind: then a full slice from now. */
  uint64_t now = arch_time();
  deadline += interval;
  if (deadline <= now) deadline = now + interval;
  arch_set_timer(deadline);
  wakeup((const void *)&ticks);
}

uint64_t uptime_ms(void) { return (arch_time() - boot_time) * 1000 / timebase_hz; }

void sleep_ms(uint32_t ms) {
  uint64_t until = arch_time() + (uint64_t)ms * timebase_hz / 1000;
  while (arch_time() < until && !current()->killed) sleep_on((const void *)&ticks);
}
