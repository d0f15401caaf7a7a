/*
 * The kernel's network stack (net.c) and what a network driver gives it (struct netif). One interface,
 * IPv4 only:
 *
 *   driver rx interrupt ──net_input(frame)──▶ Ethernet ─┬─ ARP: answer requests for our address, learn
 *                                                       └─ IPv4 (header checksum, no fragments)
 *                                                            ├─ ICMP: echo request → echo reply (at once,
 *                                                            │  from the interrupt); echo reply → ping
 *                                                            └─ UDP: into the bound port's queue, wakeup
 *   process ──udp_send / icmp_echo_send──▶ ip_output ──ARP resolve (may sleep)──▶ netif->transmit
 *
 * The kernel is not preemptible and takes interrupts only while idle or in user code, so the stack
 * needs no locks: an interrupt never finds it half-way through anything.
 */
#ifndef KERNEL_NET_H
#define KERNEL_NET_H

#include <stddef.h>
#include <stdint.h>

#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_MTU 1500
#define ETH_FRAME_MAX (ETH_HLEN + ETH_MTU)
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP 0x0806

#define IP_PROTO_ICMP 1
#define IP_PROTO_UDP 17

/* Addresses are kept in host byte order: 10.0.0.2 is 0x0a000002. */
#define IPV4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

struct net_stats {
  uint32_t rx_frames, rx_bytes, tx_frames, tx_bytes;
  uint32_t rx_dropped;   /* frames the stack did not want: malformed, not for us, unknown type */
  uint32_t tx_dropped;   /* frames the driver had no room for, or addresses ARP could not resolve */
  uint32_t arp_rx, arp_tx;
  uint32_t icmp_rx, icmp_tx;
  uint32_t udp_rx, udp_tx;
  uint32_t udp_no_port;  /* datagrams for a port nobody listens on */
  uint32_t udp_overflow; /* datagrams dropped because the port's queue was full */
};

/* What a network driver registers. */
struct netif {
  const char *name;          /* "eth0" */
  const char *driver;        /* "virtio-net" */
  uint8_t mac[ETH_ALEN];
  /* Sends one whole frame (header onward). 0, or -1 when the device has no room for it now. */
  int (*transmit)(struct netif *nif, const void *frame, size_t len);
  /* Prints the driver's own counters (ifconfig), may be 0. */
  void (*print_stats)(struct netif *nif);
  void *priv;
  /* Set by net_attach: */
  uint32_t ip, netmask;
  struct net_stats stats;
};

/* The interface, once a driver has attached one; 0 without a network device. */
extern struct netif *net_if;
/*
 * Makes `nif` the interface. Its address: `ip=A.B.C.D` in the boot arguments, else derived from the MAC
 * as 10.M3.M4.M5 (the MAC's last three bytes), netmask 255.0.0.0 either way (`ip=A.B.C.D/N` sets it).
 */
void net_attach(struct netif *nif);
/* A received frame (the driver calls it from its interrupt handler; the frame is not kept). */
void net_input(const uint8_t *frame, size_t len);

/* "10.0.0.2" → 0x0a000002; returns 0, or -1 when `text` is not a dotted quad. `*end` after it if asked. */
int ip_parse(const char *text, uint32_t *ip, const char **end);
/* Formats into buf (at least 16 bytes) and returns it. */
char *ip_format(uint32_t ip, char *buf);

/* ICMP echo (ping). Sends one request; 0, or -1 (no interface, address not resolved, no room). */
int icmp_echo_send(uint32_t dst, uint16_t id, uint16_t seq, size_t payload_len);
/* The last echo reply for `id`: its sequence number, TTL and arrival time (arch_time), or -1 if none. */
int icmp_echo_reply(uint16_t id, uint16_t seq, uint64_t *when, uint32_t *ttl);

/* UDP. A bound port keeps up to UDP_QUEUE datagrams of at most UDP_MAX_PAYLOAD bytes each. */
#define UDP_PORTS 4
#define UDP_QUEUE 8
#define UDP_MAX_PAYLOAD 512
/* Returns a socket number, or -1 (port 0, taken, or no free slot). */
int udp_bind(uint16_t port);
void udp_close(int sock);
/*
 * Receives one datagram into buf (truncated to n), sleeping up to timeout_ms (0: forever, until a
 * datagram or the process is killed). Returns its length, or -1 on timeout or kill.
 */
int udp_recv(int sock, void *buf, size_t n, uint32_t *from_ip, uint16_t *from_port, uint32_t timeout_ms);
/* Sends a datagram; 0, or -1 (no interface, not resolved, too long, no room). May sleep (ARP). */
int udp_send(uint32_t dst, uint16_t src_port, uint16_t dst_port, const void *data, size_t len);

/* The Internet checksum (RFC 1071) of buf, folded and complemented, starting from `sum`. */
uint16_t inet_checksum(const void *buf, size_t len, uint32_t sum);

/* ktest-net.c: the `net` and `net-arp` tests (listed only when an interface is attached). */
int ktest_net_present(void);
int ktest_net(char *why, size_t whylen);
int ktest_net_arp(char *why, size_t whylen);

/* virtio-net.c: attaches the first virtio-mmio network device as eth0; 0, or -1 when there is none. */
int virtio_net_init(void);

/* netcmd.c: the shell's network commands */
void cmd_ifconfig(char *args);
void cmd_ping(char *args);
void cmd_udpecho(char *args);
void cmd_udpsend(char *args);

#endif
