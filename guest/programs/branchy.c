/*
 * branchy: a benchmark of unpredictable control flow. Each round runs three kernels on inputs that
 * change with the round number:
 *
 *   vm      a bytecode interpreter (a stack machine, one `switch` per opcode: an indirect jump through a
 *           table on every instruction) running two programs: Collatz path lengths and a prime count by
 *           trial division
 *   sort    quicksort of pseudo-random words (data-dependent compares), insertion sort below 16
 *   search  binary searches for keys half of which are present
 *
 * Validation, so that a wrong emulator cannot pass by being fast: the bytecode programs' results must
 * equal the same computations written in C; the sorted array must be in order and hold the same
 * multiset (sum and xor); every search result must bracket its key. Prints VALID and exits 0 only when
 * all of it holds. ROUNDS can be set with -D.
 */
#include <stdint.h>
#include <stdio.h>

#ifndef ROUNDS
#define ROUNDS 8
#endif
#define SORT_N 512
#define SEARCHES 512
#define COLLATZ_COUNT 12
#define PRIME_SPAN 48

static int failures;
static void check(int ok, const char *what, unsigned round) {
  if (!ok) {
    if (failures < 5) printf("mismatch in %s at round %u\n", what, round);
    failures++;
  }
}

static uint32_t rng_state;
static uint32_t rng(void) { /* xorshift32 */
  uint32_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return rng_state = x;
}

/* ---- vm: a stack machine ------------------------------------------------------------------------ */
enum op { PUSH, LD, ST, ADD, MUL, REM, AND, SHR, LT, NE, JZ, JNZ, JMP, HALT };
struct insn {
  uint8_t op;
  int32_t arg;
};
#define CODE_MAX 64
#define REGS 8

struct program {
  struct insn code[CODE_MAX];
  int n;
};

static int emit(struct program *p, enum op op, int32_t arg) {
  p->code[p->n] = (struct insn){(uint8_t)op, arg};
  return p->n++;
}
static int here(const struct program *p) { return p->n; }
static void patch(struct program *p, int at) { p->code[at].arg = p->n; }

/* Runs `p` with registers r[0..] preset; returns the value left on top of the stack at HALT. */
__attribute__((noinline)) static int32_t vm_run(const struct program *p, int32_t *r) {
  int32_t stack[16];
  int sp = 0, pc = 0;
  for (;;) {
    const struct insn *i = &p->code[pc++];
    switch (i->op) {
      case PUSH: stack[sp++] = i->arg; break;
      case LD: stack[sp++] = r[i->arg]; break;
      case ST: r[i->arg] = stack[--sp]; break;
      case ADD: sp--; stack[sp - 1] += stack[sp]; break;
      case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
      case REM: sp--; stack[sp - 1] %= stack[sp]; break;
      case AND: sp--; stack[sp - 1] &= stack[sp]; break;
      case SHR: sp--; stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] >> stack[sp]); break;
      case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
      case NE: sp--; stack[sp - 1] = stack[sp - 1] != stack[sp]; break;
      case JZ: if (stack[--sp] == 0) pc = i->arg; break;
      case JNZ: if (stack[--sp] != 0) pc = i->arg; break;
      case JMP: pc = i->arg; break;
      case HALT: return stack[sp - 1];
      default: return -1;
    }
  }
}

/* Registers of the Collatz program: r0 = first n, r1 = end (exclusive); the rest are its variables. */
enum { C_N, C_END, C_X, C_STEPS, C_TOTAL };
static void build_collatz(struct program *p) {
  p->n = 0;
  emit(p, PUSH, 0), emit(p, ST, C_TOTAL);
  int loop_n = here(p);
  emit(p, LD, C_N), emit(p, LD, C_END), emit(p, LT, 0);
  int to_done = emit(p, JZ, 0);
  emit(p, LD, C_N), emit(p, ST, C_X), emit(p, PUSH, 0), emit(p, ST, C_STEPS);
  int loop_x = here(p);
  emit(p, LD, C_X), emit(p, PUSH, 1), emit(p, NE, 0);
  int to_end_x = emit(p, JZ, 0);
  emit(p, LD, C_X), emit(p, PUSH, 1), emit(p, AND, 0);
  int to_even = emit(p, JZ, 0);
  emit(p, LD, C_X), emit(p, PUSH, 3), emit(p, MUL, 0), emit(p, PUSH, 1), emit(p, ADD, 0), emit(p, ST, C_X);
  int to_next = emit(p, JMP, 0);
  patch(p, to_even);
  emit(p, LD, C_X), emit(p, PUSH, 1), emit(p, SHR, 0), emit(p, ST, C_X);
  patch(p, to_next);
  emit(p, LD, C_STEPS), emit(p, PUSH, 1), emit(p, ADD, 0), emit(p, ST, C_STEPS), emit(p, JMP, loop_x);
  patch(p, to_end_x);
  emit(p, LD, C_TOTAL), emit(p, LD, C_STEPS), emit(p, ADD, 0), emit(p, ST, C_TOTAL);
  emit(p, LD, C_N), emit(p, PUSH, 1), emit(p, ADD, 0), emit(p, ST, C_N), emit(p, JMP, loop_n);
  patch(p, to_done);
  emit(p, LD, C_TOTAL), emit(p, HALT, 0);
}

static int32_t collatz_c(int32_t first, int32_t end) {
  int32_t total = 0;
  for (int32_t n = first; n < end; n++) {
    uint32_t x = (uint32_t)n;
    while (x != 1) {
      x = (x & 1) ? 3 * x + 1 : x >> 1;
      total++;
    }
  }
  return total;
}

/* Registers of the prime-count program: r0 = first n, r1 = end (exclusive). */
enum { P_N, P_END, P_D, P_PRIME, P_COUNT };
static void build_primes(struct program *p) {
  p->n = 0;
  emit(p, PUSH, 0), emit(p, ST, P_COUNT);
  int loop_n = here(p);
  emit(p, LD, P_N), emit(p, LD, P_END), emit(p, LT, 0);
  int to_done = emit(p, JZ, 0);
  emit(p, PUSH, 1), emit(p, ST, P_PRIME), emit(p, PUSH, 2), emit(p, ST, P_D);
  int loop_d = here(p);
  emit(p, LD, P_N), emit(p, LD, P_D), emit(p, LD, P_D), emit(p, MUL, 0), emit(p, LT, 0);
  int to_end_d = emit(p, JNZ, 0); /* n < d*d: no divisor left to try */
  emit(p, LD, P_N), emit(p, LD, P_D), emit(p, REM, 0);
  int to_cont = emit(p, JNZ, 0);
  emit(p, PUSH, 0), emit(p, ST, P_PRIME);
  int to_end_d2 = emit(p, JMP, 0);
  patch(p, to_cont);
  emit(p, LD, P_D), emit(p, PUSH, 1), emit(p, ADD, 0), emit(p, ST, P_D), emit(p, JMP, loop_d);
  patch(p, to_end_d);
  patch(p, to_end_d2);
  emit(p, LD, P_COUNT), emit(p, LD, P_PRIME), emit(p, ADD, 0), emit(p, ST, P_COUNT);
  emit(p, LD, P_N), emit(p, PUSH, 1), emit(p, ADD, 0), emit(p, ST, P_N), emit(p, JMP, loop_n);
  patch(p, to_done);
  emit(p, LD, P_COUNT), emit(p, HALT, 0);
}

static int32_t primes_c(int32_t first, int32_t end) {
  int32_t count = 0;
  for (int32_t n = first; n < end; n++) {
    int prime = 1;
    for (int32_t d = 2; d * d <= n; d++)
      if (n % d == 0) {
        prime = 0;
        break;
      }
    count += prime;
  }
  return count;
}

/* ---- sort and search ------------------------------------------------------------------------------ */
static uint32_t data[SORT_N];

static void insertion_sort(uint32_t *v, int n) {
  for (int i = 1; i < n; i++) {
    uint32_t x = v[i];
    int j = i;
    for (; j > 0 && v[j - 1] > x; j--) v[j] = v[j - 1];
    v[j] = x;
  }
}

/* Quicksort with the middle element as pivot (Hoare partition); recursion on the smaller side. */
__attribute__((noinline)) static void quicksort(uint32_t *v, int n) {
  while (n > 16) {
    uint32_t pivot = v[n / 2];
    int i = -1, j = n;
    for (;;) {
      do i++;
      while (v[i] < pivot);
      do j--;
      while (v[j] > pivot);
      if (i >= j) break;
      uint32_t t = v[i];
      v[i] = v[j];
      v[j] = t;
    }
    int left = j + 1;
    if (left < n - left) {
      quicksort(v, left);
      v += left;
      n -= left;
    } else {
      quicksort(v + left, n - left);
      n = left;
    }
  }
  insertion_sort(v, n);
}

/* The first index whose element is >= key (n when there is none). */
__attribute__((noinline)) static int lower_bound(const uint32_t *v, int n, uint32_t key) {
  int lo = 0, hi = n;
  while (lo < hi) {
    int mid = (lo + hi) >> 1;
    if (v[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static uint32_t mix(uint32_t h, uint32_t v) { return (h ^ v) * 0x01000193u; /* FNV-1a step */ }

int main(unsigned long hartid, void *dtb) {
  (void)hartid;
  (void)dtb;
  static struct program collatz, primes;
  build_collatz(&collatz);
  build_primes(&primes);
  uint32_t checksum = 0x811c9dc5u;
  uint32_t found_total = 0;
  for (unsigned round = 0; round < ROUNDS; round++) {
    /* vm */
    int32_t first = 1 + (int32_t)((round * 37u) % 1000u);
    int32_t r[REGS] = {first, first + COLLATZ_COUNT};
    int32_t steps = vm_run(&collatz, r);
    check(steps == collatz_c(first, first + COLLATZ_COUNT), "vm collatz", round);
    first = 2 + (int32_t)((round * 53u) % 4000u);
    int32_t q[REGS] = {first, first + PRIME_SPAN};
    int32_t count = vm_run(&primes, q);
    check(count == primes_c(first, first + PRIME_SPAN), "vm primes", round);
    checksum = mix(mix(checksum, (uint32_t)steps), (uint32_t)count);

    /* sort */
    rng_state = 0x2545f491u ^ (round * 0x9e3779b9u);
    if (rng_state == 0) rng_state = 1;
    uint32_t sum = 0, xor = 0;
    for (int i = 0; i < SORT_N; i++) {
      /* a narrow range in some rounds, so equal keys (and the partition's handling of them) occur */
      data[i] = round % 4 == 3 ? rng() % 64u : rng();
      sum += data[i];
      xor ^= data[i];
    }
    quicksort(data, SORT_N);
    uint32_t sum2 = 0, xor2 = 0;
    int ordered = 1;
    for (int i = 0; i < SORT_N; i++) {
      sum2 += data[i];
      xor2 ^= data[i];
      if (i > 0 && data[i - 1] > data[i]) ordered = 0;
    }
    check(ordered && sum == sum2 && xor == xor2, "sort", round);

    /* search */
    unsigned found = 0;
    int bracketed = 1;
    for (int s = 0; s < SEARCHES; s++) {
      uint32_t key = (s & 1) ? data[rng() % SORT_N] : rng();
      int at = lower_bound(data, SORT_N, key);
      if (at < 0 || at > SORT_N || (at < SORT_N && data[at] < key) || (at > 0 && data[at - 1] >= key))
        bracketed = 0;
      if (at < SORT_N && data[at] == key) found++;
      checksum = mix(checksum, (uint32_t)at);
    }
    check(bracketed && found >= SEARCHES / 2, "search", round);
    found_total += found;
  }
  printf("branchy: %u rounds\n", (unsigned)ROUNDS);
  printf("found %lu of %u keys\n", (unsigned long)found_total, (unsigned)(ROUNDS * SEARCHES));
  printf("checksum %08lx\n", (unsigned long)checksum);
  int valid = failures == 0 && ROUNDS > 0;
  printf("%s\n", valid ? "VALID" : "INVALID");
  return valid ? 0 : 1;
}
