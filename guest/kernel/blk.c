/*
 * The virtio-blk driver (virtio 1.2 §5.2): up to NBLK disks, one request at a time each, synchronous
 * for the process that asks. A request is three descriptors:
 *
 *   header { type, reserved, sector } (device-readable) → data (writable for a read) → status (writable)
 *
 * The caller sleeps until the disk's interrupt (PLIC) says the request is used; without an interrupt
 * line it polls the used ring. The kernel is not preemptible and runs with interrupts off, so nothing
 * can complete between submitting and sleeping: the wakeup cannot be lost. A second caller waits for the
 * disk to be free.
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "virtio.h"

#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

struct blk_req_header {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};

struct blk {
  struct virtio_dev dev;
  struct virtq q;
  uint64_t capacity; /* sectors */
  int readonly;
  int polled;        /* no interrupt line: poll the used ring */
  int busy;          /* a request is in flight */
  volatile int done; /* set by the interrupt handler */
  /* In one kalloc page, so the device reaches them at their (identity-mapped) address. */
  struct blk_req_header *header;
  volatile uint8_t *status;
  char serial[BLK_SERIAL_LEN + 1];
};

static struct blk disks[NBLK];
static int ndisks;

static void blk_complete(struct blk *b) {
  uint32_t id, len;
  while (virtq_next_used(&b->q, &id, &len)) {
    virtq_free_chain(&b->q, (uint16_t)id);
    b->done = 1;
  }
}

static void blk_interrupt(void *arg) {
  struct blk *b = arg;
  virtio_interrupt_ack(&b->dev);
  blk_complete(b);
  if (b->done) wakeup(b);
}

/* One request; returns the device's status byte (0 OK). */
static int blk_request(struct blk *b, uint32_t type, uint64_t sector, void *data, uint32_t len) {
  while (b->busy) sleep_on(&b->busy);
  b->busy = 1;
  b->header->type = type;
  b->header->reserved = 0;
  b->header->sector = sector;
  *b->status = 0xff;
  /* One request in flight uses three of the queue's descriptors: they are always there. */
  int h = virtq_alloc(&b->q), d = len ? virtq_alloc(&b->q) : -1, s = virtq_alloc(&b->q);
  if (h < 0 || s < 0 || (len && d < 0)) panic("blk: out of descriptors");
  uint16_t after_header = len ? (uint16_t)d : (uint16_t)s;
  virtq_set(&b->q, (uint16_t)h, b->header, sizeof *b->header, VIRTQ_DESC_F_NEXT, after_header);
  if (len)
    virtq_set(&b->q, (uint16_t)d, data, len,
              VIRTQ_DESC_F_NEXT | (type == VIRTIO_BLK_T_OUT ? 0 : VIRTQ_DESC_F_WRITE), (uint16_t)s);
  virtq_set(&b->q, (uint16_t)s, (const void *)b->status, 1, VIRTQ_DESC_F_WRITE, 0);
  b->done = 0;
  virtq_submit(&b->q, (uint16_t)h);
  /* At boot there is no process to put to sleep (and interrupts are off): poll. */
  while (!b->done) {
    if (b->polled || current() == 0) blk_complete(b);
    else sleep_on(b);
  }
  int result = *b->status;
  b->busy = 0;
  wakeup(&b->busy);
  return result;
}

static void blk_probe(struct blk *b) {
  uintptr_t page = kalloc();
  if (page == 0 || virtio_negotiate(&b->dev, (1ull << VIRTIO_BLK_F_RO) | (1ull << VIRTIO_BLK_F_FLUSH)) < 0 ||
      virtq_init(&b->dev, &b->q, 0) < 0) {
    printf("blk: virtio-blk at %08lx: cannot set it up\n", (unsigned long)b->dev.base);
    if (page) kfree(page);
    virtio_fail(&b->dev);
    return;
  }
  b->header = (struct blk_req_header *)page;
  b->status = (volatile uint8_t *)(page + sizeof(struct blk_req_header));
  volatile uint32_t *config = &b->dev.regs[VIRTIO_MMIO_CONFIG / 4];
  b->capacity = ((uint64_t)config[1] << 32) | config[0];
  b->readonly = (b->dev.features >> VIRTIO_BLK_F_RO) & 1;
  b->polled = irq_register(b->dev.irq, blk_interrupt, b) < 0;
  virtio_driver_ok(&b->dev);
  char *id = (char *)(page + 64);
  if (blk_request(b, VIRTIO_BLK_T_GET_ID, 0, id, BLK_SERIAL_LEN) == VIRTIO_BLK_S_OK) {
    memcpy(b->serial, id, BLK_SERIAL_LEN);
    b->serial[BLK_SERIAL_LEN] = '\0';
  }
  ndisks++;
}

void blk_init(void) {
  for (int n = 0; n < NBLK; n++) {
    struct blk *b = &disks[ndisks];
    if (virtio_find(VIRTIO_ID_BLOCK, n, &b->dev) < 0) break;
    blk_probe(b);
  }
  for (int i = 0; i < ndisks; i++)
    printf("blk%d: virtio-blk, %lu sectors (%lu KiB)%s\n", i, (unsigned long)disks[i].capacity,
           (unsigned long)(disks[i].capacity / 2), disks[i].readonly ? ", read-only" : "");
}

int blk_count(void) { return ndisks; }

int blk_info(int disk, struct blk_info *info) {
  if (disk < 0 || disk >= ndisks) return -1;
  struct blk *b = &disks[disk];
  info->base = b->dev.base;
  info->irq = b->dev.irq;
  info->capacity = b->capacity;
  info->readonly = b->readonly;
  info->polled = b->polled;
  memcpy(info->serial, b->serial, sizeof info->serial);
  return 0;
}

const char *blk_status_text(int status) {
  switch (status) {
    case VIRTIO_BLK_S_OK: return "ok";
    case VIRTIO_BLK_S_IOERR: return "I/O error";
    case VIRTIO_BLK_S_UNSUPP: return "unsupported";
    case -2: return "no such disk, or sectors beyond it";
    default: return "no answer from the device";
  }
}

/* Reads or writes `count` sectors at `sector`; `buf` is kernel memory. Returns 0 or a status (above). */
static int blk_rw(int disk, uint32_t type, uint64_t sector, void *buf, uint32_t count) {
  if (disk < 0 || disk >= ndisks || count == 0 || count > BLK_MAX_SECTORS) return -2;
  struct blk *b = &disks[disk];
  if (sector >= b->capacity || count > b->capacity - sector) return -2;
  return blk_request(b, type, sector, buf, count * BLK_SECTOR_SIZE);
}

int blk_read(int disk, uint64_t sector, void *buf, uint32_t count) {
  return blk_rw(disk, VIRTIO_BLK_T_IN, sector, buf, count);
}

int blk_write(int disk, uint64_t sector, const void *buf, uint32_t count) {
  return blk_rw(disk, VIRTIO_BLK_T_OUT, sector, (void *)buf, count);
}

int blk_flush(int disk) {
  if (disk < 0 || disk >= ndisks) return -2;
  struct blk *b = &disks[disk];
  if (!((b->dev.features >> VIRTIO_BLK_F_FLUSH) & 1)) return 0; /* no write cache to flush */
  return blk_request(b, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
}

/* The test pattern: every byte depends on the sector and its offset, so misplaced data shows. */
static void fill_pattern(uint8_t *buf, uint64_t sector, uint32_t count) {
  for (uint32_t i = 0; i < count * BLK_SECTOR_SIZE; i++)
    buf[i] = (uint8_t)((sector + i / BLK_SECTOR_SIZE) * 31 + (i % BLK_SECTOR_SIZE) * 7 + 0x5a);
}

int blk_selftest(int disk, uint64_t first, uint32_t nsectors, char *why, size_t whylen) {
  struct blk_info info;
  if (blk_info(disk, &info) < 0) {
    snprintf(why, whylen, "no disk blk%d", disk);
    return -1;
  }
  if (first >= info.capacity || nsectors > info.capacity - first) {
    snprintf(why, whylen, "sectors %lu..%lu are beyond the disk's %lu", (unsigned long)first,
             (unsigned long)(first + nsectors - 1), (unsigned long)info.capacity);
    return -1;
  }
  uint8_t *saved = (uint8_t *)kalloc(), *pattern = (uint8_t *)kalloc(), *back = (uint8_t *)kalloc();
  int result = -1;
  if (!saved || !pattern || !back) {
    snprintf(why, whylen, "out of memory");
    goto out;
  }
  static const uint32_t sizes[] = {1, 2, 4, 8}; /* sectors per request, in turn: at most one page */
  uint64_t s = first;
  for (uint32_t k = 0; s < first + nsectors; k++) {
    uint32_t n = sizes[k % 4];
    if (n > first + nsectors - s) n = (uint32_t)(first + nsectors - s);
    uint32_t bytes = n * BLK_SECTOR_SIZE;
    int st = blk_read(disk, s, saved, n);
    if (st != 0) {
      snprintf(why, whylen, "read of %u sectors at %lu: %s", (unsigned)n, (unsigned long)s, blk_status_text(st));
      goto out;
    }
    fill_pattern(pattern, s, n);
    st = blk_write(disk, s, pattern, n);
    if (info.readonly) {
      if (st != 1) {
        snprintf(why, whylen, "write to the read-only disk at %lu: %s, not an I/O error", (unsigned long)s,
                 blk_status_text(st));
        goto out;
      }
    } else if (st != 0) {
      snprintf(why, whylen, "write of %u sectors at %lu: %s", (unsigned)n, (unsigned long)s, blk_status_text(st));
      goto out;
    }
    memset(back, 0, bytes);
    st = blk_read(disk, s, back, n);
    if (st != 0) {
      snprintf(why, whylen, "read back at %lu: %s", (unsigned long)s, blk_status_text(st));
      goto out;
    }
    const uint8_t *expect = info.readonly ? saved : pattern;
    for (uint32_t i = 0; i < bytes; i++) {
      if (back[i] != expect[i]) {
        snprintf(why, whylen, "sector %lu byte %u reads %02x, expected %02x", (unsigned long)(s + i / BLK_SECTOR_SIZE),
                 (unsigned)(i % BLK_SECTOR_SIZE), back[i], expect[i]);
        goto out;
      }
    }
    if (!info.readonly && (st = blk_write(disk, s, saved, n)) != 0) {
      snprintf(why, whylen, "restoring sectors at %lu: %s", (unsigned long)s, blk_status_text(st));
      goto out;
    }
    s += n;
  }
  if (!info.readonly && (blk_flush(disk)) != 0) {
    snprintf(why, whylen, "flush failed");
    goto out;
  }
  result = 0;
out:
  if (saved) kfree((uintptr_t)saved);
  if (pattern) kfree((uintptr_t)pattern);
  if (back) kfree((uintptr_t)back);
  return result;
}
