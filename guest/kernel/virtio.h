/*
 * virtio over MMIO (virtio 1.2: §4.2 the version 2 transport, §2.7 split virtqueues), as the kernel's
 * drivers (blk.c, hvc.c) use it. A device is found by its device ID among the device tree's
 * `virtio,mmio` nodes; each virtqueue lives in one zeroed kalloc page, identity-mapped, so every address
 * the device is given is just the pointer:
 *
 *   page +0            descriptors   VIRTQ_SIZE × { addr: u64, len: u32, flags: u16, next: u16 }
 *   page +16·N         available     flags: u16, idx: u16, ring[N]: u16
 *   page +16·N+6+2N→4  used          flags: u16, idx: u16, ring[N]: { id: u32, len: u32 }
 *
 * The driver hands descriptors out from a free list (linked through `next`), publishes a chain's head in
 * the available ring, bumps its idx after a fence and writes QueueNotify; the device's interrupt (PLIC
 * source from the node's `interrupts`) means used entries or a configuration change.
 */
#ifndef KERNEL_VIRTIO_H
#define KERNEL_VIRTIO_H

#include <stdint.h>

#define VIRTIO_MMIO_MAGIC_VALUE 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

#define VIRTIO_F_VERSION_1 32

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

/* Entries per virtqueue (at most the device's QueueNumMax; one page holds it). */
#define VIRTQ_SIZE 16

struct virtq_desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
struct virtq_avail {
  uint16_t flags;
  uint16_t idx;
  uint16_t ring[];
};
struct virtq_used_elem {
  uint32_t id;
  uint32_t len;
};
struct virtq_used {
  uint16_t flags;
  uint16_t idx;
  struct virtq_used_elem ring[];
};

struct virtio_dev {
  volatile uint32_t *regs; /* in the I/O window */
  uint64_t base;           /* physical address of the registers */
  uint32_t irq;            /* PLIC source */
  uint64_t features;       /* negotiated */
};

struct virtq {
  struct virtio_dev *dev;
  uint32_t index;
  uint32_t size;
  volatile struct virtq_desc *desc;
  volatile struct virtq_avail *avail;
  volatile struct virtq_used *used;
  uint16_t free_head; /* first free descriptor; chained through `next` */
  uint16_t nfree;
  uint16_t last_used; /* the used idx the driver has consumed up to */
};

/* Register access. */
static inline uint32_t virtio_read(const struct virtio_dev *d, uint32_t off) { return d->regs[off / 4]; }
static inline void virtio_write(const struct virtio_dev *d, uint32_t off, uint32_t v) { d->regs[off / 4] = v; }

/*
 * Finds the `nth` (from 0) version 2 virtio-mmio device with `device_id` in the device tree and maps
 * its registers. Boot time only (vm_map_io). Returns 0, or -1 when there is none.
 */
int virtio_find(uint32_t device_id, int nth, struct virtio_dev *dev);
/*
 * Resets the device and negotiates features: VERSION_1 and whichever of `wanted` the device offers.
 * Returns 0 with dev->features set, or -1 (the device refused: FAILED is set).
 */
int virtio_negotiate(struct virtio_dev *dev, uint64_t wanted);
/* Offered features (before negotiating). */
uint64_t virtio_device_features(struct virtio_dev *dev);
/* Sets queue `index` up in a fresh page (VIRTQ_SIZE entries, fewer if the device offers fewer). 0 or -1. */
int virtq_init(struct virtio_dev *dev, struct virtq *q, uint32_t index);
/* Sets DRIVER_OK: the device is live. */
void virtio_driver_ok(struct virtio_dev *dev);
/* Reads and acknowledges the interrupt status (bit 0 used buffers, bit 1 configuration change). */
uint32_t virtio_interrupt_ack(struct virtio_dev *dev);
/* Marks the device FAILED (the driver gives up on it). */
void virtio_fail(struct virtio_dev *dev);

/* A free descriptor, or -1 when none is left. */
int virtq_alloc(struct virtq *q);
/* Gives back a chain (following NEXT from `head`). */
void virtq_free_chain(struct virtq *q, uint16_t head);
/* Fills descriptor i. */
void virtq_set(struct virtq *q, uint16_t i, const void *buf, uint32_t len, uint16_t flags, uint16_t next);
/* Makes the chain at `head` available and notifies the device. */
void virtq_submit(struct virtq *q, uint16_t head);
/* Takes the next used entry: 1 with *id and *len set, 0 when there is none. */
int virtq_next_used(struct virtq *q, uint32_t *id, uint32_t *len);

#endif
