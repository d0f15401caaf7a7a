/*
 * Does one thing a user program may not, named by its argument; the kernel must kill it (exit status
 * -1). Reaching the end means the kernel let it through: exit 0.
 */
#include "user.h"

int main(int argc, char **argv) {
  const char *kind = argc > 1 ? argv[1] : "null";
  volatile uint32_t *kernel = (volatile uint32_t *)0x80200000u;
  if (strcmp(kind, "null") == 0) *(volatile int *)0 = 1;
  else if (strcmp(kind, "kernel-read") == 0) (void)*kernel;
  else if (strcmp(kind, "kernel-write") == 0) *kernel = 0;
  else if (strcmp(kind, "kernel-jump") == 0) ((void (*)(void))kernel)();
  else if (strcmp(kind, "csr") == 0) __asm__ volatile("csrw sstatus, zero");
  else if (strcmp(kind, "sret") == 0) __asm__ volatile("sret");
  else if (strcmp(kind, "text-write") == 0) *(volatile uint32_t *)(uintptr_t)main = 0;
  else printf("fault: unknown kind '%s'\n", kind);
  return 0;
}
