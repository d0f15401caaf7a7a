/* Says hello with its pid and arguments (quietly with -q: only exits 0). */
#include "user.h"

int main(int argc, char **argv) {
  if (quiet(argc, argv)) return 0;
  printf("hello from pid %d:", getpid());
  for (int i = 0; i < argc; i++) printf(" %s", argv[i]);
  printf("\n");
  return 0;
}
