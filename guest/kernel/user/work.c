/*
 * A multi-process workload that reports its progress: `work P R` forks P workers (default 4) that each
 * do R rounds (default 20); a round counts the primes below 3000 by trial division (430 of them) and
 * prints `work: round` so an observer can measure throughput from the console. The parent waits for
 * every worker and prints `work: P x R rounds, all correct` — or exits with the number of workers
 * that got a wrong count. With `-q` the rounds print nothing.
 */
#include "user.h"

#define LIMIT 3000
#define PRIMES 430

int main(int argc, char **argv) {
  int procs = argc > 1 && argv[1][0] != '-' ? atoi(argv[1]) : 4;
  int rounds = argc > 2 && argv[2][0] != '-' ? atoi(argv[2]) : 20;
  int q = quiet(argc, argv);
  for (int p = 0; p < procs; p++) {
    int pid = fork();
    if (pid < 0) return 100;
    if (pid == 0) {
      int wrong = 0;
      for (int r = 0; r < rounds; r++) {
        if (primes_below(LIMIT) != PRIMES) wrong = 1;
        if (!q) printf("work: round\n");
      }
      exit(wrong);
    }
  }
  int bad = 0, status;
  for (int p = 0; p < procs; p++) {
    if (wait(-1, &status) < 0) return 101;
    bad += status != 0;
  }
  if (bad == 0) printf("work: %d x %d rounds, all correct\n", procs, rounds);
  return bad;
}
