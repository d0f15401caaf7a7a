#include "test.h"

/*
 * rv32mi-irq: machine interrupts from the CLINT.
 *  - mip.MTIP follows mtime >= mtimecmp, mip.MSIP follows msip; both read-only in mip;
 *  - a pending, enabled interrupt is taken right after the CSR write that enables it
 *    (mepc = the next instruction), not while mstatus.MIE = 0 in M-mode;
 *  - mcause has the interrupt bit (MSI = 0x80000003, MTI = 0x80000007);
 *  - MSI before MTI when both are pending;
 *  - mtvec direct (everything at BASE) and vectored (interrupt i at BASE + 4i, exceptions
 *    still at BASE);
 *  - M interrupts are always enabled while running in U, whatever mstatus.MIE;
 *  - wfi returns when an interrupt is pending in mip & mie even with mstatus.MIE = 0, and an
 *    interrupt taken at a wfi has mepc = the wfi + 4.
 *
 * irq_vector, the handler used here, records (mcause, mepc) in irq_record and silences the
 * source (msip = 0 or mtimecmp = -1); it also uses t4 and mscratch. Exceptions it passes on
 * to the harness handler.
 */

#define IR_COUNT 0
#define IR_VEC   4
#define IR_SLOT(i) (8 + 8 * (i))

/* mtimecmp = all ones (never): high word first so no intermediate value is reached */
#define TIMER_OFF                                                       \
        li x11, CLINT_MTIMECMP; li x12, -1;                             \
        sw x12, 0(x11); sw x12, 4(x11)

/* mtimecmp = mtime + delta (ticks) */
#define TIMER_IN(delta)                                                 \
        li x11, CLINT_MTIME; lw x12, 0(x11); lw x13, 4(x11);            \
        li x15, delta; add x15, x12, x15; sltu x12, x15, x12;           \
        add x13, x13, x12;                                              \
        li x11, CLINT_MTIMECMP; li x12, -1; sw x12, 0(x11);             \
        sw x13, 4(x11); sw x15, 0(x11)

#define MSIP_SET(v) li x11, CLINT_MSIP; li x12, v; sw x12, 0(x11)

#define IRQ_RESET la x11, irq_record; sw zero, IR_COUNT(x11); sw zero, IR_VEC(x11)

#define CHECK_IRQ(i, cause)                                             \
        la x11, irq_record; lw x14, IR_SLOT(i)(x11); CHECK_REG(x14, cause)
#define CHECK_IRQ_EPC(i, label)                                         \
        la x11, irq_record; lw x14, IR_SLOT(i) + 4(x11);                \
        la x12, label; beq x14, x12, 69f; j fail; 69:
#define CHECK_IRQ_COUNT(n)                                              \
        la x11, irq_record; lw x14, IR_COUNT(x11); CHECK_REG(x14, n)

/* spin until irq_record counts n interrupts (or fail after a bound) */
#define WAIT_IRQS(n)                                                    \
        li x13, 10000000;                                               \
68:     la x11, irq_record; lw x14, IR_COUNT(x11); li x12, n;           \
        beq x14, x12, 67f; addi x13, x13, -1; bnez x13, 68b; j fail; 67:

RVTEST_CODE_BEGIN

  TIMER_OFF
  MSIP_SET(0)
  la x11, irq_vector
  csrw mtvec, x11

  /* ---- mip follows the CLINT ---- */
  TEST_CASE(1, x14, 0, csrr x14, mip; andi x14, x14, MIP_MTIP | MIP_MSIP)
  TEST_CASE(2, x14, MIP_MTIP, li x11, CLINT_MTIMECMP; sw zero, 4(x11); sw zero, 0(x11); csrr x14, mip; andi x14, x14, MIP_MTIP | MIP_MSIP)
  TEST_CASE(3, x14, 0, TIMER_OFF; csrr x14, mip; andi x14, x14, MIP_MTIP)
  TEST_CASE(4, x14, MIP_MSIP, MSIP_SET(1); csrr x14, mip; andi x14, x14, MIP_MTIP | MIP_MSIP)
  TEST_CASE(5, x14, 0, MSIP_SET(0); csrr x14, mip; andi x14, x14, MIP_MSIP)
  /* MTIP and MSIP are read-only in mip: writes do not set them */
  TEST_CASE(6, x14, 0, li x11, MIP_MTIP | MIP_MSIP; csrs mip, x11; csrr x14, mip; andi x14, x14, MIP_MTIP | MIP_MSIP)
  /* mtime advances */
  TEST_CASE(7, x14, 1, li x11, CLINT_MTIME; lw x12, 0(x11); li x13, 1000; 1: addi x13, x13, -1; bnez x13, 1b; lw x15, 0(x11); sltu x14, x12, x15)

  /* ---- pending but MIE = 0: not taken; enabling MIE takes it before the next instruction ---- */
test_8:
  li TESTNUM, 8
  IRQ_RESET
  li x11, MIP_MSIP
  csrs mie, x11
  MSIP_SET(1)
  li x13, 100
1:addi x13, x13, -1
  bnez x13, 1b
  CHECK_IRQ_COUNT(0)
  csrsi mstatus, MSTATUS_MIE
2:nop
  CHECK_IRQ_COUNT(1)
  CHECK_IRQ(0, CAUSE_INTERRUPT | 3)
  CHECK_IRQ_EPC(0, 2b)
  csrci mstatus, MSTATUS_MIE
  csrw mie, zero

  /* ---- the same through mie: enabling MTIE with MIE = 1 and MTIP pending ---- */
test_9:
  li TESTNUM, 9
  IRQ_RESET
  csrsi mstatus, MSTATUS_MIE
  li x11, CLINT_MTIMECMP
  sw zero, 4(x11)
  sw zero, 0(x11)
  li x11, MIP_MTIP
  csrs mie, x11
2:nop
  CHECK_IRQ_COUNT(1)
  CHECK_IRQ(0, CAUSE_INTERRUPT | 7)
  CHECK_IRQ_EPC(0, 2b)
  csrci mstatus, MSTATUS_MIE
  csrw mie, zero

  /* ---- a timer interrupt in the future, waited for in a loop ---- */
test_10:
  li TESTNUM, 10
  IRQ_RESET
  li x11, MIP_MTIP
  csrs mie, x11
  csrsi mstatus, MSTATUS_MIE
  TIMER_IN(2000)
  WAIT_IRQS(1)
  CHECK_IRQ(0, CAUSE_INTERRUPT | 7)
  csrci mstatus, MSTATUS_MIE
  csrw mie, zero
  /* the handler returned with mret: MIE was restored from MPIE */
  TEST_CASE(11, x14, 0, csrr x14, mip; andi x14, x14, MIP_MTIP)

  /* ---- priority: MSI is taken before MTI when both are pending ---- */
test_12:
  li TESTNUM, 12
  IRQ_RESET
  MSIP_SET(1)
  li x11, CLINT_MTIMECMP
  sw zero, 4(x11)
  sw zero, 0(x11)
  li x11, MIP_MTIP | MIP_MSIP
  csrs mie, x11
  csrsi mstatus, MSTATUS_MIE
  nop
  nop
  csrci mstatus, MSTATUS_MIE
  csrw mie, zero
  CHECK_IRQ_COUNT(2)
  CHECK_IRQ(0, CAUSE_INTERRUPT | 3)
  CHECK_IRQ(1, CAUSE_INTERRUPT | 7)

  /* ---- vectored mtvec: MSI at BASE + 12, MTI at BASE + 28, exceptions at BASE ---- */
test_13:
  li TESTNUM, 13
  IRQ_RESET
  la x11, irq_table
  ori x11, x11, 1
  csrw mtvec, x11
  csrr x14, mtvec
  sub x14, x14, x11
  CHECK_REG(x14, 0)          /* MODE = 1 (vectored) is supported and reads back */
  MSIP_SET(1)
  li x11, MIP_MSIP
  csrs mie, x11
  csrsi mstatus, MSTATUS_MIE
  nop
  csrci mstatus, MSTATUS_MIE
  CHECK_IRQ_COUNT(1)
  CHECK_IRQ(0, CAUSE_INTERRUPT | 3)
  la x11, irq_record
  lw x14, IR_VEC(x11)
  CHECK_REG(x14, 3)
test_14:
  li TESTNUM, 14
  IRQ_RESET
  li x11, CLINT_MTIMECMP
  sw zero, 4(x11)
  sw zero, 0(x11)
  li x11, MIP_MTIP
  csrw mie, x11
  csrsi mstatus, MSTATUS_MIE
  nop
  csrci mstatus, MSTATUS_MIE
  csrw mie, zero
  CHECK_IRQ_COUNT(1)
  CHECK_IRQ(0, CAUSE_INTERRUPT | 7)
  la x11, irq_record
  lw x14, IR_VEC(x11)
  CHECK_REG(x14, 7)
  /* an exception in vectored mode goes to BASE (entry 0) */
test_15:
  li TESTNUM, 15
  IRQ_RESET
  ARM_TRAP_NEXT(trap_record)
  ecall
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_ECALL_M)
  la x11, irq_record
  lw x14, IR_VEC(x11)
  CHECK_REG(x14, 0x100)
  la x11, irq_vector
  csrw mtvec, x11

  /* ---- in U-mode, M interrupts are enabled whatever mstatus.MIE says ---- */
test_16:
  li TESTNUM, 16
  IRQ_RESET
  csrci mstatus, MSTATUS_MIE
  li x11, MSTATUS_MPIE       /* so that mret leaves MIE = 0 */
  csrc mstatus, x11
  li x11, MIP_MSIP
  csrw mie, x11
  GO_TO_MODE(PRV_U)
  MSIP_SET(1)                /* the CLINT is reachable: PMP allows everything */
  WAIT_IRQS(1)               /* taken within bounded time, here in U */
  BACK_TO_M
  csrw mie, zero
  CHECK_IRQ_COUNT(1)
  CHECK_IRQ(0, CAUSE_INTERRUPT | 3)
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_ECALL_U)   /* still in U after the interrupt */
  TEST_CASE(19, x14, 0, csrr x14, mstatus; andi x14, x14, MSTATUS_MIE)  /* MIE stayed 0 */

  /* ---- wfi with MIE = 0 wakes on a pending, enabled (mie) interrupt, without trapping ---- */
test_17:
  li TESTNUM, 17
  IRQ_RESET
  csrci mstatus, MSTATUS_MIE
  li x11, MIP_MTIP
  csrw mie, x11
  TIMER_IN(3000)
  li x13, 1000
1:wfi
  csrr x14, mip
  andi x14, x14, MIP_MTIP
  bnez x14, 2f
  addi x13, x13, -1          /* wfi may also return early: wait again */
  bnez x13, 1b
  j fail
2:CHECK_IRQ_COUNT(0)
  TIMER_OFF
  csrw mie, zero

  /* ---- an interrupt that wakes a wfi is taken with mepc = the wfi + 4 ---- */
test_18:
  li TESTNUM, 18
  IRQ_RESET
  li x11, MIP_MTIP
  csrw mie, x11
  TIMER_IN(3000)
  csrsi mstatus, MSTATUS_MIE
  .option push
  .option norvc
1:wfi
2:la x11, irq_record
  lw x14, IR_COUNT(x11)
  beqz x14, 1b               /* woken early without the interrupt: wait again */
  .option pop
  csrci mstatus, MSTATUS_MIE
  csrw mie, zero
  CHECK_IRQ_COUNT(1)
  CHECK_IRQ(0, CAUSE_INTERRUPT | 7)
  CHECK_IRQ_EPC(0, 2b)

RVTEST_CODE_END

  .text
/* The interrupt handler of this test (see the header comment). */
  .balign 4
irq_vector:
  csrr t6, mcause
  bltz t6, 0f
  j trap_vector              /* exceptions (e.g. BACK_TO_M's ecall) go to the harness */
0:csrw mscratch, t4
  la t5, irq_record
  lw t6, IR_COUNT(t5)
  li t4, 4
  bltu t6, t4, 1f
  j fail                     /* an interrupt storm: the source was not silenced */
1:addi t4, t6, 1
  sw t4, IR_COUNT(t5)
  slli t6, t6, 3
  add t6, t6, t5
  csrr t4, mcause
  sw t4, IR_SLOT(0)(t6)
  csrr t4, mepc
  sw t4, IR_SLOT(0) + 4(t6)
  csrr t4, mcause
  li t6, CAUSE_INTERRUPT | 3
  bne t4, t6, 2f
  li t6, CLINT_MSIP
  sw zero, 0(t6)
  j 4f
2:li t6, CAUSE_INTERRUPT | 7
  bne t4, t6, 3f
  li t6, CLINT_MTIMECMP
  li t4, -1
  sw t4, 0(t6)
  sw t4, 4(t6)
  j 4f
3:j fail                     /* not an interrupt this test expects */
4:csrr t4, mscratch
  mret

/* Vectored table: each entry a 4-byte jump; the entry used is noted in irq_record.IR_VEC
 * (0x100 for exceptions, which then go to the harness handler). */
  .balign 256
irq_table:
  .option push
  .option norvc
  j vec_exc
  j fail
  j fail
  j vec_msi
  j fail
  j fail
  j fail
  j vec_mti
  j fail
  j fail
  j fail
  j fail
  .option pop
vec_exc:
  la t5, irq_record
  li t6, 0x100
  sw t6, IR_VEC(t5)
  j trap_vector
vec_msi:
  la t5, irq_record
  li t6, 3
  sw t6, IR_VEC(t5)
  j irq_vector
vec_mti:
  la t5, irq_record
  li t6, 7
  sw t6, IR_VEC(t5)
  j irq_vector

RVTEST_DATA_BEGIN
  .balign 8
irq_record: .skip 8 + 8 * 4
RVTEST_DATA_END
