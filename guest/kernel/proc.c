/*
 * Processes and the round-robin scheduler, on every CPU.
 *
 * The kernel is not preemptible: it runs with interrupts off (arch.h), so only user code is preempted
 * — by the timer interrupt, whose handler yields — and the big kernel lock (cpu.c) keeps every other
 * CPU out while one runs kernel code, so no data structure here needs a lock of its own. A process
 * leaves its CPU by switching (swtch) from its kernel stack to that CPU's scheduler, which picks the
 * next RUNNABLE slot after the last one any CPU took (the process table is the one, shared, run queue:
 * a process runs wherever a CPU is free), makes its address space current and switches to it. A CPU
 * with nothing to run gives up the lock and idles until an interrupt says there may be work — its tick,
 * or the IPI of a CPU that made a process runnable (cpu_kick_idle); one marked STOPPING leaves for good
 * instead (cpu_leave):
 *
 *   EMBRYO --proc_make_runnable--> RUNNABLE <--yield/wakeup/kill-- RUNNING/SLEEPING
 *   RUNNING --proc_exit--> ZOMBIE --proc_wait by the parent--> UNUSED
 *
 * Kernel threads (the shell) are processes without a user address space.
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"

void swtch(struct context *old, struct context *new);

struct proc proc_table[NPROC];
static int next_pid = 1;
/* The slot the scheduler last took, on any CPU: the next search starts after it. */
static int last_picked = NPROC - 1;
/* Orphans are handed to the first process (the shell), which reaps them. */
static struct proc *init_proc;

struct proc *current(void) { return mycpu()->proc; }

/* Where a new user process starts (holding the lock, as after sched): its trap frame's first instruction. */
static void user_entry(void) {
  struct proc *p = current();
  if (p->killed) proc_exit(-1);
  bkl_release();
  arch_trap_return(p->tf);
}

static void kthread_entry(void) {
  current()->kthread_fn();
  proc_exit(0);
}

struct proc *proc_alloc(const char *name) {
  struct proc *p = 0;
  for (int i = 0; i < NPROC && !p; i++)
    if (proc_table[i].state == UNUSED) p = &proc_table[i];
  if (!p) return 0;
  p->state = EMBRYO;
  p->pid = next_pid++;
  size_t n = strlen(name) < PROC_NAME_LEN - 1 ? strlen(name) : PROC_NAME_LEN - 1;
  memcpy(p->name, name, n);
  p->name[n] = '\0';
  p->parent = current();
  p->tty = p->parent ? p->parent->tty : TTY_SBI;
  p->pagetable = 0;
  p->brk = p->heap_start = 0;
  p->chan = 0;
  p->kthread_fn = 0;
  p->killed = 0;
  p->killable = 0;
  p->exit_status = 0;
  p->ticks = p->switches = 0;
  p->tf = (struct trapframe *)(p->kstack + KSTACK_SIZE - sizeof(struct trapframe));
  memset(&p->context, 0, sizeof p->context);
  p->context.ra = (uint32_t)user_entry;
  p->context.sp = (uint32_t)p->tf;
  if (!init_proc) init_proc = p;
  return p;
}

void proc_free(struct proc *p) {
  if (p->pagetable) uvm_free(p->pagetable);
  p->pagetable = 0;
  p->pid = 0;
  p->parent = 0;
  p->state = UNUSED;
}

void proc_make_runnable(struct proc *p) {
  p->state = RUNNABLE;
  cpu_kick_idle();
}

int kthread_create(const char *name, void (*fn)(void)) {
  struct proc *p = proc_alloc(name);
  if (!p) return -1;
  p->kthread_fn = fn;
  p->context.ra = (uint32_t)kthread_entry;
  proc_make_runnable(p);
  return p->pid;
}

/*
 * Back to this CPU's scheduler, with the lock; returns when some CPU chooses this process again, the
 * lock passed back.
 */
static void sched(void) {
  struct proc *p = current();
  if (!bkl_held()) panic("sched: the lock is not held");
  p->switches++;
  swtch(&p->context, &mycpu()->scheduler);
}

void yield(void) {
  current()->state = RUNNABLE;
  sched();
}

void sleep_on(const void *chan) {
  struct proc *p = current();
  p->chan = chan;
  p->state = SLEEPING;
  sched();
  p->chan = 0;
}

void wakeup(const void *chan) {
  for (int i = 0; i < NPROC; i++)
    if (proc_table[i].state == SLEEPING && proc_table[i].chan == chan) {
      proc_table[i].state = RUNNABLE;
      cpu_kick_idle();
    }
}

/*
 * Whether an idle CPU should take the lock and look again: claimed for new work (cpu_kick_idle), told
 * to go offline, or — a glance at the run queue without the lock — a process is runnable (a stale
 * answer only makes one look in vain: work made runnable after the CPU went idle claims it).
 */
static int worth_a_look(struct cpu *c) {
  if (c->state == CPU_STOPPING || cpu_claimed(c)) return 1;
  for (int i = 0; i < NPROC; i++)
    if (__atomic_load_n(&proc_table[i].state, __ATOMIC_RELAXED) == RUNNABLE) return 1;
  return 0;
}

/* Runs processes on this CPU forever (or until it goes offline); entered and left holding the lock. */
void scheduler(void) {
  struct cpu *c = mycpu();
  for (;;) {
    if (c->state == CPU_STOPPING) cpu_leave();
    struct proc *p = 0;
    for (int k = 1; k <= NPROC && !p; k++) {
      int i = (last_picked + k) % NPROC;
      if (proc_table[i].state == RUNNABLE) {
        p = &proc_table[i];
        last_picked = i;
      }
    }
    if (!p) {
      /*
       * Nothing to run: the previous process's table may be freed while we wait, so leave it. Idle
       * from here until the lock is ours again, so that new work claims this CPU with an IPI; the
       * IPI, sent after we looked, ends arch_idle at once (interrupts stay off until then).
       */
      vm_activate(kernel_pagetable);
      cpu_idle_begin();
      bkl_release();
      do arch_idle();
      while (!worth_a_look(c));
      bkl_acquire();
      cpu_idle_end();
      continue;
    }
    p->state = RUNNING;
    c->proc = p;
    c->runs++;
    vm_activate(p->pagetable ? p->pagetable : kernel_pagetable);
    swtch(&c->scheduler, &p->context);
    c->proc = 0;
  }
}

void proc_exit(int status) {
  struct proc *p = current();
  if (p == init_proc) panic("proc_exit: the shell exited");
  for (int i = 0; i < NPROC; i++) {
    struct proc *q = &proc_table[i];
    if (q->state != UNUSED && q->parent == p) {
      q->parent = init_proc;
      if (q->state == ZOMBIE) wakeup(init_proc);
    }
  }
  p->exit_status = status;
  p->state = ZOMBIE;
  if (p->parent) wakeup(p->parent);
  sched();
  panic("proc_exit: a zombie ran");
}

int proc_wait(int pid, int *status) {
  for (;;) {
    int children = 0;
    for (int i = 0; i < NPROC; i++) {
      struct proc *q = &proc_table[i];
      if (q->state == UNUSED || q->parent != current() || (pid > 0 && q->pid != pid)) continue;
      children++;
      if (q->state == ZOMBIE) {
        int found = q->pid;
        if (status) *status = q->exit_status;
        proc_free(q);
        return found;
      }
    }
    if (children == 0 || current()->killed) return -1;
    sleep_on(current());
  }
}

int proc_fork(void) {
  struct proc *parent = current();
  struct proc *child = proc_alloc(parent->name);
  if (!child) return -1;
  child->pagetable = uvm_create();
  if (!child->pagetable || uvm_copy(parent->pagetable, child->pagetable) < 0) {
    proc_free(child);
    return -1;
  }
  *child->tf = *parent->tf;
  child->tf->regs[TF_A0] = 0; /* fork returns 0 in the child */
  child->brk = parent->brk;
  child->heap_start = parent->heap_start;
  proc_make_runnable(child);
  return child->pid;
}

int proc_kill(int pid) {
  for (int i = 0; i < NPROC; i++) {
    struct proc *p = &proc_table[i];
    if (p->pid != pid || p->state == UNUSED || p->state == EMBRYO) continue;
    if (!p->pagetable && !p->killable) return -1; /* kernel threads are not killed, unless they agree */
    p->killed = 1;
    if (p->state == SLEEPING) {
      p->state = RUNNABLE;
      cpu_kick_idle();
    }
    return 0;
  }
  return -1;
}

void proc_reap_orphans(int parent_pid) {
  for (int i = 0; i < NPROC; i++) {
    struct proc *q = &proc_table[i];
    if (q->state == ZOMBIE && q->parent && q->parent->pid == parent_pid) proc_free(q);
  }
}

int proc_count(void) {
  int n = 0;
  for (int i = 0; i < NPROC; i++) n += proc_table[i].state != UNUSED;
  return n;
}
