/*
 * hvc0: the virtio-console driver (virtio 1.2 §5.3), one port, a console of its own beside the SBI one.
 *
 *   receiveq (0): HVC_RX_BUFS buffers of HVC_RX_BUF bytes, always posted; the interrupt copies what the
 *                 device filled into a ring (bytes that do not fit are dropped, counted) and posts the
 *                 buffer again; readers sleep on the ring
 *   transmitq (1): one buffer (a page), one writer at a time: hvc_write copies a chunk in, submits, looks
 *                  at the used ring at once (rvisor's device, like QEMU's, takes the chain inside the
 *                  notify) and otherwise sleeps until it is used
 *
 * Without an interrupt line the driver polls: receive when read, transmit until used.
 *
 * Two readers may want the input: the shell on hvc0 (shell.c) and a command reading hvc0 itself (`hvc
 * read`, devcmd.c). The command claims the input while it reads, so the shell does not take its line.
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "virtio.h"

#define HVC_RX_BUFS 8
#define HVC_RX_BUF 64
#define HVC_RING 512

static struct virtio_dev dev;
static struct virtq rxq, txq;
static int present, polled;
static uint8_t *rxbufs; /* HVC_RX_BUFS × HVC_RX_BUF, in one page */
static uint8_t *txbuf;  /* one page */
static volatile int tx_done;
static char ring[HVC_RING];
static uint32_t ring_head, ring_tail; /* free-running: bytes in = tail - head */
static uint32_t dropped;
static int tx_busy;            /* a writer's chunk is in flight (it may sleep until the device has it) */
static struct proc *claimed_by; /* reads hvc0 itself; nobody else takes input meanwhile (0: nobody) */

static void post_rx(uint16_t id) {
  virtq_set(&rxq, id, rxbufs + (uint32_t)id * HVC_RX_BUF, HVC_RX_BUF, VIRTQ_DESC_F_WRITE, 0);
  virtq_submit(&rxq, id);
}

static void drain(void) {
  uint32_t id, len;
  int got = 0;
  while (virtq_next_used(&rxq, &id, &len)) {
    if (id >= HVC_RX_BUFS) continue; /* not one of ours: ignore it */
    if (len > HVC_RX_BUF) len = HVC_RX_BUF;
    for (uint32_t i = 0; i < len; i++) {
      if (ring_tail - ring_head < HVC_RING) ring[ring_tail++ % HVC_RING] = (char)rxbufs[id * HVC_RX_BUF + i];
      else dropped++;
    }
    post_rx((uint16_t)id);
    got = 1;
  }
  if (got) wakeup(ring);
  while (virtq_next_used(&txq, &id, &len)) {
    virtq_free_chain(&txq, (uint16_t)id);
    tx_done = 1;
    wakeup(&tx_done);
  }
}

static void hvc_interrupt(void *arg) {
  (void)arg;
  virtio_interrupt_ack(&dev);
  drain();
}

void hvc_init(void) {
  if (virtio_find(VIRTIO_ID_CONSOLE, 0, &dev) < 0) return;
  rxbufs = (uint8_t *)kalloc();
  txbuf = (uint8_t *)kalloc();
  if (!rxbufs || !txbuf || virtio_negotiate(&dev, 0) < 0 || virtq_init(&dev, &rxq, 0) < 0 ||
      virtq_init(&dev, &txq, 1) < 0) {
    printf("hvc: virtio-console at %08lx: cannot set it up\n", (unsigned long)dev.base);
    virtio_fail(&dev);
    return;
  }
  polled = irq_register(dev.irq, hvc_interrupt, 0) < 0;
  virtio_driver_ok(&dev);
  for (int i = 0; i < HVC_RX_BUFS; i++) post_rx((uint16_t)virtq_alloc(&rxq)); /* ids 0.. in order */
  present = 1;
  printf("hvc0: virtio-console\n");
}

int hvc_present(void) { return present; }

int hvc_write(const char *buf, size_t n) {
  if (!present) return -1;
  while (tx_busy) {
    if (current() == 0) return -1; /* no process to put to sleep (the scheduler, an idle interrupt) */
    sleep_on(&tx_busy);
  }
  tx_busy = 1;
  int r = 0;
  while (n > 0) {
    size_t chunk = n < PAGE_SIZE ? n : PAGE_SIZE;
    memcpy(txbuf, buf, chunk);
    int id = virtq_alloc(&txq);
    if (id < 0) { /* one chunk in flight at a time: cannot happen */
      r = -1;
      break;
    }
    virtq_set(&txq, (uint16_t)id, txbuf, (uint32_t)chunk, 0, 0);
    tx_done = 0;
    virtq_submit(&txq, (uint16_t)id);
    drain();
    while (!tx_done) {
      if (polled || current() == 0) drain();
      else sleep_on(&tx_done);
    }
    buf += chunk;
    n -= chunk;
  }
  tx_busy = 0;
  wakeup(&tx_busy);
  return r;
}

void hvc_claim(void) { claimed_by = current(); }

void hvc_release(void) {
  claimed_by = 0;
  wakeup(ring);
  wakeup((const void *)&ticks);
}

/* Whether the current process may take input now. */
static int may_take(void) { return claimed_by == 0 || claimed_by == current(); }

int hvc_getc(void) {
  if (!present) return -1;
  while (ring_tail == ring_head || !may_take()) {
    if (current()->killed) return -1;
    if (polled) {
      drain();
      if (ring_tail == ring_head || !may_take()) sleep_on((const void *)&ticks); /* look again next tick */
    } else {
      sleep_on(ring);
    }
  }
  return (unsigned char)ring[ring_head++ % HVC_RING];
}

size_t hvc_read_nowait(char *buf, size_t n) {
  if (!present || !may_take()) return 0;
  if (polled) drain();
  size_t got = 0;
  while (got < n && ring_tail != ring_head) buf[got++] = ring[ring_head++ % HVC_RING];
  return got;
}
