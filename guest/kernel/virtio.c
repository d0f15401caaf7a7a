/*
 * The virtio-mmio transport and split virtqueues, for the drivers (see virtio.h for the layout).
 * Initialization follows virtio 1.2 §3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK (read
 * back: the device may refuse), queues, DRIVER_OK. Only version 2 (non-legacy) devices are driven; a
 * legacy one is reported and left alone (QEMU needs `-global virtio-mmio.force-legacy=false`).
 */
#include <stdio.h>

#include "kernel.h"
#include "virtio.h"

#define VIRTIO_MAGIC 0x74726976u /* "virt" */

int virtio_find(uint32_t device_id, int nth, struct virtio_dev *dev) {
  for (int i = 0;; i++) {
    const struct fdt_device *d = fdt_find_compatible("virtio,mmio", i);
    if (d == 0) return -1;
    if (d->size < VIRTIO_MMIO_CONFIG) continue;
    volatile uint32_t *regs = vm_map_io((uintptr_t)d->base, (size_t)d->size);
    if (regs[VIRTIO_MMIO_MAGIC_VALUE / 4] != VIRTIO_MAGIC) continue;
    if (regs[VIRTIO_MMIO_DEVICE_ID / 4] != device_id) continue; /* 0: an empty slot */
    uint32_t version = regs[VIRTIO_MMIO_VERSION / 4];
    if (version != 2) {
      printf("virtio: device %u at %08lx is legacy (version %u): not supported\n", (unsigned)device_id,
             (unsigned long)d->base, (unsigned)version);
      continue;
    }
    if (nth-- > 0) continue;
    dev->regs = regs;
    dev->base = d->base;
    dev->irq = d->irq;
    dev->features = 0;
    return 0;
  }
}

uint64_t virtio_device_features(struct virtio_dev *dev) {
  virtio_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
  uint64_t hi = virtio_read(dev, VIRTIO_MMIO_DEVICE_FEATURES);
  virtio_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
  return (hi << 32) | virtio_read(dev, VIRTIO_MMIO_DEVICE_FEATURES);
}

int virtio_negotiate(struct virtio_dev *dev, uint64_t wanted) {
  virtio_write(dev, VIRTIO_MMIO_STATUS, 0);
  while (virtio_read(dev, VIRTIO_MMIO_STATUS) != 0) {
  }
  uint32_t status = VIRTIO_STATUS_ACKNOWLEDGE;
  virtio_write(dev, VIRTIO_MMIO_STATUS, status);
  status |= VIRTIO_STATUS_DRIVER;
  virtio_write(dev, VIRTIO_MMIO_STATUS, status);
  uint64_t offered = virtio_device_features(dev);
  uint64_t version = 1ull << VIRTIO_F_VERSION_1;
  if (!(offered & version)) {
    virtio_fail(dev);
    return -1;
  }
  uint64_t features = offered & (wanted | version);
  virtio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
  virtio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
  virtio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
  virtio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
  status |= VIRTIO_STATUS_FEATURES_OK;
  virtio_write(dev, VIRTIO_MMIO_STATUS, status);
  if (!(virtio_read(dev, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
    virtio_fail(dev);
    return -1;
  }
  dev->features = features;
  return 0;
}

void virtio_fail(struct virtio_dev *dev) {
  virtio_write(dev, VIRTIO_MMIO_STATUS, virtio_read(dev, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_FAILED);
}

void virtio_driver_ok(struct virtio_dev *dev) {
  virtio_write(dev, VIRTIO_MMIO_STATUS, virtio_read(dev, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

uint32_t virtio_interrupt_ack(struct virtio_dev *dev) {
  uint32_t bits = virtio_read(dev, VIRTIO_MMIO_INTERRUPT_STATUS);
  if (bits) virtio_write(dev, VIRTIO_MMIO_INTERRUPT_ACK, bits);
  return bits;
}

int virtq_init(struct virtio_dev *dev, struct virtq *q, uint32_t index) {
  virtio_write(dev, VIRTIO_MMIO_QUEUE_SEL, index);
  if (virtio_read(dev, VIRTIO_MMIO_QUEUE_READY) != 0) return -1;
  uint32_t max = virtio_read(dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
  if (max == 0) return -1;
  uint32_t size = max < VIRTQ_SIZE ? max : VIRTQ_SIZE; /* both powers of 2 */
  uintptr_t page = kalloc();
  if (page == 0) return -1;
  uintptr_t avail = page + 16 * size;
  uintptr_t used = (avail + 6 + 2 * size + 3) & ~(uintptr_t)3;
  q->dev = dev;
  q->index = index;
  q->size = size;
  q->desc = (volatile struct virtq_desc *)page;
  q->avail = (volatile struct virtq_avail *)avail;
  q->used = (volatile struct virtq_used *)used;
  for (uint32_t i = 0; i < size; i++) q->desc[i].next = (uint16_t)(i + 1);
  q->free_head = 0;
  q->nfree = (uint16_t)size;
  q->last_used = 0;
  virtio_write(dev, VIRTIO_MMIO_QUEUE_NUM, size);
  virtio_write(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)page);
  virtio_write(dev, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
  virtio_write(dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
  virtio_write(dev, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
  virtio_write(dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
  virtio_write(dev, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
  virtio_write(dev, VIRTIO_MMIO_QUEUE_READY, 1);
  return 0;
}

int virtq_alloc(struct virtq *q) {
  if (q->nfree == 0) return -1;
  uint16_t i = q->free_head;
  q->free_head = q->desc[i].next;
  q->nfree--;
  return i;
}

void virtq_free_chain(struct virtq *q, uint16_t head) {
  uint16_t i = head;
  for (;;) {
    uint16_t flags = q->desc[i].flags, next = q->desc[i].next;
    q->desc[i].next = q->free_head;
    q->free_head = i;
    q->nfree++;
    if (!(flags & VIRTQ_DESC_F_NEXT)) return;
    i = next;
  }
}

void virtq_set(struct virtq *q, uint16_t i, const void *buf, uint32_t len, uint16_t flags, uint16_t next) {
  q->desc[i].addr = (uintptr_t)buf; /* identity-mapped: the kernel address is the physical one */
  q->desc[i].len = len;
  q->desc[i].flags = flags;
  q->desc[i].next = next;
}

void virtq_submit(struct virtq *q, uint16_t head) {
  uint16_t idx = q->avail->idx;
  q->avail->ring[idx % q->size] = head;
  __sync_synchronize(); /* the entry (and the descriptors) before the index that publishes it */
  q->avail->idx = (uint16_t)(idx + 1);
  __sync_synchronize(); /* the index before the notification */
  virtio_write(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
}

int virtq_next_used(struct virtq *q, uint32_t *id, uint32_t *len) {
  if (q->last_used == q->used->idx) return 0;
  __sync_synchronize(); /* the index before the entry it covers */
  volatile struct virtq_used_elem *e = &q->used->ring[q->last_used % q->size];
  *id = e->id;
  *len = e->len;
  q->last_used++;
  return 1;
}
