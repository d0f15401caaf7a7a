#include "test.h"

/*
 * rv32si-irq: supervisor interrupts.
 *  - sie and sip are views of mie and mip through mideleg: undelegated bits read 0 and
 *    ignore writes; S can write sip.SSIP but not sip.STIP;
 *  - M sets mip.STIP (no Sstc: menvcfg.STCE = 0 at reset); delegated, it interrupts S with
 *    scause = 0x80000005; SSIP gives scause = 0x80000001; SSI before STI;
 *  - an S interrupt is taken in S only with sstatus.SIE = 1, in U always, in M never;
 *  - an undelegated STI goes to M even from S; M interrupts preempt S whatever mstatus.MIE.
 *
 * Interrupt handlers (one per mode) log (cause, epc, 'M' or 'S') in irq_log and disable the
 * interrupt they took in mie/sie, so the test decides when it ends.
 */

#define LOG_SLOT(i) (4 + 12 * (i))
#define LOG_RESET la x11, irq_log; sw zero, 0(x11)
#define CHECK_LOG_COUNT(n) la x11, irq_log; lw x14, 0(x11); CHECK_REG(x14, n)
#define CHECK_LOG(i, cause, mode)                                       \
        la x11, irq_log; lw x14, LOG_SLOT(i)(x11); CHECK_REG(x14, cause); \
        lw x14, LOG_SLOT(i) + 8(x11); CHECK_REG(x14, mode)
#define CHECK_LOG_EPC(i, label)                                         \
        la x11, irq_log; lw x14, LOG_SLOT(i) + 4(x11); la x12, label;   \
        beq x14, x12, 69f; j fail; 69:
#define WAIT_LOG(n)                                                     \
        li x13, 10000000;                                               \
68:     la x11, irq_log; lw x14, 0(x11); li x12, n;                     \
        beq x14, x12, 67f; addi x13, x13, -1; bnez x13, 68b; j fail; 67:

#define MODE_M 'M'
#define MODE_S 'S'

RVTEST_CODE_BEGIN

  la x11, m_irq_vector
  csrw mtvec, x11
  la x11, s_irq_vector
  csrw stvec, x11

  /* ---- sie is mie seen through mideleg ---- */
  TEST_CASE(1, x14, 0, li x11, MIP_SSIP | MIP_STIP; csrs mie, x11; csrr x14, sie; and x14, x14, x11)
  TEST_CASE(2, x14, MIP_SSIP | MIP_STIP, li x11, MIP_SSIP | MIP_STIP; csrw mideleg, x11; csrr x14, sie; and x14, x14, x11)
  TEST_CASE(3, x14, MIP_STIP, li x11, MIP_SSIP; csrc sie, x11; csrr x14, mie; li x11, MIP_SSIP | MIP_STIP; and x14, x14, x11)
  TEST_CASE(4, x14, MIP_STIP, li x11, MIP_STIP; csrw mideleg, x11; li x11, MIP_SSIP; csrs sie, x11; csrr x14, mie; li x11, MIP_SSIP | MIP_STIP; and x14, x14, x11)  /* undelegated: write ignored */
  TEST_CASE(5, x14, 0, csrw mie, zero; csrw mideleg, zero; csrr x14, sie)
  /* MEIP/MTIP/MSIP never show in sie/sip */
  TEST_CASE(6, x14, 0, li x11, MIP_MSIP | MIP_MTIP | MIP_MEIP; csrs mie, x11; csrr x14, sie; and x14, x14, x11; csrw mie, zero)

  /* ---- sip is mip seen through mideleg ---- */
  TEST_CASE(7, x14, 0, li x11, MIP_SSIP | MIP_STIP; csrs mip, x11; csrr x14, sip; and x14, x14, x11)
  TEST_CASE(8, x14, MIP_SSIP | MIP_STIP, li x11, MIP_SSIP | MIP_STIP; csrw mideleg, x11; csrr x14, sip; and x14, x14, x11)
  TEST_CASE(9, x14, MIP_STIP, li x11, MIP_SSIP | MIP_STIP; csrc sip, x11; csrr x14, mip; and x14, x14, x11)   /* SSIP writable, STIP not */
  TEST_CASE(10, x14, MIP_SSIP, li x11, MIP_STIP; csrc mip, x11; li x11, MIP_SSIP; csrs sip, x11; csrr x14, mip; li x11, MIP_SSIP | MIP_STIP; and x14, x14, x11)
  TEST_CASE(11, x14, 0, li x11, MIP_SSIP; csrc mip, x11; csrw mideleg, zero; csrr x14, sip)
  TEST_CASE(12, x14, 0, li x11, MIP_SSIP; csrs sip, x11; csrr x14, mip; and x14, x14, x11)  /* undelegated: write ignored */

  /* ---- S timer set by M, delegated, taken in S when SIE = 1 ---- */
test_13:
  li TESTNUM, 13
  LOG_RESET
  li x11, MIP_STIP
  csrw mideleg, x11
  csrw mie, x11
  csrs mip, x11
  GO_TO_MODE(PRV_S)
  nop
  CHECK_LOG_COUNT(0)            /* SIE = 0 in S: not taken */
  csrsi sstatus, MSTATUS_SIE
2:nop
  CHECK_LOG_COUNT(1)
  CHECK_LOG(0, CAUSE_INTERRUPT | 5, MODE_S)
  CHECK_LOG_EPC(0, 2b)
  csrci sstatus, MSTATUS_SIE
  BACK_TO_M_BY(ebreak)
  li x11, MIP_STIP
  csrc mip, x11
  CHECK_LOG_COUNT(1)

  /* ---- pending S interrupts are not taken in M, even with SIE = 1 and MIE = 1 ---- */
test_14:
  li TESTNUM, 14
  LOG_RESET
  li x11, MIP_SSIP
  csrw mideleg, x11
  csrw mie, x11
  csrs mip, x11
  csrsi mstatus, MSTATUS_SIE | MSTATUS_MIE
  nop
  nop
  CHECK_LOG_COUNT(0)
  csrci mstatus, MSTATUS_MIE
  /* ...and taken at once on entering S (SIE = 1 there) */
  li x11, MSTATUS_MPIE
  csrc mstatus, x11
  GO_TO_MODE(PRV_S)
  CHECK_LOG_COUNT(1)
  CHECK_LOG(0, CAUSE_INTERRUPT | 1, MODE_S)
  li x11, MIP_SSIP
  csrc sip, x11                 /* S clears its own software interrupt */
  csrci sstatus, MSTATUS_SIE
  BACK_TO_M_BY(ebreak)

  /* ---- SSI before STI when both are pending ---- */
test_15:
  li TESTNUM, 15
  LOG_RESET
  li x11, MIP_SSIP | MIP_STIP
  csrw mideleg, x11
  csrw mie, x11
  csrs mip, x11
  GO_TO_MODE(PRV_S)
  csrsi sstatus, MSTATUS_SIE
  nop
  nop
  csrci sstatus, MSTATUS_SIE
  CHECK_LOG_COUNT(2)
  CHECK_LOG(0, CAUSE_INTERRUPT | 1, MODE_S)
  CHECK_LOG(1, CAUSE_INTERRUPT | 5, MODE_S)
  li x11, MIP_SSIP
  csrc sip, x11
  BACK_TO_M_BY(ebreak)
  li x11, MIP_STIP
  csrc mip, x11

  /* ---- in U, delegated S interrupts are taken whatever SIE says ---- */
test_16:
  li TESTNUM, 16
  LOG_RESET
  li x11, MIP_STIP
  csrw mideleg, x11
  csrw mie, x11
  csrci mstatus, MSTATUS_SIE
  li x11, MIP_STIP
  csrs mip, x11                 /* pending now; S-level, so not taken in M */
  GO_TO_MODE(PRV_U)
  WAIT_LOG(1)
  CHECK_LOG(0, CAUSE_INTERRUPT | 5, MODE_S)
  BACK_TO_M_BY(ebreak)
  li x11, MIP_STIP
  csrc mip, x11
  TEST_CASE(17, x14, 0, csrr x14, mstatus; andi x14, x14, MSTATUS_SIE)   /* still 0 */

  /* ---- an undelegated STI goes to M, even from S with SIE = 1 ---- */
test_18:
  li TESTNUM, 18
  LOG_RESET
  csrw mideleg, zero
  li x11, MIP_STIP
  csrw mie, x11
  csrci mstatus, MSTATUS_MIE
  li x11, MSTATUS_MPIE
  csrc mstatus, x11
  GO_TO_MODE(PRV_S)
  csrsi sstatus, MSTATUS_SIE
  nop
  CHECK_LOG_COUNT(0)
  BACK_TO_M_BY(ebreak)
  li x11, MIP_STIP
  csrs mip, x11                 /* MIE = 0 in M: waits */
  nop
  CHECK_LOG_COUNT(0)
  GO_TO_MODE(PRV_S)             /* below M it is enabled */
  WAIT_LOG(1)
  CHECK_LOG(0, CAUSE_INTERRUPT | 5, MODE_M)
  BACK_TO_M_BY(ebreak)
  li x11, MIP_STIP
  csrc mip, x11

  /* ---- M software interrupt preempts S ---- */
test_19:
  li TESTNUM, 19
  LOG_RESET
  li x11, MIP_MSIP
  csrw mie, x11
  GO_TO_MODE(PRV_S)
  li x11, CLINT_MSIP
  li x12, 1
  sw x12, 0(x11)
  WAIT_LOG(1)
  CHECK_LOG(0, CAUSE_INTERRUPT | 3, MODE_M)
  BACK_TO_M_BY(ebreak)
  li x11, CLINT_MSIP
  sw zero, 0(x11)
  csrw mie, zero
  csrw mideleg, zero
  csrci mstatus, MSTATUS_SIE

RVTEST_CODE_END

  .text
/* Log one interrupt: t5 = mode letter; uses t4 (saved in the mode's scratch), t5, t6. */
#define LOG_IRQ(p, letter)                                              \
        csrw p##scratch, t4;                                            \
        la t5, irq_log;                                                 \
        lw t6, 0(t5);                                                   \
        li t4, 4;                                                       \
        bltu t6, t4, 1f;                                                \
        j fail;                                                         \
1:      addi t4, t6, 1;                                                 \
        sw t4, 0(t5);                                                   \
        li t4, 12;                                                      \
        mul t6, t6, t4;                                                 \
        add t6, t6, t5;                                                 \
        csrr t4, p##cause; sw t4, LOG_SLOT(0)(t6);                      \
        csrr t4, p##epc;   sw t4, LOG_SLOT(0) + 4(t6);                  \
        li t4, letter;     sw t4, LOG_SLOT(0) + 8(t6);                  \
        csrr t6, p##cause;                                              \
        andi t6, t6, 31;                                                \
        li t5, 1;                                                       \
        sll t5, t5, t6;                                                 \
        csrc p##ie, t5;                                                 \
        csrr t4, p##scratch

  .balign 4
m_irq_vector:
  csrr t6, mcause
  bltz t6, 0f
  j trap_vector              /* exceptions go to the harness */
0:LOG_IRQ(m, MODE_M)
  mret

  .balign 4
s_irq_vector:
  csrr t6, scause
  bltz t6, 0f
  j strap_vector
0:LOG_IRQ(s, MODE_S)
  sret

RVTEST_DATA_BEGIN
  .balign 8
irq_log: .skip 4 + 12 * 4
RVTEST_DATA_END
