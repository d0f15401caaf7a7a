/*
 * CPU-bound: counts the primes below N (default 20000) by trial division, without a system call until
 * the end, and exits with the count — so a caller can check the result.
 */
#include "user.h"

static int is_prime(unsigned n) {
  if (n < 2) return 0;
  for (unsigned d = 2; d * d <= n; d++)
    if (n % d == 0) return 0;
  return 1;
}

int main(int argc, char **argv) {
  unsigned limit = argc > 1 && argv[1][0] != '-' ? (unsigned)atoi(argv[1]) : 20000;
  unsigned t0 = uptime();
  int count = 0;
  for (unsigned n = 0; n < limit; n++) count += is_prime(n);
  if (!quiet(argc, argv)) printf("cpu: %d primes below %u (%u ms)\n", count, limit, uptime() - t0);
  return count;
}
