#include "test.h"

/* rv32ui-mem: every load and store width; sign extension (lb, lh) against zero extension
 * (lbu, lhu) on bytes with the top bit set and clear; positive and negative offsets; stores
 * writing only their own bytes; x0 as load destination; fence and fence.i. */

RVTEST_CODE_BEGIN

  /* lb */
  TEST_LD_OP(1, lb, 0xffffffff, 0, tdat)
  TEST_LD_OP(2, lb, 0x00000000, 1, tdat)
  TEST_LD_OP(3, lb, 0x00000000, 3, tdat)
  TEST_LD_OP(4, lb, 0x00000000, 4, tdat)
  TEST_LD_OP(5, lb, 0x00000000, 6, tdat)
  TEST_LD_OP(6, lb, 0xffffffff, 7, tdat)
  TEST_LD_OP(7, lb, 0x0000000f, 9, tdat)
  TEST_LD_OP(8, lb, 0xfffffff0, 10, tdat)
  TEST_LD_OP(9, lb, 0x0000000f, 12, tdat)
  TEST_LD_OP(10, lb, 0xfffffff0, 13, tdat)
  TEST_LD_OP(11, lb, 0xfffffff0, 15, tdat)
  TEST_LD_OP(12, lb, 0xfffffff0, -1, tdat_end)
  TEST_LD_OP(13, lb, 0x0000000f, -2, tdat_end)
  TEST_CASE(14, x14, 0x00000000, la x11, tdat; addi x11, x11, -32; lb x14, 32+1(x11))
  TEST_CASE(15, x14, 0x00000000, la x11, tdat; addi x11, x11, 2000; lb x14, -2000+1(x11))
  TEST_CASE(16, x11, 0xffffffff, la x11, tdat; lb x11, 0(x11)) /* rd == rs1 */
  TEST_CASE(17, x0, 0, la x11, tdat; lb x0, 0(x11)) /* x0 stays 0 */
  /* lbu */
  TEST_LD_OP(18, lbu, 0x000000ff, 0, tdat)
  TEST_LD_OP(19, lbu, 0x00000000, 1, tdat)
  TEST_LD_OP(20, lbu, 0x00000000, 3, tdat)
  TEST_LD_OP(21, lbu, 0x00000000, 4, tdat)
  TEST_LD_OP(22, lbu, 0x00000000, 6, tdat)
  TEST_LD_OP(23, lbu, 0x000000ff, 7, tdat)
  TEST_LD_OP(24, lbu, 0x0000000f, 9, tdat)
  TEST_LD_OP(25, lbu, 0x000000f0, 10, tdat)
  TEST_LD_OP(26, lbu, 0x0000000f, 12, tdat)
  TEST_LD_OP(27, lbu, 0x000000f0, 13, tdat)
  TEST_LD_OP(28, lbu, 0x000000f0, 15, tdat)
  TEST_LD_OP(29, lbu, 0x000000f0, -1, tdat_end)
  TEST_LD_OP(30, lbu, 0x0000000f, -2, tdat_end)
  TEST_CASE(31, x14, 0x00000000, la x11, tdat; addi x11, x11, -32; lbu x14, 32+1(x11))
  TEST_CASE(32, x14, 0x00000000, la x11, tdat; addi x11, x11, 2000; lbu x14, -2000+1(x11))
  TEST_CASE(33, x11, 0x000000ff, la x11, tdat; lbu x11, 0(x11)) /* rd == rs1 */
  TEST_CASE(34, x0, 0, la x11, tdat; lbu x0, 0(x11)) /* x0 stays 0 */
  /* lh */
  TEST_LD_OP(35, lh, 0x000000ff, 0, tdat)
  TEST_LD_OP(36, lh, 0x000000ff, 2, tdat)
  TEST_LD_OP(37, lh, 0xffffff00, 4, tdat)
  TEST_LD_OP(38, lh, 0xffffff00, 6, tdat)
  TEST_LD_OP(39, lh, 0x00000ff0, 8, tdat)
  TEST_LD_OP(40, lh, 0x00000ff0, 10, tdat)
  TEST_LD_OP(41, lh, 0xfffff00f, 12, tdat)
  TEST_LD_OP(42, lh, 0xfffff00f, 14, tdat)
  TEST_LD_OP(43, lh, 0xfffff00f, -2, tdat_end)
  TEST_LD_OP(44, lh, 0xfffff00f, -4, tdat_end)
  TEST_CASE(45, x14, 0x000000ff, la x11, tdat; addi x11, x11, -32; lh x14, 32+2(x11))
  TEST_CASE(46, x14, 0x000000ff, la x11, tdat; addi x11, x11, 2000; lh x14, -2000+2(x11))
  TEST_CASE(47, x11, 0x000000ff, la x11, tdat; lh x11, 0(x11)) /* rd == rs1 */
  TEST_CASE(48, x0, 0, la x11, tdat; lh x0, 0(x11)) /* x0 stays 0 */
  /* lhu */
  TEST_LD_OP(49, lhu, 0x000000ff, 0, tdat)
  TEST_LD_OP(50, lhu, 0x000000ff, 2, tdat)
  TEST_LD_OP(51, lhu, 0x0000ff00, 4, tdat)
  TEST_LD_OP(52, lhu, 0x0000ff00, 6, tdat)
  TEST_LD_OP(53, lhu, 0x00000ff0, 8, tdat)
  TEST_LD_OP(54, lhu, 0x00000ff0, 10, tdat)
  TEST_LD_OP(55, lhu, 0x0000f00f, 12, tdat)
  TEST_LD_OP(56, lhu, 0x0000f00f, 14, tdat)
  TEST_LD_OP(57, lhu, 0x0000f00f, -2, tdat_end)
  TEST_LD_OP(58, lhu, 0x0000f00f, -4, tdat_end)
  TEST_CASE(59, x14, 0x000000ff, la x11, tdat; addi x11, x11, -32; lhu x14, 32+2(x11))
  TEST_CASE(60, x14, 0x000000ff, la x11, tdat; addi x11, x11, 2000; lhu x14, -2000+2(x11))
  TEST_CASE(61, x11, 0x000000ff, la x11, tdat; lhu x11, 0(x11)) /* rd == rs1 */
  TEST_CASE(62, x0, 0, la x11, tdat; lhu x0, 0(x11)) /* x0 stays 0 */
  /* lw */
  TEST_LD_OP(63, lw, 0x00ff00ff, 0, tdat)
  TEST_LD_OP(64, lw, 0xff00ff00, 4, tdat)
  TEST_LD_OP(65, lw, 0x0ff00ff0, 8, tdat)
  TEST_LD_OP(66, lw, 0xf00ff00f, 12, tdat)
  TEST_LD_OP(67, lw, 0xf00ff00f, -4, tdat_end)
  TEST_LD_OP(68, lw, 0x0ff00ff0, -8, tdat_end)
  TEST_CASE(69, x14, 0xff00ff00, la x11, tdat; addi x11, x11, -32; lw x14, 32+4(x11))
  TEST_CASE(70, x14, 0xff00ff00, la x11, tdat; addi x11, x11, 2000; lw x14, -2000+4(x11))
  TEST_CASE(71, x11, 0x00ff00ff, la x11, tdat; lw x11, 0(x11)) /* rd == rs1 */
  TEST_CASE(72, x0, 0, la x11, tdat; lw x0, 0(x11)) /* x0 stays 0 */
  /* sb: each store writes only its own bytes */
  TEST_ST_OP(73, lbu, sb, 0x000000aa, 0, sdat)
  TEST_ST_OP(74, lbu, sb, 0x0000000a, 1, sdat)
  TEST_ST_OP(75, lbu, sb, 0x000000a0, 2, sdat)
  TEST_ST_OP(76, lbu, sb, 0x00000055, 3, sdat)
  TEST_ST_OP(77, lbu, sb, 0x000000aa, -1, sdat_end)
  TEST_ST_OP(78, lbu, sb, 0x0000000a, -2, sdat_end)
  TEST_CASE(79, x14, 0x000000ef, la x11, sdat; li x12, 0xdeadbeef; sb x12, 0(x11); lbu x14, 0(x11))
  TEST_CASE(80, x14, 0x1122ff44, la x11, sdat; li x12, 0x11223344; sw x12, 0(x11); li x12, 0xff; sb x12, 1(x11); lw x14, 0(x11))
  TEST_CASE(81, x14, 0, la x11, sdat; li x12, 0x1234; sb x12, 0(x11); sb x0, 0(x11); lbu x14, 0(x11)) /* storing x0 stores 0 */
  /* sh: each store writes only its own bytes */
  TEST_ST_OP(82, lhu, sh, 0x0000aa55, 0, sdat)
  TEST_ST_OP(83, lhu, sh, 0x00000aa0, 2, sdat)
  TEST_ST_OP(84, lhu, sh, 0x0000a00a, 4, sdat)
  TEST_ST_OP(85, lhu, sh, 0x000055aa, 6, sdat)
  TEST_ST_OP(86, lhu, sh, 0x0000aa55, -2, sdat_end)
  TEST_ST_OP(87, lhu, sh, 0x00000aa0, -4, sdat_end)
  TEST_CASE(88, x14, 0x0000beef, la x11, sdat; li x12, 0xdeadbeef; sh x12, 0(x11); lhu x14, 0(x11))
  TEST_CASE(89, x14, 0x00ff3344, la x11, sdat; li x12, 0x11223344; sw x12, 0(x11); li x12, 0xff; sh x12, 2(x11); lw x14, 0(x11))
  TEST_CASE(90, x14, 0, la x11, sdat; li x12, 0x1234; sh x12, 0(x11); sh x0, 0(x11); lhu x14, 0(x11)) /* storing x0 stores 0 */
  /* sw: each store writes only its own bytes */
  TEST_ST_OP(91, lw, sw, 0xaa55aa55, 0, sdat)
  TEST_ST_OP(92, lw, sw, 0x0aa00aa0, 4, sdat)
  TEST_ST_OP(93, lw, sw, 0xa00aa00a, 8, sdat)
  TEST_ST_OP(94, lw, sw, 0x12345678, 12, sdat)
  TEST_ST_OP(95, lw, sw, 0xaa55aa55, -4, sdat_end)
  TEST_ST_OP(96, lw, sw, 0x0aa00aa0, -8, sdat_end)
  TEST_CASE(97, x14, 0xdeadbeef, la x11, sdat; li x12, 0xdeadbeef; sw x12, 0(x11); lw x14, 0(x11))
  TEST_CASE(98, x14, 0, la x11, sdat; li x12, 0x1234; sw x12, 0(x11); sw x0, 0(x11); lw x14, 0(x11)) /* storing x0 stores 0 */
  /* sign extension of the loaded value into all 32 bits */
  TEST_CASE(99, x14, 0xffffff80, la x11, sdat; li x12, 0x80; sb x12, 0(x11); lb x14, 0(x11))
  TEST_CASE(100, x14, 0x0000007f, la x11, sdat; li x12, 0x7f; sb x12, 0(x11); lb x14, 0(x11))
  TEST_CASE(101, x14, 0xffff8000, la x11, sdat; li x12, 0x8000; sh x12, 0(x11); lh x14, 0(x11))
  TEST_CASE(102, x14, 0x00007fff, la x11, sdat; li x12, 0x7fff; sh x12, 0(x11); lh x14, 0(x11))
  /* a load right after a store to the same address sees it; a store then load via another base */
  TEST_CASE(103, x14, 0x5a5a5a5a, la x11, sdat; addi x13, x11, 4; li x12, 0x5a5a5a5a; sw x12, 4(x11); lw x14, 0(x13))
  /* fence and fence.i: ordering points; code written with stores then run after fence.i */
  TEST_CASE(104, x14, 9, li x14, 9; fence; fence rw, rw; fence r, w; fence.i)
  TEST_CASE(105, x14, 42, la x11, patch; lw x12, patch_insn; sw x12, 0(x11); fence.i; li x14, 0; jal x1, patch)

RVTEST_CODE_END

  .text
  /* patched at run time to 'li x14, 42' (addi x14, x0, 42), followed by ret */
  .balign 4
  .option push
  .option norvc     /* 4-byte instructions: the patch replaces exactly the first one */
patch: addi x14, x0, 1
  ret
  .option pop

RVTEST_DATA_BEGIN

  .balign 16
tdat: .word 0x00ff00ff, 0xff00ff00, 0x0ff00ff0, 0xf00ff00f
tdat_end: .word 0

  .balign 16
sdat: .word 0, 0, 0, 0
sdat_end: .word 0, 0, 0, 0

patch_insn: .word 0x02a00713 /* addi x14, x0, 42 */

RVTEST_DATA_END

