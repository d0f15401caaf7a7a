/*
 * A small reader of the flattened device tree (Devicetree Specification v0.4, chapter 5) the firmware
 * passes in a1: it finds RAM (/memory@...: reg), the timer frequency (/cpus: timebase-frequency), the
 * harts (/cpus/cpu@N: reg, unless status is "disabled"), the kernel command line (/chosen: bootargs),
 * the RAM set aside (the `reg` of each /reserved-memory child) and the devices (every node with
 * `compatible` and `reg`, the latter read with its parent's #address-cells / #size-cells; a reserved
 * region that names its user, like the store ring, is one too). Everything it returns is copied, so
 * the blob's pages may be reused afterwards.
 *
 *   header (big-endian words)    structure block tokens
 *   +0  magic 0xd00dfeed          FDT_BEGIN_NODE name\0 (padded to 4)
 *   +4  totalsize                 FDT_PROP len nameoff value (padded to 4)
 *   +8  off_dt_struct             FDT_END_NODE, FDT_NOP, FDT_END
 *   +12 off_dt_strings
 */
#include <string.h>

#include "kernel.h"

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

/* A value of `cells` 32-bit cells (1 or 2), as reg uses them. */
static uint64_t cells_value(const uint8_t *p, uint32_t cells) {
  return cells == 2 ? ((uint64_t)be32(p) << 32) | be32(p + 4) : be32(p);
}

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

int fdt_read(const void *dtb, struct boot_info *info, const char **why) {
  const uint8_t *blob = dtb;
  memset(info, 0, sizeof *info);
  if (blob == 0 || be32(blob) != FDT_MAGIC) {
    *why = "no device tree (bad magic)";
    return -1;
  }
  const uint8_t *p = blob + be32(blob + 8);
  const uint8_t *end = blob + be32(blob + 4);
  const char *strings = (const char *)blob + be32(blob + 12);
  uint32_t address_cells = 2, size_cells = 1; /* the spec's defaults for the root */
  int depth = 0;
  /* Per depth: the cells a node's children use for reg (the spec's defaults 2 and 1), its device. */
  enum { MAX_DEPTH = 8 };
  uint32_t acells[MAX_DEPTH + 1], scells[MAX_DEPTH + 1];
  struct fdt_device dev[MAX_DEPTH + 1];
  int has_reg[MAX_DEPTH + 1];
  enum { OTHER, MEMORY, CPUS, CHOSEN, RESERVED } node = OTHER; /* the depth-1 node we are inside */
  int in_cpu = 0, cpu_disabled = 0;                             /* inside /cpus/cpu@N */
  uint32_t cpu_reg = NCPU;

  while (p < end) {
    uint32_t token = be32(p);
    p += 4;
    if (token == FDT_BEGIN_NODE) {
      const char *name = (const char *)p;
      p += (strlen(name) + 4) & ~3u;
      depth++;
      if (depth <= MAX_DEPTH) {
        acells[depth] = 2;
        scells[depth] = 1;
        memset(&dev[depth], 0, sizeof dev[depth]);
        has_reg[depth] = 0;
        strncpy(dev[depth].name, name, FDT_NAME_LEN - 1);
      }
      if (depth == 2) {
        if (strcmp(name, "memory") == 0 || starts_with(name, "memory@")) node = MEMORY;
        else if (strcmp(name, "cpus") == 0) node = CPUS;
        else if (strcmp(name, "chosen") == 0) node = CHOSEN;
        else if (strcmp(name, "reserved-memory") == 0) node = RESERVED;
        else node = OTHER;
      } else if (depth == 3 && node == CPUS && starts_with(name, "cpu@")) {
        in_cpu = 1;
        cpu_disabled = 0;
        cpu_reg = NCPU;
      }
    } else if (token == FDT_END_NODE) {
      if (depth == 2) node = OTHER;
      if (depth == 3 && node == RESERVED && has_reg[depth] && info->nreserved < FDT_MAX_RESERVED) {
        info->reserved[info->nreserved].base = dev[depth].base;
        info->reserved[info->nreserved++].size = dev[depth].size;
      }
      if (depth >= 2 && depth <= MAX_DEPTH && has_reg[depth] && dev[depth].compatible_len > 0 &&
          info->ndevices < FDT_MAX_DEVICES)
        info->devices[info->ndevices++] = dev[depth];
      if (depth == 3 && in_cpu) {
        if (!cpu_disabled && cpu_reg < NCPU) info->harts |= 1u << cpu_reg;
        in_cpu = 0;
      }
      depth--;
    } else if (token == FDT_PROP) {
      uint32_t len = be32(p);
      const char *prop = strings + be32(p + 4);
      const uint8_t *value = p + 8;
      p += 8 + ((len + 3) & ~3u);
      if (depth >= 1 && depth <= MAX_DEPTH) {
        struct fdt_device *d = &dev[depth];
        if (strcmp(prop, "#address-cells") == 0 && len == 4) acells[depth] = be32(value);
        else if (strcmp(prop, "#size-cells") == 0 && len == 4) scells[depth] = be32(value);
        else if (strcmp(prop, "compatible") == 0) {
          d->compatible_len = len < FDT_COMPATIBLE_LEN ? len : FDT_COMPATIBLE_LEN;
          memcpy(d->compatible, value, d->compatible_len);
          d->compatible[FDT_COMPATIBLE_LEN - 1] = '\0';
        } else if (strcmp(prop, "interrupts") == 0 && len >= 4) {
          d->irq = be32(value);
        } else if (strcmp(prop, "rvisor,event-channel") == 0 && len == 4) {
          d->event_channel = be32(value);
        } else if (depth >= 2 && strcmp(prop, "reg") == 0) {
          uint32_t ac = acells[depth - 1], sc = scells[depth - 1];
          if (ac >= 1 && ac <= 2 && sc <= 2 && len >= 4 * (ac + sc)) {
            d->base = cells_value(value, ac);
            d->size = sc == 0 ? 0 : cells_value(value + 4 * ac, sc);
            has_reg[depth] = 1;
          }
        }
      }
      if (depth == 1 && strcmp(prop, "#address-cells") == 0) address_cells = be32(value);
      else if (depth == 1 && strcmp(prop, "#size-cells") == 0) size_cells = be32(value);
      else if (depth == 2 && node == MEMORY && strcmp(prop, "reg") == 0 && info->mem_size == 0 &&
               len >= 4 * (address_cells + size_cells)) {
        info->mem_base = cells_value(value, address_cells);
        info->mem_size = cells_value(value + 4 * address_cells, size_cells);
      } else if (node == CPUS && strcmp(prop, "timebase-frequency") == 0 && info->timebase_hz == 0) {
        info->timebase_hz = be32(value);
      } else if (depth == 3 && in_cpu && strcmp(prop, "reg") == 0 && len >= 4) {
        cpu_reg = be32(value + len - 4); /* the hart id: the last cell (cpus have #address-cells 1) */
      } else if (depth == 3 && in_cpu && strcmp(prop, "status") == 0) {
        cpu_disabled = strcmp((const char *)value, "disabled") == 0;
      } else if (depth == 2 && node == CHOSEN && strcmp(prop, "bootargs") == 0) {
        size_t n = len < BOOTARGS_LEN ? len : BOOTARGS_LEN - 1;
        memcpy(info->bootargs, value, n);
        info->bootargs[n] = '\0';
      }
    } else if (token == FDT_NOP) {
      continue;
    } else if (token == FDT_END) {
      break;
    } else {
      *why = "device tree: unknown structure token";
      return -1;
    }
  }
  if (address_cells > 2 || size_cells > 2) {
    *why = "device tree: more than 2 address or size cells";
    return -1;
  }
  if (info->mem_size == 0) {
    *why = "device tree: no /memory node with a reg property";
    return -1;
  }
  if (info->timebase_hz == 0) {
    *why = "device tree: no timebase-frequency under /cpus";
    return -1;
  }
  return 0;
}

const struct fdt_device *fdt_find_compatible(const char *compatible, int nth) {
  size_t want = strlen(compatible);
  for (uint32_t i = 0; i < boot_info.ndevices; i++) {
    const struct fdt_device *d = &boot_info.devices[i];
    for (uint32_t at = 0; at < d->compatible_len;) {
      const char *s = d->compatible + at;
      size_t n = strnlen(s, d->compatible_len - at);
      if (n == want && memcmp(s, compatible, n) == 0 && nth-- == 0) return d;
      at += n + 1;
    }
  }
  return 0;
}
