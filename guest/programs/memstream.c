/*
 * memstream: a memory-streaming benchmark in the spirit of McCalpin's STREAM (our own code), in 32-bit
 * integers because RV32IMAC has no floating point. Three arrays of WORDS words; each pass runs
 *
 *   copy   c[i] = a[i]
 *   scale  b[i] = S * c[i]
 *   add    c[i] = a[i] + b[i]
 *   triad  a[i] = b[i] + S * c[i]
 *
 * then a reduction (sum) over one array chosen by the pass, so every pass reads the results of the last.
 *
 * Validation, as STREAM's checkSTREAMresults does with its scalars aj, bj, cj: the arrays start as
 * multiples of base(i) (a = base, b = 2·base, c = 0), every kernel is linear, so after any number of
 * passes each element is still (coefficient × base(i)) mod 2^32. The program tracks the three
 * coefficients with the same operations on scalars, then checks every element against them, and each
 * pass's reduction against coefficient × Σ base. Prints VALID and exits 0 only when all of it holds.
 *
 * WORDS and PASSES can be set with -D: the benchmark uses arrays of 1 MiB each (3 MiB in all).
 */
#include <stdint.h>
#include <stdio.h>

#ifndef WORDS
#define WORDS 8192
#endif
#ifndef PASSES
#define PASSES 4
#endif
#define S 3u

static uint32_t a[WORDS], b[WORDS], c[WORDS];

/* An element's starting value: a hash of its index, so no two neighbours are alike. */
static uint32_t base(uint32_t i) {
  uint32_t x = i * 0x9e3779b1u + 0x7f4a7c15u;
  x ^= x >> 15;
  x *= 0x2c1b3c6du;
  return x ^ (x >> 12);
}

/* One function per kernel, not inlined, so each is a loop of its own as in STREAM. */
__attribute__((noinline)) static void copy(uint32_t *restrict dst, const uint32_t *restrict src, unsigned n) {
  for (unsigned i = 0; i < n; i++) dst[i] = src[i];
}

__attribute__((noinline)) static void scale(uint32_t *restrict dst, const uint32_t *restrict src, unsigned n) {
  for (unsigned i = 0; i < n; i++) dst[i] = S * src[i];
}

__attribute__((noinline)) static void add(uint32_t *restrict dst, const uint32_t *restrict x,
                                          const uint32_t *restrict y, unsigned n) {
  for (unsigned i = 0; i < n; i++) dst[i] = x[i] + y[i];
}

__attribute__((noinline)) static void triad(uint32_t *restrict dst, const uint32_t *restrict x,
                                            const uint32_t *restrict y, unsigned n) {
  for (unsigned i = 0; i < n; i++) dst[i] = x[i] + S * y[i];
}

__attribute__((noinline)) static uint32_t sum(const uint32_t *v, unsigned n) {
  uint32_t s = 0;
  for (unsigned i = 0; i < n; i++) s += v[i];
  return s;
}

static int failures;
static void check(int ok, const char *what, unsigned at) {
  if (!ok) {
    if (failures < 5) printf("mismatch in %s at %u\n", what, at);
    failures++;
  }
}

int main(unsigned long hartid, void *dtb) {
  (void)hartid;
  (void)dtb;
  uint32_t base_sum = 0;
  for (unsigned i = 0; i < WORDS; i++) {
    uint32_t v = base(i);
    a[i] = v;
    b[i] = 2u * v;
    c[i] = 0;
    base_sum += v;
  }
  uint32_t aj = 1, bj = 2, cj = 0; /* the coefficients: a[i] == aj * base(i), and so on */
  uint32_t reductions = 0;
  for (unsigned p = 0; p < PASSES; p++) {
    copy(c, a, WORDS);
    cj = aj;
    scale(b, c, WORDS);
    bj = S * cj;
    add(c, a, b, WORDS);
    cj = aj + bj;
    triad(a, b, c, WORDS);
    aj = bj + S * cj;
    /* The reduction reads a different array each pass (a, b, c, a, ...). */
    const uint32_t *v = p % 3 == 0 ? a : p % 3 == 1 ? b : c;
    uint32_t coefficient = p % 3 == 0 ? aj : p % 3 == 1 ? bj : cj;
    uint32_t s = sum(v, WORDS);
    check(s == coefficient * base_sum, "reduction", p);
    reductions = reductions * 31u + s;
  }
  uint32_t sum_a = 0, sum_b = 0, sum_c = 0;
  for (unsigned i = 0; i < WORDS; i++) {
    uint32_t v = base(i);
    check(a[i] == aj * v, "a", i);
    check(b[i] == bj * v, "b", i);
    check(c[i] == cj * v, "c", i);
    sum_a += a[i];
    sum_b += b[i];
    sum_c += c[i];
  }
  printf("memstream: %u words x 3 arrays (%u KiB), %u passes\n", (unsigned)WORDS,
         (unsigned)(3u * WORDS * 4u / 1024u), (unsigned)PASSES);
  printf("coefficients a %08lx b %08lx c %08lx\n", (unsigned long)aj, (unsigned long)bj, (unsigned long)cj);
  printf("sums a %08lx b %08lx c %08lx\n", (unsigned long)sum_a, (unsigned long)sum_b, (unsigned long)sum_c);
  printf("reductions %08lx\n", (unsigned long)reductions);
  int valid = failures == 0 && PASSES > 0;
  printf("%s\n", valid ? "VALID" : "INVALID");
  return valid ? 0 : 1;
}
