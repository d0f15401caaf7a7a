/*
 * The shell's device commands (shell.c lists them):
 *
 *   blk info                   every disk: address, interrupt, size, read-only, serial
 *   blk read <sector>          hexdump of one sector of blk0 (repeated lines as `*`)
 *   blk write <sector> <text>  the text, zero-padded, as one sector of blk0
 *   blk test [sector]          blk_selftest over 32 sectors of blk0 (from 0): written, read back,
 *                              compared, restored; on a read-only disk, writes must fail
 *   hvc write <text>           the text and a newline on hvc0 (the virtio console)
 *   hvc read                   waits for a line on hvc0 and prints it here as `hvc0: <line>` (the shell
 *                              on hvc0 takes no input meanwhile)
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"

#define SELFTEST_SECTORS 32

/* The next word of *s (NUL-terminated in place), or 0 at the end. */
static char *next_word(char **s) {
  char *p = *s;
  while (*p == ' ') p++;
  if (!*p) return 0;
  char *w = p;
  while (*p && *p != ' ') p++;
  if (*p) *p++ = '\0';
  *s = p;
  return w;
}

static int parse_u64(const char *s, uint64_t *out) {
  uint64_t v = 0;
  if (!s || !*s) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *out = v;
  return 0;
}

static void hexdump(const uint8_t *buf, size_t n) {
  int starred = 0;
  for (size_t at = 0; at < n; at += 16) {
    if (at > 0 && at + 16 < n && memcmp(buf + at, buf + at - 16, 16) == 0) {
      if (!starred) printf("*\n");
      starred = 1;
      continue;
    }
    starred = 0;
    printf("%04x ", (unsigned)at);
    for (size_t i = 0; i < 16; i++) printf(" %02x", buf[at + i]);
    printf("  |");
    for (size_t i = 0; i < 16; i++) putchar(buf[at + i] >= ' ' && buf[at + i] < 0x7f ? buf[at + i] : '.');
    printf("|\n");
  }
}

static void blk_usage(void) { printf("usage: blk info | read <sector> | write <sector> <text> | test [sector]\n"); }

void cmd_blk(char *args) {
  char *verb = next_word(&args);
  if (!verb) {
    blk_usage();
    return;
  }
  if (strcmp(verb, "info") == 0) {
    if (blk_count() == 0) printf("blk: no disks\n");
    for (int i = 0; i < blk_count(); i++) {
      struct blk_info in;
      blk_info(i, &in);
      printf("blk%d: virtio-blk at %08lx irq %u%s, %lu sectors (%lu KiB), %s, serial '%s', %u interrupts\n", i,
             (unsigned long)in.base, (unsigned)in.irq, in.polled ? " (polled)" : "", (unsigned long)in.capacity,
             (unsigned long)(in.capacity / 2), in.readonly ? "read-only" : "read-write", in.serial,
             (unsigned)irq_count(in.irq));
    }
    return;
  }
  if (blk_count() == 0) {
    printf("blk: no disks\n");
    return;
  }
  uint64_t sector = 0;
  char *num = next_word(&args);
  if ((num || strcmp(verb, "test") != 0) && parse_u64(num, &sector) < 0) {
    blk_usage();
    return;
  }
  if (strcmp(verb, "read") == 0) {
    uint8_t *buf = (uint8_t *)kalloc();
    if (!buf) {
      printf("blk: out of memory\n");
      return;
    }
    int st = blk_read(0, sector, buf, 1);
    if (st != 0) printf("blk: read of sector %lu failed: %s\n", (unsigned long)sector, blk_status_text(st));
    else hexdump(buf, BLK_SECTOR_SIZE);
    kfree((uintptr_t)buf);
  } else if (strcmp(verb, "write") == 0) {
    while (*args == ' ') args++;
    uint8_t *buf = (uint8_t *)kalloc(); /* zeroed */
    if (!buf) {
      printf("blk: out of memory\n");
      return;
    }
    size_t n = strlen(args);
    memcpy(buf, args, n < BLK_SECTOR_SIZE ? n : BLK_SECTOR_SIZE);
    int st = blk_write(0, sector, buf, 1);
    if (st == 0) st = blk_flush(0);
    if (st != 0) printf("blk: write of sector %lu failed: %s\n", (unsigned long)sector, blk_status_text(st));
    else printf("blk: wrote sector %lu\n", (unsigned long)sector);
    kfree((uintptr_t)buf);
  } else if (strcmp(verb, "test") == 0) {
    char why[120];
    struct blk_info in;
    blk_info(0, &in);
    uint32_t n = in.capacity - sector < SELFTEST_SECTORS ? (uint32_t)(in.capacity - sector) : SELFTEST_SECTORS;
    if (sector >= in.capacity) n = SELFTEST_SECTORS; /* selftest reports the range */
    if (blk_selftest(0, sector, n, why, sizeof why) < 0) printf("blk test: FAILED: %s\n", why);
    else if (in.readonly)
      printf("blk test: sectors %lu..%lu of a read-only disk: writes refused with an I/O error, contents unchanged: ok\n",
             (unsigned long)sector, (unsigned long)(sector + n - 1));
    else
      printf("blk test: sectors %lu..%lu written, read back, compared and restored: ok\n", (unsigned long)sector,
             (unsigned long)(sector + n - 1));
  } else {
    blk_usage();
  }
}

void cmd_hvc(char *args) {
  char *verb = next_word(&args);
  if (!hvc_present()) {
    printf("hvc: no virtio console\n");
    return;
  }
  if (verb && strcmp(verb, "write") == 0) {
    while (*args == ' ') args++;
    if (hvc_write(args, strlen(args)) < 0 || hvc_write("\n", 1) < 0) printf("hvc: write failed\n");
  } else if (verb && strcmp(verb, "read") == 0 && !*args) {
    char line[LINE_LEN];
    size_t n = 0;
    hvc_claim(); /* the line is this command's, not the shell's on hvc0 */
    for (;;) {
      int c = hvc_getc();
      if (c < 0 || c == '\n') break;
      if (c != '\r' && n < sizeof line - 1) line[n++] = (char)c;
    }
    hvc_release();
    line[n] = '\0';
    printf("hvc0: %s\n", line);
  } else {
    printf("usage: hvc write <text> | read\n");
  }
}
