/*
 * Two or more harts (run with -smp HARTS) add to shared counters at once, one with amoadd.w and one
 * with an lr.w/sc.w retry loop; hart 0 waits for all of them and checks both totals. A lost update
 * in either primitive shows up as a short total.
 */
#include <platform.h>
#include <stdint.h>
#include <stdio.h>

#ifndef HARTS
#define HARTS 2
#endif
#define ADDS 10000
#define ARRIVAL_TIMEOUT (TIMEBASE_HZ / 2) /* mtime ticks hart 0 waits for the others */

static volatile uint32_t arrived, finished, amo_total, lrsc_total;
static volatile uint32_t go;

static void amo_add(volatile uint32_t *p, uint32_t v) {
  __asm__ volatile("amoadd.w zero, %1, (%0)" ::"r"(p), "r"(v) : "memory");
}

static void lrsc_add(volatile uint32_t *p, uint32_t v) {
  uint32_t old, failed;
  __asm__ volatile(
      "1: lr.w %0, (%2)\n"
      "   add %0, %0, %3\n"
      "   sc.w %1, %0, (%2)\n"
      "   bnez %1, 1b\n"
      : "=&r"(old), "=&r"(failed)
      : "r"(p), "r"(v)
      : "memory");
}

static void work(void) {
  amo_add(&arrived, 1);
  while (!go) {
  }
  for (int i = 0; i < ADDS; i++) {
    amo_add(&amo_total, 1);
    lrsc_add(&lrsc_total, 1);
  }
  amo_add(&finished, 1);
}

void secondary_main(unsigned long hartid) {
  if (hartid < HARTS) work();
}

int main(unsigned long hartid, void *dtb) {
  (void)dtb;
  printf("multihart: hart %lu waiting for %d harts\n", hartid, HARTS);
  uint64_t give_up = clint_mtime() + ARRIVAL_TIMEOUT;
  while (arrived < HARTS - 1) {
    if (clint_mtime() > give_up) {
      printf("multihart: only %u of %d harts arrived\n", arrived + 1, HARTS);
      return 2;
    }
  }
  go = 1;
  amo_add(&arrived, 1);
  for (int i = 0; i < ADDS; i++) {
    amo_add(&amo_total, 1);
    lrsc_add(&lrsc_total, 1);
  }
  amo_add(&finished, 1);
  while (finished < HARTS) {
  }
  uint32_t expected = (uint32_t)HARTS * ADDS;
  printf("multihart: amoadd total %u (expected %u)\n", amo_total, expected);
  printf("multihart: lr/sc total %u (expected %u)\n", lrsc_total, expected);
  int ok = amo_total == expected && lrsc_total == expected;
  printf("multihart: %s\n", ok ? "OK" : "WRONG");
  return ok ? 0 : 1;
}
