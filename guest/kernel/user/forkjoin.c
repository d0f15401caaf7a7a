/*
 * Fork-join across CPUs, for the latency of waking an idle one: `forkjoin R N` (defaults 20 and 3000)
 * times R rounds of work done alone — counting the primes below N twice — then R rounds of the same
 * work split with a forked child (each counts once; the parent waits for the child), and prints
 * `forkjoin: R rounds: alone A ms, split S ms`. Each split round makes work for another CPU twice: the
 * fork makes the child runnable while the parent keeps computing, and the child's exit wakes the
 * parent, whose CPU may have gone idle in wait. On one CPU the split rounds take as long as the alone
 * ones, plus a fork each; on two, half as long plus the fork, if an idle CPU takes work as soon as it
 * appears. Exits 0, or 1 when a count differed from the first one (or a fork failed).
 */
#include "user.h"

int main(int argc, char **argv) {
  int rounds = argc > 1 && argv[1][0] != '-' ? atoi(argv[1]) : 20;
  unsigned limit = argc > 2 && argv[2][0] != '-' ? (unsigned)atoi(argv[2]) : 3000;
  int wrong = 0, status;
  int expected = primes_below(limit); /* a child's exit status carries its count: at most 8 bits are safe */
  unsigned t0 = uptime();
  for (int r = 0; r < rounds; r++) {
    wrong |= primes_below(limit) != expected;
    wrong |= primes_below(limit) != expected;
  }
  unsigned t1 = uptime();
  for (int r = 0; r < rounds; r++) {
    int pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) exit(primes_below(limit) == expected ? 0 : 1);
    wrong |= primes_below(limit) != expected;
    if (wait(pid, &status) != pid || status != 0) wrong = 1;
  }
  unsigned t2 = uptime();
  printf("forkjoin: %d rounds: alone %u ms, split %u ms%s\n", rounds, t1 - t0, t2 - t1, wrong ? ", WRONG" : "");
  return wrong;
}
