/*
 * The shell's network commands, over net.c:
 *
 *   ifconfig                     the interface: MAC, address, counters (the stack's and the driver's)
 *   ping <ip> [count]            ICMP echo, one request a second (default 4, at most 100); a line per
 *                                reply with its sequence number, TTL and round-trip time, then a summary
 *   udpecho [port]               a background kernel thread (default port 7) that sends every datagram
 *                                back to where it came from; `kill <pid>` ends it
 *   udpsend <ip> <port> <text>   sends text from an ephemeral port, prints the reply or a timeout
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "net.h"

#define PING_PAYLOAD 56      /* as ping(8): 64 bytes of ICMP */
#define PING_INTERVAL_MS 1000
#define UDPSEND_TIMEOUT_MS 2000

static int no_interface(const char *cmd) {
  if (net_if) return 0;
  printf("%s: no network device\n", cmd);
  return 1;
}

/* Splits off the first word of *s (NUL-terminating it) and returns it; "" when none is left. */
static char *next_word(char **s) {
  char *p = *s;
  while (*p == ' ') p++;
  char *w = p;
  while (*p && *p != ' ') p++;
  if (*p) *p++ = '\0';
  *s = p;
  return w;
}

static int parse_uint(const char *s, uint32_t max, uint32_t *out) {
  uint32_t v = 0;
  if (!*s) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    v = v * 10 + (uint32_t)(*s - '0');
    if (v > max) return -1;
  }
  *out = v;
  return 0;
}

/* Microseconds between two readings of the time counter. */
static uint32_t elapsed_us(uint64_t from, uint64_t to) {
  return (uint32_t)((to - from) * 1000000u / boot_info.timebase_hz);
}

void cmd_ifconfig(char *args) {
  (void)args;
  if (no_interface("ifconfig")) return;
  struct netif *n = net_if;
  struct net_stats *s = &n->stats;
  char ip[16], mask[16];
  printf("%s: %s, MAC %02x:%02x:%02x:%02x:%02x:%02x, MTU %u\n", n->name, n->driver, n->mac[0], n->mac[1],
         n->mac[2], n->mac[3], n->mac[4], n->mac[5], (unsigned)ETH_MTU);
  printf("  inet %s netmask %s\n", ip_format(n->ip, ip), ip_format(n->netmask, mask));
  printf("  RX %u frames, %u bytes, %u dropped\n", (unsigned)s->rx_frames, (unsigned)s->rx_bytes,
         (unsigned)s->rx_dropped);
  printf("  TX %u frames, %u bytes, %u dropped\n", (unsigned)s->tx_frames, (unsigned)s->tx_bytes,
         (unsigned)s->tx_dropped);
  printf("  in/out: arp %u/%u, icmp %u/%u, udp %u/%u; udp to no port %u, queue full %u\n", (unsigned)s->arp_rx,
         (unsigned)s->arp_tx, (unsigned)s->icmp_rx, (unsigned)s->icmp_tx, (unsigned)s->udp_rx,
         (unsigned)s->udp_tx, (unsigned)s->udp_no_port, (unsigned)s->udp_overflow);
  if (n->print_stats) n->print_stats(n);
}

void cmd_ping(char *args) {
  char *target = next_word(&args), *count_text = next_word(&args);
  uint32_t dst, count = 4;
  if (ip_parse(target, &dst, 0) < 0 || (*count_text && (parse_uint(count_text, 100, &count) < 0 || count == 0))) {
    printf("usage: ping <a.b.c.d> [count 1..100]\n");
    return;
  }
  if (no_interface("ping")) return;
  static uint16_t ping_id = 0x5200;
  uint16_t id = ++ping_id;
  char ip[16];
  ip_format(dst, ip);
  printf("PING %s: %u data bytes\n", ip, (unsigned)PING_PAYLOAD);
  uint32_t sent = 0, received = 0, errors = 0, min_us = 0xffffffffu, max_us = 0;
  uint64_t sum_us = 0, start = uptime_ms();
  for (uint32_t seq = 1; seq <= count && !current()->killed; seq++) {
    uint64_t t0 = arch_time(), next = uptime_ms() + PING_INTERVAL_MS;
    sent++;
    if (icmp_echo_send(dst, id, (uint16_t)seq, PING_PAYLOAD) < 0) {
      char me[16];
      errors++;
      printf("From %s icmp_seq=%u Destination Host Unreachable\n", ip_format(net_if->ip, me), (unsigned)seq);
    } else {
      uint64_t when;
      uint32_t ttl;
      int got;
      while ((got = icmp_echo_reply(id, (uint16_t)seq, &when, &ttl)) < 0 && uptime_ms() < next &&
             !current()->killed)
        sleep_on((const void *)&ticks);
      if (got < 0) {
        printf("request timeout for icmp_seq=%u\n", (unsigned)seq);
      } else {
        uint32_t us = elapsed_us(t0, when);
        received++;
        sum_us += us;
        if (us < min_us) min_us = us;
        if (us > max_us) max_us = us;
        printf("%u bytes from %s: icmp_seq=%u ttl=%u time=%u.%03u ms\n", (unsigned)(PING_PAYLOAD + 8), ip,
               (unsigned)seq, (unsigned)ttl, (unsigned)(us / 1000), (unsigned)(us % 1000));
      }
    }
    if (seq < count) sleep_ms((uint32_t)(next > uptime_ms() ? next - uptime_ms() : 0));
  }
  uint32_t loss = sent == 0 ? 100 : (sent - received) * 100 / sent;
  printf("--- %s ping statistics ---\n", ip);
  printf("%u packets transmitted, %u received, ", (unsigned)sent, (unsigned)received);
  if (errors) printf("+%u errors, ", (unsigned)errors);
  printf("%u%% packet loss, time %u ms\n", (unsigned)loss, (unsigned)(uptime_ms() - start));
  if (received > 0) {
    uint32_t avg = (uint32_t)(sum_us / received);
    printf("rtt min/avg/max = %u.%03u/%u.%03u/%u.%03u ms\n", (unsigned)(min_us / 1000), (unsigned)(min_us % 1000),
           (unsigned)(avg / 1000), (unsigned)(avg % 1000), (unsigned)(max_us / 1000), (unsigned)(max_us % 1000));
  }
}

/* The socket each udpecho thread serves, by pid (set before the thread first runs). */
static struct {
  int pid, sock;
  uint16_t port;
} echo_threads[UDP_PORTS];

static void udpecho_thread(void) {
  int sock = -1, pid = current()->pid;
  uint16_t my_port = 0;
  for (int i = 0; i < UDP_PORTS; i++) {
    if (echo_threads[i].pid == pid) {
      sock = echo_threads[i].sock;
      my_port = echo_threads[i].port;
    }
  }
  static uint8_t buf[UDP_MAX_PAYLOAD];
  uint32_t from;
  uint16_t port;
  int n;
  while ((n = udp_recv(sock, buf, sizeof buf, &from, &port, 0)) >= 0) udp_send(from, my_port, port, buf, (size_t)n);
  udp_close(sock);
  for (int i = 0; i < UDP_PORTS; i++)
    if (echo_threads[i].pid == pid) echo_threads[i].pid = 0;
}

void cmd_udpecho(char *args) {
  char *port_text = next_word(&args);
  uint32_t port = 7;
  if (*port_text && (parse_uint(port_text, 65535, &port) < 0 || port == 0)) {
    printf("usage: udpecho [port 1..65535]\n");
    return;
  }
  if (no_interface("udpecho")) return;
  int slot = -1;
  for (int i = 0; i < UDP_PORTS && slot < 0; i++)
    if (echo_threads[i].pid == 0) slot = i;
  int sock = slot < 0 ? -1 : udp_bind((uint16_t)port);
  if (sock < 0) {
    printf("udpecho: port %u is taken (or every socket is)\n", (unsigned)port);
    return;
  }
  int pid = kthread_create("udpecho", udpecho_thread);
  if (pid < 0) {
    udp_close(sock);
    printf("udpecho: no process slot\n");
    return;
  }
  for (int i = 0; i < NPROC; i++)
    if (proc_table[i].pid == pid) proc_table[i].killable = 1;
  echo_threads[slot].pid = pid;
  echo_threads[slot].sock = sock;
  echo_threads[slot].port = (uint16_t)port;
  char ip[16];
  printf("udpecho: pid %d echoes UDP on %s port %u\n", pid, ip_format(net_if->ip, ip), (unsigned)port);
}

void cmd_udpsend(char *args) {
  char *target = next_word(&args), *port_text = next_word(&args);
  while (*args == ' ') args++;
  uint32_t dst, port;
  if (ip_parse(target, &dst, 0) < 0 || parse_uint(port_text, 65535, &port) < 0 || port == 0 || !*args) {
    printf("usage: udpsend <a.b.c.d> <port> <text>\n");
    return;
  }
  if (no_interface("udpsend")) return;
  static uint16_t ephemeral = 49152; /* IANA's dynamic ports: 49152..65535 */
  uint16_t src_port = 0;
  int sock = -1;
  for (int tries = 0; tries < 16 && sock < 0; tries++) {
    src_port = ephemeral;
    ephemeral = ephemeral == 65535 ? 49152 : (uint16_t)(ephemeral + 1);
    sock = udp_bind(src_port);
  }
  if (sock < 0) {
    printf("udpsend: no free socket\n");
    return;
  }
  char ip[16];
  ip_format(dst, ip);
  size_t len = strlen(args);
  if (udp_send(dst, src_port, (uint16_t)port, args, len) < 0) {
    printf("udpsend: cannot send to %s (no ARP reply, or too long)\n", ip);
  } else {
    static char reply[UDP_MAX_PAYLOAD + 1];
    uint32_t from;
    uint16_t from_port;
    uint64_t t0 = arch_time();
    int n = udp_recv(sock, reply, UDP_MAX_PAYLOAD, &from, &from_port, UDPSEND_TIMEOUT_MS);
    if (n < 0) {
      printf("udpsend: no reply from %s:%u within %u ms\n", ip, (unsigned)port, (unsigned)UDPSEND_TIMEOUT_MS);
    } else {
      uint32_t us = elapsed_us(t0, arch_time());
      reply[n] = '\0';
      char from_text[16];
      printf("reply from %s:%u (%d bytes, %u.%03u ms): %s\n", ip_format(from, from_text), (unsigned)from_port, n,
             (unsigned)(us / 1000), (unsigned)(us % 1000), reply);
    }
  }
  udp_close(sock);
}
