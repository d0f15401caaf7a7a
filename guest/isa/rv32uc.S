#include "test.h"

/*
 * rv32uc: every RV32C instruction, written with its c. mnemonic so the encoding is the 16-bit
 * one: c.addi4spn, c.lw, c.sw, c.nop, c.addi, c.jal, c.li, c.addi16sp, c.lui, c.srli, c.srai,
 * c.andi, c.sub, c.xor, c.or, c.and, c.j, c.beqz, c.bnez, c.slli, c.lwsp, c.swsp, c.jr, c.jalr,
 * c.mv, c.add, c.ebreak. Link values are pc+2. 32-bit instructions at addresses that are 2
 * mod 4, jumps to such addresses, and a 32-bit instruction straddling a 4 KiB page boundary.
 */

RVTEST_CODE_BEGIN

  la sp, stack_top

  /* c.addi4spn: rd' = sp + nzuimm (a multiple of 4, 4..1020) */
  TEST_CASE(1, x14, 4, c.addi4spn a0, sp, 4; sub x14, a0, sp)
  TEST_CASE(2, x14, 1020, c.addi4spn a5, sp, 1020; sub x14, a5, sp)
  TEST_CASE(3, x14, 512, c.addi4spn s0, sp, 512; sub x14, s0, sp)

  /* c.lw / c.sw: offsets 0..124, word-scaled, rs1' and rd'/rs2' in x8..x15 */
  TEST_CASE(4, x14, 0x80000001, la a0, cdat; lw a1, 0(a0); c.sw a1, 0(a0); c.lw a2, 0(a0); mv x14, a2)
  TEST_CASE(5, x14, 0x0000ff00, la a0, cdat; c.lw a2, 4(a0); mv x14, a2)
  TEST_CASE(6, x14, 0xdeadbeef, la a0, cdat; li a1, 0xdeadbeef; c.sw a1, 124(a0); c.lw a3, 124(a0); lw x14, 124(a0))
  TEST_CASE(7, x14, 0x12345678, la s1, cdat; li s0, 0x12345678; c.sw s0, 64(s1); c.lw a5, 64(s1); mv x14, a5)
  TEST_CASE(8, x14, 0x0000ff00, la a0, cdat; c.lw a0, 4(a0); mv x14, a0)   /* rd' == rs1' */

  /* c.nop, c.addi (nonzero imm -32..31) */
  TEST_CASE(9, x14, 5, li x14, 5; c.nop; c.nop)
  TEST_CASE(10, x14, 0x00000020, li x14, 1; c.addi x14, 31)
  TEST_CASE(11, x14, 0xffffffe1, li x14, 1; c.addi x14, -32)
  TEST_CASE(12, x14, 0x80000000, li x14, 0x7fffffff; c.addi x14, 1)
  TEST_CASE(13, x1, 0x00000003, li x1, 4; c.addi x1, -1)

  /* c.li: rd = sext(imm6) */
  TEST_CASE(14, x14, 31, li x14, 0x55; c.li x14, 31)
  TEST_CASE(15, x14, 0xffffffe0, c.li x14, -32)
  TEST_CASE(16, x14, 0, li x14, 7; c.li x14, 0)
  TEST_CASE(17, x31, 0xffffffff, c.li x31, -1)

  /* c.addi16sp: sp += nzimm (a multiple of 16, -512..496) */
  TEST_CASE(18, x14, 496, mv x15, sp; c.addi16sp sp, 496; sub x14, sp, x15; mv sp, x15)
  TEST_CASE(19, x14, 0xfffffe00, mv x15, sp; c.addi16sp sp, -512; sub x14, sp, x15; mv sp, x15)
  TEST_CASE(20, x14, 16, mv x15, sp; c.addi16sp sp, 16; sub x14, sp, x15; mv sp, x15)

  /* c.lui: rd = sext(nzimm6 << 12), rd not x0/x2 */
  TEST_CASE(21, x14, 0x00001000, c.lui x14, 1)
  TEST_CASE(22, x14, 0x0001f000, c.lui x14, 31)
  TEST_CASE(23, x14, 0xfffe0000, c.lui x14, 0xfffe0)
  TEST_CASE(24, x14, 0xfffff000, c.lui x14, 0xfffff)
  TEST_CASE(25, x1, 0x00005000, li x1, -1; c.lui x1, 5)

  /* c.srli / c.srai (shamt 1..31), c.andi (sext imm6), on rd' */
  TEST_CASE(26, x14, 0x40000000, li a0, 0x80000000; c.srli a0, 1; mv x14, a0)
  TEST_CASE(27, x14, 0x00000001, li a0, 0x80000000; c.srli a0, 31; mv x14, a0)
  TEST_CASE(28, x14, 0xc0000000, li a0, 0x80000000; c.srai a0, 1; mv x14, a0)
  TEST_CASE(29, x14, 0xffffffff, li a0, 0x80000000; c.srai a0, 31; mv x14, a0)
  TEST_CASE(30, x14, 0x00000001, li a0, 0x7fffffff; c.srai a0, 30; mv x14, a0)
  TEST_CASE(31, x14, 0x0000001f, li s1, 0x12345fff; c.andi s1, 31; mv x14, s1)
  TEST_CASE(32, x14, 0x12345fe0, li s1, 0x12345fff; c.andi s1, -32; mv x14, s1)
  TEST_CASE(33, x14, 0x00000000, li s1, 0x12345fff; c.andi s1, 0; mv x14, s1)

  /* c.sub / c.xor / c.or / c.and on rd', rs2' */
  TEST_CASE(34, x14, 0x7fffffff, li a0, 0x80000000; li a1, 1; c.sub a0, a1; mv x14, a0)
  TEST_CASE(35, x14, 0x00000000, li a0, 0x1234; c.sub a0, a0; mv x14, a0)
  TEST_CASE(36, x14, 0xf00ff00f, li a2, 0xff00ff00; li a3, 0x0f0f0f0f; c.xor a2, a3; mv x14, a2)
  TEST_CASE(37, x14, 0xff0fff0f, li a2, 0xff00ff00; li a3, 0x0f0f0f0f; c.or a2, a3; mv x14, a2)
  TEST_CASE(38, x14, 0x0f000f00, li a2, 0xff00ff00; li a3, 0x0f0f0f0f; c.and a2, a3; mv x14, a2)
  TEST_CASE(39, x14, 0xffffffff, li s0, 0; li a5, 1; c.sub s0, a5; mv x14, s0)

  /* c.slli (shamt 1..31) on any rd */
  TEST_CASE(40, x14, 0x80000000, li x14, 1; c.slli x14, 31)
  TEST_CASE(41, x14, 0x2468acf0, li x14, 0x12345678; c.slli x14, 1)
  TEST_CASE(42, x1, 0x56780000, li x1, 0x12345678; c.slli x1, 16)

  /* c.lwsp / c.swsp: sp-relative, offsets 0..252, word-scaled, any rd */
  TEST_CASE(43, x14, 0xcafef00d, li x15, 0xcafef00d; c.swsp x15, 0(sp); c.lwsp x14, 0(sp))
  TEST_CASE(44, x14, 0x01020304, li x15, 0x01020304; c.swsp x15, 252(sp); c.lwsp x14, 252(sp); lw x13, 252(sp); beq x13, x14, 1f; j fail; 1:)
  TEST_CASE(45, x1, 0x0badf00d, li x20, 0x0badf00d; c.swsp x20, 128(sp); c.lwsp x1, 128(sp))

  /* c.mv / c.add: any rd, rs2 != x0 */
  TEST_CASE(46, x14, 0x13579bdf, li x20, 0x13579bdf; c.mv x14, x20)
  TEST_CASE(47, x14, 0x00000000, li x20, 0x7fffffff; li x14, 0x80000001; c.add x14, x20)
  TEST_CASE(48, x14, 0x00000008, li x14, 4; c.add x14, x14)

  /* c.j forwards and backwards */
  TEST_CASE(49, x14, 3, li x14, 0; c.j 2f; 1: addi x14, x14, 2; c.j 3f; 2: addi x14, x14, 1; c.j 1b; 3:)

  /* c.jal: link = pc+2 (RV32 only) */
  TEST_CASE(50, x14, 2, 1: c.jal 2f; j fail; 2: la x15, 1b; sub x14, x1, x15)
  TEST_CASE(51, x14, 9, li x14, 0; c.jal 1f; addi x14, x14, 8; j 2f; 1: addi x14, x14, 1; ret; 2:)

  /* c.jr, c.jalr: target from the register, c.jalr links pc+2 in ra */
  TEST_CASE(52, x14, 0, la x11, 1f; c.jr x11; j fail; 1: li x14, 0)
  TEST_CASE(53, x14, 2, la x11, 2f; 1: c.jalr x11; j fail; 2: la x15, 1b; sub x14, x1, x15)
  TEST_CASE(54, x14, 2, la x1, 2f; 1: c.jalr x1; j fail; 2: la x15, 1b; sub x14, x1, x15)  /* rs1 == ra: target read before the link write */
  TEST_CASE(55, x14, 0, la x11, 1f; addi x11, x11, 1; c.jr x11; j fail; .balign 4; 1: li x14, 0)   /* low bit cleared */

  /* c.beqz / c.bnez on rs1', taken and not taken, forwards and backwards */
  TEST_CASE(56, x14, 0, li a0, 0; c.beqz a0, 1f; j fail; 1: li x14, 0)
  TEST_CASE(57, x14, 0, li a0, 1; c.beqz a0, 1f; li x14, 0; j 2f; 1: j fail; 2:)
  TEST_CASE(58, x14, 0, li a0, 0x80000000; c.bnez a0, 1f; j fail; 1: li x14, 0)
  TEST_CASE(59, x14, 0, li a0, 0; c.bnez a0, 1f; li x14, 0; j 2f; 1: j fail; 2:)
  TEST_CASE(60, x14, 3, li x14, 0; li s0, 3; 1: addi x14, x14, 1; c.addi s0, -1; c.bnez s0, 1b)
  TEST_CASE(61, x14, 2, li x14, 0; li s1, 0; li s0, 1; 1: addi x14, x14, 1; c.bnez s1, 2f; li s1, 1; c.beqz s0, 2f; c.j 1b; 2:)

  /* c.ebreak: breakpoint (3) with mepc at the 2-byte instruction; the handler steps over it
   * by its length. mtval may be 0 or the pc. */
test_62:
  li TESTNUM, 62
  ARM_TRAP_NEXT(trap_record)
1:c.ebreak
  CHECK_TRAP(trap_record, TR_CAUSE, CAUSE_BREAKPOINT)
  CHECK_TRAP_LABEL(trap_record, TR_EPC, 1b)

  /* 32-bit instructions at addresses 2 mod 4, reached by falling through and by jumps */
test_63:
  li TESTNUM, 63
  .balign 4
  c.li x14, 0
  .option push
  .option norvc
  addi x14, x14, 7         /* at 2 mod 4 */
  addi x14, x14, 1
  .option pop
  CHECK_REG(x14, 8)
test_64:
  li TESTNUM, 64
  .balign 4
  c.j 1f
1:.option push              /* 1: is 2 mod 4 */
  .option norvc
  li x14, 0
  jal x1, 2f
  .option pop
2:la x15, 1b
  sub x14, x1, x15
  CHECK_REG(x14, 8)         /* link of a 32-bit jal is pc+4 even when pc is 2 mod 4 */
  la x15, 1b
  andi x15, x15, 3
  CHECK_REG(x15, 2)
test_65:
  li TESTNUM, 65
  la x11, straddle_fn
  li x14, 0
  jalr x1, x11, 0
  CHECK_REG(x14, 1)         /* the 32-bit addi across the page boundary ran once */
  la x11, straddle_insn
  li x15, 0xfff
  and x11, x11, x15
  CHECK_REG(x11, 4094)        /* and it really sat at offset 4094 of its page */

RVTEST_CODE_END

  .text
  /* a run of c.nop filling a page up to offset 4094, then a 32-bit instruction whose two
   * halves lie in different 4 KiB pages */
  .balign 4096
straddle_fn:
  .fill 2047, 2, 0x0001
straddle_insn:
  .option push
  .option norvc
  addi x14, x14, 1
  .option pop
  ret

RVTEST_DATA_BEGIN
  .balign 16
cdat: .word 0x80000001, 0x0000ff00
  .skip 128
  .balign 16
stack: .skip 2048
stack_top: .skip 1024
RVTEST_DATA_END
