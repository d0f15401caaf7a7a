/*
 * Fork- and spawn-heavy: forks N children (default 8) that each change a global, check that the
 * parent's copy did not change, and exit with their index; spawns N more programs (`cpu 100`, 25
 * primes); waits for all and checks every status. Exits 0, or the number of the check that failed.
 */
#include "user.h"

static volatile int shared = 1000;

int main(int argc, char **argv) {
  int n = argc > 1 && argv[1][0] != '-' ? atoi(argv[1]) : 8;
  int expected = 0;
  for (int i = 1; i <= n; i++) {
    int pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      shared = i; /* the child's own copy */
      yield();
      exit(shared == i ? i : 100);
    }
    expected += i;
  }
  if (shared != 1000) return 2;
  for (int i = 0; i < n; i++) {
    if (spawn("cpu", "100 -q") < 0) return 3;
    expected += 25;
  }
  int sum = 0, status;
  for (int i = 0; i < 2 * n; i++) {
    if (wait(-1, &status) < 0) return 4;
    sum += status;
  }
  if (wait(-1, &status) != -1) return 5; /* no children left */
  if (sum != expected) return 6;
  if (!quiet(argc, argv)) printf("forks: %d forked and %d spawned children exited as expected\n", n, n);
  return 0;
}
