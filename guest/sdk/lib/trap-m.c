/* What an M-mode program does with a trap it did not ask for: say which, and stop with exit code 3. */
#include <csr.h>
#include <platform.h>
#include <stdio.h>

__attribute__((aligned(4), noreturn)) void sdk_fatal_trap(void) {
  printf("\nfatal trap on hart %lu: mcause=%08lx mepc=%08lx mtval=%08lx\n", csr_read(mhartid), csr_read(mcause),
         csr_read(mepc), csr_read(mtval));
  poweroff(3);
}
