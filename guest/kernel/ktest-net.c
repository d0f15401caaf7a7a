/*
 * The network stack's tests (ktest.c lists them only when a network device is attached): what can be
 * checked inside one domain — checksums, address parsing, the interface's address, ICMP and UDP to the
 * kernel's own address (the loopback in net.c), and a neighbour that never answers ARP. Talking to
 * another domain is tested from the host (src/control/net/network.test.ts).
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "net.h"

#define CHECK(cond, ...)                    \
  do {                                      \
    if (!(cond)) {                          \
      snprintf(why, whylen, __VA_ARGS__);   \
      return -1;                            \
    }                                       \
  } while (0)

int ktest_net_present(void) { return net_if != 0; }

/* Whether the boot arguments set the address (ip=...), so it is not derived from the MAC. */
static int ip_from_bootargs(void) {
  for (const char *s = boot_info.bootargs; *s; s++)
    if ((s == boot_info.bootargs || s[-1] == ' ') && strncmp(s, "ip=", 3) == 0) return 1;
  return 0;
}

int ktest_net(char *why, size_t whylen) {
  /* RFC 1071's example: 0001 f203 f4f5 f6f7 sums to ddf2, whose complement is 220d. */
  static const uint8_t rfc1071[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  CHECK(inet_checksum(rfc1071, sizeof rfc1071, 0) == 0x220d, "checksum %04x", inet_checksum(rfc1071, 8, 0));
  uint32_t ip;
  char text[16];
  CHECK(ip_parse("10.0.0.2", &ip, 0) == 0 && ip == IPV4(10, 0, 0, 2), "ip_parse 10.0.0.2");
  CHECK(strcmp(ip_format(IPV4(192, 168, 100, 7), text), "192.168.100.7") == 0, "ip_format gave %s", text);
  CHECK(ip_parse("10.0.0", &ip, 0) < 0 && ip_parse("256.0.0.1", &ip, 0) < 0 && ip_parse("1.2.3.4x", &ip, 0) < 0 &&
            ip_parse("1..2.3", &ip, 0) < 0,
        "ip_parse accepted a bad address");
  struct netif *n = net_if;
  if (!ip_from_bootargs()) {
    CHECK(n->ip == IPV4(10, n->mac[3], n->mac[4], n->mac[5]), "address %s is not 10.<MAC's last three bytes>",
          ip_format(n->ip, text));
  }

  /* ICMP echo to ourselves: the reply is there as soon as the request is sent. */
  uint32_t tx = n->stats.tx_frames;
  CHECK(icmp_echo_send(n->ip, 0x7e57, 1, 56) == 0, "echo request to our own address not sent");
  uint64_t when;
  uint32_t ttl;
  CHECK(icmp_echo_reply(0x7e57, 1, &when, &ttl) == 1 && ttl == 64, "no echo reply from our own address");
  CHECK(n->stats.tx_frames == tx + 2, "%u frames for one echo and its reply", (unsigned)(n->stats.tx_frames - tx));

  /* UDP to ourselves, through a bound port. */
  int s = udp_bind(9999);
  CHECK(s >= 0, "cannot bind port 9999");
  CHECK(udp_bind(9999) < 0 && udp_bind(0) < 0, "bound port 9999 twice, or port 0");
  int sent = udp_send(n->ip, 9998, 9999, "loop", 4);
  char buf[8];
  uint32_t from;
  uint16_t port;
  int got = udp_recv(s, buf, sizeof buf, &from, &port, 100);
  udp_close(s);
  CHECK(sent == 0 && got == 4 && memcmp(buf, "loop", 4) == 0, "datagram to ourselves: sent %d, got %d", sent, got);
  CHECK(from == n->ip && port == 9998, "datagram from %s:%u", ip_format(from, text), (unsigned)port);
  uint32_t no_port = n->stats.udp_no_port;
  udp_send(n->ip, 9998, 9999, "gone", 4);
  CHECK(n->stats.udp_no_port == no_port + 1, "a datagram to a closed port was not counted");
  return 0;
}

int ktest_net_arp(char *why, size_t whylen) {
  struct netif *n = net_if;
  uint32_t nobody = (n->ip & n->netmask) | (~n->netmask & 0xfffffffeu); /* the subnet's last host */
  if (nobody == n->ip) nobody--;
  uint32_t arp = n->stats.arp_tx;
  uint64_t t0 = uptime_ms();
  CHECK(udp_send(nobody, 9, 9, "x", 1) < 0, "a datagram to a host that never answers ARP was sent");
  CHECK(n->stats.arp_tx == arp + 3, "%u ARP requests, expected 3", (unsigned)(n->stats.arp_tx - arp));
  CHECK(uptime_ms() - t0 >= 900, "gave up after %u ms, before three 300 ms waits", (unsigned)(uptime_ms() - t0));
  arp = n->stats.arp_tx;
  CHECK(udp_send(IPV4(192, 0, 2, 1), 9, 9, "x", 1) < 0 && n->stats.arp_tx == arp,
        "an address off the subnet was tried (there is no router)");
  return 0;
}
