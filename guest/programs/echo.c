/*
 * Console input: reads the UART until a newline or an end-of-input marker (Ctrl-D, 0x04) and echoes
 * the line upper-cased. Exercises the stdin path of a runner (QEMU's -serial stdio, rvisor's console).
 */
#include <stdio.h>

#define END_OF_INPUT 0x04
#define MAX_LINE 256

int main(unsigned long hartid, void *dtb) {
  (void)hartid;
  (void)dtb;
  char line[MAX_LINE];
  int n = 0;
  printf("echo: type a line\n");
  for (;;) {
    int c = getchar();
    if (c == '\n' || c == '\r' || c == END_OF_INPUT) break;
    if (n < MAX_LINE - 1) line[n++] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  }
  line[n] = '\0';
  printf("%s\n", line);
  printf("echo: %d characters\n", n);
  return 0;
}
