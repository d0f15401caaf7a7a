/*
 * The virtio-net driver (virtio 1.2 §5.1) over virtio.c: the first virtio-mmio device whose DeviceID is 1
 * becomes eth0.
 *
 *   receiveq (0)   every descriptor posted at once, each a whole-frame buffer: virtio_net_hdr (12) + 1514;
 *                  the interrupt hands each used one to net_input and posts it again
 *   transmitq (1)  a frame is copied behind a zeroed header into the buffer of a free descriptor and made
 *                  available; used ones are freed when the next frame is sent (and on interrupts)
 *
 * Features: VIRTIO_NET_F_MAC (the address from the configuration space) and VIRTIO_F_VERSION_1; nothing
 * else, so headers are all zero but num_buffers. Buffers come from kalloc, whose pages are identity
 * mapped: a buffer's kernel address is its guest-physical address.
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "net.h"
#include "virtio.h"

#ifndef VIRTIO_ID_NET
#define VIRTIO_ID_NET 1
#endif
#define VIRTIO_NET_F_MAC 5
#define NET_HDR 12
#define BUF_SIZE 2048 /* two buffers a page; a header and the largest frame (1526) fit */

static struct {
  struct virtio_dev dev;
  struct virtq rx, tx;
  uint8_t *rx_bufs[VIRTQ_SIZE], *tx_bufs[VIRTQ_SIZE]; /* by descriptor */
  struct netif nif;
  uint32_t tx_full;  /* frames refused because every transmit descriptor was in flight */
  uint32_t rx_short; /* used receive buffers shorter than a header, or with a bad id */
} vnet;

/* A BUF_SIZE buffer for each of the queue's descriptors; 0 or -1. */
static int alloc_bufs(struct virtq *q, uint8_t **bufs) {
  for (uint32_t i = 0; i < q->size; i += 2) {
    uintptr_t page = kalloc();
    if (!page) return -1;
    bufs[i] = (uint8_t *)page;
    if (i + 1 < q->size) bufs[i + 1] = (uint8_t *)(page + BUF_SIZE);
  }
  return 0;
}

static void rx_post(uint16_t i) { virtq_set(&vnet.rx, i, vnet.rx_bufs[i], BUF_SIZE, VIRTQ_DESC_F_WRITE, 0); }

static void rx_drain(void) {
  uint32_t id, len;
  while (virtq_next_used(&vnet.rx, &id, &len)) {
    if (id >= vnet.rx.size) { /* a device bug: nothing sane to give back */
      vnet.rx_short++;
      continue;
    }
    if (len >= NET_HDR + ETH_HLEN && len <= BUF_SIZE) net_input(vnet.rx_bufs[id] + NET_HDR, len - NET_HDR);
    else vnet.rx_short++;
    rx_post((uint16_t)id);
    virtq_submit(&vnet.rx, (uint16_t)id);
  }
}

static void tx_reclaim(void) {
  uint32_t id, len;
  while (virtq_next_used(&vnet.tx, &id, &len))
    if (id < vnet.tx.size) virtq_free_chain(&vnet.tx, (uint16_t)id);
}

static void vnet_interrupt(void *arg) {
  (void)arg;
  virtio_interrupt_ack(&vnet.dev);
  rx_drain();
  tx_reclaim();
}

static int vnet_transmit(struct netif *nif, const void *frame, size_t len) {
  (void)nif;
  tx_reclaim();
  int i = len <= BUF_SIZE - NET_HDR ? virtq_alloc(&vnet.tx) : -1;
  if (i < 0) {
    vnet.tx_full++;
    return -1;
  }
  memset(vnet.tx_bufs[i], 0, NET_HDR);
  memcpy(vnet.tx_bufs[i] + NET_HDR, frame, len);
  virtq_set(&vnet.tx, (uint16_t)i, vnet.tx_bufs[i], (uint32_t)(NET_HDR + len), 0, 0);
  virtq_submit(&vnet.tx, (uint16_t)i);
  return 0;
}

static void vnet_print_stats(struct netif *nif) {
  (void)nif;
  printf("  virtio-net at %08lx irq %u: %u tx refused (ring full), %u short rx buffers\n",
         (unsigned long)vnet.dev.base, (unsigned)vnet.dev.irq, (unsigned)vnet.tx_full, (unsigned)vnet.rx_short);
}

int virtio_net_init(void) {
  if (virtio_find(VIRTIO_ID_NET, 0, &vnet.dev) < 0) return -1;
  const char *why = 0;
  if (virtio_negotiate(&vnet.dev, 1ull << VIRTIO_NET_F_MAC) < 0 || !(vnet.dev.features & (1ull << VIRTIO_NET_F_MAC)))
    why = "the device offers no MAC";
  else if (virtq_init(&vnet.dev, &vnet.rx, 0) < 0 || virtq_init(&vnet.dev, &vnet.tx, 1) < 0 ||
           alloc_bufs(&vnet.rx, vnet.rx_bufs) < 0 || alloc_bufs(&vnet.tx, vnet.tx_bufs) < 0)
    why = "queue setup failed";
  else if (irq_register(vnet.dev.irq, vnet_interrupt, 0) < 0)
    why = "no interrupt";
  if (why) {
    virtio_fail(&vnet.dev);
    printf("virtio-net at %08lx: %s\n", (unsigned long)vnet.dev.base, why);
    return -1;
  }
  volatile uint8_t *config = (volatile uint8_t *)vnet.dev.regs + VIRTIO_MMIO_CONFIG;
  for (int i = 0; i < ETH_ALEN; i++) vnet.nif.mac[i] = config[i];
  vnet.nif.name = "eth0";
  vnet.nif.driver = "virtio-net";
  vnet.nif.transmit = vnet_transmit;
  vnet.nif.print_stats = vnet_print_stats;
  net_attach(&vnet.nif);
  virtio_driver_ok(&vnet.dev);
  for (int i; (i = virtq_alloc(&vnet.rx)) >= 0;) {
    rx_post((uint16_t)i);
    virtq_submit(&vnet.rx, (uint16_t)i);
  }
  return 0;
}
