/*
 * The trap vector and the way back from a trap, on the bare machine (the native build; _start is in
 * head.S, the PARAVIRT build's vector in pv-entry.S).
 *
 *   arch_trap_vector   every trap: save the context as a struct trapframe, trap_handler(tf)
 *   arch_trap_return   restore a trapframe and sret
 *
 * Which stack a trap runs on is told by sscratch: 0 while the kernel runs (the trap frame goes on the
 * current kernel stack), or the address of the current process's trap frame (at the top of its kernel
 * stack) while user code runs. arch_trap_return sets it again when it returns to U-mode.
 *
 * tp is the CPU (struct cpu) while the kernel runs. User code may change it, so arch_trap_return leaves
 * the kernel's tp in the frame's unused regs[0] when it returns to U-mode, and a trap from U-mode takes
 * it back from there: the frame belongs to the process, which runs on one CPU at a time.
 */
#include "asm.h"

  .text
  .balign 4
  .globl arch_trap_vector
arch_trap_vector:
  csrrw sp, sscratch, sp
  bnez sp, save             /* from U-mode: sp = this process's trap frame */
  csrrw sp, sscratch, sp    /* from S-mode: back to the kernel sp, sscratch = 0 again */
  addi sp, sp, -TF_SIZE
save:
  SAVE_GPRS sp
  /* The interrupted sp: the user's (left in sscratch) or the kernel's (just above this frame). */
  csrrw t0, sscratch, zero
  bnez t0, 1f
  addi t0, sp, TF_SIZE
  j 2f
1:
  lw tp, 0(sp)              /* from U-mode: the kernel's tp, which the user's (saved above) replaced */
2:
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
  sw tp, 0(sp)              /* and finds this CPU there */
1:
  LOAD_GPRS sp
  lw sp, 2*4(sp)
  sret
