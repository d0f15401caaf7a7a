/*
 * The kernel's first instructions, the same in every build (native and PARAVIRT): plain loads and
 * stores, no privilege needed.
 *
 *   _start             boot hart, a0 = hartid, a1 = DTB, paging off: boot stack, clear .bss,
 *                      kmain(hartid, dtb)
 *   _start_secondary   a hart the kernel started (SBI HSM hart_start), a0 = hartid, a1 = the top of
 *                      the stack cpu.c gave it, paging off: kmain_secondary(hartid)
 */
  .section .text.init, "ax", @progbits
  .globl _start
_start:
  la sp, boot_stack_top
  la t0, __bss_start
  la t1, __bss_end
1:
  bgeu t0, t1, 2f
  sw zero, 0(t0)
  addi t0, t0, 4
  j 1b
2:
  call kmain
3:
  j 3b

  .globl _start_secondary
_start_secondary:
  mv sp, a1
  call kmain_secondary
4:
  j 4b

  /* The boot hart's stack: kmain and, afterwards, the scheduler run on it. */
  .section .bss.boot_stack, "aw", @nobits
  .balign 16
  .space 16384
boot_stack_top:
