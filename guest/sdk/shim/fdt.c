/*
 * Which harts the board has, read from the device tree QEMU passes in a1: the `reg` of every
 * /cpus/cpu@N node. The boot hart waits for each of them to reach the shim before it starts the
 * program, so that HSM calls see every hart STOPPED, not absent, however late its thread starts.
 *
 * Flattened device tree (big-endian words): header { magic 0xd00dfeed, totalsize, off_dt_struct,
 * off_dt_strings, ... }; the structure block is a token stream:
 *   BEGIN_NODE (1) name\0 pad4 | END_NODE (2) | PROP (3) len nameoff value pad4 | NOP (4) | END (9)
 */
#include <stdint.h>

#include "shim.h"

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9

static uint32_t be32(const void *p) {
  const uint8_t *b = p;
  return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static int starts_with(const char *s, const char *prefix) {
  while (*prefix)
    if (*s++ != *prefix++) return 0;
  return 1;
}

static int equals(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

unsigned long fdt_hart_mask(const void *fdt) {
  const uint8_t *base = fdt;
  if (fdt == 0 || be32(base) != FDT_MAGIC) return 0;
  const uint8_t *p = base + be32(base + 8);
  const char *strings = (const char *)base + be32(base + 12);
  unsigned long mask = 0;
  int depth = 0, in_cpus = 0, in_cpu = 0;
  for (;;) {
    uint32_t token = be32(p);
    p += 4;
    if (token == FDT_BEGIN_NODE) {
      const char *name = (const char *)p;
      depth++;
      if (depth == 2) in_cpus = equals(name, "cpus");
      in_cpu = depth == 3 && in_cpus && starts_with(name, "cpu@");
      while (*p) p++;
      p = (const uint8_t *)(((uintptr_t)p + 4) & ~(uintptr_t)3);
    } else if (token == FDT_END_NODE) {
      if (depth == 3) in_cpu = 0;
      if (depth == 2) in_cpus = 0;
      depth--;
    } else if (token == FDT_PROP) {
      uint32_t len = be32(p), nameoff = be32(p + 4);
      if (in_cpu && len >= 4 && equals(strings + nameoff, "reg")) {
        uint32_t hart = be32(p + 8 + len - 4); /* the last cell: #address-cells may be 1 or 2 */
        if (hart < SHIM_MAX_HARTS) mask |= 1ul << hart;
      }
      p += 8 + ((len + 3) & ~3u);
    } else if (token != FDT_NOP) {
      return mask; /* FDT_END, or a token this walker does not know */
    }
  }
}
