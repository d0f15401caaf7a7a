/*
 * The virtio-net driver (virtio 1.2 §5.1) on a virtio-mmio device (version 2): the first device tree
 * `virtio,mmio` node whose DeviceID is 1 becomes eth0.
 *
 *   receiveq (0)   RX_BUFS buffers posted at once, each one whole frame: virtio_net_hdr (12) + 1514;
 *                  the interrupt hands each used one to net_input and posts it again
 *   transmitq (1)  TX_BUFS buffers; a frame is copied behind a zeroed header and made available;
 *                  used ones are reclaimed when the next frame is sent (and on interrupts)
 *
 * Features: VIRTIO_NET_F_MAC (the address from the configuration space) and VIRTIO_F_VERSION_1; nothing
 * else, so headers are all zero but num_buffers. Buffers come from kalloc, whose pages are identity
 * mapped: a buffer's kernel address is its guest-physical address.
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "net.h"

/* virtio-mmio registers (§4.2.2) */
#define MMIO_MAGIC 0x000
#define MMIO_VERSION 0x004
#define MMIO_DEVICE_ID 0x008
#define MMIO_DEVICE_FEATURES 0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES 0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM 0x038
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INTERRUPT_STATUS 0x060
#define MMIO_INTERRUPT_ACK 0x064
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC_LOW 0x080
#define MMIO_QUEUE_DESC_HIGH 0x084
#define MMIO_QUEUE_DRIVER_LOW 0x090
#define MMIO_QUEUE_DRIVER_HIGH 0x094
#define MMIO_QUEUE_DEVICE_LOW 0x0a0
#define MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define MMIO_CONFIG 0x100

#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_F_MAC 5  /* in the low feature word */
#define VIRTIO_F_VERSION_1 0 /* bit 32: bit 0 of the high feature word */

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

#define QSIZE 16
#define RX_BUFS QSIZE
#define TX_BUFS QSIZE
#define NET_HDR 12
#define BUF_SIZE 2048 /* two buffers a page; a header and the largest frame (1526) fit */

struct virtq_desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags, next;
};
struct virtq_avail {
  uint16_t flags, idx, ring[QSIZE], used_event;
};
struct virtq_used_elem {
  uint32_t id, len;
};
struct virtq_used {
  uint16_t flags, idx;
  struct virtq_used_elem ring[QSIZE];
  uint16_t avail_event;
};

/* One queue in one page: descriptors at 0, available ring at 256, used ring at 2048. */
struct vq {
  volatile struct virtq_desc *desc;
  volatile struct virtq_avail *avail;
  volatile struct virtq_used *used;
  uint16_t last_used;
  uint8_t *bufs[QSIZE]; /* descriptor i's buffer */
  uint32_t in_flight;   /* tx: descriptors the device has not returned */
};

static struct {
  volatile uint32_t *regs;
  struct vq rx, tx;
  struct netif nif;
  uint32_t irq;
  uint32_t tx_full; /* frames refused because every transmit buffer was in flight */
  uint32_t rx_short; /* used receive buffers shorter than a header */
} vnet;

#define REG(off) (vnet.regs[(off) / 4])

static void barrier(void) { __sync_synchronize(); }

/* Sets up queue `index` in a fresh page with buffers of BUF_SIZE; 0 or -1. */
static int vq_setup(struct vq *q, uint32_t index) {
  REG(MMIO_QUEUE_SEL) = index;
  if (REG(MMIO_QUEUE_READY) != 0 || REG(MMIO_QUEUE_NUM_MAX) < QSIZE) return -1;
  uintptr_t page = kalloc();
  if (!page) return -1;
  q->desc = (volatile struct virtq_desc *)page;
  q->avail = (volatile struct virtq_avail *)(page + 256);
  q->used = (volatile struct virtq_used *)(page + 2048);
  q->last_used = 0;
  q->in_flight = 0;
  for (int i = 0; i < QSIZE; i += 2) {
    uintptr_t b = kalloc();
    if (!b) return -1;
    q->bufs[i] = (uint8_t *)b;
    q->bufs[i + 1] = (uint8_t *)(b + BUF_SIZE);
  }
  for (int i = 0; i < QSIZE; i++) {
    q->desc[i].addr = (uintptr_t)q->bufs[i];
    q->desc[i].len = BUF_SIZE;
    q->desc[i].flags = 0;
    q->desc[i].next = 0;
  }
  REG(MMIO_QUEUE_NUM) = QSIZE;
  REG(MMIO_QUEUE_DESC_LOW) = (uint32_t)page;
  REG(MMIO_QUEUE_DESC_HIGH) = 0;
  REG(MMIO_QUEUE_DRIVER_LOW) = (uint32_t)(page + 256);
  REG(MMIO_QUEUE_DRIVER_HIGH) = 0;
  REG(MMIO_QUEUE_DEVICE_LOW) = (uint32_t)(page + 2048);
  REG(MMIO_QUEUE_DEVICE_HIGH) = 0;
  REG(MMIO_QUEUE_READY) = 1;
  return 0;
}

/* Makes descriptor `i` available (the caller notifies). */
static void vq_post(struct vq *q, uint16_t i) {
  q->avail->ring[q->avail->idx % QSIZE] = i;
  barrier();
  q->avail->idx++;
}

static void rx_drain(void) {
  struct vq *q = &vnet.rx;
  int posted = 0;
  while (q->last_used != q->used->idx) {
    barrier();
    volatile struct virtq_used_elem *e = &q->used->ring[q->last_used % QSIZE];
    uint32_t id = e->id, len = e->len;
    q->last_used++;
    if (id >= QSIZE) continue; /* a device bug: nothing sane to give back */
    if (len >= NET_HDR + ETH_HLEN && len <= BUF_SIZE) net_input(q->bufs[id] + NET_HDR, len - NET_HDR);
    else vnet.rx_short++;
    vq_post(q, (uint16_t)id);
    posted = 1;
  }
  if (posted) {
    barrier();
    REG(MMIO_QUEUE_NOTIFY) = 0;
  }
}

static void tx_reclaim(void) {
  struct vq *q = &vnet.tx;
  while (q->last_used != q->used->idx) {
    barrier();
    q->last_used++;
    q->in_flight--;
  }
}

static void vnet_interrupt(void *arg) {
  (void)arg;
  uint32_t status = REG(MMIO_INTERRUPT_STATUS);
  REG(MMIO_INTERRUPT_ACK) = status;
  rx_drain();
  tx_reclaim();
}

static int vnet_transmit(struct netif *nif, const void *frame, size_t len) {
  (void)nif;
  struct vq *q = &vnet.tx;
  tx_reclaim();
  if (q->in_flight == TX_BUFS || len > BUF_SIZE - NET_HDR) {
    vnet.tx_full++;
    return -1;
  }
  /* Descriptors are used in ring order, and the device returns them in order: the next free one. */
  uint16_t i = q->avail->idx % QSIZE;
  memset(q->bufs[i], 0, NET_HDR);
  memcpy(q->bufs[i] + NET_HDR, frame, len);
  q->desc[i].len = (uint32_t)(NET_HDR + len);
  q->desc[i].flags = 0;
  q->in_flight++;
  vq_post(q, i);
  barrier();
  REG(MMIO_QUEUE_NOTIFY) = 1;
  return 0;
}

static void vnet_print_stats(struct netif *nif) {
  (void)nif;
  printf("  virtio-net at irq %u: %u tx refused (ring full), %u short rx buffers\n", (unsigned)vnet.irq,
         (unsigned)vnet.tx_full, (unsigned)vnet.rx_short);
}

/* Probes the device tree's virtio-mmio nodes for a network device; returns 0 when one is attached. */
int virtio_net_init(void) {
  const struct fdt_device *d = 0;
  for (int n = 0; (d = fdt_find_compatible("virtio,mmio", n)) != 0; n++) {
    volatile uint32_t *regs = vm_map_io((uintptr_t)d->base, 0x1000);
    if (regs[MMIO_MAGIC / 4] == 0x74726976u && regs[MMIO_VERSION / 4] == 2 &&
        regs[MMIO_DEVICE_ID / 4] == VIRTIO_ID_NET) {
      vnet.regs = regs;
      break;
    }
  }
  if (!d) return -1;
  vnet.irq = d->irq;
  REG(MMIO_STATUS) = 0;
  REG(MMIO_STATUS) = STATUS_ACKNOWLEDGE;
  REG(MMIO_STATUS) = STATUS_ACKNOWLEDGE | STATUS_DRIVER;
  REG(MMIO_DEVICE_FEATURES_SEL) = 0;
  uint32_t lo = REG(MMIO_DEVICE_FEATURES);
  REG(MMIO_DEVICE_FEATURES_SEL) = 1;
  uint32_t hi = REG(MMIO_DEVICE_FEATURES);
  const char *why = 0;
  if (!(lo & (1u << VIRTIO_NET_F_MAC)) || !(hi & (1u << VIRTIO_F_VERSION_1))) why = "device lacks MAC or VERSION_1";
  if (!why) {
    REG(MMIO_DRIVER_FEATURES_SEL) = 0;
    REG(MMIO_DRIVER_FEATURES) = 1u << VIRTIO_NET_F_MAC;
    REG(MMIO_DRIVER_FEATURES_SEL) = 1;
    REG(MMIO_DRIVER_FEATURES) = 1u << VIRTIO_F_VERSION_1;
    REG(MMIO_STATUS) = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK;
    if (!(REG(MMIO_STATUS) & STATUS_FEATURES_OK)) why = "features refused";
  }
  if (!why && (vq_setup(&vnet.rx, 0) < 0 || vq_setup(&vnet.tx, 1) < 0)) why = "queue setup failed";
  if (!why && irq_register(d->irq, vnet_interrupt, 0) < 0) why = "no interrupt";
  if (why) {
    REG(MMIO_STATUS) = 128; /* FAILED */
    printf("virtio-net: %s\n", why);
    return -1;
  }
  volatile uint8_t *config = (volatile uint8_t *)vnet.regs + MMIO_CONFIG;
  for (int i = 0; i < ETH_ALEN; i++) vnet.nif.mac[i] = config[i];
  vnet.nif.name = "eth0";
  vnet.nif.driver = "virtio-net";
  vnet.nif.transmit = vnet_transmit;
  vnet.nif.print_stats = vnet_print_stats;
  net_attach(&vnet.nif);
  for (uint16_t i = 0; i < RX_BUFS; i++) {
    vnet.rx.desc[i].flags = VIRTQ_DESC_F_WRITE;
    vq_post(&vnet.rx, i);
  }
  REG(MMIO_STATUS) = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK;
  barrier();
  REG(MMIO_QUEUE_NOTIFY) = 0;
  return 0;
}
