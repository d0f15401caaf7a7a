#include "test.h"

/*
 * rv32mi-counters: the cycle and instret counters.
 *  - mcycle/minstret (and the user views cycle/instret) are monotonic, read as 64-bit values
 *    through the high halves, and minstret/mcycle are writable;
 *  - the user view `instret` in U-mode is governed by mcounteren.IR and scounteren.IR:
 *    readable only when both are set, illegal (cause 2) otherwise; in S-mode only
 *    mcounteren.IR matters. The same for `cycle` with the CY bits.
 * QEMU without -icount counts host time for both, so only ordering is checked, not rates.
 */

/* read the 64-bit counter `lo`/`hi` into (hi_reg, lo_reg) consistently */
#define READ64(hi_reg, lo_reg, lo, hi)                                  \
66:     csrr hi_reg, hi; csrr lo_reg, lo; csrr x7, hi;                  \
        bne hi_reg, x7, 66b

/* in U or S: read `csr` expecting it to be legal (legal = 1) or illegal (legal = 0) */
#define TRY_READ(legal, csr)                                            \
        ARM_TRAP_AT(trap_record, 65f);                                  \
        csrr x14, csr;                                                  \
        .if legal; la t6, trap_record; sw zero, TR_RESUME(t6);          \
        j 64f; .else; j fail; .endif;                                   \
65:     CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_ILLEGAL);               \
        .if legal; j fail; .endif;                                      \
64:

RVTEST_CODE_BEGIN

  /* ---- monotonic ---- */
  TEST_CASE(1, x14, 1, READ64(x11, x12, minstret, minstreth); li x13, 200; 1: addi x13, x13, -1; bnez x13, 1b; READ64(x15, x13, minstret, minstreth); sltu x14, x11, x15; bnez x14, 2f; bne x11, x15, fail; sltu x14, x12, x13; 2:)
  TEST_CASE(2, x14, 1, READ64(x11, x12, mcycle, mcycleh); li x13, 200; 1: addi x13, x13, -1; bnez x13, 1b; READ64(x15, x13, mcycle, mcycleh); sltu x14, x11, x15; bnez x14, 2f; bne x11, x15, fail; sltu x14, x12, x13; 2:)
  TEST_CASE(3, x14, 1, csrr x12, instret; li x13, 200; 1: addi x13, x13, -1; bnez x13, 1b; csrr x13, instret; sltu x14, x12, x13)
  TEST_CASE(4, x14, 1, csrr x12, cycle; li x13, 200; 1: addi x13, x13, -1; bnez x13, 1b; csrr x13, cycle; sltu x14, x12, x13)
  /* the user views show the machine counters */
  TEST_CASE(5, x14, 1, csrr x12, minstret; csrr x13, instret; csrr x15, minstret; sltu x14, x13, x12; xori x14, x14, 1; sltu x11, x15, x13; bnez x11, fail)

  /* ---- minstret and mcycle are writable: after writing v, the counter counts on from v ---- */
  // Zicsr: "a value written to instret by one instruction will be the value read by the following
  // instruction" — so the read may equal the written value (QEMU counts host ticks and reads more).
  TEST_CASE(6, x14, 1, csrw minstreth, zero; li x11, 0x100; csrw minstret, x11; csrr x12, minstret; csrr x13, minstreth; bnez x13, fail; sltu x14, x12, x11; xori x14, x14, 1; li x15, 0x100 + 0x1000000; sltu x15, x12, x15; and x14, x14, x15)
  TEST_CASE(7, x14, 1, li x11, 0x12345; csrw minstreth, x11; csrr x12, minstreth; sub x12, x12, x11; sltiu x14, x12, 2)
  TEST_CASE(8, x14, 1, csrw mcycleh, zero; li x11, 0x100; csrw mcycle, x11; csrr x12, mcycle; csrr x13, mcycleh; bnez x13, fail; sltu x14, x12, x11; xori x14, x14, 1; li x15, 0x100 + 0x1000000; sltu x15, x12, x15; and x14, x14, x15)

  /* ---- U-mode: instret needs mcounteren.IR and scounteren.IR ---- */
test_9:
  li TESTNUM, 9
  csrwi mcounteren, 0x7
  csrwi scounteren, 0x7
  GO_TO_MODE(PRV_U)
  TRY_READ(1, instret)
  TRY_READ(1, cycle)
  TRY_READ(1, instreth)
  BACK_TO_M
test_10:
  li TESTNUM, 10
  csrwi mcounteren, 0x1      /* CY only */
  csrwi scounteren, 0x7
  GO_TO_MODE(PRV_U)
  TRY_READ(0, instret)
  TRY_READ(0, instreth)
  TRY_READ(1, cycle)
  BACK_TO_M
test_11:
  li TESTNUM, 11
  csrwi mcounteren, 0x7
  csrwi scounteren, 0x1      /* S hides IR from U */
  GO_TO_MODE(PRV_U)
  TRY_READ(0, instret)
  TRY_READ(1, cycle)
  BACK_TO_M
test_12:
  li TESTNUM, 12
  csrwi mcounteren, 0x0
  csrwi scounteren, 0x7
  GO_TO_MODE(PRV_U)
  TRY_READ(0, instret)
  TRY_READ(0, cycle)
  BACK_TO_M
  /* the illegal-instruction mtval is the csrr's bits (read back while still in U) */
test_13:
  li TESTNUM, 13
  GO_TO_MODE(PRV_U)
  ARM_TRAP_AT(trap_record, 2f)
  .balign 4
1:csrr x14, instret
  j fail
2:la x11, 1b
  lw x12, 0(x11)
  la x11, trap_record
  lw x14, TR_TVAL(x11)
  beq x14, x12, 3f
  j fail
3:BACK_TO_M

  /* ---- S-mode: only mcounteren applies ---- */
test_14:
  li TESTNUM, 14
  csrwi mcounteren, 0x7
  csrwi scounteren, 0x0
  GO_TO_MODE(PRV_S)
  TRY_READ(1, instret)
  TRY_READ(1, cycle)
  BACK_TO_M
test_15:
  li TESTNUM, 15
  csrwi mcounteren, 0x1
  csrwi scounteren, 0x7
  GO_TO_MODE(PRV_S)
  TRY_READ(0, instret)
  TRY_READ(1, cycle)
  BACK_TO_M

  /* ---- machine counters are not accessible below M ---- */
test_16:
  li TESTNUM, 16
  csrwi mcounteren, 0x7
  csrwi scounteren, 0x7
  GO_TO_MODE(PRV_U)
  TRY_READ(0, minstret)
  TRY_READ(0, mcycle)
  BACK_TO_M
  /* mcounteren/scounteren themselves: WARL, the CY/IR bits hold what was written */
  TEST_CASE(17, x14, 0x5, csrwi mcounteren, 0x5; csrr x14, mcounteren; andi x14, x14, 0x5)
  TEST_CASE(18, x14, 0x4, csrwi scounteren, 0x4; csrr x14, scounteren; andi x14, x14, 0x5)

RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END
