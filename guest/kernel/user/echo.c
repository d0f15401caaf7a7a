/* Reads one line from the console and prints it back upper-cased. */
#include "user.h"

int main(void) {
  char line[128];
  int n = 0;
  printf("echo: type a line\n");
  for (;;) {
    char c;
    if (read(0, &c, 1) != 1) return 1;
    if (c == '\n' || c == '\r') break;
    if (n < (int)sizeof line - 1) line[n++] = c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
  }
  line[n] = '\0';
  printf("%s\n", line);
  return 0;
}
