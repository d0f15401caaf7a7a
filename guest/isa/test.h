/*
 * test.h — the harness of rvisor's RV32 conformance suite.
 *
 * Every test is one self-checking program in M-mode that reports through HTIF:
 *
 *   tohost (64-bit, see link.ld)  <-  1                    all cases passed
 *                                 <-  (testnum << 1) | 1   case `testnum` failed
 *
 * written as two 32-bit stores, low word first, then the high word 0: the HTIF device acts on
 * the high-word store. The failing case's number is the exit code of the simulator, so test
 * numbers must stay within 1..254 (checked when assembling); 255 reports a failure outside any
 * case (an unexpected trap before the first one).
 *
 * Register conventions
 *   gp (x3)   TESTNUM: the number of the case running now.
 *   x7        expected value in TEST_CASE; so a case's result must not live in x7.
 *   t5, t6    (x30, x31) belong to the harness: the trap handlers clobber them.
 *
 * Traps. Both handlers (M: trap_vector, S: strap_vector) record what happened in a record
 *
 *   +0 cause  +4 epc  +8 tval  +12 resume  +16 status  +20 count  +24 to_m
 *
 * and then resume at `resume` (a code address), or — when resume is 1 — at the instruction
 * after the trapping one (its length read from its low two bits). A trap nobody armed (resume 0)
 * fails the current case. Arming is one-shot: the handler clears resume after use. When to_m is
 * set, the M handler returns to M-mode (MPP = M) instead of the trapping mode: this is how code
 * run in S or U gets back.
 */
#ifndef RVISOR_ISA_TEST_H
#define RVISOR_ISA_TEST_H

#define TESTNUM gp

/* The build links with ld.lld, which does not implement RISC-V linker relaxation; alignment
 * directives would otherwise leave R_RISCV_ALIGN relocations it rejects. */
        .option norelax

/* ---- CSR field values (privileged spec names) ---- */
#define MSTATUS_SIE   0x00000002
#define MSTATUS_MIE   0x00000008
#define MSTATUS_SPIE  0x00000020
#define MSTATUS_MPIE  0x00000080
#define MSTATUS_SPP   0x00000100
#define MSTATUS_MPP   0x00001800
#define MSTATUS_MPP_S 0x00000800
#define MSTATUS_MPP_M 0x00001800
#define MSTATUS_MPRV  0x00020000
#define MSTATUS_SUM   0x00040000
#define MSTATUS_MXR   0x00080000
#define MSTATUS_TVM   0x00100000
#define MSTATUS_TW    0x00200000
#define MSTATUS_TSR   0x00400000

#define MIP_SSIP 0x002
#define MIP_MSIP 0x008
#define MIP_STIP 0x020
#define MIP_MTIP 0x080
#define MIP_SEIP 0x200
#define MIP_MEIP 0x800

#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS     1
#define CAUSE_ILLEGAL          2
#define CAUSE_BREAKPOINT       3
#define CAUSE_MISALIGNED_LOAD  4
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS     7
#define CAUSE_ECALL_U          8
#define CAUSE_ECALL_S          9
#define CAUSE_ECALL_M          11
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT  13
#define CAUSE_STORE_PAGE_FAULT 15
#define CAUSE_INTERRUPT        0x80000000

#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

/* PMP: one NAPOT region covering the whole address space, R|W|X. */
#define PMP_R     0x01
#define PMP_W     0x02
#define PMP_X     0x04
#define PMP_NAPOT 0x18

/* Sv32 PTE bits */
#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_U 0x10
#define PTE_G 0x20
#define PTE_A 0x40
#define PTE_D 0x80
#define SATP_MODE_SV32 0x80000000

/* CLINT (same place on QEMU's virt and spike machines) */
#define CLINT_MSIP     0x02000000
#define CLINT_MTIMECMP 0x02004000
#define CLINT_MTIME    0x0200bff8

/* trap record layout */
#define TR_CAUSE  0
#define TR_EPC    4
#define TR_TVAL   8
#define TR_RESUME 12
#define TR_STATUS 16
#define TR_COUNT  20
#define TR_TO_M   24
#define TR_SIZE   32

/* ---- start and end of a test program ---- */

#define RVTEST_CODE_BEGIN                                               \
        .section .text.init, "ax", @progbits;                           \
        .globl _start;                                                  \
_start:                                                                 \
        j reset_vector;                                                 \
        TRAP_HANDLER(trap_vector, m, trap_record, 1);                   \
        TRAP_HANDLER(strap_vector, s, strap_record, 0);                 \
reset_vector:                                                           \
        RESET_STATE;                                                    \
        j test_body;                                                    \
        .text;                                                          \
test_body:

#define RVTEST_CODE_END   j pass

/*
 * One trap handler; `p` is the CSR prefix (m or s), `rec` its record. See the header comment.
 * Unarmed traps go to fail from the handler's own mode.
 */
#define TRAP_HANDLER(name, p, rec, is_m)                                \
        .balign 4;                                                      \
name:                                                                   \
        la t5, rec;                                                     \
        csrr t6, p##cause;  sw t6, TR_CAUSE(t5);                        \
        csrr t6, p##epc;    sw t6, TR_EPC(t5);                          \
        csrr t6, p##tval;   sw t6, TR_TVAL(t5);                         \
        csrr t6, p##status; sw t6, TR_STATUS(t5);                       \
        lw t6, TR_COUNT(t5); addi t6, t6, 1; sw t6, TR_COUNT(t5);       \
        lw t6, TR_RESUME(t5);                                           \
        bnez t6, 3f;                                                    \
        j fail;                                                         \
3:                                                                      \
        sw zero, TR_RESUME(t5);                                         \
        addi t5, t6, -1;                                                \
        bnez t5, 1f;                                                    \
        /* resume == 1: step over the trapping instruction */           \
        csrr t6, p##epc;                                                \
        lhu t5, 0(t6);                                                  \
        andi t5, t5, 3;                                                 \
        addi t5, t5, -3;                                                \
        addi t6, t6, 2;                                                 \
        bnez t5, 1f;                                                    \
        addi t6, t6, 2;                                                 \
1:      csrw p##epc, t6;                                                \
        .if is_m;                                                       \
        la t5, rec;                                                     \
        lw t6, TR_TO_M(t5);                                             \
        beqz t6, 2f;                                                    \
        sw zero, TR_TO_M(t5);                                           \
        li t6, MSTATUS_MPP_M;                                           \
        csrs mstatus, t6;                                               \
2:      mret;                                                           \
        .else;                                                          \
        sret;                                                           \
        .endif

/*
 * Reset: the state every test starts from. Optional CSRs (PMP, the S-mode ones) are written
 * with mtvec pointing just past the write, so a hart without them steps over it.
 */
#define RESET_STATE                                                     \
        li x1, 0; li x2, 0; li x3, 0; li x4, 0; li x5, 0; li x6, 0;     \
        li x7, 0; li x8, 0; li x9, 0; li x10, 0; li x11, 0; li x12, 0;  \
        li x13, 0; li x14, 0; li x15, 0; li x16, 0; li x17, 0;          \
        li x18, 0; li x19, 0; li x20, 0; li x21, 0; li x22, 0;          \
        li x23, 0; li x24, 0; li x25, 0; li x26, 0; li x27, 0;          \
        li x28, 0; li x29, 0; li x30, 0; li x31, 0;                     \
        la t0, 1f; csrw mtvec, t0;                                      \
        li t0, -1; csrw pmpaddr0, t0;                                   \
        li t0, PMP_NAPOT | PMP_R | PMP_W | PMP_X; csrw pmpcfg0, t0;     \
        .balign 4;                                                      \
1:      la t0, 2f; csrw mtvec, t0;                                      \
        csrwi satp, 0;                                                  \
        csrwi medeleg, 0;                                               \
        csrwi mideleg, 0;                                               \
        la t0, strap_vector; csrw stvec, t0;                            \
        .balign 4;                                                      \
2:      csrwi mie, 0;                                                   \
        csrw mstatus, zero;                                             \
        la t0, trap_vector; csrw mtvec, t0;                             \
        li TESTNUM, 0

/* ---- pass / fail ---- */

#define RVTEST_PASS_FAIL                                                \
        .text;                                                          \
pass:                                                                   \
        fence;                                                          \
        li t0, 1;                                                       \
        la t1, tohost;                                                  \
        sw t0, 0(t1);                                                   \
        sw zero, 4(t1);                                                 \
1:      j 1b;                                                           \
fail:                                                                   \
        fence;                                                          \
        bnez TESTNUM, 2f;                                               \
        li TESTNUM, 255; /* failed outside any case: never report 1 */  \
2:                                                                      \
        slli t0, TESTNUM, 1;                                            \
        ori t0, t0, 1;                                                  \
        la t1, tohost;                                                  \
        sw t0, 0(t1);                                                   \
        sw zero, 4(t1);                                                 \
1:      j 1b

#define RVTEST_DATA_BEGIN                                               \
        RVTEST_PASS_FAIL;                                               \
        .section .tohost, "aw", @progbits;                              \
        .balign 8; .globl tohost; .type tohost, @object;              \
        .size tohost, 8; tohost: .dword 0;                              \
        .balign 8; .globl fromhost; .type fromhost, @object;            \
        .size fromhost, 8; fromhost: .dword 0;                          \
        .data;                                                          \
        .balign 8; .globl trap_record; trap_record: .skip TR_SIZE;      \
        .balign 8; .globl strap_record; strap_record: .skip TR_SIZE;    \
        .balign 16;

#define RVTEST_DATA_END

/* ---- test cases ---- */

#define CHECK_NUM(testnum)                                              \
        .if (testnum) < 1 || (testnum) > 254;                           \
        .error "test numbers must be 1..254 (they become exit codes)";  \
        .endif

#define TEST_CASE(testnum, testreg, correctval, code...)                \
test_##testnum:                                                         \
        CHECK_NUM(testnum);                                             \
        li TESTNUM, testnum;                                            \
        code;                                                           \
        li x7, correctval;                                              \
        beq testreg, x7, 70f;                                           \
        j fail;                                                         \
70:

/* register-register and register-immediate ALU ops */
#define TEST_RR_OP(testnum, inst, result, val1, val2)                   \
        TEST_CASE(testnum, x14, result,                                 \
          li x11, val1; li x12, val2; inst x14, x11, x12)

#define TEST_RR_SRC1_EQ_DEST(testnum, inst, result, val1, val2)         \
        TEST_CASE(testnum, x11, result,                                 \
          li x11, val1; li x12, val2; inst x11, x11, x12)

#define TEST_RR_SRC2_EQ_DEST(testnum, inst, result, val1, val2)         \
        TEST_CASE(testnum, x12, result,                                 \
          li x11, val1; li x12, val2; inst x12, x11, x12)

#define TEST_RR_SRC12_EQ_DEST(testnum, inst, result, val1)              \
        TEST_CASE(testnum, x11, result, li x11, val1; inst x11, x11, x11)

#define TEST_RR_ZEROSRC1(testnum, inst, result, val)                    \
        TEST_CASE(testnum, x12, result, li x11, val; inst x12, x0, x11)

#define TEST_RR_ZEROSRC2(testnum, inst, result, val)                    \
        TEST_CASE(testnum, x12, result, li x11, val; inst x12, x11, x0)

#define TEST_RR_ZERODEST(testnum, inst, val1, val2)                     \
        TEST_CASE(testnum, x0, 0,                                       \
          li x11, val1; li x12, val2; inst x0, x11, x12)

#define TEST_IMM_OP(testnum, inst, result, val1, imm)                   \
        TEST_CASE(testnum, x14, result, li x11, val1; inst x14, x11, imm)

#define TEST_IMM_SRC1_EQ_DEST(testnum, inst, result, val1, imm)         \
        TEST_CASE(testnum, x11, result, li x11, val1; inst x11, x11, imm)

#define TEST_IMM_ZEROSRC1(testnum, inst, result, imm)                   \
        TEST_CASE(testnum, x11, result, inst x11, x0, imm)

#define TEST_IMM_ZERODEST(testnum, inst, val1, imm)                     \
        TEST_CASE(testnum, x0, 0, li x11, val1; inst x0, x11, imm)

/* branches: a taken branch must skip the `j fail` after it; a not-taken one must fall through */
#define TEST_BR2_TAKEN(testnum, inst, val1, val2)                       \
test_##testnum:                                                         \
        CHECK_NUM(testnum);                                             \
        li TESTNUM, testnum;                                            \
        li x11, val1; li x12, val2;                                     \
        inst x11, x12, 1f;                                              \
        j fail;                                                         \
1:

#define TEST_BR2_NOTTAKEN(testnum, inst, val1, val2)                    \
test_##testnum:                                                         \
        CHECK_NUM(testnum);                                             \
        li TESTNUM, testnum;                                            \
        li x11, val1; li x12, val2;                                     \
        inst x11, x12, 71f;                                             \
        j 72f;                                                          \
71:     j fail;                                                         \
72:

/* loads from and stores to the labelled data `base` at byte offset `off` */
#define TEST_LD_OP(testnum, inst, result, off, base)                    \
        TEST_CASE(testnum, x14, result, la x11, base; inst x14, off(x11))

#define TEST_ST_OP(testnum, ld, st, result, off, base)                  \
        TEST_CASE(testnum, x14, result,                                 \
          la x11, base; li x12, result;                                 \
          st x12, off(x11); ld x14, off(x11))

/* ---- traps ---- */

/* Arm the M (or S) handler: the next trap resumes at `resume` (a label, or 1 = next instr). */
#define ARM_TRAP_AT(rec, resume)                                        \
        la t6, rec;                                                     \
        la t5, resume; sw t5, TR_RESUME(t6);                            \
        li t5, -1; sw t5, TR_CAUSE(t6)
#define ARM_TRAP_NEXT(rec)                                              \
        la t6, rec;                                                     \
        li t5, 1; sw t5, TR_RESUME(t6);                                 \
        li t5, -1; sw t5, TR_CAUSE(t6)

/* compare a field of a trap record with a constant or a label */
#define CHECK_TRAP(rec, field, expected)                                \
        la t5, rec; lw t5, field(t5); li t6, expected;                  \
        beq t5, t6, 73f; j fail; 73:
#define CHECK_TRAP_LABEL(rec, field, label)                             \
        la t5, rec; lw t5, field(t5); la t6, label;                     \
        beq t5, t6, 73f; j fail; 73:
/* a register against a constant, for use between cases (x7 is clobbered) */
#define CHECK_REG(reg, expected)                                        \
        li x7, expected; beq reg, x7, 74f; j fail; 74:

/* TEST_TRAP: `code` must trap into M-mode with `cause`; execution resumes after `code`. */
#define TEST_TRAP(testnum, cause, code...)                              \
test_##testnum:                                                         \
        CHECK_NUM(testnum);                                             \
        li TESTNUM, testnum;                                            \
        ARM_TRAP_AT(trap_record, 77f);                                  \
        code;                                                           \
        j fail;                                                         \
77:     CHECK_TRAP(trap_record, TR_CAUSE, cause)

/* like TEST_TRAP, and the trapping instruction is the single instruction `insn`:
 * checks mepc = its address and mtval = `tval` */
#define TEST_TRAP_INSN(testnum, cause, tval, insn)                      \
test_##testnum:                                                         \
        CHECK_NUM(testnum);                                             \
        li TESTNUM, testnum;                                            \
        ARM_TRAP_AT(trap_record, 77f);                                  \
76:     insn;                                                           \
        j fail;                                                         \
77:     CHECK_TRAP(trap_record, TR_CAUSE, cause);                       \
        CHECK_TRAP_LABEL(trap_record, TR_EPC, 76b);                     \
        CHECK_TRAP(trap_record, TR_TVAL, tval)

/* Switch privilege from M: continue at the next instruction in `mode` (PRV_S / PRV_U). */
#define GO_TO_MODE(mode)                                                \
        li t5, MSTATUS_MPP; csrc mstatus, t5;                           \
        li t5, ((mode) << 11); csrs mstatus, t5;                        \
        la t5, 78f; csrw mepc, t5;                                      \
        mret;                                                           \
78:

/* From S or U (no translation active): trap back into M-mode with `insn` (one that is not
 * delegated), continuing after it. BACK_TO_M uses ecall. */
#define BACK_TO_M_BY(insn)                                              \
        la t6, trap_record;                                             \
        la t5, 79f; sw t5, TR_RESUME(t6);                               \
        li t5, 1; sw t5, TR_TO_M(t6);                                   \
        insn;                                                           \
        j fail;                                                         \
79:
#define BACK_TO_M BACK_TO_M_BY(ecall)

/* From S: drop to U with sret, continuing at the next instruction. */
#define S_GO_TO_U                                                       \
        li t5, MSTATUS_SPP; csrc sstatus, t5;                           \
        la t5, 80f; csrw sepc, t5;                                      \
        sret;                                                           \
80:

#endif
