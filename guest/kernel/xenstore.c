/*
 * The store ring's client (docs/store-ring.md): Xen's `struct xenstore_domain_interface` in a page of
 * RAM the device tree reserves and names (/reserved-memory/xenstore@..., compatible "rvisor,xenstore"),
 * the xenstore wire protocol's messages in its two byte rings, an event channel to signal the store
 * (arch_event_send) and a PLIC source on which the store signals back. Without that node (QEMU, a bare
 * `rvisor run`) nothing here does anything and nothing is printed.
 *
 *   xs_talk: one request at a time — header and payload into req as room allows (signal the store,
 *            sleep while req is full), signal, then sleep until the reply has arrived
 *   xs_poll: rsp bytes into the message being assembled; a whole reply wakes its requester, a watch
 *            event joins the event queue and wakes its waiters; signal the store when rsp has room
 *   the interrupt runs xs_poll, and wakes writers waiting for room in req
 *
 * The kernel is not preemptible and takes interrupts only when idle (arch.h), so a requester that
 * finds nothing and sleeps cannot miss the interrupt that would have woken it.
 *
 * The "xenbus" kernel thread announces what the kernel supports (control/feature-poweroff and
 * feature-reboot, as Linux does), watches control/shutdown and, when the toolstack writes "poweroff"
 * (or "halt") or "reboot" there, acknowledges by clearing the node in a transaction, says so on the
 * console and powers off or reboots through SBI SRST.
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"

/* Message types (xs_wire.h's enum xsd_sockmsg_type), those this client sends or receives. */
#define XS_DIRECTORY 1
#define XS_READ 2
#define XS_WATCH 4
#define XS_UNWATCH 5
#define XS_TRANSACTION_START 6
#define XS_TRANSACTION_END 7
#define XS_WRITE 11
#define XS_RM 13
#define XS_WATCH_EVENT 15
#define XS_ERROR 16

#define RING_SIZE 1024u
#define MASK(i) ((i) & (RING_SIZE - 1))

struct xs_ring {
  char req[RING_SIZE];
  char rsp[RING_SIZE];
  uint32_t req_cons, req_prod, rsp_cons, rsp_prod;
  uint32_t server_features, connection, error;
};

struct xsd_sockmsg {
  uint32_t type, req_id, tx_id, len;
};

static volatile struct xs_ring *ring; /* 0: no store ring */
static uint32_t port;
static int broken;       /* the ring failed (its error indicator, or indices out of range) */
static int busy;         /* a request is in flight: others wait */
static int reply_ready;  /* `in` holds the whole reply to it */
static int ring_space;   /* what writers waiting for room in req sleep on */
static uint32_t next_req_id = 1;
static char last_error[16];

/* The message being assembled from rsp (a reply stays here until its requester has read it). */
static struct {
  struct xsd_sockmsg hdr;
  char body[XS_PAYLOAD_MAX + 1];
} in;
static uint32_t in_len;

static struct xs_event {
  char path[XS_EVENT_PATH_LEN];
  char token[XS_TOKEN_LEN];
} events[XS_EVENTS];
static uint32_t nevents;
static int events_chan;

static void fence(void) { __sync_synchronize(); }

static void fail_ring(void) {
  if (!broken) printf("xenstore: the store stopped serving the ring (error %u)\n", (unsigned)ring->error);
  broken = 1;
  reply_ready = 0;
  wakeup(&reply_ready);
  wakeup(&ring_space);
  wakeup(&events_chan);
}

static void copy_string(char *dst, const char *src, size_t size) {
  size_t n = strnlen(src, size - 1);
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static void message_done(void) {
  in.body[in.hdr.len] = '\0';
  if (in.hdr.type != XS_WATCH_EVENT) {
    reply_ready = 1;
    wakeup(&reply_ready);
    return;
  }
  const char *path = in.body;
  size_t plen = strnlen(path, in.hdr.len);
  const char *token = plen < in.hdr.len ? path + plen + 1 : "";
  if (nevents == XS_EVENTS) { /* nobody took them: the oldest goes */
    memmove(&events[0], &events[1], sizeof events[0] * (XS_EVENTS - 1));
    nevents--;
  }
  copy_string(events[nevents].path, path, sizeof events[0].path);
  copy_string(events[nevents].token, token, sizeof events[0].token);
  nevents++;
  in_len = 0;
  wakeup(&events_chan);
}

/* Takes what the store has written into rsp, until a reply waits to be read. */
static void xs_poll(void) {
  if (ring == 0 || broken) return;
  int consumed = 0;
  while (!reply_ready) {
    uint32_t cons = ring->rsp_cons, prod = ring->rsp_prod;
    fence();
    if (prod - cons > RING_SIZE || ring->error != 0) {
      fail_ring();
      return;
    }
    if (prod == cons) break;
    uint32_t need = in_len < sizeof in.hdr ? sizeof in.hdr - in_len : sizeof in.hdr + in.hdr.len - in_len;
    uint32_t n = prod - cons;
    if (n > need) n = need;
    if (n > RING_SIZE - MASK(cons)) n = RING_SIZE - MASK(cons);
    memcpy((char *)&in + in_len, (const char *)&ring->rsp[MASK(cons)], n);
    in_len += n;
    fence();
    ring->rsp_cons = cons + n;
    consumed = 1;
    if (in_len == sizeof in.hdr && in.hdr.len > XS_PAYLOAD_MAX) {
      fail_ring();
      return;
    }
    if (in_len >= sizeof in.hdr && in_len == sizeof in.hdr + in.hdr.len) message_done();
  }
  if (consumed) arch_event_send(port); /* room in rsp: the store may have more */
}

static void xs_interrupt(void *arg) {
  (void)arg;
  xs_poll();
  wakeup(&ring_space);
}

/* Copies n bytes into req, waiting for room as needed; -1 if the ring broke. */
static int ring_write(const void *data, uint32_t n) {
  const char *p = data;
  while (n > 0) {
    if (broken) return -1;
    uint32_t cons = ring->req_cons, prod = ring->req_prod;
    fence();
    if (prod - cons > RING_SIZE) {
      fail_ring();
      return -1;
    }
    uint32_t room = RING_SIZE - (prod - cons);
    if (room == 0) {
      arch_event_send(port);
      if (ring->req_prod - ring->req_cons == RING_SIZE) sleep_on(&ring_space);
      continue;
    }
    uint32_t k = n < room ? n : room;
    if (k > RING_SIZE - MASK(prod)) k = RING_SIZE - MASK(prod);
    memcpy((char *)&ring->req[MASK(prod)], p, k);
    fence();
    ring->req_prod = prod + k;
    p += k;
    n -= k;
  }
  return 0;
}

/* Ends a request: the next message may be assembled, the next requester may go. */
static void xs_release(void) {
  reply_ready = 0;
  in_len = 0;
  busy = 0;
  wakeup(&busy);
  xs_poll(); /* what arrived behind the reply */
}

/*
 * Sends one request (payload: a, then b) and waits for its reply, which is left in `in` for the
 * caller (call xs_release when done). Returns 0, or -1 with last_error set (the store's errno name
 * for an ERROR reply).
 */
static int xs_talk(uint32_t type, uint32_t tx, const void *a, uint32_t alen, const void *b, uint32_t blen) {
  if (ring == 0) {
    copy_string(last_error, "no store ring", sizeof last_error);
    return -1;
  }
  while (busy && !broken) sleep_on(&busy);
  if (broken) {
    copy_string(last_error, "ring error", sizeof last_error);
    return -1;
  }
  busy = 1;
  struct xsd_sockmsg hdr = {type, next_req_id++, tx, alen + blen};
  if (ring_write(&hdr, sizeof hdr) < 0 || ring_write(a, alen) < 0 || ring_write(b, blen) < 0) goto broke;
  arch_event_send(port);
  for (;;) {
    xs_poll();
    if (broken) goto broke;
    if (reply_ready) {
      if (in.hdr.req_id == hdr.req_id) break;
      reply_ready = 0; /* not ours (a reply to a request the ring lost on a reset): skip it */
      in_len = 0;
      continue;
    }
    sleep_on(&reply_ready);
  }
  if (in.hdr.type == XS_ERROR) {
    copy_string(last_error, in.body, sizeof last_error);
    xs_release();
    return -1;
  }
  return 0;
broke:
  copy_string(last_error, "ring error", sizeof last_error);
  busy = 0;
  wakeup(&busy);
  return -1;
}

/* ---- the operations ---------------------------------------------------------------------------- */

const char *xs_error(void) { return last_error; }

int xs_available(void) { return ring != 0 && !broken; }

/* A path operation whose reply is copied to buf (nul-terminated); returns the reply's length or -1. */
static int path_op(uint32_t type, uint32_t tx, const char *path, char *buf, size_t size) {
  if (xs_talk(type, tx, path, strlen(path) + 1, 0, 0) < 0) return -1;
  int len = (int)in.hdr.len;
  if (buf != 0 && size > 0) {
    size_t n = (size_t)len < size - 1 ? (size_t)len : size - 1;
    memcpy(buf, in.body, n);
    buf[n] = '\0';
  }
  xs_release();
  return len;
}

int xs_read(uint32_t tx, const char *path, char *buf, size_t size) {
  return path_op(XS_READ, tx, path, buf, size);
}

int xs_directory(uint32_t tx, const char *path, char *buf, size_t size) {
  return path_op(XS_DIRECTORY, tx, path, buf, size);
}

int xs_rm(uint32_t tx, const char *path) { return path_op(XS_RM, tx, path, 0, 0) < 0 ? -1 : 0; }

int xs_write(uint32_t tx, const char *path, const char *value) {
  if (xs_talk(XS_WRITE, tx, path, strlen(path) + 1, value, strlen(value)) < 0) return -1;
  xs_release();
  return 0;
}

static int two_strings(uint32_t type, const char *a, const char *b) {
  if (xs_talk(type, 0, a, strlen(a) + 1, b, strlen(b) + 1) < 0) return -1;
  xs_release();
  return 0;
}

int xs_watch(const char *path, const char *token) { return two_strings(XS_WATCH, path, token); }

int xs_unwatch(const char *path, const char *token) {
  if (two_strings(XS_UNWATCH, path, token) < 0) return -1;
  xs_drop_events(token);
  return 0;
}

int xs_transaction_start(uint32_t *tx) {
  if (xs_talk(XS_TRANSACTION_START, 0, "", 1, 0, 0) < 0) return -1;
  uint32_t id = 0;
  for (const char *s = in.body; *s >= '0' && *s <= '9'; s++) id = id * 10 + (uint32_t)(*s - '0');
  *tx = id;
  xs_release();
  return 0;
}

int xs_transaction_end(uint32_t tx, int commit) {
  if (xs_talk(XS_TRANSACTION_END, tx, commit ? "T" : "F", 2, 0, 0) < 0) return -1;
  xs_release();
  return 0;
}

int xs_wait_event(const char *token, char *path, size_t size) {
  for (;;) {
    for (uint32_t i = 0; i < nevents; i++) {
      if (strcmp(events[i].token, token) != 0) continue;
      copy_string(path, events[i].path, size);
      memmove(&events[i], &events[i + 1], sizeof events[0] * (nevents - i - 1));
      nevents--;
      return 0;
    }
    if (ring == 0 || broken) return -1;
    sleep_on(&events_chan);
  }
}

void xs_drop_events(const char *token) {
  uint32_t kept = 0;
  for (uint32_t i = 0; i < nevents; i++)
    if (strcmp(events[i].token, token) != 0) events[kept++] = events[i];
  nevents = kept;
}

/* ---- boot: the ring, then the control thread ----------------------------------------------------- */

/* 'p' for a power-off request ("poweroff", "halt"), 'r' for "reboot", 0 for anything else. */
static int shutdown_kind(const char *request) {
  if (strcmp(request, "poweroff") == 0 || strcmp(request, "halt") == 0) return 'p';
  if (strcmp(request, "reboot") == 0) return 'r';
  return 0;
}

void xenstore_init(void) {
  const struct fdt_device *d = fdt_find_compatible("rvisor,xenstore", 0);
  if (d == 0) return;
  uint64_t ram_end = boot_info.mem_base + boot_info.mem_size;
  if (d->base % PAGE_SIZE != 0 || d->size < PAGE_SIZE || d->base < boot_info.mem_base ||
      d->base + PAGE_SIZE > ram_end) {
    printf("xenstore: the ring at %08lx is not a page of RAM: not used\n", (unsigned long)d->base);
    return;
  }
  if (irq_register(d->irq, xs_interrupt, 0) < 0) {
    printf("xenstore: cannot take interrupt %u: the ring is not used\n", (unsigned)d->irq);
    return;
  }
  ring = (volatile struct xs_ring *)(uintptr_t)d->base; /* RAM is identity-mapped */
  port = d->event_channel;
  printf("xenstore: ring at %08lx, event channel %u, interrupt %u\n", (unsigned long)d->base,
         (unsigned)port, (unsigned)d->irq);
}

/*
 * Reads control/shutdown and, for a request this kernel acts on, clears it — in one transaction, so a
 * request is acted on once (Linux's shutdown_handler); retried when the commit meets EAGAIN. Returns
 * the request's length (0: empty), or -1.
 */
static int take_shutdown_request(char *request, size_t size) {
  for (;;) {
    uint32_t tx;
    if (xs_transaction_start(&tx) < 0) return -1;
    int n = xs_read(tx, "control/shutdown", request, size);
    if (n > 0 && shutdown_kind(request) != 0) xs_write(tx, "control/shutdown", "");
    if (xs_transaction_end(tx, 1) == 0) return n < 0 ? -1 : n;
    if (strcmp(xs_error(), "EAGAIN") != 0) return -1;
  }
}

static void xenbus_main(void) {
  if (xs_write(0, "control/feature-poweroff", "1") < 0 || xs_write(0, "control/feature-reboot", "1") < 0 ||
      xs_watch("control/shutdown", "shutdown") < 0) {
    printf("xenstore: no graceful shutdown: %s\n", xs_error());
    return;
  }
  char path[XS_EVENT_PATH_LEN], request[16];
  while (xs_wait_event("shutdown", path, sizeof path) == 0) {
    if (take_shutdown_request(request, sizeof request) <= 0) continue;
    int kind = shutdown_kind(request);
    if (kind == 0) {
      printf("xenstore: ignoring shutdown request '%s'\n", request);
      continue;
    }
    printf("xenstore: control/shutdown = %s: %s\n", request, kind == 'r' ? "rebooting" : "powering off");
    console_flush();
    if (kind == 'r') arch_reboot();
    arch_shutdown(0);
  }
}

void xenstore_start(void) {
  if (ring != 0 && kthread_create("xenbus", xenbus_main) < 0) printf("xenstore: no process slot\n");
}
