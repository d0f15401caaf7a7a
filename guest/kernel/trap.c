/*
 * What happens on a trap (arch/entry.S saved the context and calls trap_handler):
 *
 *   timer interrupt      a tick (timer.c); from user code also the end of its time slice
 *   software interrupt   an IPI: another CPU made work for this idle one (cpu.c)
 *   external interrupt   the devices' handlers, through the PLIC (plic.c)
 *   ecall from U-mode    a system call (syscall.c)
 *   any other exception  from U-mode: the process is killed, with a line saying why;
 *                        from the kernel: a bug, so panic — except a fault of probe_load_word
 *                        (probe.S), which the tests use to see what the kernel may touch
 *
 * Before returning to user code a killed process exits instead.
 *
 * The big kernel lock (cpu.c) is taken here on a trap from user mode and given back before returning
 * there. An interrupt from the kernel comes only while it idles, without the lock: the tick takes it
 * for what it shares (timer.c), an external interrupt for its handlers. A kernel fault (the probe's)
 * happens with the lock already held.
 */
#include <stdio.h>

#include "kernel.h"

extern char probe_load_insn[];
volatile int probe_faulted;

static const char *exception_name(uint32_t cause) {
  switch (cause) {
    case EXC_INSTRUCTION_MISALIGNED: return "instruction address misaligned";
    case EXC_INSTRUCTION_ACCESS: return "instruction access fault";
    case EXC_ILLEGAL_INSTRUCTION: return "illegal instruction";
    case EXC_BREAKPOINT: return "breakpoint";
    case EXC_LOAD_MISALIGNED: return "load address misaligned";
    case EXC_LOAD_ACCESS: return "load access fault";
    case EXC_STORE_MISALIGNED: return "store address misaligned";
    case EXC_STORE_ACCESS: return "store access fault";
    case EXC_INSTRUCTION_PAGE_FAULT: return "instruction page fault";
    case EXC_LOAD_PAGE_FAULT: return "load page fault";
    case EXC_STORE_PAGE_FAULT: return "store page fault";
    default: return "exception";
  }
}

void trap_handler(struct trapframe *tf) {
  int from_user = arch_trap_from_user(tf);
  if (from_user) bkl_acquire();
  if (tf->cause & CAUSE_INTERRUPT_BIT) {
    uint32_t irq = tf->cause & ~CAUSE_INTERRUPT_BIT;
    if (irq == IRQ_S_EXTERNAL) {
      if (!from_user) bkl_acquire(); /* the devices' handlers share the kernel's state */
      irq_dispatch();
      if (!from_user) bkl_release();
    } else if (irq == IRQ_S_SOFTWARE) {
      /* An IPI (cpu_kick_idle): acknowledged; an idle CPU then looks for work (proc.c). One that
         arrives while a process runs is stale (the CPU found its work before it came): nothing to do. */
      arch_ipi_clear();
    } else if (irq == IRQ_S_TIMER) {
      timer_tick(from_user);
      if (from_user) yield(); /* preemption: the time slice is over */
    } else {
      panic("trap: unexpected interrupt");
    }
  } else if (!from_user && tf->epc == (uintptr_t)probe_load_insn &&
             (tf->cause == EXC_LOAD_PAGE_FAULT || tf->cause == EXC_LOAD_ACCESS)) {
    probe_faulted = 1; /* the one kernel fault that is expected: see probe.S */
    tf->epc += 4;
  } else if (!from_user) {
    printf("kernel trap: %s (scause %lx) at pc %08lx, stval %08lx\n", exception_name(tf->cause),
           (unsigned long)tf->cause, (unsigned long)tf->epc, (unsigned long)tf->tval);
    panic("trap in the kernel");
  } else if (tf->cause == EXC_USER_ECALL) {
    tf->epc += 4; /* past the ecall */
    syscall(tf);
  } else {
    struct proc *p = current();
    printf("kernel: pid %d (%s) killed: %s at pc %08lx, stval %08lx\n", p->pid, p->name,
           exception_name(tf->cause), (unsigned long)tf->epc, (unsigned long)tf->tval);
    p->killed = 1;
  }
  if (from_user && current()->killed) proc_exit(-1);
  if (from_user) bkl_release();
}
