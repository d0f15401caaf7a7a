/*
 * The SDK's own C library checked from inside a guest: every printf conversion the SDK promises,
 * snprintf truncation, the string functions (overlapping memmove included) and malloc's alignment.
 * Prints one line per failed check and a summary; exits with the number of failures.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks, failures;

static void expect_str(const char *what, const char *got, const char *want) {
  checks++;
  if (strcmp(got, want) != 0) {
    failures++;
    printf("FAIL %s: got \"%s\", want \"%s\"\n", what, got, want);
  }
}

static void expect_int(const char *what, long got, long want) {
  checks++;
  if (got != want) {
    failures++;
    printf("FAIL %s: got %ld, want %ld\n", what, got, want);
  }
}

#define FMT(want, ...)                       \
  do {                                       \
    char buf[96];                            \
    snprintf(buf, sizeof buf, __VA_ARGS__);  \
    expect_str(#__VA_ARGS__, buf, want);     \
  } while (0)

static int sign(int v) { return v < 0 ? -1 : v > 0 ? 1 : 0; }

int main(unsigned long hartid, void *dtb) {
  (void)hartid;
  (void)dtb;
  FMT("42 -42 0", "%d %i %d", 42, -42, 0);
  FMT("-2147483648 2147483647", "%d %d", (int)INT32_MIN, (int)INT32_MAX);
  FMT("4294967295 0", "%u %u", 0xffffffffu, 0u);
  FMT("deadbeef DEADBEEF 0000002a", "%x %X %08x", 0xdeadbeefu, 0xdeadbeefu, 42u);
  FMT("[   42] [42   ] [00042] [-0042]", "[%5d] [%-5d] [%05d] [%05d]", 42, 42, 42, -42);
  FMT("c=x s=hello [  ab] [ab  ] (null)", "c=%c s=%s [%4s] [%-4s] %s", 'x', "hello", "ab", "ab", (char *)0);
  FMT("0x80001000", "%p", (void *)0x80001000u);
  FMT("-123456789 123456789", "%ld %lu", -123456789L, 123456789UL);
  FMT("-9223372036854775808 18446744073709551615", "%lld %llu", (long long)INT64_MIN, (unsigned long long)UINT64_MAX);
  FMT("1099511627776 ffffffffff 17", "%lld %llx %o", 1099511627776LL, 0xffffffffffULL, 15u);
  FMT("100% done", "%d%% done", 100);

  char small[6];
  expect_int("snprintf returns the untruncated length", snprintf(small, sizeof small, "%s", "truncated"), 9);
  expect_str("snprintf truncates and terminates", small, "trunc");

  char s[16] = "abcdefgh";
  memmove(s + 2, s, 6);
  expect_str("memmove forward overlap", s, "ababcdef");
  strcpy(s, "abcdefgh");
  memmove(s, s + 2, 6);
  expect_str("memmove backward overlap", s, "cdefghgh");
  memset(s, 'z', 3);
  expect_str("memset", s, "zzzfghgh");
  expect_int("memcmp equal", memcmp("abc", "abc", 3), 0);
  expect_int("memcmp less", sign(memcmp("abc", "abd", 3)), -1);
  expect_int("strlen", (long)strlen("rvisor"), 6);
  expect_int("strcmp greater", sign(strcmp("b", "a")), 1);
  expect_int("strcmp prefix", sign(strcmp("ab", "abc")), -1);
  expect_int("strncmp within n", strncmp("abcX", "abcY", 3), 0);

  char *a = malloc(3), *b = malloc(100);
  expect_int("malloc returns memory", a != NULL && b != NULL, 1);
  expect_int("malloc aligns to 16", ((uintptr_t)a | (uintptr_t)b) & 15, 0);
  expect_int("malloc does not overlap", b >= a + 3, 1);
  expect_int("malloc refuses what does not fit", malloc(64u << 20) == NULL, 1);
  int *z = calloc(8, sizeof(int));
  expect_int("calloc zeroes", z[0] | z[7], 0);

  volatile uint64_t opaque_big = 0x123456789abcdefULL; /* volatile: divided at run time, not by clang */
  uint64_t big = opaque_big;
  expect_int("64-bit division (high word)", (long)((big / 1000003u) >> 32), 19);
  expect_int("64-bit division (low word)", (long)(uint32_t)(big / 1000003u), (long)0x16b424bcu);
  expect_int("64-bit remainder", (long)(big % 1000003u), 637115);
  expect_int("signed 64-bit division", (long)(-(int64_t)big / (int64_t)0x100000000LL), (long)-(int64_t)(big >> 32));

  printf("libc-selftest: %d checks, %d failed\n", checks, failures);
  return failures;
}
