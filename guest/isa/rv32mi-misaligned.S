#include "test.h"

/*
 * rv32mi-misaligned: misaligned loads and stores. The spec lets a hart either perform them or
 * trap; QEMU's hart performs them, and so must rvisor to agree with it. Every width at every
 * misaligned offset, little-endian byte order, sign extension, stores that touch exactly
 * their bytes, and accesses that straddle a 4 KiB page boundary. No trap may occur (an
 * unarmed trap fails the test).
 */

RVTEST_CODE_BEGIN

  /* loads from mdat = 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff */
  TEST_LD_OP(1, lh, 0x00002211, 1, mdat)
  TEST_LD_OP(2, lh, 0x00004433, 3, mdat)
  TEST_LD_OP(3, lh, 0xffff9988, 8, mdat)
  TEST_LD_OP(4, lh, 0xffffaa99, 9, mdat)
  TEST_LD_OP(5, lhu, 0x0000aa99, 9, mdat)
  TEST_LD_OP(6, lhu, 0x0000ccbb, 11, mdat)
  TEST_LD_OP(7, lhu, 0x0000eedd, 13, mdat)
  TEST_LD_OP(8, lw, 0x44332211, 1, mdat)
  TEST_LD_OP(9, lw, 0x55443322, 2, mdat)
  TEST_LD_OP(10, lw, 0x66554433, 3, mdat)
  TEST_LD_OP(11, lw, 0xccbbaa99, 9, mdat)
  TEST_LD_OP(12, lw, 0xffeeddcc, 12, mdat)
  TEST_LD_OP(13, lw, 0xeeddccbb, 11, mdat)
  TEST_LD_OP(14, lh, 0xffff8877, -9, mdat_end)   /* negative offset: bytes 7, 8 */
  TEST_LD_OP(15, lw, 0x9a9a9a9a, -1, mfill_end)

  /* stores: exactly the addressed bytes change */
  TEST_CASE(16, x14, 0x00abcd00, la x11, sdat; sw x0, 0(x11); sw x0, 4(x11); li x12, 0xabcd; sh x12, 1(x11); lw x14, 0(x11))
  TEST_CASE(17, x14, 0xcd000000, la x11, sdat; sw x0, 0(x11); sw x0, 4(x11); li x12, 0xabcd; sh x12, 3(x11); lw x14, 0(x11); lw x15, 4(x11); CHECK_REG(x15, 0x000000ab))
  TEST_CASE(18, x14, 0x33221100, la x11, sdat; li x12, 0x11000000; sw x12, 0(x11); sw x0, 4(x11); li x12, 0x00332211; sw x12, 1(x11); lw x14, 0(x11))
  TEST_CASE(19, x14, 0x22110000, la x11, sdat; sw x0, 0(x11); sw x0, 4(x11); li x12, 0x44332211; sw x12, 2(x11); lw x14, 0(x11); lw x15, 4(x11); CHECK_REG(x15, 0x00004433))
  TEST_CASE(20, x14, 0x11000000, la x11, sdat; sw x0, 0(x11); sw x0, 4(x11); li x12, 0x44332211; sw x12, 3(x11); lw x14, 0(x11); lw x15, 4(x11); CHECK_REG(x15, 0x00443322))
  TEST_CASE(21, x14, 0x44332211, la x11, sdat; li x12, 0x44332211; sw x12, 5(x11); lw x14, 5(x11))
  TEST_CASE(22, x14, 0xffff8001, la x11, sdat; li x12, 0x8001; sh x12, 7(x11); lh x14, 7(x11))

  /* across a 4 KiB page boundary: the access starts in one page and ends in the next */
  TEST_CASE(23, x14, 0x04030201, la x11, page2; li x12, 0x04030201; sw x12, -1(x11); lw x14, -1(x11); lbu x15, -1(x11); CHECK_REG(x15, 0x01); lbu x15, 0(x11); CHECK_REG(x15, 0x02))
  TEST_CASE(24, x14, 0x08070605, la x11, page2; li x12, 0x08070605; sw x12, -2(x11); lw x14, -2(x11); lhu x15, 0(x11); CHECK_REG(x15, 0x0807))
  TEST_CASE(25, x14, 0x0c0b0a09, la x11, page2; li x12, 0x0c0b0a09; sw x12, -3(x11); lw x14, -3(x11); lbu x15, 0(x11); CHECK_REG(x15, 0x0c))
  TEST_CASE(26, x14, 0xffffbeef, la x11, page2; li x12, 0xbeef; sh x12, -1(x11); lh x14, -1(x11); lbu x15, 0(x11); CHECK_REG(x15, 0xbe))
  TEST_CASE(27, x14, 0x0000beef, la x11, page2; lhu x14, -1(x11))

RVTEST_CODE_END

RVTEST_DATA_BEGIN
  .balign 16
mdat: .byte 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff
mdat_end:
mfill: .byte 0x9a, 0x9a, 0x9a, 0x9a, 0x9a, 0x9a, 0x9a, 0x9a
mfill_end: .byte 0x9a, 0x9a, 0x9a, 0x9a
  .balign 16
sdat: .word 0, 0, 0, 0
  .balign 4096
page1: .skip 4096
page2: .skip 16
RVTEST_DATA_END
