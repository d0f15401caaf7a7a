/*
 * h.h — H-extension (hypervisor) definitions for the guest/isa programs rv32hi*.S, which run on
 * rvisor with MachineOptions.hExtension and on QEMU with -cpu rv32,h=true.
 *
 * The toolchain builds for rv32imac, so the hypervisor CSRs are named by number and the hypervisor
 * instructions are emitted with .insn (SYSTEM opcode: HLV/HSV funct3 4, HFENCE funct3 0).
 */
#ifndef RVISOR_ISA_H_H
#define RVISOR_ISA_H_H

#define CSR_HSTATUS    0x600
#define CSR_HEDELEG    0x602
#define CSR_HIDELEG    0x603
#define CSR_HIE        0x604
#define CSR_HCOUNTEREN 0x606
#define CSR_HGEIE      0x607
#define CSR_HTVAL      0x643
#define CSR_HIP        0x644
#define CSR_HVIP       0x645
#define CSR_HTINST     0x64a
#define CSR_HGATP      0x680
#define CSR_HGEIP      0xe12
#define CSR_VSSTATUS   0x200
#define CSR_VSIE       0x204
#define CSR_VSTVEC     0x205
#define CSR_VSSCRATCH  0x240
#define CSR_VSEPC      0x241
#define CSR_VSCAUSE    0x242
#define CSR_VSTVAL     0x243
#define CSR_VSIP       0x244
#define CSR_VSATP      0x280
#define CSR_MSTATUSH   0x310
#define CSR_MTINST     0x34a
#define CSR_MTVAL2     0x34b

#define HSTATUS_GVA  0x00000040
#define HSTATUS_SPV  0x00000080
#define HSTATUS_SPVP 0x00000100
#define HSTATUS_HU   0x00000200
#define HSTATUS_VTVM 0x00100000
#define HSTATUS_VTW  0x00200000
#define HSTATUS_VTSR 0x00400000
#define MSTATUSH_GVA 0x00000040
#define MSTATUSH_MPV 0x00000080
#define HGATP_SV32X4 0x80000000

#define MIP_VSSIP 0x004
#define MIP_VSTIP 0x040
#define MIP_VSEIP 0x400

#define CAUSE_ECALL_VS               10
#define CAUSE_FETCH_GUEST_PAGE_FAULT 20
#define CAUSE_LOAD_GUEST_PAGE_FAULT  21
#define CAUSE_VIRTUAL_INSN           22
#define CAUSE_STORE_GUEST_PAGE_FAULT 23

/* hypervisor loads and stores: rd/rs2 and rs1 are register names */
#define HLV_B(rd, rs1)    .insn r 0x73, 4, 0x30, rd, rs1, x0
#define HLV_BU(rd, rs1)   .insn r 0x73, 4, 0x30, rd, rs1, x1
#define HLV_H(rd, rs1)    .insn r 0x73, 4, 0x32, rd, rs1, x0
#define HLV_HU(rd, rs1)   .insn r 0x73, 4, 0x32, rd, rs1, x1
#define HLVX_HU(rd, rs1)  .insn r 0x73, 4, 0x32, rd, rs1, x3
#define HLV_W(rd, rs1)    .insn r 0x73, 4, 0x34, rd, rs1, x0
#define HLVX_WU(rd, rs1)  .insn r 0x73, 4, 0x34, rd, rs1, x3
#define HSV_B(rs2, rs1)   .insn r 0x73, 4, 0x31, x0, rs1, rs2
#define HSV_H(rs2, rs1)   .insn r 0x73, 4, 0x33, x0, rs1, rs2
#define HSV_W(rs2, rs1)   .insn r 0x73, 4, 0x35, x0, rs1, rs2
#define HFENCE_VVMA       .insn r 0x73, 0, 0x11, x0, x0, x0
#define HFENCE_GVMA       .insn r 0x73, 0, 0x31, x0, x0, x0

/* From M: continue at the next instruction with V = 1 in `mode` (PRV_S: VS, PRV_U: VU). */
#define GO_TO_V(mode)                                                   \
        li t5, MSTATUSH_MPV; csrs CSR_MSTATUSH, t5;                     \
        GO_TO_MODE(mode)
/* From M: continue at the next instruction with V = 0 in `mode` (PRV_S: HS, PRV_U: U). */
#define GO_TO_NONV(mode)                                                \
        li t5, MSTATUSH_MPV; csrc CSR_MSTATUSH, t5;                     \
        GO_TO_MODE(mode)

/*
 * The M trap vector of the rv32hi programs: the harness's trap_vector, except that a return to M
 * (TR_TO_M) first clears mstatush.MPV. By the spec MRET to M-mode ignores MPV; QEMU 7.2 does not,
 * and would come back to M with V = 1. Install with H_INIT at the start of the test body.
 */
#define H_TRAP_VECTOR                                                   \
        .balign 4;                                                      \
h_trap_vector:                                                          \
        la t5, trap_record;                                             \
        lw t5, TR_TO_M(t5);                                             \
        beqz t5, 1f;                                                    \
        li t5, MSTATUSH_MPV; csrc CSR_MSTATUSH, t5;                     \
1:      j trap_vector
#define H_INIT la t0, h_trap_vector; csrw mtvec, t0

#endif
