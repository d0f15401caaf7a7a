/* What an S-mode program does with a trap it did not ask for: say which, and stop as a system failure. */
#include <csr.h>
#include <platform.h>
#include <stdio.h>

__attribute__((aligned(4), noreturn)) void sdk_fatal_trap(void) {
  printf("\nfatal trap: scause=%08lx sepc=%08lx stval=%08lx\n", csr_read(scause), csr_read(sepc),
         csr_read(stval));
  poweroff(1);
}
