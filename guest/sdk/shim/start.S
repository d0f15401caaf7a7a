/*
 * Entry and trap path of the boot shim. QEMU starts every hart here in M-mode with a0 = hartid,
 * a1 = DTB, a2 = &fw_dynamic_info.
 *
 *   _start        stack per hart (2 KiB below __stack_top - hart * 2 KiB), mscratch = that stack's top,
 *                 PMP open for S/U, mtvec = trap_entry, then shim_main(hartid, dtb, info) in boot.c
 *   trap_entry    traps only come from S/U: swap sp with mscratch, save x1..x31, shim_trap(frame),
 *                 restore, mret
 *   enter_next    mret into the next stage: mepc = addr, mstatus.MPP = mode, MPIE = SIE = 0, satp = 0
 *   park_stopped  an HSM-stopped hart drops its trap frame, resets its stack and waits for hart_start
 */
#define STACK_SHIFT 11
#define MAX_HARTS 8
#define FRAME 128

  .section .text.init, "ax", @progbits
  .globl _start
_start:
  csrw mie, zero
  li t0, MAX_HARTS
  bgeu a0, t0, absent

  la sp, __stack_top
  slli t0, a0, STACK_SHIFT
  sub sp, sp, t0
  csrw mscratch, sp

  /* One NAPOT region over all of memory, R/W/X for S and U. Skipped if the hart has no PMP. */
  la t0, 1f
  csrw mtvec, t0
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f /* A = NAPOT, X, W, R */
  csrw pmpcfg0, t0
  .balign 4
1:
  la t0, trap_entry
  csrw mtvec, t0
  call shim_main
absent:
  wfi
  j absent

  .text
  .balign 4
trap_entry:
  csrrw sp, mscratch, sp
  addi sp, sp, -FRAME
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
  csrr t0, mscratch /* the trapped sp */
  sw t0, 2*4(sp)
  addi t0, sp, FRAME
  csrw mscratch, t0

  mv a0, sp
  call shim_trap

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
  mret

  .globl enter_next
enter_next:
  /* As the SBI spec starts a hart: satp = 0 and sstatus.SIE = 0, also when a stopped hart restarts. */
  csrw satp, zero
  csrw mepc, a2
  li t0, (3 << 11) | (1 << 7) | (1 << 1) /* MPP, MPIE, SIE */
  csrc mstatus, t0
  slli a3, a3, 11
  csrs mstatus, a3
  mret

  .globl park_stopped
park_stopped:
  la sp, __stack_top
  slli t0, a0, STACK_SHIFT
  sub sp, sp, t0
  csrw mscratch, sp
  call wait_for_start
  j park_stopped
