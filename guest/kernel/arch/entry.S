/*
 * The kernel's first instructions, the trap vector and the way back from a trap.
 *
 *   _start             boot hart, a0 = hartid, a1 = DTB: boot stack, clear .bss, kmain(hartid, dtb)
 *   arch_trap_vector   every trap: save the context as a struct trapframe, trap_handler(tf)
 *   arch_trap_return   restore a trapframe and sret
 *
 * Which stack a trap runs on is told by sscratch: 0 while the kernel runs (the trap frame goes on the
 * current kernel stack), or the address of the current process's trap frame (at the top of its kernel
 * stack) while user code runs. arch_trap_return sets it again when it returns to U-mode.
 */
#define TF_SIZE (36 * 4)
#define TF_EPC (32 * 4)
#define TF_STATUS (33 * 4)
#define TF_CAUSE (34 * 4)
#define TF_TVAL (35 * 4)
#define SSTATUS_SPP 0x100

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

  /* The boot hart's stack: kmain and, afterwards, the scheduler run on it. */
  .section .bss.boot_stack, "aw", @nobits
  .balign 16
  .space 16384
boot_stack_top:

  .text
  .balign 4
  .globl arch_trap_vector
arch_trap_vector:
  csrrw sp, sscratch, sp
  bnez sp, save             /* from U-mode: sp = this process's trap frame */
  csrrw sp, sscratch, sp    /* from S-mode: back to the kernel sp, sscratch = 0 again */
  addi sp, sp, -TF_SIZE
save:
  sw x1, 1*4(sp)
  sw x3, 3*4(sp)
  sw x4, 4*4(sp)
  sw x5, 5*4(sp)
  sw x6, 6*4(sp)
  sw x7, 7*4(sp)
  sw x8, 8*4(sp)
  sw x9, 9*4(sp)
  sw x10, 10*4(sp)
  sw x11, 11*4(sp)
  sw x12, 12*4(sp)
  sw x13, 13*4(sp)
  sw x14, 14*4(sp)
  sw x15, 15*4(sp)
  sw x16, 16*4(sp)
  sw x17, 17*4(sp)
  sw x18, 18*4(sp)
  sw x19, 19*4(sp)
  sw x20, 20*4(sp)
  sw x21, 21*4(sp)
  sw x22, 22*4(sp)
  sw x23, 23*4(sp)
  sw x24, 24*4(sp)
  sw x25, 25*4(sp)
  sw x26, 26*4(sp)
  sw x27, 27*4(sp)
  sw x28, 28*4(sp)
  sw x29, 29*4(sp)
  sw x30, 30*4(sp)
  sw x31, 31*4(sp)
  /* The interrupted sp: the user's (left in sscratch) or the kernel's (just above this frame). */
  csrrw t0, sscratch, zero
  bnez t0, 1f
  addi t0, sp, TF_SIZE
1:
  sw t0, 2*4(sp)
  csrr t0, sepc
  sw t0, TF_EPC(sp)
  csrr t0, sstatus
  sw t0, TF_STATUS(sp)
  csrr t0, scause
  sw t0, TF_CAUSE(sp)
  csrr t0, stval
  sw t0, TF_TVAL(sp)
  mv a0, sp
  call trap_handler
  mv a0, sp
  /* fall through */

  .globl arch_trap_return
arch_trap_return:
  mv sp, a0
  lw t0, TF_EPC(sp)
  csrw sepc, t0
  lw t0, TF_STATUS(sp)
  csrw sstatus, t0
  andi t0, t0, SSTATUS_SPP
  bnez t0, 1f
  csrw sscratch, sp         /* back to U-mode: the next trap saves into this frame */
1:
  lw x1, 1*4(sp)
  lw x3, 3*4(sp)
  lw x4, 4*4(sp)
  lw x5, 5*4(sp)
  lw x6, 6*4(sp)
  lw x7, 7*4(sp)
  lw x8, 8*4(sp)
  lw x9, 9*4(sp)
  lw x10, 10*4(sp)
  lw x11, 11*4(sp)
  lw x12, 12*4(sp)
  lw x13, 13*4(sp)
  lw x14, 14*4(sp)
  lw x15, 15*4(sp)
  lw x16, 16*4(sp)
  lw x17, 17*4(sp)
  lw x18, 18*4(sp)
  lw x19, 19*4(sp)
  lw x20, 20*4(sp)
  lw x21, 21*4(sp)
  lw x22, 22*4(sp)
  lw x23, 23*4(sp)
  lw x24, 24*4(sp)
  lw x25, 25*4(sp)
  lw x26, 26*4(sp)
  lw x27, 27*4(sp)
  lw x28, 28*4(sp)
  lw x29, 29*4(sp)
  lw x30, 30*4(sp)
  lw x31, 31*4(sp)
  lw sp, 2*4(sp)
  sret
