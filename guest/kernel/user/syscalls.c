/*
 * Syscall-heavy: N rounds (default 1000) of getpid, uptime, yield and a zero-length write, checking
 * that the answers stay consistent. Exits 0, or the number of the check that failed.
 */
#include "user.h"

int main(int argc, char **argv) {
  int rounds = argc > 1 && argv[1][0] != '-' ? atoi(argv[1]) : 1000;
  int pid = getpid();
  unsigned last = uptime();
  for (int i = 0; i < rounds; i++) {
    if (getpid() != pid) return 1;
    unsigned now = uptime();
    if (now < last) return 2;
    last = now;
    yield();
    if (write(1, "", 0) != 0) return 3;
  }
  if (!quiet(argc, argv)) printf("syscalls: %d rounds, %d calls\n", rounds, rounds * 4);
  return 0;
}
