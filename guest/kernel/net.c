/*
 * A tiny IPv4 stack over one Ethernet interface: ARP (RFC 826), IPv4 (RFC 791: no options sent, no
 * fragments — a fragment is dropped), ICMP echo (RFC 792) and UDP (RFC 768). See net.h for the shape.
 *
 *   Ethernet  dst[6] src[6] type[2]
 *   ARP       htype=1 ptype=0x0800 hlen=6 plen=4 op[2] sha[6] spa[4] tha[6] tpa[4]
 *   IPv4      ver/ihl tos len[2] id[2] flags/frag[2] ttl proto csum[2] src[4] dst[4]
 *   ICMP      type code csum[2] id[2] seq[2] data...
 *   UDP       sport[2] dport[2] len[2] csum[2] data...   (checksum over the pseudo-header; sent always,
 *                                                          checked when non-zero)
 *
 * Transmission happens in one static frame buffer: a process resolves the destination first (ARP, which
 * may sleep), then builds and sends without sleeping, so the interrupt handler — which answers echo
 * requests and ARP requests at once, with the same buffer — can never find it half-built.
 *
 * A frame to the interface's own MAC (a packet to its own address) never reaches the driver: it is copied
 * and handed to net_input at once — a loopback, so the stack can talk to itself (the `net` test does).
 * An echo request answered that way recurses once (the reply loops back too), never more.
 *
 * Waiting with a timeout sleeps on the tick channel; whatever a waiter may want (an ARP reply, an echo
 * reply, a datagram) also wakes that channel, so it does not wait for the next tick to see it.
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "net.h"

struct netif *net_if;

static const uint8_t broadcast_mac[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static uint8_t txbuf[ETH_FRAME_MAX] __attribute__((aligned(4)));
static uint16_t ip_id;

#define NET_WAIT_CHAN ((const void *)&ticks)

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
  put16(p, (uint16_t)(v >> 16));
  put16(p + 2, (uint16_t)v);
}

uint16_t inet_checksum(const void *buf, size_t len, uint32_t sum) {
  const uint8_t *p = buf;
  for (; len > 1; p += 2, len -= 2) sum += get16(p);
  if (len) sum += (uint32_t)p[0] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

int ip_parse(const char *text, uint32_t *ip, const char **end) {
  uint32_t v = 0;
  const char *s = text;
  for (int part = 0; part < 4; part++) {
    if (part > 0 && *s++ != '.') return -1;
    if (*s < '0' || *s > '9') return -1;
    uint32_t n = 0;
    for (int digits = 0; *s >= '0' && *s <= '9'; s++, digits++) {
      n = n * 10 + (uint32_t)(*s - '0');
      if (digits >= 3 || n > 255) return -1;
    }
    v = v << 8 | n;
  }
  *ip = v;
  if (end) *end = s;
  else if (*s != '\0') return -1;
  return 0;
}

char *ip_format(uint32_t ip, char *buf) {
  char *p = buf;
  for (int i = 3; i >= 0; i--) {
    uint32_t n = (ip >> (8 * i)) & 0xff;
    if (n >= 100) *p++ = (char)('0' + n / 100);
    if (n >= 10) *p++ = (char)('0' + n / 10 % 10);
    *p++ = (char)('0' + n % 10);
    if (i > 0) *p++ = '.';
  }
  *p = '\0';
  return buf;
}

/* ip=A.B.C.D[/N] from the boot arguments; 0 when there is none (or it does not parse). */
static int bootarg_ip(uint32_t *ip, uint32_t *netmask) {
  for (const char *s = boot_info.bootargs; *s;) {
    while (*s == ' ') s++;
    if (strncmp(s, "ip=", 3) == 0) {
      const char *end;
      if (ip_parse(s + 3, ip, &end) < 0) return 0;
      uint32_t bits = 8;
      if (*end == '/') {
        bits = 0;
        for (end++; *end >= '0' && *end <= '9'; end++) bits = bits * 10 + (uint32_t)(*end - '0');
        if (bits < 1 || bits > 30) return 0;
      }
      if (*end != ' ' && *end != '\0') return 0;
      *netmask = ~0u << (32 - bits);
      return 1;
    }
    while (*s && *s != ' ') s++;
  }
  return 0;
}

void net_attach(struct netif *nif) {
  if (!bootarg_ip(&nif->ip, &nif->netmask)) {
    nif->ip = IPV4(10, nif->mac[3], nif->mac[4], nif->mac[5]);
    nif->netmask = IPV4(255, 0, 0, 0);
  }
  memset(&nif->stats, 0, sizeof nif->stats);
  net_if = nif;
  char ip[16];
  printf("%s: %s, MAC %02x:%02x:%02x:%02x:%02x:%02x, inet %s\n", nif->name, nif->driver, nif->mac[0], nif->mac[1],
         nif->mac[2], nif->mac[3], nif->mac[4], nif->mac[5], ip_format(nif->ip, ip));
}

static int transmit(size_t len) {
  struct netif *nif = net_if;
  if (len < 60) { /* Ethernet's minimum frame (without FCS): pad */
    memset(txbuf + len, 0, 60 - len);
    len = 60;
  }
  if (memcmp(txbuf, nif->mac, ETH_ALEN) == 0) {
    static uint8_t loopbuf[ETH_FRAME_MAX];
    memcpy(loopbuf, txbuf, len);
    nif->stats.tx_frames++;
    nif->stats.tx_bytes += (uint32_t)len;
    net_input(loopbuf, len);
    return 0;
  }
  if (nif->transmit(nif, txbuf, len) < 0) {
    nif->stats.tx_dropped++;
    return -1;
  }
  nif->stats.tx_frames++;
  nif->stats.tx_bytes += (uint32_t)len;
  return 0;
}

static uint8_t *eth_header(const uint8_t *dst, uint16_t type) {
  memcpy(txbuf, dst, ETH_ALEN);
  memcpy(txbuf + 6, net_if->mac, ETH_ALEN);
  put16(txbuf + 12, type);
  return txbuf + ETH_HLEN;
}

/* ── ARP ─────────────────────────────────────────────────────────────────────────────────────────── */

#define ARP_ENTRIES 8
static struct {
  uint32_t ip;
  uint8_t mac[ETH_ALEN];
  uint32_t used; /* ticks when last used or refreshed: the oldest is replaced */
} arp_cache[ARP_ENTRIES];

static int arp_lookup(uint32_t ip, uint8_t *mac) {
  for (int i = 0; i < ARP_ENTRIES; i++) {
    if (arp_cache[i].ip == ip && ip != 0) {
      memcpy(mac, arp_cache[i].mac, ETH_ALEN);
      arp_cache[i].used = ticks;
      return 1;
    }
  }
  return 0;
}

/* Updates an entry for ip; creates one (replacing the oldest) only if `create`. */
static void arp_update(uint32_t ip, const uint8_t *mac, int create) {
  int slot = -1;
  for (int i = 0; i < ARP_ENTRIES && slot < 0; i++)
    if (arp_cache[i].ip == ip) slot = i;
  if (slot < 0 && !create) return;
  if (slot < 0) {
    slot = 0;
    for (int i = 0; i < ARP_ENTRIES; i++) {
      if (arp_cache[i].ip == 0) {
        slot = i;
        break;
      }
      if (arp_cache[i].used < arp_cache[slot].used) slot = i;
    }
  }
  arp_cache[slot].ip = ip;
  memcpy(arp_cache[slot].mac, mac, ETH_ALEN);
  arp_cache[slot].used = ticks;
}

static int arp_send(uint16_t op, const uint8_t *eth_dst, const uint8_t *tha, uint32_t tpa) {
  uint8_t *a = eth_header(eth_dst, ETH_TYPE_ARP);
  put16(a, 1);
  put16(a + 2, ETH_TYPE_IPV4);
  a[4] = ETH_ALEN;
  a[5] = 4;
  put16(a + 6, op);
  memcpy(a + 8, net_if->mac, ETH_ALEN);
  put32(a + 14, net_if->ip);
  memcpy(a + 18, tha, ETH_ALEN);
  put32(a + 24, tpa);
  net_if->stats.arp_tx++;
  return transmit(ETH_HLEN + 28);
}

static void arp_input(const uint8_t *a, size_t len) {
  struct netif *nif = net_if;
  if (len < 28 || get16(a) != 1 || get16(a + 2) != ETH_TYPE_IPV4 || a[4] != ETH_ALEN || a[5] != 4) {
    nif->stats.rx_dropped++;
    return;
  }
  nif->stats.arp_rx++;
  uint16_t op = get16(a + 6);
  uint32_t spa = get32(a + 14), tpa = get32(a + 24);
  int for_us = tpa == nif->ip;
  /* RFC 826: refresh the sender if known; add it if the packet is for us. */
  if (spa != 0) arp_update(spa, a + 8, for_us);
  if (for_us && op == 1) arp_send(2, a + 8, a + 8, spa);
  if (op == 2) wakeup(NET_WAIT_CHAN);
}

/* The MAC for ip: the cache, else up to three requests 300 ms apart (sleeping). 0 or -1. */
static int arp_resolve(uint32_t ip, uint8_t *mac) {
  struct netif *nif = net_if;
  if (ip == 0xffffffffu || (ip | nif->netmask) == 0xffffffffu) {
    memcpy(mac, broadcast_mac, ETH_ALEN);
    return 0;
  }
  if (ip == nif->ip) {
    memcpy(mac, nif->mac, ETH_ALEN);
    return 0;
  }
  if ((ip & nif->netmask) != (nif->ip & nif->netmask)) return -1; /* no router: on-link only */
  for (int attempt = 0; attempt < 3; attempt++) {
    if (arp_lookup(ip, mac)) return 0;
    static const uint8_t zero[ETH_ALEN];
    arp_send(1, broadcast_mac, zero, ip);
    uint64_t until = uptime_ms() + 300;
    while (uptime_ms() < until && !current()->killed) {
      if (arp_lookup(ip, mac)) return 0;
      sleep_on(NET_WAIT_CHAN);
    }
  }
  return arp_lookup(ip, mac) ? 0 : -1;
}

/* ── IPv4 ────────────────────────────────────────────────────────────────────────────────────────── */

/* Starts an IPv4 packet to `dst` (MAC `dst_mac`) in txbuf; returns where its payload goes. */
static uint8_t *ip_header(const uint8_t *dst_mac, uint32_t dst, uint8_t proto, size_t payload_len) {
  uint8_t *ip = eth_header(dst_mac, ETH_TYPE_IPV4);
  ip[0] = 0x45;
  ip[1] = 0;
  put16(ip + 2, (uint16_t)(20 + payload_len));
  put16(ip + 4, ip_id++);
  put16(ip + 6, 0x4000); /* DF: this stack never fragments */
  ip[8] = 64;
  ip[9] = proto;
  put16(ip + 10, 0);
  put32(ip + 12, net_if->ip);
  put32(ip + 16, dst);
  put16(ip + 10, inet_checksum(ip, 20, 0));
  return ip + 20;
}

/* ── ICMP ────────────────────────────────────────────────────────────────────────────────────────── */

#define ECHO_REPLIES 8
static struct {
  uint16_t id, seq;
  uint32_t ttl;
  uint64_t when;
  int valid;
} echo_replies[ECHO_REPLIES];
static int echo_next;

static void icmp_input(const uint8_t *eth, const uint8_t *iph, const uint8_t *icmp, size_t len) {
  struct netif *nif = net_if;
  if (len < 8 || inet_checksum(icmp, len, 0) != 0) {
    nif->stats.rx_dropped++;
    return;
  }
  nif->stats.icmp_rx++;
  if (icmp[0] == 8 && icmp[1] == 0) { /* echo request: the same id, sequence and data back */
    if (len > ETH_MTU - 20) return;
    uint8_t *out = ip_header(eth + 6, get32(iph + 12), IP_PROTO_ICMP, len);
    memcpy(out, icmp, len);
    out[0] = 0;
    put16(out + 2, 0);
    put16(out + 2, inet_checksum(out, len, 0));
    nif->stats.icmp_tx++;
    transmit(ETH_HLEN + 20 + len);
  } else if (icmp[0] == 0 && icmp[1] == 0) {
    echo_replies[echo_next].id = get16(icmp + 4);
    echo_replies[echo_next].seq = get16(icmp + 6);
    echo_replies[echo_next].ttl = iph[8];
    echo_replies[echo_next].when = arch_time();
    echo_replies[echo_next].valid = 1;
    echo_next = (echo_next + 1) % ECHO_REPLIES;
    wakeup(NET_WAIT_CHAN);
  }
}

int icmp_echo_send(uint32_t dst, uint16_t id, uint16_t seq, size_t payload_len) {
  uint8_t mac[ETH_ALEN];
  if (!net_if || payload_len > ETH_MTU - 28 || arp_resolve(dst, mac) < 0) return -1;
  uint8_t *icmp = ip_header(mac, dst, IP_PROTO_ICMP, 8 + payload_len);
  icmp[0] = 8;
  icmp[1] = 0;
  put16(icmp + 2, 0);
  put16(icmp + 4, id);
  put16(icmp + 6, seq);
  for (size_t i = 0; i < payload_len; i++) icmp[8 + i] = (uint8_t)(0x10 + i);
  put16(icmp + 2, inet_checksum(icmp, 8 + payload_len, 0));
  net_if->stats.icmp_tx++;
  return transmit(ETH_HLEN + 20 + 8 + payload_len);
}

int icmp_echo_reply(uint16_t id, uint16_t seq, uint64_t *when, uint32_t *ttl) {
  for (int i = 0; i < ECHO_REPLIES; i++) {
    if (echo_replies[i].valid && echo_replies[i].id == id && echo_replies[i].seq == seq) {
      *when = echo_replies[i].when;
      *ttl = echo_replies[i].ttl;
      echo_replies[i].valid = 0;
      return seq;
    }
  }
  return -1;
}

/* ── UDP ─────────────────────────────────────────────────────────────────────────────────────────── */

struct datagram {
  uint32_t from_ip;
  uint16_t from_port;
  uint16_t len;
  uint8_t data[UDP_MAX_PAYLOAD];
};
static struct {
  uint16_t port; /* 0: free */
  uint32_t head, count;
  struct datagram q[UDP_QUEUE];
} udp_socks[UDP_PORTS];

int udp_bind(uint16_t port) {
  if (port == 0) return -1;
  int free = -1;
  for (int i = 0; i < UDP_PORTS; i++) {
    if (udp_socks[i].port == port) return -1;
    if (udp_socks[i].port == 0 && free < 0) free = i;
  }
  if (free < 0) return -1;
  udp_socks[free].port = port;
  udp_socks[free].head = udp_socks[free].count = 0;
  return free;
}

void udp_close(int sock) {
  if (sock >= 0 && sock < UDP_PORTS) udp_socks[sock].port = 0;
}

/* The UDP checksum: the pseudo-header (src, dst, protocol, length) and the datagram. */
static uint16_t udp_checksum(uint32_t src, uint32_t dst, const uint8_t *udp, size_t len) {
  uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + IP_PROTO_UDP + (uint32_t)len;
  return inet_checksum(udp, len, sum);
}

static void udp_input(const uint8_t *iph, const uint8_t *udp, size_t len) {
  struct netif *nif = net_if;
  uint32_t src = get32(iph + 12), dst = get32(iph + 16);
  if (len < 8 || get16(udp + 4) < 8 || get16(udp + 4) > len ||
      (get16(udp + 6) != 0 && udp_checksum(src, dst, udp, get16(udp + 4)) != 0)) {
    nif->stats.rx_dropped++;
    return;
  }
  len = get16(udp + 4);
  nif->stats.udp_rx++;
  uint16_t port = get16(udp + 2);
  for (int i = 0; i < UDP_PORTS; i++) {
    if (udp_socks[i].port != port) continue;
    if (udp_socks[i].count == UDP_QUEUE || len - 8 > UDP_MAX_PAYLOAD) {
      nif->stats.udp_overflow++;
      return;
    }
    struct datagram *d = &udp_socks[i].q[(udp_socks[i].head + udp_socks[i].count++) % UDP_QUEUE];
    d->from_ip = src;
    d->from_port = get16(udp);
    d->len = (uint16_t)(len - 8);
    memcpy(d->data, udp + 8, len - 8);
    wakeup(&udp_socks[i]);
    wakeup(NET_WAIT_CHAN);
    return;
  }
  nif->stats.udp_no_port++;
}

int udp_recv(int sock, void *buf, size_t n, uint32_t *from_ip, uint16_t *from_port, uint32_t timeout_ms) {
  if (sock < 0 || sock >= UDP_PORTS || udp_socks[sock].port == 0) return -1;
  uint64_t until = uptime_ms() + timeout_ms;
  while (udp_socks[sock].count == 0) {
    if (current()->killed || (timeout_ms != 0 && uptime_ms() >= until)) return -1;
    sleep_on(timeout_ms != 0 ? NET_WAIT_CHAN : (const void *)&udp_socks[sock]);
  }
  struct datagram *d = &udp_socks[sock].q[udp_socks[sock].head];
  udp_socks[sock].head = (udp_socks[sock].head + 1) % UDP_QUEUE;
  udp_socks[sock].count--;
  size_t len = d->len < n ? d->len : n;
  memcpy(buf, d->data, len);
  if (from_ip) *from_ip = d->from_ip;
  if (from_port) *from_port = d->from_port;
  return (int)len;
}

int udp_send(uint32_t dst, uint16_t src_port, uint16_t dst_port, const void *data, size_t len) {
  uint8_t mac[ETH_ALEN];
  if (!net_if || len > ETH_MTU - 28 || arp_resolve(dst, mac) < 0) return -1;
  uint8_t *udp = ip_header(mac, dst, IP_PROTO_UDP, 8 + len);
  put16(udp, src_port);
  put16(udp + 2, dst_port);
  put16(udp + 4, (uint16_t)(8 + len));
  put16(udp + 6, 0);
  memcpy(udp + 8, data, len);
  uint16_t sum = udp_checksum(net_if->ip, dst, udp, 8 + len);
  put16(udp + 6, sum == 0 ? 0xffff : sum);
  net_if->stats.udp_tx++;
  return transmit(ETH_HLEN + 20 + 8 + len);
}

/* ── input ───────────────────────────────────────────────────────────────────────────────────────── */

static void ip_input(const uint8_t *eth, const uint8_t *ip, size_t len) {
  struct netif *nif = net_if;
  if (len < 20 || (ip[0] >> 4) != 4) goto drop;
  size_t ihl = (size_t)(ip[0] & 15) * 4;
  size_t total = get16(ip + 2);
  if (ihl < 20 || total < ihl || total > len || inet_checksum(ip, ihl, 0) != 0) goto drop;
  if ((get16(ip + 6) & 0x3fff) != 0) goto drop; /* MF or an offset: a fragment */
  uint32_t dst = get32(ip + 16);
  if (dst != nif->ip && dst != 0xffffffffu && dst != (nif->ip | ~nif->netmask)) goto drop;
  if (ip[9] == IP_PROTO_ICMP) icmp_input(eth, ip, ip + ihl, total - ihl);
  else if (ip[9] == IP_PROTO_UDP) udp_input(ip, ip + ihl, total - ihl);
  else goto drop;
  return;
drop:
  nif->stats.rx_dropped++;
}

void net_input(const uint8_t *frame, size_t len) {
  struct netif *nif = net_if;
  if (!nif) return;
  nif->stats.rx_frames++;
  nif->stats.rx_bytes += (uint32_t)len;
  if (len < ETH_HLEN || (memcmp(frame, nif->mac, ETH_ALEN) != 0 && memcmp(frame, broadcast_mac, ETH_ALEN) != 0)) {
    nif->stats.rx_dropped++;
    return;
  }
  uint16_t type = get16(frame + 12);
  if (type == ETH_TYPE_ARP) arp_input(frame + ETH_HLEN, len - ETH_HLEN);
  else if (type == ETH_TYPE_IPV4) ip_input(frame, frame + ETH_HLEN, len - ETH_HLEN);
  else nif->stats.rx_dropped++;
}
