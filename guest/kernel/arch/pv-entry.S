/*
 * The trap vector of the PARAVIRT build, registered with PV_SET_TRAP_HANDLER (pv.c); the way back is
 * PV_IRET, in pv.c's arch_trap_return.
 *
 * The hypervisor delivers a trap as hardware would, but through the shared page (docs/pv-abi.md): epc,
 * cause, tval, status and the trapped sp are written there, events are masked, and sp is the kernel_sp
 * the kernel registered (the current process's trap frame, as sscratch natively) when the trap came
 * from user mode, or unchanged when it came from the kernel. Every other register holds the trapped
 * context's value, so the vector needs a scratch register before it can tell which case it is in: it
 * parks t0 just below sp, which is free stack in both cases (below the live kernel stack, or below the
 * trap frame at the top of an idle kernel stack).
 */
#include "asm.h"
#include "pv.h"

  .text
  .balign 4
  .globl arch_trap_vector
arch_trap_vector:
  sw t0, -4(sp)
  la t0, pv_shared_page
  lw t0, PV_SHARED_STATUS(t0)
  andi t0, t0, SSTATUS_SPP
  beqz t0, from_user
  addi sp, sp, -TF_SIZE     /* from the kernel: the frame goes on the current stack */
  lw t0, TF_SIZE-4(sp)      /* t0 was parked in the frame's last word (tval, written last) */
  j save
from_user:
  lw t0, -4(sp)             /* sp = kernel_sp: this process's trap frame */
save:
  SAVE_GPRS sp
  /* sp, epc, status, cause and tval come from the shared page. */
  la t1, pv_shared_page
  lw t0, PV_SHARED_SAVED_SP(t1)
  sw t0, 2*4(sp)
  lw t0, PV_SHARED_EPC(t1)
  sw t0, TF_EPC(sp)
  lw t0, PV_SHARED_STATUS(t1)
  sw t0, TF_STATUS(sp)
  lw t0, PV_SHARED_CAUSE(t1)
  sw t0, TF_CAUSE(sp)
  lw t0, PV_SHARED_TVAL(t1)
  sw t0, TF_TVAL(sp)
  mv a0, sp
  call trap_handler
  mv a0, sp
  tail arch_trap_return     /* pv.c: PV_IRET; it runs on the stack below the frame */
