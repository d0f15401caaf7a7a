#include "test.h"
#include "h.h"

/*
 * rv32hi: the H extension's CSRs, V mode, virtual-instruction exceptions and trap routing.
 * Runs with the extension (rvisor: MachineOptions.hExtension; QEMU: -cpu rv32,h=true); hgatp and
 * vsatp stay Bare here, so code and data are at the same addresses in every mode (two-stage
 * translation is rv32hi-vm's subject).
 *
 * Checked: misa.H; mideleg's VS bits read-only one; hideleg/hedeleg WARL (only VS interrupts,
 * no ecalls from HS/VS/M, guest-page faults or virtual instruction); hvip.VSSIP visible in mip;
 * the S CSRs naming the vs* ones while V = 1 and HS's left untouched; in VS: virtual-instruction
 * exceptions (22) for hypervisor CSRs (mtval = the instruction), hypervisor instructions, wfi
 * with VTW, sret with VTSR, sfence.vma with VTVM; illegal (2) for M CSRs and mret;
 * ecall cause 10; sret within the guest; in VU: 22 for wfi, hypervisor loads, ecall
 * cause 8; routing: medeleg to HS (hstatus.SPVP), medeleg + hedeleg to VS (vscause, scause
 * untouched), 22 to HS; VS software interrupts through hvip: to VS as SSI with hideleg and
 * vsstatus.SIE, to HS as VSSI without hideleg whatever vsstatus.SIE says.
 */

#define LOG_SLOT(i) (4 + 12 * (i))
#define LOG_RESET la x11, irq_log; sw zero, 0(x11)
#define CHECK_LOG_COUNT(n) la x11, irq_log; lw x14, 0(x11); CHECK_REG(x14, n)
#define CHECK_LOG(i, cause, mode)                                       \
        la x11, irq_log; lw x14, LOG_SLOT(i)(x11); CHECK_REG(x14, cause); \
        lw x14, LOG_SLOT(i) + 8(x11); CHECK_REG(x14, mode)

RVTEST_CODE_BEGIN
  H_INIT

  /* ---- CSRs (M-mode) ---- */
  TEST_CASE(1, x14, 0x80, csrr x14, misa; andi x14, x14, 0x80)
  TEST_CASE(2, x14, 0x444, csrw mideleg, zero; csrr x14, mideleg; andi x14, x14, 0x444)
  TEST_CASE(3, x14, 0x444, li x11, -1; csrw CSR_HIDELEG, x11; csrr x14, CSR_HIDELEG; csrw CSR_HIDELEG, zero)
  TEST_CASE(4, x14, 0x100, li x11, -1; csrw CSR_HEDELEG, x11; csrr x14, CSR_HEDELEG; li x11, 0xf00f00; and x14, x14, x11; csrw CSR_HEDELEG, zero)
  TEST_CASE(5, x14, MIP_VSSIP, li x11, MIP_VSSIP; csrw CSR_HVIP, x11; csrr x14, mip; andi x14, x14, 0x444; csrw CSR_HVIP, zero)
  TEST_CASE(6, x14, 0, csrr x14, CSR_HGEIP)

  /* ---- vs* CSRs while V = 1 ---- */
  li x11, 0x1111; csrw CSR_VSSCRATCH, x11
  li x11, 0x2222; csrw sscratch, x11
  GO_TO_V(PRV_S)
  TEST_CASE(7, x14, 0x1111, csrr x14, sscratch)
  TEST_CASE(8, x14, 0x3333, li x11, 0x3333; csrw sscratch, x11; csrr x14, sscratch)
  BACK_TO_M
  TEST_CASE(9, x14, 0x3333, csrr x14, CSR_VSSCRATCH)
  TEST_CASE(10, x14, 0x2222, csrr x14, sscratch)

  /* ---- VS-mode: what traps, and how ---- */
  li x11, HSTATUS_VTW | HSTATUS_VTSR | HSTATUS_VTVM
  csrw CSR_HSTATUS, x11
  GO_TO_V(PRV_S)
#define CSRR_A4_HSTATUS csrr x14, CSR_HSTATUS
  TEST_TRAP_INSN(11, CAUSE_VIRTUAL_INSN, 0x60002773, CSRR_A4_HSTATUS)
  TEST_TRAP(12, CAUSE_ILLEGAL, csrr x14, mstatus)
  TEST_TRAP(13, CAUSE_VIRTUAL_INSN, wfi)
  TEST_TRAP(14, CAUSE_VIRTUAL_INSN, sret)
  TEST_TRAP(15, CAUSE_VIRTUAL_INSN, sfence.vma)
  /* 16: satp with VTVM (22 by the spec) is not tested: QEMU 7.2 lets VS read it */
  TEST_TRAP(17, CAUSE_VIRTUAL_INSN, HFENCE_VVMA)
  TEST_TRAP(18, CAUSE_VIRTUAL_INSN, la x11, scratch; HLV_W(x14, x11))
  TEST_TRAP(19, CAUSE_ECALL_VS, ecall)
  TEST_TRAP(20, CAUSE_ILLEGAL, mret)
  TEST_TRAP(21, CAUSE_VIRTUAL_INSN, csrr x14, CSR_VSSTATUS)
  BACK_TO_M
  csrw CSR_HSTATUS, zero
  GO_TO_V(PRV_S)
  /* without VTSR/VTVM: satp is vsatp, sret returns within the guest (to VS: sscratch still works) */
  TEST_CASE(22, x14, 0, csrr x14, satp)
  TEST_CASE(23, x14, 0x5555, li t5, MSTATUS_SPP; csrs sstatus, t5; la t5, 1f; csrw sepc, t5; sret; j fail; 1: li x11, 0x5555; csrw sscratch, x11; csrr x14, sscratch)
  BACK_TO_M

  /* ---- VU-mode ---- */
  GO_TO_V(PRV_U)
  /* 24: an S CSR from VU (22 by the spec) is not tested: QEMU 7.2 raises 2 */
  TEST_TRAP(25, CAUSE_VIRTUAL_INSN, la x11, scratch; HLV_W(x14, x11))
  TEST_TRAP(26, CAUSE_VIRTUAL_INSN, wfi)
  TEST_TRAP(27, CAUSE_ECALL_U, ecall)
  TEST_TRAP(28, CAUSE_ILLEGAL, csrr x14, mstatus)
  BACK_TO_M

  /* ---- routing: medeleg sends a VS ecall to HS ---- */
  li x11, 1 << CAUSE_ECALL_VS; csrw medeleg, x11
  GO_TO_V(PRV_S)
test_29:
  li TESTNUM, 29
  ARM_TRAP_AT(strap_record, 1f)
  ecall
  j fail
1:CHECK_TRAP(strap_record, TR_CAUSE, CAUSE_ECALL_VS)
  CHECK_TRAP(strap_record, TR_STATUS, MSTATUS_SPP)   /* sstatus in HS: SPP = S (from VS), SIE/SPIE 0 */
  BACK_TO_M_BY(ebreak)
  TEST_CASE(30, x14, HSTATUS_SPVP, csrr x14, CSR_HSTATUS; li x11, HSTATUS_SPVP; and x14, x14, x11)
  csrw medeleg, zero

  /* ---- medeleg + hedeleg send a VU ecall to VS ---- */
  li x11, 1 << CAUSE_ECALL_U; csrw medeleg, x11; csrw CSR_HEDELEG, x11
  la x11, strap_vector; csrw CSR_VSTVEC, x11
  GO_TO_V(PRV_U)
test_31:
  li TESTNUM, 31
  ARM_TRAP_AT(strap_record, 1f)
  ecall
  j fail
1:CHECK_TRAP(strap_record, TR_CAUSE, CAUSE_ECALL_U)
  BACK_TO_M_BY(ebreak)
  TEST_CASE(32, x14, CAUSE_ECALL_U, csrr x14, CSR_VSCAUSE)
  TEST_CASE(33, x14, CAUSE_ECALL_VS, csrr x14, scause)   /* HS's scause: still case 29's */
  csrw medeleg, zero; csrw CSR_HEDELEG, zero

  /* ---- a virtual-instruction exception delegated to HS ---- */
  li x11, 1 << CAUSE_VIRTUAL_INSN; csrw medeleg, x11
  GO_TO_V(PRV_S)
test_34:
  li TESTNUM, 34
  ARM_TRAP_AT(strap_record, 1f)
  csrr x14, CSR_HGATP
  j fail
1:CHECK_TRAP(strap_record, TR_CAUSE, CAUSE_VIRTUAL_INSN)
  BACK_TO_M_BY(ebreak)
  csrw medeleg, zero

  /* ---- VS software interrupt: to VS with hideleg (as SSI), once vsstatus.SIE is set ---- */
test_35:
  li TESTNUM, 35
  LOG_RESET
  la x11, vs_irq_vector; csrw CSR_VSTVEC, x11
  li x11, MIP_VSSIP
  csrw CSR_HIDELEG, x11
  csrw CSR_HIE, x11
  csrw CSR_HVIP, x11
  GO_TO_V(PRV_S)
  nop
  CHECK_LOG_COUNT(0)
  csrsi sstatus, MSTATUS_SIE
  nop
  csrci sstatus, MSTATUS_SIE
  CHECK_LOG_COUNT(1)
  CHECK_LOG(0, CAUSE_INTERRUPT | 1, 'V')
  BACK_TO_M_BY(ebreak)
  csrw CSR_HVIP, zero

  /* ---- ...and to HS as VSSI (cause 2) without hideleg, even with vsstatus.SIE = 0 ---- */
test_36:
  li TESTNUM, 36
  la x11, hs_irq_vector; csrw stvec, x11
  csrw CSR_HIDELEG, zero
  li x11, MIP_VSSIP
  csrw CSR_HIE, x11
  csrw CSR_HVIP, x11
  GO_TO_V(PRV_S)
  nop
  CHECK_LOG_COUNT(2)
  CHECK_LOG(1, CAUSE_INTERRUPT | 2, 'H')
  BACK_TO_M_BY(ebreak)
  csrw CSR_HVIP, zero
  csrw CSR_HIE, zero
  la x11, strap_vector; csrw stvec, x11

RVTEST_CODE_END

/* Interrupt vectors: log cause and mode, disable the interrupt in hie (HS) or sie (VS: vsie). */
#define LOG_IRQ(letter)                                                 \
        csrw sscratch, t4;                                              \
        la t5, irq_log;                                                 \
        lw t6, 0(t5);                                                   \
        addi t4, t6, 1;                                                 \
        sw t4, 0(t5);                                                   \
        li t4, 12;                                                      \
        mul t6, t6, t4;                                                 \
        add t6, t6, t5;                                                 \
        csrr t4, scause; sw t4, LOG_SLOT(0)(t6);                        \
        csrr t4, sepc;   sw t4, LOG_SLOT(0) + 4(t6);                    \
        li t4, letter;   sw t4, LOG_SLOT(0) + 8(t6);                    \
        csrr t6, scause;                                                \
        andi t6, t6, 31;                                                \
        li t5, 1;                                                       \
        sll t5, t5, t6;                                                 \
        csrr t4, sscratch

H_TRAP_VECTOR

  .balign 4
vs_irq_vector:
  csrr t6, scause
  bltz t6, 0f
  j strap_vector
0:LOG_IRQ('V')
  csrc sie, t5
  sret

  .balign 4
hs_irq_vector:
  csrr t6, scause
  bltz t6, 0f
  j strap_vector
0:LOG_IRQ('H')
  csrc CSR_HIE, t5
  sret

RVTEST_DATA_BEGIN
  .balign 8
irq_log: .skip 4 + 12 * 4
scratch: .word 0
RVTEST_DATA_END
