#include "test.h"

/*
 * rv32si-vm: Sv32 address translation, with page tables built by the test.
 *
 *   virtual                         physical                  PTE flags
 *   0x8000_0000 +4 MiB (megapage)   0x8000_0000 (this program) V R W X A D  (identity, S only)
 *   0xc000_0000 +4 MiB (megapage)   0x8000_0000 (alias)        V R W A D
 *   0xc040_0000 (megapage)          PPN 0x80001: misaligned    V R W A D   -> page fault
 *   0x4000_0000 (L0 table l0_pt):
 *     +0x0000  dpage0               V R W          (A, D clear: set by the hardware)
 *     +0x1000  dpage1               V R W U A D
 *     +0x2000  dpage2               V X A          (execute-only)
 *     +0x3000  dpage3               V W A D        (R = 0, W = 1: reserved)
 *     +0x4000  -                    invalid (V = 0)
 *     +0x5000  dpage3               V R A          (read-only)
 *     +0x6000  upage_code           V R X U A      (user code snippets)
 *     +0x7000  upage_code           V R X A        (same code, supervisor only)
 *     +0x8000  dpage0 / dpage1      V R W A D      (changed at run time, then sfence.vma)
 *
 * Traps go to the M handler (nothing is delegated), which runs untranslated and resumes
 * at a virtual address of the same identity-mapped code — except in cases 47..51, where
 * medeleg sends page faults to the S handler, running translated (scause/stval). Checked: satp, 4 KiB pages and 4 MiB
 * megapages, misaligned megapage, fetch/load/store page faults (12/13/15) with stval = the
 * virtual address, the U bit (S may not execute U pages; S reads U pages only with SUM; U may
 * not touch S pages), MXR, the reserved R=0/W=1 encoding, invalid PTEs, A and D set by the
 * hardware in the PTE in memory (QEMU does this; the spec also allows a fault instead —
 * rvisor follows QEMU), sfence.vma after a PTE change, and MPRV with MPP = S.
 */

#define VA_IDENT   0x80000000
#define VA_ALIAS   0xc0000000
#define VA_MISMEGA 0xc0400000
#define VA_L0      0x40000000
#define VA_RW      (VA_L0 + 0x0000)
#define VA_USER    (VA_L0 + 0x1000)
#define VA_XONLY   (VA_L0 + 0x2000)
#define VA_WONLY   (VA_L0 + 0x3000)
#define VA_INVALID (VA_L0 + 0x4000)
#define VA_RONLY   (VA_L0 + 0x5000)
#define VA_UCODE   (VA_L0 + 0x6000)
#define VA_SCODE   (VA_L0 + 0x7000)
#define VA_MOVING  (VA_L0 + 0x8000)

/* reg = a leaf or pointer PTE for the page at `label` */
#define PTE_FOR(reg, label, flags)                                      \
        la reg, label; srli reg, reg, 12; slli reg, reg, 10; ori reg, reg, flags
/* install reg as the level-1 entry for va, or the level-0 entry (in l0_pt) for va */
#define SET_L1(va, reg)                                                 \
        la x6, root_pt; li x7, (((va) >> 22) << 2); add x6, x6, x7; sw reg, 0(x6)
#define SET_L0(va, reg)                                                 \
        la x6, l0_pt; li x7, ((((va) >> 12) & 0x3ff) << 2); add x6, x6, x7; sw reg, 0(x6)
/* reg = the level-0 PTE of va, read from memory */
#define GET_L0(reg, va)                                                 \
        la x6, l0_pt; li x7, ((((va) >> 12) & 0x3ff) << 2); add x6, x6, x7; lw reg, 0(x6)

/* `insn` (using x11 = va) must raise `cause` with tval = va */
#define TEST_PF(testnum, cause, va, insn...)                            \
test_##testnum:                                                         \
        CHECK_NUM(testnum);                                             \
        li TESTNUM, testnum;                                            \
        li x11, va;                                                     \
        ARM_TRAP_AT(trap_record, 77f);                                  \
        insn;                                                           \
        j fail;                                                         \
77:     CHECK_TRAP(trap_record, TR_CAUSE, cause);                       \
        CHECK_TRAP(trap_record, TR_TVAL, va)

/* the same, with page faults delegated to S: checks scause/stval in strap_record */
#define TEST_PF_S(testnum, cause, va, insn...)                          \
test_##testnum:                                                         \
        CHECK_NUM(testnum);                                             \
        li TESTNUM, testnum;                                            \
        li x11, va;                                                     \
        ARM_TRAP_AT(strap_record, 77f);                                 \
        insn;                                                           \
        j fail;                                                         \
77:     CHECK_TRAP(strap_record, TR_CAUSE, cause);                      \
        CHECK_TRAP(strap_record, TR_TVAL, va)

/* From M: run the user snippet `snippet` (in upage_code) at its VA_UCODE address with
 * a1 = arg; it ends in a trap that brings us back to M after this macro. */
#define RUN_U(snippet, arg)                                             \
        la t6, trap_record;                                             \
        la t5, 79f; sw t5, TR_RESUME(t6);                               \
        li t5, 1; sw t5, TR_TO_M(t6);                                   \
        li t5, -1; sw t5, TR_CAUSE(t6);                                 \
        li a1, arg;                                                     \
        la t5, snippet; la t6, upage_code; sub t5, t5, t6;              \
        li t6, VA_UCODE; add t5, t5, t6; csrw mepc, t5;                 \
        li t5, MSTATUS_MPP; csrc mstatus, t5;                           \
        mret;                                                           \
79:

RVTEST_CODE_BEGIN

  /* ---- build the page tables (M-mode, physical) ---- */
  li x5, (0x80000 << 10) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
  SET_L1(VA_IDENT, x5)
  li x5, (0x80000 << 10) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  SET_L1(VA_ALIAS, x5)
  li x5, (0x80001 << 10) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  SET_L1(VA_MISMEGA, x5)
  PTE_FOR(x5, l0_pt, PTE_V)
  SET_L1(VA_L0, x5)
  PTE_FOR(x5, dpage0, PTE_V | PTE_R | PTE_W)
  SET_L0(VA_RW, x5)
  PTE_FOR(x5, dpage1, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D)
  SET_L0(VA_USER, x5)
  PTE_FOR(x5, dpage2, PTE_V | PTE_X | PTE_A)
  SET_L0(VA_XONLY, x5)
  PTE_FOR(x5, dpage3, PTE_V | PTE_W | PTE_A | PTE_D)
  SET_L0(VA_WONLY, x5)
  PTE_FOR(x5, dpage3, PTE_R | PTE_W | PTE_A | PTE_D)     /* V = 0 */
  SET_L0(VA_INVALID, x5)
  PTE_FOR(x5, dpage3, PTE_V | PTE_R | PTE_A)
  SET_L0(VA_RONLY, x5)
  PTE_FOR(x5, upage_code, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A)
  SET_L0(VA_UCODE, x5)
  PTE_FOR(x5, upage_code, PTE_V | PTE_R | PTE_X | PTE_A)
  SET_L0(VA_SCODE, x5)
  PTE_FOR(x5, dpage0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
  SET_L0(VA_MOVING, x5)

  /* ---- satp: MODE = Sv32, PPN = root ---- */
  TEST_CASE(1, x14, 0, la x5, root_pt; srli x5, x5, 12; li x6, SATP_MODE_SV32; or x5, x5, x6; csrw satp, x5; sfence.vma; csrr x14, satp; sub x14, x14, x5)

  GO_TO_MODE(PRV_S)
  /* now translated: code and data through the identity megapage */
  TEST_CASE(2, x14, 0x11111111, la x11, dpage0_word; lw x14, 0(x11))
  /* ---- the alias megapage maps the same memory ---- */
  TEST_CASE(3, x14, 0x11111111, la x11, dpage0_word; li x12, VA_ALIAS - VA_IDENT; add x11, x11, x12; lw x14, 0(x11))
  TEST_CASE(4, x14, 0x5a5a5a5a, la x11, scratch_word; li x12, VA_ALIAS - VA_IDENT; add x12, x11, x12; li x13, 0x5a5a5a5a; sw x13, 0(x12); lw x14, 0(x11))

  /* ---- a 4 KiB page; A set by a load, D by a store, in the PTE in memory ---- */
  TEST_CASE(5, x14, 0, GET_L0(x14, VA_RW); andi x14, x14, PTE_A | PTE_D)
  TEST_CASE(6, x14, 0x11111111, li x11, VA_RW; lw x14, 0(x11))
  TEST_CASE(7, x14, PTE_A, GET_L0(x14, VA_RW); andi x14, x14, PTE_A | PTE_D)
  TEST_CASE(8, x14, 0x22222222, li x11, VA_RW; li x12, 0x22222222; sw x12, 4(x11); la x11, dpage0_word; lw x14, 4(x11))
  TEST_CASE(9, x14, PTE_A | PTE_D, GET_L0(x14, VA_RW); andi x14, x14, PTE_A | PTE_D)
  /* a store alone sets both A and D: clear them, sfence, store */
  TEST_CASE(10, x14, PTE_A | PTE_D, GET_L0(x13, VA_RW); andi x13, x13, ~(PTE_A | PTE_D); la x6, l0_pt; sw x13, 0(x6); sfence.vma; li x11, VA_RW; sw x0, 8(x11); GET_L0(x14, VA_RW); andi x14, x14, PTE_A | PTE_D)

  /* ---- misaligned megapage: page fault for every access type ---- */
  TEST_PF(11, CAUSE_LOAD_PAGE_FAULT, VA_MISMEGA, lw x14, 0(x11))
  TEST_PF(12, CAUSE_STORE_PAGE_FAULT, VA_MISMEGA + 0x10, sw x14, 0(x11))

  /* ---- invalid PTE ---- */
  TEST_PF(13, CAUSE_LOAD_PAGE_FAULT, VA_INVALID + 4, lw x14, 0(x11))
  TEST_PF(14, CAUSE_STORE_PAGE_FAULT, VA_INVALID, sw x14, 0(x11))
  TEST_PF(15, CAUSE_FETCH_PAGE_FAULT, VA_INVALID, jalr x0, x11, 0)
  TEST_CASE(16, x14, 0, CHECK_TRAP(trap_record, TR_EPC, VA_INVALID); li x14, 0)   /* epc = the target */
  /* an address with no level-1 entry at all */
  TEST_PF(17, CAUSE_LOAD_PAGE_FAULT, 0x10000000, lw x14, 0(x11))

  /* ---- permissions: read-only, reserved W-only, execute-only with and without MXR ---- */
  TEST_CASE(18, x14, 0x33333333, li x11, VA_RONLY; lw x14, 0(x11))
  TEST_PF(19, CAUSE_STORE_PAGE_FAULT, VA_RONLY, sw x14, 0(x11))
  TEST_PF(20, CAUSE_LOAD_PAGE_FAULT, VA_WONLY, lw x14, 0(x11))
  TEST_PF(21, CAUSE_STORE_PAGE_FAULT, VA_WONLY, sw x14, 0(x11))
  TEST_PF(22, CAUSE_LOAD_PAGE_FAULT, VA_XONLY, lw x14, 0(x11))
  TEST_CASE(23, x14, 0x44444444, li x11, MSTATUS_MXR; csrs sstatus, x11; li x11, VA_XONLY; lw x14, 0(x11); li x11, MSTATUS_MXR; csrc sstatus, x11)
  TEST_PF(24, CAUSE_STORE_PAGE_FAULT, VA_XONLY, li x12, MSTATUS_MXR; csrs sstatus, x12; sw x14, 0(x11))
  TEST_CASE(25, x14, 0, li x11, MSTATUS_MXR; csrc sstatus, x11; li x14, 0)
  /* S runs code from an S page at another virtual address */
  TEST_CASE(26, x14, 0x777, la x11, s_ret777; la x12, upage_code; sub x11, x11, x12; li x12, VA_SCODE; add x11, x11, x12; jalr x1, x11, 0)

  /* ---- the U bit from S: no execution ever, data only with SUM ---- */
  TEST_PF(27, CAUSE_LOAD_PAGE_FAULT, VA_USER, lw x14, 0(x11))
  TEST_PF(28, CAUSE_STORE_PAGE_FAULT, VA_USER, sw x14, 0(x11))
  TEST_CASE(29, x14, 0x55555555, li x11, MSTATUS_SUM; csrs sstatus, x11; li x11, VA_USER; lw x14, 0(x11))
  TEST_CASE(30, x14, 0x66666666, li x11, VA_USER; li x12, 0x66666666; sw x12, 4(x11); lw x14, 4(x11))
  TEST_PF(31, CAUSE_FETCH_PAGE_FAULT, VA_UCODE, jalr x0, x11, 0)       /* SUM does not allow execution */
  TEST_CASE(32, x14, 0, li x11, MSTATUS_SUM; csrc sstatus, x11; li x14, 0)

  /* ---- sfence.vma after changing a PTE: VA_MOVING from dpage0 to dpage1, then invalid ---- */
  TEST_CASE(33, x14, 0x11111111, li x11, VA_MOVING; lw x14, 0(x11))
  TEST_CASE(34, x14, 0x55555555, PTE_FOR(x12, dpage1, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D); SET_L0(VA_MOVING, x12); sfence.vma; li x11, VA_MOVING; lw x14, 0(x11))
  TEST_CASE(35, x14, 0x55555555, li x11, VA_MOVING; sfence.vma x11, x0; lw x14, 0(x11))   /* address-specific form */
  TEST_PF(36, CAUSE_LOAD_PAGE_FAULT, VA_MOVING, SET_L0(VA_MOVING, x0); li x11, VA_MOVING; sfence.vma x11; lw x14, 0(x11))

  BACK_TO_M

  /* ---- U mode: its own pages work, S pages fault ---- */
test_37:
  li TESTNUM, 37
  RUN_U(u_load, VA_USER)
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_ECALL_U)
  CHECK_REG(a0, 0x55555555)
test_38:
  li TESTNUM, 38
  RUN_U(u_load, VA_RW)
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_LOAD_PAGE_FAULT)
  CHECK_TRAP(trap_record, TR_TVAL, VA_RW)
test_39:
  li TESTNUM, 39
  RUN_U(u_store, VA_RW + 8)
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_STORE_PAGE_FAULT)
  CHECK_TRAP(trap_record, TR_TVAL, VA_RW + 8)
test_40:
  li TESTNUM, 40
  RUN_U(u_jump, VA_SCODE)
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_FETCH_PAGE_FAULT)
  CHECK_TRAP(trap_record, TR_TVAL, VA_SCODE)
  CHECK_TRAP(trap_record, TR_EPC, VA_SCODE)
test_41:
  li TESTNUM, 41
  RUN_U(u_load, VA_IDENT + 0x1000)        /* the identity megapage is supervisor-only */
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_LOAD_PAGE_FAULT)
test_42:
  li TESTNUM, 42
  li x11, MSTATUS_SUM                      /* SUM changes nothing for U */
  csrs mstatus, x11
  RUN_U(u_load, VA_RW)
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_LOAD_PAGE_FAULT)
  li x11, MSTATUS_SUM
  csrc mstatus, x11
test_43:
  li TESTNUM, 43
  RUN_U(u_store, VA_USER + 8)
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_ECALL_U)
  la x11, dpage1
  lw x14, 8(x11)
  CHECK_REG(x14, 0x0000abcd)

  /* ---- M-mode with MPRV = 1, MPP = S: loads and stores translated as S ---- */
test_44:
  li TESTNUM, 44
  li x11, MSTATUS_MPP
  csrc mstatus, x11
  li x11, MSTATUS_MPRV | MSTATUS_MPP_S
  csrs mstatus, x11
  li x12, VA_RW
  lw x14, 0(x12)
  li x13, 0x12121212
  sw x13, 12(x12)
  li x11, MSTATUS_MPRV
  csrc mstatus, x11
  CHECK_REG(x14, 0x11111111)
  la x12, dpage0_word
  lw x14, 12(x12)
  CHECK_REG(x14, 0x12121212)
  /* ...and faults as S: the U page without SUM */
test_45:
  li TESTNUM, 45
  ARM_TRAP_AT(trap_record, 2f)
  li x11, MSTATUS_MPRV | MSTATUS_MPP_S
  csrs mstatus, x11
  li x12, VA_USER
  lw x14, 0(x12)
  li x11, MSTATUS_MPRV
  csrc mstatus, x11
  j fail
2:li x11, MSTATUS_MPRV           /* first, before any load: stop translating M's data accesses */
  csrc mstatus, x11
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_LOAD_PAGE_FAULT)
  CHECK_TRAP(trap_record, TR_TVAL, VA_USER)
  /* M's own fetches are never translated, whatever satp says */
  TEST_CASE(46, x14, 0x11111111, la x11, dpage0_word; lw x14, 0(x11))

  /* ---- page faults delegated to S: scause, sepc and stval, handled under translation ---- */
  li x11, (1 << CAUSE_FETCH_PAGE_FAULT) | (1 << CAUSE_LOAD_PAGE_FAULT) | (1 << CAUSE_STORE_PAGE_FAULT)
  csrw medeleg, x11
  GO_TO_MODE(PRV_S)
  TEST_PF_S(47, CAUSE_LOAD_PAGE_FAULT, VA_INVALID + 8, lw x14, 0(x11))
  TEST_PF_S(48, CAUSE_STORE_PAGE_FAULT, VA_RONLY + 12, sw x14, 0(x11))
  TEST_PF_S(49, CAUSE_FETCH_PAGE_FAULT, VA_UCODE, jalr x0, x11, 0)
  TEST_CASE(50, x14, 0, CHECK_TRAP(strap_record, TR_EPC, VA_UCODE); li x14, 0)
  TEST_PF_S(51, CAUSE_LOAD_PAGE_FAULT, VA_MISMEGA + 0x123, lw x14, 0(x11))
  BACK_TO_M
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_ECALL_S)
  csrw medeleg, zero

  csrw satp, zero
  sfence.vma

RVTEST_CODE_END

  .text
/* Code mapped at VA_UCODE (user) and VA_SCODE (supervisor). Position-independent. */
  .balign 4096
upage_code:
u_load:
  lw a0, 0(a1)
  ecall
u_store:
  li a0, 0xabcd
  sw a0, 0(a1)
  ecall
u_jump:
  jr a1
s_ret777:
  li x14, 0x777
  ret
  .balign 4096

RVTEST_DATA_BEGIN
  .balign 4096
root_pt: .skip 4096
l0_pt:   .skip 4096
dpage0:
dpage0_word: .word 0x11111111, 0, 0, 0
  .balign 4096
dpage1: .word 0x55555555, 0, 0, 0
  .balign 4096
dpage2: .word 0x44444444
  .balign 4096
dpage3: .word 0x33333333
  .balign 4096
scratch_word: .word 0
RVTEST_DATA_END
