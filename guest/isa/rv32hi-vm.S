#include "test.h"
#include "h.h"

/*
 * rv32hi-vm: two-stage address translation (VS-stage Sv32 through vsatp, G-stage Sv32x4 through
 * hgatp), hypervisor loads/stores, guest-page faults, HFENCE.GVMA. Tables are built by the test.
 *
 *   G-stage (hgatp, 16 KiB root g_root), guest-physical → host physical; leaves need U:
 *     0x8000_0000 +4 MiB     megapage → 0x8000_0000 (this program)    V R W X U A D
 *     0x0040_0000 (L0 table g_l0, root index 1):
 *       +0x0000  dpage0     V R W U A D
 *       +0x1000  dpage1     V X U A           (execute-only)
 *       +0x2000  dpage2     V R W A D         (no U: a guest-page fault for every access)
 *       +0x3000  -          invalid
 *       +0x4000  dpage3     V R U A           (read-only)
 *       +0x5000  dpage1     V R X U A
 *     everything else (e.g. 0x0000_5000, 0x0000_9000) unmapped
 *
 *   VS-stage (vsatp, root vs_root, tables in guest-physical = host memory of this program):
 *     0x8000_0000 +4 MiB     megapage → gpa 0x8000_0000                V R W X A D (S only)
 *     0xc000_0000            pointer to gpa 0x9000 (unmapped at the G-stage: implicit fault)
 *     0x4000_0000 (L0 table vs_l0): page i → gpa 0x0040_0000 + i·4 KiB, V R W X A D, for
 *       i = 0..4; +0x5000 → gpa 0x0040_5000 execute-only (V X A); +0x6000 → gpa 0x5000;
 *       +0x8000 invalid; +0x9000 → gpa 0x0040_0000 with A = 0; +0xa000 → the same with U
 *
 * Guest-physical addresses at or above 4 GiB (Sv32x4's two extra root-index bits) are not used:
 * QEMU 7.2 does not translate them on RV32; mmu-g.test.ts covers them.
 *
 * Checked from HS-mode: HLV.W/B/BU/H/HU, HSV.W/B, guest-page faults 21/23 (stval = guest
 * virtual, htval = guest-physical >> 2, hstatus.GVA), a guest-page fault in the VS-stage walk
 * (htval = the PTE's guest-physical address >> 2; htinst 0 or the pseudoinstruction 0x2000),
 * hstatus.SPVP = 0 (VU rules), HFENCE.GVMA after a G-stage change. From VS-mode: fetch and data through both stages, A set by
 * the VS-stage walk, guest-page faults 23 and 20 to HS, sfence.vma, a page fault delegated to VS.
 */

#define PTE_FOR(reg, label, flags)                                      \
        la reg, label; srli reg, reg, 12; slli reg, reg, 10; ori reg, reg, flags
#define SET_ENTRY(table, index, reg)                                    \
        la x6, table; li x7, (index) << 2; add x6, x6, x7; sw reg, 0(x6)
#define GPA_PTE(reg, page, flags)                                  \
        li reg, ((0x400 + (page)) << 10) | (flags)

/* `insn` (x11 = va) must raise `cause`, delegated to HS, with stval = va and htval = `htval` */
#define TEST_GPF_HS(testnum, cause, va, htval, insn...)                 \
test_##testnum:                                                         \
        CHECK_NUM(testnum);                                             \
        li TESTNUM, testnum;                                            \
        li x11, va;                                                     \
        ARM_TRAP_AT(strap_record, 77f);                                 \
        insn;                                                           \
        j fail;                                                         \
77:     CHECK_TRAP(strap_record, TR_CAUSE, cause);                      \
        CHECK_TRAP(strap_record, TR_TVAL, va);                          \
        csrr x14, CSR_HTVAL; CHECK_REG(x14, htval);                     \
        csrr x14, CSR_HSTATUS; li x12, HSTATUS_GVA; and x14, x14, x12;  \
        CHECK_REG(x14, HSTATUS_GVA)

RVTEST_CODE_BEGIN
  H_INIT

  /* ---- G-stage tables ---- */
  li x5, (0x80000 << 10) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D
  SET_ENTRY(g_root, 0x200, x5)
  PTE_FOR(x5, g_l0, PTE_V)
  SET_ENTRY(g_root, 0x1, x5)
  PTE_FOR(x5, dpage0, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D)
  SET_ENTRY(g_l0, 0, x5)
  PTE_FOR(x5, dpage1, PTE_V | PTE_X | PTE_U | PTE_A)
  SET_ENTRY(g_l0, 1, x5)
  PTE_FOR(x5, dpage2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
  SET_ENTRY(g_l0, 2, x5)
  PTE_FOR(x5, dpage3, PTE_V | PTE_R | PTE_U | PTE_A)
  SET_ENTRY(g_l0, 4, x5)
  PTE_FOR(x5, dpage1, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A)
  SET_ENTRY(g_l0, 5, x5)

  /* ---- VS-stage tables ---- */
  li x5, (0x80000 << 10) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
  SET_ENTRY(vs_root, 0x200, x5)
  PTE_FOR(x5, vs_l0, PTE_V)
  SET_ENTRY(vs_root, 0x100, x5)
  li x5, (0x9 << 10) | PTE_V
  SET_ENTRY(vs_root, 0x300, x5)
  GPA_PTE(x5, 0, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
  SET_ENTRY(vs_l0, 0, x5)
  GPA_PTE(x5, 1, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
  SET_ENTRY(vs_l0, 1, x5)
  GPA_PTE(x5, 2, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
  SET_ENTRY(vs_l0, 2, x5)
  GPA_PTE(x5, 3, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
  SET_ENTRY(vs_l0, 3, x5)
  GPA_PTE(x5, 4, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
  SET_ENTRY(vs_l0, 4, x5)
  GPA_PTE(x5, 5, PTE_V | PTE_X | PTE_A)
  SET_ENTRY(vs_l0, 5, x5)
  li x5, (0x5 << 10) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  SET_ENTRY(vs_l0, 6, x5)
  GPA_PTE(x5, 0, PTE_V | PTE_R | PTE_W)
  SET_ENTRY(vs_l0, 9, x5)
  GPA_PTE(x5, 0, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D)
  SET_ENTRY(vs_l0, 10, x5)

  /* ---- hgatp and vsatp ---- */
  TEST_CASE(1, x14, 0, la x5, g_root; srli x5, x5, 12; li x6, HGATP_SV32X4; or x5, x5, x6; csrw CSR_HGATP, x5; csrr x14, CSR_HGATP; sub x14, x14, x5)
  la x5, vs_root; srli x5, x5, 12; li x6, SATP_MODE_SV32; or x5, x5, x6; csrw CSR_VSATP, x5
  li x5, HSTATUS_SPVP; csrw CSR_HSTATUS, x5
  li x5, (1 << CAUSE_LOAD_GUEST_PAGE_FAULT) | (1 << CAUSE_STORE_GUEST_PAGE_FAULT) | (1 << CAUSE_FETCH_GUEST_PAGE_FAULT) | (1 << CAUSE_LOAD_PAGE_FAULT)
  csrw medeleg, x5
  HFENCE_GVMA

  /* ---- HS-mode: hypervisor loads and stores ---- */
  GO_TO_NONV(PRV_S)
  TEST_CASE(2, x14, 0x11111111, li x11, 0x40000000; HLV_W(x14, x11))
  TEST_CASE(3, x14, 0x10, li x11, 0x40000004; HLV_B(x14, x11))
  TEST_CASE(4, x14, 0x80, li x11, 0x40000007; HLV_BU(x14, x11))
  TEST_CASE(5, x14, 0xffffff80, li x11, 0x40000007; HLV_B(x14, x11))
  TEST_CASE(6, x14, 0x8040, li x11, 0x40000006; HLV_HU(x14, x11))
  TEST_CASE(7, x14, 0xffff8040, li x11, 0x40000006; HLV_H(x14, x11))
  TEST_CASE(8, x14, 0x5a5a5a5a, li x11, 0x40000008; li x12, 0x5a5a5a5a; HSV_W(x12, x11); la x11, dpage0; lw x14, 8(x11))
  TEST_CASE(9, x14, 0xab, li x11, 0x4000000c; li x12, 0x1ab; HSV_B(x12, x11); la x11, dpage0; lw x14, 12(x11))
  /* 10: HLVX is not tested: QEMU 7.2 ignores execute permission for it (see README) */
  TEST_GPF_HS(11, CAUSE_LOAD_GUEST_PAGE_FAULT, 0x40001000, 0x100400, HLV_W(x14, x11))
  TEST_GPF_HS(12, CAUSE_STORE_GUEST_PAGE_FAULT, 0x40002010, 0x100804, HSV_W(x0, x11))
  TEST_GPF_HS(13, CAUSE_STORE_GUEST_PAGE_FAULT, 0x40004000, 0x101000, HSV_W(x0, x11))
  TEST_GPF_HS(14, CAUSE_LOAD_GUEST_PAGE_FAULT, 0x40003008, 0x100c02, HLV_W(x14, x11))
  TEST_GPF_HS(15, CAUSE_LOAD_GUEST_PAGE_FAULT, 0x40006004, 0x1401, HLV_W(x14, x11))
  /* a guest-page fault on the VS-stage walk's own PTE read: htval names the PTE */
  TEST_GPF_HS(16, CAUSE_LOAD_GUEST_PAGE_FAULT, 0xc0003000, (0x9000 + 3 * 4) >> 2, HLV_W(x14, x11))
  TEST_CASE(17, x14, 0, csrr x14, CSR_HTINST; li x12, 0x2000; bne x14, x12, 1f; li x14, 0; 1:)
  /* 18, 19: VS-stage page faults of HLV from HS-mode (13, htval 0) are not tested: QEMU 7.2
   * reports them as access faults while HS's own satp is Bare (see README) */
  /* SPVP = 0: the VS-stage rules of VU-mode (a user page) */
  li x5, HSTATUS_SPVP; csrc CSR_HSTATUS, x5
  TEST_CASE(20, x14, 0x11111111, li x11, 0x4000a000; HLV_W(x14, x11))
  li x5, HSTATUS_SPVP; csrs CSR_HSTATUS, x5
  /* HFENCE.GVMA after a G-stage change */
  TEST_CASE(21, x14, 0x44444444, PTE_FOR(x5, dpage3, PTE_V | PTE_R | PTE_U | PTE_A); SET_ENTRY(g_l0, 0, x5); HFENCE_GVMA; li x11, 0x40000000; HLV_W(x14, x11))
  TEST_CASE(22, x14, 0x11111111, PTE_FOR(x5, dpage0, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D); SET_ENTRY(g_l0, 0, x5); HFENCE_GVMA; li x11, 0x40000000; HLV_W(x14, x11))
  BACK_TO_M

  /* ---- VS-mode: everything through both stages ---- */
  GO_TO_V(PRV_S)
  TEST_CASE(23, x14, 0x11111111, li x11, 0x40000000; lw x14, 0(x11))
  TEST_CASE(24, x14, 0x44444444, li x11, 0x40004000; lw x14, 0(x11))
  /* the VS-stage walk sets A in the guest's PTE */
  TEST_CASE(25, x14, PTE_A, li x11, 0x40009000; lw x14, 0(x11); la x11, vs_l0; lw x14, 9 * 4(x11); andi x14, x14, PTE_A)
  /* sfence.vma after a VS-stage change */
  TEST_CASE(26, x14, 0x44444444, GPA_PTE(x5, 4, PTE_V | PTE_R | PTE_A); SET_ENTRY(vs_l0, 0, x5); sfence.vma; li x11, 0x40000000; lw x14, 0(x11))
  TEST_CASE(27, x14, 0x11111111, GPA_PTE(x5, 0, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D); SET_ENTRY(vs_l0, 0, x5); sfence.vma; li x11, 0x40000000; lw x14, 0(x11))
test_28:
  li TESTNUM, 28
  ARM_TRAP_AT(strap_record, 1f)
  li x11, 0x40002004
  sw x0, 0(x11)
  j fail
1:CHECK_TRAP(strap_record, TR_CAUSE, CAUSE_STORE_GUEST_PAGE_FAULT)
  CHECK_TRAP(strap_record, TR_TVAL, 0x40002004)
  BACK_TO_M_BY(ebreak)
  TEST_CASE(29, x14, 0x100801, csrr x14, CSR_HTVAL)
  TEST_CASE(30, x14, HSTATUS_GVA | HSTATUS_SPVP, csrr x14, CSR_HSTATUS; li x12, HSTATUS_GVA | HSTATUS_SPVP; and x14, x14, x12)

  GO_TO_V(PRV_S)
test_31:
  li TESTNUM, 31
  ARM_TRAP_AT(strap_record, 1f)
  li x11, 0x40003000
  jalr x11
  j fail
1:CHECK_TRAP(strap_record, TR_CAUSE, CAUSE_FETCH_GUEST_PAGE_FAULT)
  CHECK_TRAP(strap_record, TR_TVAL, 0x40003000)
  BACK_TO_M_BY(ebreak)
  TEST_CASE(32, x14, 0x100c00, csrr x14, CSR_HTVAL)

  /* a VS-stage page fault delegated on to VS: vscause/vstval, HS untouched */
  li x5, 1 << CAUSE_LOAD_PAGE_FAULT; csrw CSR_HEDELEG, x5
  la x5, strap_vector; csrw CSR_VSTVEC, x5
  csrw scause, zero
  GO_TO_V(PRV_S)
test_33:
  li TESTNUM, 33
  ARM_TRAP_AT(strap_record, 1f)
  li x11, 0x40008010
  lw x14, 0(x11)
  j fail
1:CHECK_TRAP(strap_record, TR_CAUSE, CAUSE_LOAD_PAGE_FAULT)
  CHECK_TRAP(strap_record, TR_TVAL, 0x40008010)
  BACK_TO_M_BY(ebreak)
  TEST_CASE(34, x14, CAUSE_LOAD_PAGE_FAULT, csrr x14, CSR_VSCAUSE)
  TEST_CASE(35, x14, 0, csrr x14, scause)

RVTEST_CODE_END

H_TRAP_VECTOR

RVTEST_DATA_BEGIN
  .balign 16384
g_root: .skip 16384
g_l0:   .skip 4096
vs_root: .skip 4096
vs_l0:  .skip 4096
dpage0: .word 0x11111111, 0x80402010
        .balign 4096
dpage1: .word 0x22222222
        .balign 4096
dpage2: .word 0x33333333
        .balign 4096
dpage3: .word 0x44444444
        .balign 4096
RVTEST_DATA_END
