/*
 * For the assembly files of arch/ (entry.S, pv-entry.S): struct trapframe's offsets (arch.h) and the
 * register save/restore both trap vectors share. Assembler only.
 */
#ifndef KERNEL_ARCH_ASM_H
#define KERNEL_ARCH_ASM_H

#define TF_SIZE (36 * 4)
#define TF_EPC (32 * 4)
#define TF_STATUS (33 * 4)
#define TF_CAUSE (34 * 4)
#define TF_TVAL (35 * 4)
#define SSTATUS_SPP 0x100

/* Stores x1 and x3..x31 at 4 * number(\base); x2 (sp) is the caller's business, x0 is not saved. */
.macro SAVE_GPRS base
  .irp n, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
  sw x\n, \n*4(\base)
  .endr
.endm

/* Loads x1 and x3..x31 from 4 * number(\base); x2 (sp, normally \base itself) is left to the caller. */
.macro LOAD_GPRS base
  .irp n, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
  lw x\n, \n*4(\base)
  .endr
.endm

#endif
