/* Spins forever without a system call: only the timer can take the CPU back, and only kill ends it. */
int main(void) {
  for (volatile unsigned n = 0;; n++) {
  }
}
