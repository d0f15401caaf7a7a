/* The user library's system calls and console glue (user.h). */
#include "user.h"

#include "../syscall.h"

long syscall3(long number, long a0, long a1, long a2) {
  register long r_a0 __asm__("a0") = a0;
  register long r_a1 __asm__("a1") = a1;
  register long r_a2 __asm__("a2") = a2;
  register long r_a7 __asm__("a7") = number;
  __asm__ volatile("ecall" : "+r"(r_a0) : "r"(r_a1), "r"(r_a2), "r"(r_a7) : "memory");
  return r_a0;
}

static char out[256];
static size_t out_len;

void flush(void) {
  if (out_len > 0) write(1, out, out_len);
  out_len = 0;
}

/* The SDK's putchar and printf end here. */
void console_putc(char c) {
  out[out_len++] = c;
  if (c == '\n' || out_len == sizeof out) flush();
}

int console_getc(void) {
  char c;
  flush();
  return read(0, &c, 1) == 1 ? (unsigned char)c : -1;
}

void exit(int status) {
  flush();
  syscall3(SYS_exit, status, 0, 0);
  for (;;) {
  }
}

long write(int fd, const void *buf, size_t n) { return syscall3(SYS_write, fd, (long)buf, (long)n); }
long read(int fd, void *buf, size_t n) { return syscall3(SYS_read, fd, (long)buf, (long)n); }
int getpid(void) { return (int)syscall3(SYS_getpid, 0, 0, 0); }
int spawn(const char *name, const char *args) { return (int)syscall3(SYS_spawn, (long)name, (long)args, 0); }
int fork(void) {
  flush(); /* or the child would print the parent's buffered output again */
  return (int)syscall3(SYS_fork, 0, 0, 0);
}
int wait(int pid, int *status) { return (int)syscall3(SYS_wait, pid, (long)status, 0); }
void *sbrk(long increment) { return (void *)syscall3(SYS_sbrk, increment, 0, 0); }
void yield(void) { syscall3(SYS_yield, 0, 0, 0); }
void sleep(unsigned ms) { syscall3(SYS_sleep, (long)ms, 0, 0); }
unsigned uptime(void) { return (unsigned)syscall3(SYS_uptime, 0, 0, 0); }
int kill(int pid) { return (int)syscall3(SYS_kill, pid, 0, 0); }

int atoi(const char *s) {
  int v = 0, sign = 1;
  if (*s == '-') sign = -1, s++;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return sign * v;
}

int quiet(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "-q") == 0) return 1;
  return 0;
}

int primes_below(unsigned limit) {
  int count = 0;
  for (unsigned n = 2; n < limit; n++) {
    int prime = 1;
    for (unsigned d = 2; d * d <= n; d++)
      if (n % d == 0) {
        prime = 0;
        break;
      }
    count += prime;
  }
  return count;
}
