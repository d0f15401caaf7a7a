#include "test.h"

/*
 * rv32si: supervisor mode without paging.
 *  - mret enters S and U (MPP), ecall from U is cause 8 and from S cause 9;
 *  - medeleg sends ecall-from-U, ecall-from-S and illegal instruction to S: scause, sepc,
 *    stval (= the instruction bits for illegal), stvec, sstatus.SPP; traps are never
 *    delegated to a lower mode than the one they come from (an illegal in M stays in M);
 *  - sret: privilege <- SPP, SIE <- SPIE, SPIE <- 1, SPP <- U;
 *  - sstatus is a view of mstatus: S fields shared, M fields invisible and unwritable;
 *  - CSRs of a higher privilege are illegal from S and U; sret/mret illegal in U, mret in S;
 *  - mstatus.TSR (sret in S), TVM (satp and sfence.vma in S), TW (wfi in S) make those
 *    illegal; wfi in U is illegal; wfi in S with TW = 0 completes.
 */

#define STATUS_BITS (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP)

RVTEST_CODE_BEGIN

  /* ---- entering S and U with mret; ecall causes ---- */
test_1:
  li TESTNUM, 1
  GO_TO_MODE(PRV_S)
  BACK_TO_M
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_ECALL_S)
  la x11, trap_record; lw x14, TR_STATUS(x11); li x11, MSTATUS_MPP; and x14, x14, x11
  CHECK_REG(x14, MSTATUS_MPP_S)
test_2:
  li TESTNUM, 2
  GO_TO_MODE(PRV_U)
  BACK_TO_M
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_ECALL_U)
  la x11, trap_record; lw x14, TR_STATUS(x11); li x11, MSTATUS_MPP; and x14, x14, x11
  CHECK_REG(x14, 0)

  /* ---- delegation of ecall from U to S ---- */
test_3:
  li TESTNUM, 3
  li x11, 1 << CAUSE_ECALL_U
  csrw medeleg, x11
  la x11, trap_record; lw x20, TR_COUNT(x11)      /* M traps so far */
  GO_TO_MODE(PRV_S)
  S_GO_TO_U
  ARM_TRAP_AT(strap_record, 2f)
1:ecall
  j fail
2:CHECK_TRAP(strap_record, TR_CAUSE, CAUSE_ECALL_U)
  CHECK_TRAP_LABEL(strap_record, TR_EPC, 1b)
  CHECK_TRAP(strap_record, TR_TVAL, 0)
  la x11, strap_record; lw x14, TR_STATUS(x11); andi x14, x14, MSTATUS_SPP
  CHECK_REG(x14, 0)                                /* came from U */
  la x11, trap_record; lw x14, TR_COUNT(x11)
  bne x14, x20, fail                               /* M saw nothing */
  BACK_TO_M_BY(ebreak)
  csrw medeleg, zero
  /* stvec is where it went: the harness's S handler */
  TEST_CASE(4, x14, 0, csrr x14, stvec; la x11, strap_vector; sub x14, x14, x11)

  /* ---- delegation of illegal instruction from U to S, stval = the bits ---- */
test_5:
  li TESTNUM, 5
  li x11, 1 << CAUSE_ILLEGAL
  csrw medeleg, x11
  GO_TO_MODE(PRV_U)
  ARM_TRAP_AT(strap_record, 2f)
  .balign 4
1:.word 0x0000000b
  j fail
2:CHECK_TRAP(strap_record, TR_CAUSE, CAUSE_ILLEGAL)
  CHECK_TRAP_LABEL(strap_record, TR_EPC, 1b)
  CHECK_TRAP(strap_record, TR_TVAL, 0x0000000b)
  BACK_TO_M

  /* an illegal instruction in M is not delegated: it goes to M */
  TEST_TRAP_INSN(6, CAUSE_ILLEGAL, 0x0000000b, .word 0x0000000b)
  csrw medeleg, zero

  /* ---- delegation of ecall from S to S ---- */
test_7:
  li TESTNUM, 7
  li x11, 1 << CAUSE_ECALL_S
  csrw medeleg, x11
  GO_TO_MODE(PRV_S)
  ARM_TRAP_AT(strap_record, 2f)
1:ecall
  j fail
2:CHECK_TRAP(strap_record, TR_CAUSE, CAUSE_ECALL_S)
  CHECK_TRAP_LABEL(strap_record, TR_EPC, 1b)
  la x11, strap_record; lw x14, TR_STATUS(x11); andi x14, x14, MSTATUS_SPP
  CHECK_REG(x14, MSTATUS_SPP)                      /* came from S */
  csrr x14, sstatus                                /* and sret returned to S: sstatus is legal */
  BACK_TO_M_BY(ebreak)
  csrw medeleg, zero

  /* ---- trap into S stacks SIE: SPIE <- SIE, SIE <- 0 ---- */
test_8:
  li TESTNUM, 8
  li x11, 1 << CAUSE_ECALL_S
  csrw medeleg, x11
  GO_TO_MODE(PRV_S)
  csrsi sstatus, MSTATUS_SIE
  ARM_TRAP_NEXT(strap_record)
  ecall
  la x11, strap_record; lw x14, TR_STATUS(x11); andi x14, x14, STATUS_BITS
  CHECK_REG(x14, MSTATUS_SPIE | MSTATUS_SPP)
  csrr x14, sstatus; andi x14, x14, MSTATUS_SIE    /* sret restored SIE */
  CHECK_REG(x14, MSTATUS_SIE)
  csrci sstatus, MSTATUS_SIE
  BACK_TO_M_BY(ebreak)
  csrw medeleg, zero

  /* ---- sret: to S with SPIE = 0 -> SIE = 0, SPIE = 1, SPP = U ---- */
test_9:
  li TESTNUM, 9
  GO_TO_MODE(PRV_S)
  li x11, MSTATUS_SPP
  csrs sstatus, x11
  li x11, MSTATUS_SPIE
  csrc sstatus, x11
  csrsi sstatus, MSTATUS_SIE
  la x11, 1f
  csrw sepc, x11
  sret
  j fail
1:csrr x14, sstatus          /* still in S: sstatus readable */
  andi x14, x14, STATUS_BITS
  CHECK_REG(x14, MSTATUS_SPIE)
  /* sret to U with SPIE = 1: SIE = 1 (seen by M on the next trap) */
  li x11, MSTATUS_SPIE
  csrs sstatus, x11
  S_GO_TO_U
  BACK_TO_M
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_ECALL_U)
  la x11, trap_record; lw x14, TR_STATUS(x11); andi x14, x14, STATUS_BITS
  CHECK_REG(x14, MSTATUS_SIE | MSTATUS_SPIE)
  csrci mstatus, MSTATUS_SIE

  /* ---- sstatus is a view of mstatus ---- */
  TEST_CASE(10, x14, MSTATUS_SIE, csrsi mstatus, MSTATUS_SIE; csrr x14, sstatus; andi x14, x14, MSTATUS_SIE)
  TEST_CASE(11, x14, 0, csrci sstatus, MSTATUS_SIE; csrr x14, mstatus; andi x14, x14, MSTATUS_SIE)
  TEST_CASE(12, x14, 0, csrsi mstatus, MSTATUS_MIE; csrr x14, sstatus; csrci mstatus, MSTATUS_MIE; li x11, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP; and x14, x14, x11)
  TEST_CASE(13, x14, 0, li x11, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR; csrc mstatus, x11; csrs sstatus, x11; csrr x14, mstatus; and x14, x14, x11)
  TEST_CASE(14, x14, MSTATUS_SUM | MSTATUS_MXR | MSTATUS_SPP | MSTATUS_SPIE, li x11, MSTATUS_SUM | MSTATUS_MXR | MSTATUS_SPP | MSTATUS_SPIE; csrs sstatus, x11; csrr x14, mstatus; and x14, x14, x11; csrc mstatus, x11)

  /* ---- CSRs of a higher privilege level are illegal ---- */
test_15:
  li TESTNUM, 15
  GO_TO_MODE(PRV_U)
  TEST_TRAP(16, CAUSE_ILLEGAL, csrr x14, sstatus)
  TEST_TRAP(17, CAUSE_ILLEGAL, csrr x14, mstatus)
  TEST_TRAP(18, CAUSE_ILLEGAL, csrr x14, satp)
  TEST_TRAP(19, CAUSE_ILLEGAL, csrw sscratch, x0)
  TEST_TRAP(20, CAUSE_ILLEGAL, sret)
  TEST_TRAP(21, CAUSE_ILLEGAL, mret)
  TEST_TRAP(22, CAUSE_ILLEGAL, wfi)                  /* wfi in U (S-mode present) */
  BACK_TO_M
test_23:
  li TESTNUM, 23
  GO_TO_MODE(PRV_S)
  TEST_TRAP(24, CAUSE_ILLEGAL, csrr x14, mstatus)
  TEST_TRAP(25, CAUSE_ILLEGAL, csrw mie, x0)
  TEST_TRAP(26, CAUSE_ILLEGAL, csrr x14, mscratch)
  TEST_TRAP(27, CAUSE_ILLEGAL, csrr x14, medeleg)
  TEST_TRAP(28, CAUSE_ILLEGAL, mret)
  TEST_CASE(29, x14, 0x5a, li x11, 0x5a; csrw sscratch, x11; csrr x14, sscratch)   /* S's own CSRs are fine */
  TEST_CASE(30, x14, 0, csrr x14, satp)                                            /* TVM = 0 */
  BACK_TO_M

  /* ---- TSR: sret in S illegal ---- */
test_31:
  li TESTNUM, 31
  li x11, MSTATUS_TSR
  csrs mstatus, x11
  GO_TO_MODE(PRV_S)
  li x11, MSTATUS_SPP
  csrs sstatus, x11
  la x11, 1f
  csrw sepc, x11
  TEST_TRAP(32, CAUSE_ILLEGAL, sret)
  BACK_TO_M
  li x11, MSTATUS_TSR
  csrc mstatus, x11
  /* TSR = 0: the same sret works */
test_33:
  li TESTNUM, 33
  GO_TO_MODE(PRV_S)
  li x11, MSTATUS_SPP
  csrs sstatus, x11
  la x11, 1f
  csrw sepc, x11
  sret
  j fail
1:BACK_TO_M
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_ECALL_S)

  /* ---- TVM: satp and sfence.vma in S illegal ---- */
test_34:
  li TESTNUM, 34
  li x11, MSTATUS_TVM
  csrs mstatus, x11
  GO_TO_MODE(PRV_S)
  TEST_TRAP(35, CAUSE_ILLEGAL, csrr x14, satp)
  TEST_TRAP(36, CAUSE_ILLEGAL, csrw satp, x0)
  TEST_TRAP(37, CAUSE_ILLEGAL, sfence.vma)
  BACK_TO_M
  li x11, MSTATUS_TVM
  csrc mstatus, x11
  TEST_CASE(38, x14, 0, csrr x14, satp)   /* M is not affected by TVM */

  /* ---- TW: wfi in S illegal; with TW = 0 it completes once an interrupt is pending ---- */
test_39:
  li TESTNUM, 39
  li x11, MSTATUS_TW
  csrs mstatus, x11
  GO_TO_MODE(PRV_S)
  TEST_TRAP(40, CAUSE_ILLEGAL, wfi)
  BACK_TO_M
  li x11, MSTATUS_TW
  csrc mstatus, x11
test_41:
  li TESTNUM, 41
  li x11, MIP_SSIP
  csrw mideleg, x11
  csrw mie, x11
  csrs mip, x11              /* pending and enabled, but S runs with SIE = 0: not taken */
  GO_TO_MODE(PRV_S)
  wfi
  BACK_TO_M
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_ECALL_S)
  li x11, MIP_SSIP
  csrc mip, x11
  csrw mie, zero
  csrw mideleg, zero

RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END
