/* The first program: proves the start-up code, the UART console and power-off work, and shows the ISA. */
#include <csr.h>
#include <stdio.h>

/* misa: MXL in the top two bits (1 = 32-bit), one bit per extension letter A..Z below. */
static void isa_string(unsigned long misa, char *out) {
  unsigned long mxl = misa >> 30;
  char *p = out;
  *p++ = 'r';
  *p++ = 'v';
  *p++ = mxl == 1 ? '3' : mxl == 2 ? '6' : '1';
  *p++ = mxl == 1 ? '2' : mxl == 2 ? '4' : '2';
  if (mxl == 3) *p++ = '8';
  for (int bit = 0; bit < 26; bit++)
    if (misa & (1ul << bit)) *p++ = (char)('a' + bit);
  *p = '\0';
}

int main(unsigned long hartid, void *dtb) {
  (void)dtb;
  char isa[40];
  isa_string(csr_read(misa), isa);
  printf("Hello from rvisor's guest SDK!\n");
  printf("hart %lu (mhartid %lu) running in M-mode\n", hartid, csr_read(mhartid));
  printf("isa: %s\n", isa);
  return 0;
}
