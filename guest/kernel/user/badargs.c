/*
 * System calls with bad arguments: each must fail with -1 and leave the process alive. Exits 0, or
 * the number of the first check that failed.
 */
#include "user.h"

#include "../syscall.h"

int main(void) {
  char *kernel = (char *)0x80200000u, *unmapped = (char *)0x40000000u;
  static const char text[] = "read-only";
  if (write(1, kernel, 16) != -1) return 1;
  if (write(1, unmapped, 16) != -1) return 2;
  if (write(7, "x", 1) != -1) return 3;
  if (read(0, kernel, 4) != -1) return 4;
  if (read(0, (void *)text, 4) != -1) return 5;
  if (read(3, unmapped, 4) != -1) return 6;
  if (spawn(kernel, "") != -1) return 7;
  if (spawn("hello", unmapped) != -1) return 8;
  if (spawn("no-such-program", "") != -1) return 9;
  if (wait(-1, (int *)kernel) != -1) return 10;
  if (kill(1) != -1) return 11; /* the shell is a kernel thread */
  if (kill(99999) != -1) return 12;
  if (syscall3(999, 0, 0, 0) != -1) return 13;
  if (syscall3(0, 0, 0, 0) != -1) return 14;
  return 0;
}
