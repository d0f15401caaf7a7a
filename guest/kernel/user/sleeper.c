/* Sleeps MS milliseconds (default 100) and checks that at least that much time passed. */
#include "user.h"

int main(int argc, char **argv) {
  unsigned ms = argc > 1 && argv[1][0] != '-' ? (unsigned)atoi(argv[1]) : 100;
  unsigned t0 = uptime();
  sleep(ms);
  unsigned slept = uptime() - t0;
  if (!quiet(argc, argv)) printf("sleeper: slept %u ms\n", ms);
  return slept >= ms ? 0 : 1;
}
