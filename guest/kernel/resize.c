/*
 * Resizing from the toolstack, as Xen's guests follow it through the store (docs/resizing.md):
 *
 *   cpu/<n>/availability   "online" / "offline": CPU n is brought online or offline (cpu_set_online,
 *                          so SBI HSM hart_start / hart_stop); the boot CPU stays online
 *   memory/target          KiB: the balloon (balloon.c) holds the RAM the device tree reports less this
 *
 * One kernel thread, `resize`, watches both (one token) and, on any event, reads them all again: the
 * store's events can be dropped when many queue (xenstore.c keeps the newest), and the last event still
 * brings every value up to date. Without a store ring nothing of this runs.
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"

static uint64_t parse_u64(const char *s, int *ok) {
  uint64_t v = 0;
  *ok = *s != '\0';
  for (; *s; s++) {
    if (*s < '0' || *s > '9') {
      *ok = 0;
      return 0;
    }
    v = v * 10 + (uint64_t)(*s - '0');
  }
  return v;
}

static void follow_cpus(void) {
  char path[40], value[16];
  for (int i = 0; i < NCPU; i++) {
    if (cpus[i].state == CPU_ABSENT || i == (int)boot_hartid) continue;
    snprintf(path, sizeof path, "cpu/%d/availability", i);
    if (xs_read(0, path, value, sizeof value) < 0) continue;
    int on = strcmp(value, "online") == 0;
    if (!on && strcmp(value, "offline") != 0) continue;
    if ((cpus[i].state == CPU_ONLINE) == on) continue;
    int r = cpu_set_online(i, on);
    if (r != 0) printf("resize: cpu %d %s: %s\n", i, on ? "online" : "offline", cpu_error_text(r));
  }
}

static void follow_memory(void) {
  char value[24];
  int ok;
  if (!balloon_present() || xs_read(0, "memory/target", value, sizeof value) < 0) return;
  uint64_t kib = parse_u64(value, &ok);
  if (ok) balloon_set_target_kib(kib);
}

static void resize_main(void) {
  if (xs_watch("cpu", "resize") < 0 || xs_watch("memory/target", "resize") < 0) {
    printf("resize: cannot watch the store: %s\n", xs_error());
    return;
  }
  char path[XS_EVENT_PATH_LEN];
  while (xs_wait_event("resize", path, sizeof path) == 0) {
    follow_memory();
    follow_cpus();
  }
}

void resize_start(void) {
  if (xs_available() && kthread_create("resize", resize_main) < 0) printf("resize: no process slot\n");
}
