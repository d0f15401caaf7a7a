/*
 * The memory balloon: the virtio-balloon driver (virtio 1.2 §5.5) and a kernel thread that moves the
 * balloon towards its target.
 *
 *   target    pages the balloon should hold: the RAM the device tree reports less `memory/target` (KiB,
 *             as Xen's balloon driver reads it; resize.c watches it) when the domain has a store ring,
 *             else the device's num_pages (configuration-change interrupt)
 *   inflate   kalloc a batch of up to BALLOON_BATCH pages, send their numbers on the inflateq, wait
 *             for it to be used (the host has taken them out of the domain), mark them in `held`
 *   deflate   send a batch of held page numbers on the deflateq; once used (the host has backed them
 *             again, zeroed — MUST_TELL_HOST), kfree them
 *   stats     one buffer on the statsq; when the device returns it the thread refills it (free,
 *             total, available, swap-in/out 0) and offers it again
 *
 * A ballooned page is simply allocated: kalloc never hands it out, and nothing else refers to it. The
 * balloon never takes the last BALLOON_RESERVE free pages: when memory runs short it stops short of the
 * target and says so (once per target), instead of starving the kernel, and tries again every second
 * (memory may have been freed) or at once when the target changes.
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "virtio.h"

#define VIRTIO_ID_BALLOON 5
#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ 1
#define BALLOON_BATCH 256
#define BALLOON_RESERVE 64
#define CFG_NUM_PAGES (VIRTIO_MMIO_CONFIG + 0)
#define CFG_ACTUAL (VIRTIO_MMIO_CONFIG + 4)

struct balloon_stat {
  uint16_t tag;
  uint64_t val;
} __attribute__((packed));
enum { STAT_SWAP_IN = 0, STAT_SWAP_OUT = 1, STAT_MEMFREE = 4, STAT_MEMTOT = 5, STAT_AVAIL = 6, NSTATS = 5 };

static struct virtio_dev dev;
static struct virtq inflateq, deflateq, statsq;
static int present, polled, has_stats;
static uint32_t *pfns;        /* one page: the batch of page numbers in flight */
static struct balloon_stat *stats; /* in the same page, after the batch */
static uint8_t *held;         /* bitmap over RAM's pages: ballooned */
static uint32_t ram_pages, npages, target;
static int target_from_store; /* memory/target decides, not num_pages */
static volatile int done_inflate, done_deflate, stats_wanted, config_changed;
static uint32_t warned; /* the target we last said we stopped short of (0: none) */
static int stalled;      /* memory ran short: try again in a second, or at a new target */
static int chan;          /* the thread's wakeup channel */

static uint32_t first_pfn(void) { return (uint32_t)(boot_info.mem_base >> 12); }
static int is_held(uint32_t i) { return (held[i / 8] >> (i % 8)) & 1; }
static void set_held(uint32_t i, int on) {
  if (on) held[i / 8] |= (uint8_t)(1u << (i % 8));
  else held[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

static void drain(void) {
  uint32_t id, len;
  while (virtq_next_used(&inflateq, &id, &len)) {
    virtq_free_chain(&inflateq, (uint16_t)id);
    done_inflate = 1;
  }
  while (virtq_next_used(&deflateq, &id, &len)) {
    virtq_free_chain(&deflateq, (uint16_t)id);
    done_deflate = 1;
  }
  if (has_stats)
    while (virtq_next_used(&statsq, &id, &len)) {
      virtq_free_chain(&statsq, (uint16_t)id);
      stats_wanted = 1;
    }
}

static void balloon_interrupt(void *arg) {
  (void)arg;
  uint32_t status = virtio_interrupt_ack(&dev);
  if (status & 2) config_changed = 1;
  drain();
  wakeup(&chan);
}

/* Sends `n` page numbers on `q` and waits until the device has used them. */
static void send(struct virtq *q, volatile int *done, uint32_t n) {
  int id = virtq_alloc(q);
  if (id < 0) panic("balloon: no descriptor (one request at a time)");
  virtq_set(q, (uint16_t)id, pfns, n * 4, 0, 0);
  *done = 0;
  virtq_submit(q, (uint16_t)id);
  while (!*done) {
    if (polled) drain();
    if (!*done) sleep_on(polled ? (const void *)&ticks : (const void *)&chan);
  }
}

static void fill_stats(void) {
  uint64_t free = (uint64_t)kalloc_free_pages() * PAGE_SIZE;
  uint64_t total = (uint64_t)(ram_pages - npages) * PAGE_SIZE;
  struct balloon_stat s[NSTATS] = {
      {STAT_SWAP_IN, 0}, {STAT_SWAP_OUT, 0}, {STAT_MEMFREE, free}, {STAT_MEMTOT, total}, {STAT_AVAIL, free}};
  memcpy(stats, s, sizeof s);
  int id = virtq_alloc(&statsq);
  if (id < 0) return;
  virtq_set(&statsq, (uint16_t)id, stats, sizeof s, 0, 0);
  virtq_submit(&statsq, (uint16_t)id);
}

static void set_actual(void) { virtio_write(&dev, CFG_ACTUAL, npages); }

static void inflate(uint32_t want) {
  uint32_t n = 0;
  while (n < want && n < BALLOON_BATCH && kalloc_free_pages() > BALLOON_RESERVE) {
    uintptr_t pa = kalloc_dirty(); /* no need to zero what the host takes away */
    if (pa == 0) break;
    pfns[n++] = (uint32_t)(pa >> 12);
  }
  if (n < want && n < BALLOON_BATCH) stalled = 1;
  if (stalled && warned != target) {
    warned = target;
    printf("balloon: memory is short: holding %u pages, %u short of the target %u\n", (unsigned)(npages + n),
           (unsigned)(target - npages - n), (unsigned)target);
  }
  if (n == 0) return;
  send(&inflateq, &done_inflate, n);
  for (uint32_t k = 0; k < n; k++) set_held(pfns[k] - first_pfn(), 1);
  npages += n;
  set_actual();
}

static void deflate(uint32_t want) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < ram_pages && n < want && n < BALLOON_BATCH; i++)
    if (is_held(i)) pfns[n++] = first_pfn() + i;
  if (n == 0) return;
  send(&deflateq, &done_deflate, n);
  for (uint32_t k = 0; k < n; k++) {
    set_held(pfns[k] - first_pfn(), 0);
    kfree((uintptr_t)pfns[k] << 12);
  }
  npages -= n;
  set_actual();
}

static void balloon_main(void) {
  for (;;) {
    if (config_changed) {
      config_changed = 0;
      if (!target_from_store) {
        target = virtio_read(&dev, CFG_NUM_PAGES);
        stalled = 0;
      }
    }
    if (stats_wanted) {
      stats_wanted = 0;
      fill_stats();
    }
    if (target > npages && !stalled) inflate(target - npages);
    else if (target < npages) deflate(npages - target);
    else if (target > npages) {
      sleep_ms(1000); /* short of memory: perhaps some was freed meanwhile */
      stalled = 0;
      continue;
    } else {
      sleep_on(polled ? (const void *)&ticks : (const void *)&chan);
      continue;
    }
    yield(); /* a batch at a time: the processes run between two (the kernel does not preempt) */
    if (polled) drain();
  }
}

void balloon_init(void) {
  if (virtio_find(VIRTIO_ID_BALLOON, 0, &dev) < 0) return;
  ram_pages = (uint32_t)(boot_info.mem_size / PAGE_SIZE);
  uint32_t bitmap_pages = (ram_pages / 8 + PAGE_SIZE - 1) / PAGE_SIZE;
  pfns = (uint32_t *)kalloc();
  held = (uint8_t *)kalloc();
  for (uint32_t i = 1; i < bitmap_pages && held; i++)
    if (kalloc() != (uintptr_t)held + i * PAGE_SIZE) held = 0; /* not contiguous: give up */
  uint64_t wanted = (1ull << VIRTIO_BALLOON_F_MUST_TELL_HOST) | (1ull << VIRTIO_BALLOON_F_STATS_VQ);
  if (!pfns || !held || virtio_negotiate(&dev, wanted) < 0 || virtq_init(&dev, &inflateq, 0) < 0 ||
      virtq_init(&dev, &deflateq, 1) < 0) {
    printf("balloon: virtio-balloon at %08lx: cannot set it up\n", (unsigned long)dev.base);
    virtio_fail(&dev);
    return;
  }
  has_stats = (dev.features >> VIRTIO_BALLOON_F_STATS_VQ) & 1;
  if (has_stats && virtq_init(&dev, &statsq, 2) < 0) has_stats = 0;
  stats = (struct balloon_stat *)(pfns + BALLOON_BATCH);
  polled = irq_register(dev.irq, balloon_interrupt, 0) < 0;
  virtio_driver_ok(&dev);
  target = virtio_read(&dev, CFG_NUM_PAGES);
  if (has_stats) fill_stats();
  present = 1;
  printf("balloon: virtio-balloon, %u pages of RAM%s\n", (unsigned)ram_pages, has_stats ? ", statistics" : "");
}

void balloon_start(void) {
  if (present && kthread_create("balloon", balloon_main) < 0) printf("balloon: no process slot\n");
}

int balloon_present(void) { return present; }

void balloon_set_target_kib(uint64_t kib) {
  if (!present) return;
  uint64_t pages = kib / (PAGE_SIZE / 1024);
  target_from_store = 1;
  target = pages >= ram_pages ? 0 : ram_pages - (uint32_t)pages;
  stalled = 0;
  wakeup(&chan);
}

void balloon_status(struct balloon_info *info) {
  info->present = present;
  info->ram_pages = ram_pages;
  info->held = npages;
  info->target = target;
  info->short_of = warned == target && target > npages;
}
