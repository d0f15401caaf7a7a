/*
 * Start of an M-mode program. Every hart of the board enters here at 0x8000_0000 at once (QEMU's reset
 * vector passes a0 = hartid, a1 = DTB; the hartid is read from mhartid here all the same).
 *
 *   1. traps go to sdk_fatal_trap until the program installs its own handler
 *   2. each hart h < SDK_MAX_HARTS takes the stack below __stack_top - h * 16 KiB; others park
 *   3. hart 0 clears .bss, then raises bss_ready; the other harts wait for it
 *   4. hart 0 calls main(hartid, dtb) and powers off with its return value as the exit code
 *   5. other harts call secondary_main(hartid) if the program has one (a weak symbol), else park
 */
#define STACK_SHIFT 14 /* 16 KiB per hart */
#define MAX_HARTS 8

  .section .text.init, "ax", @progbits
  .globl _start
_start:
  la t0, sdk_fatal_trap
  csrw mtvec, t0
  csrw mie, zero
  csrr s0, mhartid
  mv s1, a1
  li t0, MAX_HARTS
  bgeu s0, t0, park

  la sp, __stack_top
  slli t0, s0, STACK_SHIFT
  sub sp, sp, t0

  bnez s0, secondary

  la t0, __bss_start
  la t1, __bss_end
1:
  bgeu t0, t1, 2f
  sw zero, 0(t0)
  addi t0, t0, 4
  j 1b
2:
  fence rw, rw
  la t0, bss_ready
  li t1, 1
  sw t1, 0(t0)

  mv a0, s0
  mv a1, s1
  call main
  call poweroff

secondary:
  la t0, bss_ready
3:
  lw t1, 0(t0)
  beqz t1, 3b
  fence rw, rw
  /* Absolute address: an undefined weak symbol is 0, which a pc-relative `la` cannot reach. */
  lui t0, %hi(secondary_main)
  addi t0, t0, %lo(secondary_main)
  beqz t0, park
  mv a0, s0
  jalr t0

park:
  wfi
  j park

  .weak secondary_main

  .section .data
  .balign 4
bss_ready:
  .word 0
