/*
 * The trap vector of the PARAVIRT build; the way back is PV_IRET, in pv.c's arch_trap_return.
 *
 * The hypervisor delivers a trap as hardware would, but through the vCPU's shared page (docs/pv-abi.md):
 * epc, cause, tval, status and the trapped sp are written there, events are masked, and sp is the
 * kernel_sp the kernel registered (the current process's trap frame, as sscratch natively) when the
 * trap came from user mode, or unchanged when it came from the kernel. Every other register holds the
 * trapped context's value — tp included, which user code owns — so the vector cannot ask the kernel
 * which CPU it is on before it knows its shared page.
 *
 * Hence one entry per CPU, PV_TRAP_ENTRY_SIZE bytes apart, registered by that CPU with
 * PV_SET_TRAP_HANDLER (pv.c): each parks t0 and t1 just below sp, which is free stack in both cases
 * (below the live kernel stack, or below the trap frame at the top of an idle kernel stack), loads its
 * CPU's shared page into t0 and joins the common code. From user mode the common code then takes the
 * kernel's tp from regs[0] of the frame, where arch_trap_return left it.
 */
#include "../param.h"
#include "asm.h"
#include "pv.h"

  .text
  .option push
  .option norvc           /* fixed-size entries: no compressed instructions, */
  .option norelax         /* and no linker relaxation of la or j */
  .balign PV_TRAP_ENTRY_SIZE
  .globl pv_trap_entries
pv_trap_entries:
  .set cpu, 0
  .rept NCPU
0:
  sw t0, -4(sp)
  sw t1, -8(sp)
  la t0, pv_shared_pages + cpu * 4096
  j pv_trap_common
  .org 0b + PV_TRAP_ENTRY_SIZE  /* pads the entry; an error if it were longer */
  .set cpu, cpu + 1
  .endr
  .option pop

pv_trap_common:           /* t0 = this CPU's shared page; the trapped t0 and t1 at -4(sp) and -8(sp) */
  lw t1, PV_SHARED_STATUS(t0)
  andi t1, t1, SSTATUS_SPP
  beqz t1, 1f
  addi sp, sp, -TF_SIZE     /* from the kernel: the frame goes on the current stack; the parked words */
1:                          /* are its last two (cause and tval), written from the shared page last */
  SAVE_GPRS sp              /* t0 and t1 are not the trapped ones yet: fixed below */
  lw t1, PV_SHARED_STATUS(t0)
  andi t1, t1, SSTATUS_SPP
  mv t2, sp                 /* t2: where t0 and t1 were parked, just below it */
  beqz t1, 2f
  addi t2, sp, TF_SIZE
  j 3f
2:
  lw tp, 0(sp)              /* from user mode: the kernel's tp */
3:
  lw t1, -4(t2)
  sw t1, 5*4(sp)
  lw t1, -8(t2)
  sw t1, 6*4(sp)
  /* sp, epc, status, cause and tval come from the shared page. */
  lw t1, PV_SHARED_SAVED_SP(t0)
  sw t1, 2*4(sp)
  lw t1, PV_SHARED_EPC(t0)
  sw t1, TF_EPC(sp)
  lw t1, PV_SHARED_STATUS(t0)
  sw t1, TF_STATUS(sp)
  lw t1, PV_SHARED_CAUSE(t0)
  sw t1, TF_CAUSE(sp)
  lw t1, PV_SHARED_TVAL(t0)
  sw t1, TF_TVAL(sp)
  mv a0, sp
  call trap_handler
  mv a0, sp
  tail arch_trap_return     /* pv.c: PV_IRET; it runs on the stack below the frame */
