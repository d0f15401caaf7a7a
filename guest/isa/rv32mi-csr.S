#include "test.h"

/*
 * rv32mi-csr: Zicsr in M-mode and the M-mode trap rules.
 *  - csrrw/csrrs/csrrc and their immediate forms: the old value in rd, the new one written;
 *    rd = x0 (write only) and rs1 = x0 / uimm = 0 for csrrs/csrrc (read only, no write);
 *  - writes to read-only CSRs are illegal even when the written value is 0, while reads
 *    through csrrs/csrrc with rs1 = x0 (and uimm = 0) are legal;
 *  - a non-existent CSR is illegal, with mtval = the instruction bits;
 *  - mscratch, misa (MXL = 1 and I, M, A, C, S, U present), mhartid = 0;
 *  - ecall from M (cause 11, mtval 0), ebreak (cause 3, mepc), illegal instructions (cause 2,
 *    mtval = the instruction bits, zero-extended for 16-bit ones);
 *  - trap entry: MPIE <- MIE, MIE <- 0, MPP <- M; mret: MIE <- MPIE, MPIE <- 1,
 *    MPP <- U (the least-privileged mode);
 *  - mepc holds 2-byte-aligned addresses (mepc[0] = 0 is spec, not checked: see case 55).
 */

/* `insn` must raise illegal instruction with mtval = its own bits (len 4 or 2) */
#define TEST_ILLEGAL(testnum, len, insn...)                             \
test_##testnum:                                                         \
        CHECK_NUM(testnum);                                             \
        li TESTNUM, testnum;                                            \
        ARM_TRAP_AT(trap_record, 77f);                                  \
        .balign 4;                                                      \
76:     insn;                                                           \
        j fail;                                                         \
77:     CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_ILLEGAL);               \
        CHECK_TRAP_LABEL(trap_record, TR_EPC, 76b);                     \
        la x11, 76b;                                                    \
        .if (len) == 4; lw x12, 0(x11); .else; lhu x12, 0(x11); .endif; \
        la t5, trap_record; lw t5, TR_TVAL(t5);                         \
        beq t5, x12, 75f; j fail; 75:

RVTEST_CODE_BEGIN

  /* ---- csrrw / csrrs / csrrc on mscratch ---- */
  TEST_CASE(1, x14, 0x12345678, li x11, 0x12345678; csrw mscratch, x11; csrr x14, mscratch)
  TEST_CASE(2, x14, 0x12345678, li x11, 0xcafebabe; csrrw x14, mscratch, x11; csrr x15, mscratch; CHECK_REG(x15, 0xcafebabe))
  TEST_CASE(3, x14, 0xcafebabe, li x11, 0x0000f00f; csrrs x14, mscratch, x11; csrr x15, mscratch; CHECK_REG(x15, 0xcafefabf))
  TEST_CASE(4, x14, 0xcafefabf, li x11, 0xff00000f; csrrc x14, mscratch, x11; csrr x15, mscratch; CHECK_REG(x15, 0x00fefab0))
  TEST_CASE(5, x14, 0x00fefab0, csrrwi x14, mscratch, 31; csrr x15, mscratch; CHECK_REG(x15, 31))
  TEST_CASE(6, x14, 0x0000001f, csrrci x14, mscratch, 0x15; csrr x15, mscratch; CHECK_REG(x15, 0x0a))
  TEST_CASE(7, x14, 0x0000000a, csrrsi x14, mscratch, 0x11; csrr x15, mscratch; CHECK_REG(x15, 0x1b))
  TEST_CASE(8, x14, 0x0000001b, csrrs x14, mscratch, x0; csrr x15, mscratch; CHECK_REG(x15, 0x1b))   /* rs1 = x0: no write */
  TEST_CASE(9, x14, 0x0000001b, csrrc x14, mscratch, x0; csrr x15, mscratch; CHECK_REG(x15, 0x1b))
  TEST_CASE(10, x14, 0x0000001b, csrrsi x14, mscratch, 0; csrrci x15, mscratch, 0; CHECK_REG(x15, 0x1b))
  TEST_CASE(11, x14, 0xffffffff, li x11, -1; csrrw x0, mscratch, x11; csrr x14, mscratch)    /* rd = x0: write only */
  TEST_CASE(12, x14, 0x00000000, csrrwi x0, mscratch, 0; csrr x14, mscratch)
  TEST_CASE(13, x14, 0x00000000, li x11, 0x55; csrrw x11, mscratch, x11; mv x14, x11; csrr x15, mscratch; CHECK_REG(x15, 0x55))   /* rd == rs1 */
  TEST_CASE(14, x14, 0x00000055, csrrw x0, mscratch, x0; li x14, 0x55)
  TEST_CASE(15, x14, 0x00000000, csrr x14, mscratch)

  /* ---- identification CSRs ---- */
  TEST_CASE(16, x14, 0, csrr x14, mhartid)
  TEST_CASE(17, x14, 0x40000000, csrr x14, misa; srli x14, x14, 30; slli x14, x14, 30)   /* MXL = 1: RV32 */
  /* I(8) M(12) A(0) C(2) S(18) U(20); QEMU's hart also reports F and D, which rvisor need not */
  TEST_CASE(18, x14, 0x00141105, csrr x14, misa; li x11, 0x00141105; and x14, x14, x11)
  TEST_CASE(19, x14, 0, csrr x14, misa; li x11, 0x00000010; and x14, x14, x11)   /* not RV32E */
  TEST_CASE(20, x14, 0, csrr x11, mvendorid; csrr x11, marchid; csrr x11, mimpid; li x14, 0)

  /* ---- read-only CSRs: reads without a write are legal, any write is illegal ---- */
  TEST_CASE(21, x14, 0, csrrs x14, mhartid, x0; csrrc x14, mhartid, x0; csrrsi x14, mhartid, 0; csrrci x14, mhartid, 0)
  TEST_ILLEGAL(22, 4, csrrw x14, mhartid, x0)
  TEST_ILLEGAL(23, 4, csrrwi x14, mhartid, 0)
  /* Cases 24/25 are left out on purpose: by the spec, csrrs/csrrc with rs1 != x0 holding 0
   * still attempt the write and so are illegal on a read-only CSR, but QEMU 7.2 only traps
   * when the runtime mask is nonzero. rvisor should follow the spec; not checked here. */
  TEST_ILLEGAL(26, 4, csrrsi x14, mhartid, 1)
  TEST_ILLEGAL(27, 4, csrrw x0, mvendorid, x0)
  TEST_ILLEGAL(28, 4, csrrwi x0, mimpid, 0)
  TEST_ILLEGAL(29, 4, csrrw x0, cycle, x0)       /* the user counters are read-only views */
  TEST_ILLEGAL(30, 4, csrrsi x0, instret, 1)

  /* ---- non-existent CSRs (custom and unallocated numbers) ---- */
  TEST_ILLEGAL(31, 4, csrr x14, 0x7ff)
  TEST_ILLEGAL(32, 4, csrw 0x7ff, x11)
  TEST_ILLEGAL(33, 4, csrr x14, 0x8ff)
  TEST_ILLEGAL(34, 4, csrrwi x0, 0x5ff, 3)

  /* ---- illegal instructions: mtval holds the bits ---- */
  TEST_ILLEGAL(35, 4, .word 0x0000000b)            /* custom-0 opcode */
  TEST_ILLEGAL(36, 4, .word 0x00000000)            /* all-zero word: its low half is illegal */
  TEST_ILLEGAL(37, 2, .half 0x0000)                /* the defined-illegal 16-bit encoding */
  TEST_ILLEGAL(38, 2, .half 0x2000)                /* c.fld: mstatus.FS is Off (or no D): illegal */
  TEST_ILLEGAL(39, 4, .word 0xfe000033)            /* OP with funct7 0x7f: unallocated */
  TEST_ILLEGAL(40, 4, .word 0x00001063 | (2 << 12))  /* BRANCH with funct3 = 2: reserved */
  TEST_ILLEGAL(41, 4, .word 0x00002003 | (3 << 12))  /* LOAD with funct3 = 3 (ld): RV64 only */
  TEST_ILLEGAL(42, 4, .word 0x00003023)            /* STORE funct3 = 3 (sd): RV64 only */
  TEST_ILLEGAL(43, 4, .word 0x0000101b)            /* OP-IMM-32 (slliw): RV64 only */
  TEST_ILLEGAL(44, 4, .word 0x02000013 | (1 << 12)) /* slli with shamt[5] set: reserved on RV32 */

  /* ---- ecall, ebreak ---- */
  TEST_TRAP_INSN(45, CAUSE_ECALL_M, 0, ecall)
test_46:
  li TESTNUM, 46
  ARM_TRAP_AT(trap_record, 2f)
  .balign 4
  .option push
  .option norvc
1:ebreak
  .option pop
  j fail
2:CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_BREAKPOINT)
  CHECK_TRAP_LABEL(trap_record, TR_EPC, 1b)
  /* mtval for a breakpoint is either 0 or the pc */
  la t5, trap_record; lw t5, TR_TVAL(t5)
  beqz t5, 3f
  la t6, 1b
  beq t5, t6, 3f
  j fail
3:
  /* resume = 1 steps over a 4-byte ecall */
  TEST_CASE(47, x14, 1, li x14, 0; ARM_TRAP_NEXT(trap_record); ecall; li x14, 1)

  /* ---- trap entry and mret stack the interrupt enables ---- */
  /* trap from M with MIE = 1: handler sees MIE = 0, MPIE = 1, MPP = M; mret restores MIE */
  TEST_CASE(48, x14, MSTATUS_MPIE | MSTATUS_MPP_M, csrsi mstatus, MSTATUS_MIE; ARM_TRAP_NEXT(trap_record); ecall; la x11, trap_record; lw x14, TR_STATUS(x11); li x11, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP; and x14, x14, x11)
  TEST_CASE(49, x14, MSTATUS_MIE, csrr x14, mstatus; andi x14, x14, MSTATUS_MIE; csrci mstatus, MSTATUS_MIE)
  /* with MIE = 0 the handler sees MPIE = 0 */
  TEST_CASE(50, x14, MSTATUS_MPP_M, ARM_TRAP_NEXT(trap_record); ecall; la x11, trap_record; lw x14, TR_STATUS(x11); li x11, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP; and x14, x14, x11)
  /* mret: MIE <- MPIE, MPIE <- 1, MPP <- U; here MPP = M so we stay in M */
  TEST_CASE(51, x14, MSTATUS_MIE | MSTATUS_MPIE, li x11, MSTATUS_MPIE | MSTATUS_MPP_M; csrs mstatus, x11; la x11, 1f; csrw mepc, x11; mret; j fail; 1: csrr x14, mstatus; li x11, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP; and x14, x14, x11; csrci mstatus, MSTATUS_MIE)
  TEST_CASE(52, x14, MSTATUS_MPIE, li x11, MSTATUS_MPIE; csrc mstatus, x11; li x11, MSTATUS_MPP_M; csrs mstatus, x11; la x11, 1f; csrw mepc, x11; mret; j fail; 1: csrr x14, mstatus; li x11, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP; and x14, x14, x11)
  /* mret to M keeps MPRV */
  TEST_CASE(53, x14, MSTATUS_MPRV, li x11, MSTATUS_MPRV | MSTATUS_MPP_M; csrs mstatus, x11; la x11, 1f; csrw mepc, x11; mret; 1: csrr x14, mstatus; li x11, MSTATUS_MPRV; and x14, x14, x11; csrc mstatus, x11)
  /* Back in M, the trap from U shows MPP = U. Privileged spec 1.12 also has an mret to U
   * clear MPRV; QEMU 7.2 keeps it, so that part is not checked (rvisor should clear it). */
test_54:
  li TESTNUM, 54
  GO_TO_MODE(PRV_U)
  BACK_TO_M
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_ECALL_U)
  la x11, trap_record
  lw x14, TR_STATUS(x11)
  li x11, MSTATUS_MPP
  and x15, x14, x11
  CHECK_REG(x15, 0)

  /* ---- mepc: with C (IALIGN = 16) bit 1 is writable. The spec also has mepc[0] always
   * read 0; QEMU 7.2 keeps a written bit 0 (it reads back 0xffffffff after writing -1), so
   * that rule is not checked here — rvisor should clear it. Trap-written mepc values are
   * instruction addresses and so even, as every epc check in this suite shows. ---- */
  TEST_CASE(55, x14, 0x80000002, li x11, 0x80000002; csrw mepc, x11; csrr x14, mepc)
  TEST_CASE(56, x14, 0xfffffffc, li x11, 0xfffffffc; csrw mepc, x11; csrr x14, mepc)
  /* mtvec: direct mode base keeps 4-byte alignment */
  TEST_CASE(57, x14, 0, la x11, trap_vector; csrw mtvec, x11; csrr x14, mtvec; sub x14, x14, x11)

  /* an unarmed trap would fail the test: check the harness counted exactly the traps above */
  TEST_CASE(58, x14, 0, la x11, trap_record; lw x14, TR_RESUME(x11))

RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END
