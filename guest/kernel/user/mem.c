/*
 * Memory-touching: grows the heap by K KiB (default 256) with sbrk, writes a pattern into every word,
 * reads it back, shrinks the heap again and checks the break. Exits 0, or the number of the check
 * that failed.
 */
#include "user.h"

int main(int argc, char **argv) {
  int kib = argc > 1 && argv[1][0] != '-' ? atoi(argv[1]) : 256;
  long bytes = (long)kib * 1024;
  char *start = sbrk(0);
  uint32_t *heap = sbrk(bytes);
  if ((char *)heap != start) return 1;
  if ((char *)sbrk(0) != start + bytes) return 2;
  size_t words = (size_t)bytes / 4;
  for (size_t i = 0; i < words; i++) heap[i] = (uint32_t)i * 2654435761u;
  for (size_t i = 0; i < words; i++)
    if (heap[i] != (uint32_t)i * 2654435761u) return 3;
  if (sbrk(-bytes) != (char *)heap + bytes) return 4;
  if ((char *)sbrk(0) != start) return 5;
  if ((long)sbrk(-4096) != -1) return 6; /* below the heap's start */
  if ((long)sbrk(0x7fffffff) != -1) return 7; /* more than there is room for */
  if (!quiet(argc, argv)) printf("mem: wrote and checked %d KiB\n", kib);
  return 0;
}
