#include "test.h"

/* rv32ui-branch: every conditional branch taken and not taken at the signed/unsigned
 * edges (0, -1, INT_MIN, INT_MAX), both directions of offset; jal and jalr with their link values
 * (pc+4), jalr with rd == rs1, an odd target whose low bit jalr clears, and x0 as link register. */

RVTEST_CODE_BEGIN

  /* beq */
  TEST_BR2_TAKEN(1, beq, 0x00000000, 0x00000000)
  TEST_BR2_TAKEN(2, beq, 0x00000001, 0x00000001)
  TEST_BR2_TAKEN(3, beq, 0xffffffff, 0xffffffff)
  TEST_BR2_NOTTAKEN(4, beq, 0x00000000, 0x00000001)
  TEST_BR2_NOTTAKEN(5, beq, 0x00000001, 0x00000000)
  TEST_BR2_NOTTAKEN(6, beq, 0xffffffff, 0x00000000)
  TEST_BR2_NOTTAKEN(7, beq, 0x00000000, 0xffffffff)
  TEST_BR2_NOTTAKEN(8, beq, 0x80000000, 0x7fffffff)
  TEST_BR2_NOTTAKEN(9, beq, 0x7fffffff, 0x80000000)
  TEST_BR2_TAKEN(10, beq, 0x80000000, 0x80000000)
  TEST_BR2_NOTTAKEN(11, beq, 0xffffffff, 0x80000000)
  TEST_BR2_NOTTAKEN(12, beq, 0x80000000, 0xffffffff)
  TEST_BR2_NOTTAKEN(13, beq, 0xfffffffe, 0xffffffff)
  /* beq taken backwards: the loop runs twice */
  TEST_CASE(14, x13, 2, li x13, 0; li x11, 0x00000000; li x12, 0x00000000; 1: addi x13, x13, 1; li x14, 2; beq x13, x14, 2f; beq x11, x12, 1b; 2:)
  /* bne */
  TEST_BR2_NOTTAKEN(15, bne, 0x00000000, 0x00000000)
  TEST_BR2_NOTTAKEN(16, bne, 0x00000001, 0x00000001)
  TEST_BR2_NOTTAKEN(17, bne, 0xffffffff, 0xffffffff)
  TEST_BR2_TAKEN(18, bne, 0x00000000, 0x00000001)
  TEST_BR2_TAKEN(19, bne, 0x00000001, 0x00000000)
  TEST_BR2_TAKEN(20, bne, 0xffffffff, 0x00000000)
  TEST_BR2_TAKEN(21, bne, 0x00000000, 0xffffffff)
  TEST_BR2_TAKEN(22, bne, 0x80000000, 0x7fffffff)
  TEST_BR2_TAKEN(23, bne, 0x7fffffff, 0x80000000)
  TEST_BR2_NOTTAKEN(24, bne, 0x80000000, 0x80000000)
  TEST_BR2_TAKEN(25, bne, 0xffffffff, 0x80000000)
  TEST_BR2_TAKEN(26, bne, 0x80000000, 0xffffffff)
  TEST_BR2_TAKEN(27, bne, 0xfffffffe, 0xffffffff)
  /* bne taken backwards: the loop runs twice */
  TEST_CASE(28, x13, 2, li x13, 0; li x11, 0x00000000; li x12, 0x00000001; 1: addi x13, x13, 1; li x14, 2; beq x13, x14, 2f; bne x11, x12, 1b; 2:)
  /* blt */
  TEST_BR2_NOTTAKEN(29, blt, 0x00000000, 0x00000000)
  TEST_BR2_NOTTAKEN(30, blt, 0x00000001, 0x00000001)
  TEST_BR2_NOTTAKEN(31, blt, 0xffffffff, 0xffffffff)
  TEST_BR2_TAKEN(32, blt, 0x00000000, 0x00000001)
  TEST_BR2_NOTTAKEN(33, blt, 0x00000001, 0x00000000)
  TEST_BR2_TAKEN(34, blt, 0xffffffff, 0x00000000)
  TEST_BR2_NOTTAKEN(35, blt, 0x00000000, 0xffffffff)
  TEST_BR2_TAKEN(36, blt, 0x80000000, 0x7fffffff)
  TEST_BR2_NOTTAKEN(37, blt, 0x7fffffff, 0x80000000)
  TEST_BR2_NOTTAKEN(38, blt, 0x80000000, 0x80000000)
  TEST_BR2_NOTTAKEN(39, blt, 0xffffffff, 0x80000000)
  TEST_BR2_TAKEN(40, blt, 0x80000000, 0xffffffff)
  TEST_BR2_TAKEN(41, blt, 0xfffffffe, 0xffffffff)
  /* blt taken backwards: the loop runs twice */
  TEST_CASE(42, x13, 2, li x13, 0; li x11, 0x00000000; li x12, 0x00000001; 1: addi x13, x13, 1; li x14, 2; beq x13, x14, 2f; blt x11, x12, 1b; 2:)
  /* bge */
  TEST_BR2_TAKEN(43, bge, 0x00000000, 0x00000000)
  TEST_BR2_TAKEN(44, bge, 0x00000001, 0x00000001)
  TEST_BR2_TAKEN(45, bge, 0xffffffff, 0xffffffff)
  TEST_BR2_NOTTAKEN(46, bge, 0x00000000, 0x00000001)
  TEST_BR2_TAKEN(47, bge, 0x00000001, 0x00000000)
  TEST_BR2_NOTTAKEN(48, bge, 0xffffffff, 0x00000000)
  TEST_BR2_TAKEN(49, bge, 0x00000000, 0xffffffff)
  TEST_BR2_NOTTAKEN(50, bge, 0x80000000, 0x7fffffff)
  TEST_BR2_TAKEN(51, bge, 0x7fffffff, 0x80000000)
  TEST_BR2_TAKEN(52, bge, 0x80000000, 0x80000000)
  TEST_BR2_TAKEN(53, bge, 0xffffffff, 0x80000000)
  TEST_BR2_NOTTAKEN(54, bge, 0x80000000, 0xffffffff)
  TEST_BR2_NOTTAKEN(55, bge, 0xfffffffe, 0xffffffff)
  /* bge taken backwards: the loop runs twice */
  TEST_CASE(56, x13, 2, li x13, 0; li x11, 0x00000000; li x12, 0x00000000; 1: addi x13, x13, 1; li x14, 2; beq x13, x14, 2f; bge x11, x12, 1b; 2:)
  /* bltu */
  TEST_BR2_NOTTAKEN(57, bltu, 0x00000000, 0x00000000)
  TEST_BR2_NOTTAKEN(58, bltu, 0x00000001, 0x00000001)
  TEST_BR2_NOTTAKEN(59, bltu, 0xffffffff, 0xffffffff)
  TEST_BR2_TAKEN(60, bltu, 0x00000000, 0x00000001)
  TEST_BR2_NOTTAKEN(61, bltu, 0x00000001, 0x00000000)
  TEST_BR2_NOTTAKEN(62, bltu, 0xffffffff, 0x00000000)
  TEST_BR2_TAKEN(63, bltu, 0x00000000, 0xffffffff)
  TEST_BR2_NOTTAKEN(64, bltu, 0x80000000, 0x7fffffff)
  TEST_BR2_TAKEN(65, bltu, 0x7fffffff, 0x80000000)
  TEST_BR2_NOTTAKEN(66, bltu, 0x80000000, 0x80000000)
  TEST_BR2_NOTTAKEN(67, bltu, 0xffffffff, 0x80000000)
  TEST_BR2_TAKEN(68, bltu, 0x80000000, 0xffffffff)
  TEST_BR2_TAKEN(69, bltu, 0xfffffffe, 0xffffffff)
  /* bltu taken backwards: the loop runs twice */
  TEST_CASE(70, x13, 2, li x13, 0; li x11, 0x00000000; li x12, 0x00000001; 1: addi x13, x13, 1; li x14, 2; beq x13, x14, 2f; bltu x11, x12, 1b; 2:)
  /* bgeu */
  TEST_BR2_TAKEN(71, bgeu, 0x00000000, 0x00000000)
  TEST_BR2_TAKEN(72, bgeu, 0x00000001, 0x00000001)
  TEST_BR2_TAKEN(73, bgeu, 0xffffffff, 0xffffffff)
  TEST_BR2_NOTTAKEN(74, bgeu, 0x00000000, 0x00000001)
  TEST_BR2_TAKEN(75, bgeu, 0x00000001, 0x00000000)
  TEST_BR2_TAKEN(76, bgeu, 0xffffffff, 0x00000000)
  TEST_BR2_NOTTAKEN(77, bgeu, 0x00000000, 0xffffffff)
  TEST_BR2_TAKEN(78, bgeu, 0x80000000, 0x7fffffff)
  TEST_BR2_NOTTAKEN(79, bgeu, 0x7fffffff, 0x80000000)
  TEST_BR2_TAKEN(80, bgeu, 0x80000000, 0x80000000)
  TEST_BR2_TAKEN(81, bgeu, 0xffffffff, 0x80000000)
  TEST_BR2_NOTTAKEN(82, bgeu, 0x80000000, 0xffffffff)
  TEST_BR2_NOTTAKEN(83, bgeu, 0xfffffffe, 0xffffffff)
  /* bgeu taken backwards: the loop runs twice */
  TEST_CASE(84, x13, 2, li x13, 0; li x11, 0x00000000; li x12, 0x00000000; 1: addi x13, x13, 1; li x14, 2; beq x13, x14, 2f; bgeu x11, x12, 1b; 2:)

  /* jal: link = pc+4, target taken, forward and backward */
  TEST_CASE(85, x14, 0, jal x1, 1f; 2: j fail; 1: la x15, 2b; sub x14, x1, x15)
  TEST_CASE(86, x14, 3, li x14, 0; j 2f; 1: addi x14, x14, 2; j 3f; 2: addi x14, x14, 1; jal x0, 1b; 3:)
  TEST_CASE(87, x5, 0, li x5, 0; jal x5, 1f; 2: j fail; 1: la x15, 2b; sub x5, x5, x15)
  TEST_CASE(88, x0, 0, jal x0, 1f; j fail; 1:)   /* j: x0 link discarded */
  /* jalr: target = (rs1 + imm) & ~1, link = pc+4 */
  TEST_CASE(89, x14, 0, la x11, 1f; jalr x1, x11, 0; 2: j fail; 1: la x15, 2b; sub x14, x1, x15)
  TEST_CASE(90, x14, 0, la x11, 1f; addi x11, x11, -8; jalr x1, x11, 8; 2: j fail; 1: la x15, 2b; sub x14, x1, x15)
  TEST_CASE(91, x14, 0, la x11, 1f; addi x11, x11, 8; jalr x1, x11, -8; 2: j fail; 1: la x15, 2b; sub x14, x1, x15)
  TEST_CASE(92, x14, 0, la x11, 1f; jalr x1, x11, 1; 2: j fail; .balign 4; 1: la x15, 2b; sub x14, x1, x15) /* odd target: low bit cleared */
  TEST_CASE(93, x14, 0, la x11, 1f; addi x11, x11, 1; jalr x1, x11, 0; 2: j fail; .balign 4; 1: la x15, 2b; sub x14, x1, x15)
  TEST_CASE(94, x14, 0, la x11, 1f; jalr x11, x11, 0; 2: j fail; 1: la x15, 2b; sub x14, x11, x15) /* rd == rs1: target from the old value */
  TEST_CASE(95, x14, 0, la x11, 1f; jalr x0, x11, 0; j fail; 1: li x14, 0)
  TEST_CASE(96, x14, 7, li x14, 0; jal x1, 1f; addi x14, x14, 4; j 2f; 1: addi x14, x14, 3; ret; 2:) /* call and return */
  TEST_CASE(97, x14, 0, la x1, 1f; jalr x1, x1, 0; 2: j fail; 1: la x15, 2b; sub x14, x1, x15) /* ra as rd and rs1 */

RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END

