/*
 * The CPUs and the big kernel lock.
 *
 * A CPU is a hart; its number is its hart id (the device tree's /cpus/cpu@N reg), below NCPU. The boot
 * CPU runs kmain, keeps time (timer.c) and never goes offline, as Linux's default for CPU 0. The others
 * are started at boot through SBI HSM hart_start — all that the device tree lists, or as many as
 * `maxcpus=N` in the boot arguments allows in total — and enter the scheduler like the boot CPU:
 *
 *   boot CPU: kmain ─ cpu_boot_secondaries ─ arch_cpu_start(hart, _start_secondary, stack top) ─┐
 *   that hart: head.S _start_secondary ─ kmain_secondary: tp, arch_init, kernel page table, tick, │
 *              the lock, ONLINE, scheduler()  ◄─────────────────────────────────────────────────┘
 *
 * cpu_set_online(c, 0) only marks the CPU STOPPING: its scheduler sees that between two processes (the
 * running one finishes its time slice first), switches to the kernel page table, gives up the lock and
 * calls hart_stop; nothing else is needed, because processes belong to no CPU — the run queue is the
 * process table, shared — so its next process simply runs elsewhere. cpu_set_online(c, 1) starts the
 * hart again at _start_secondary, as at boot. Both wait (sleeping) until the firmware, or hypervisor,
 * reports the hart stopped, or the CPU runs.
 *
 * The lock: one spinlock around the whole kernel. The kernel is not preemptible and runs with
 * interrupts off, so holding it from the trap that entered the kernel until the return to user mode
 * (or the idle wait) makes every kernel data structure single-threaded, as on one CPU. It costs
 * parallelism only in the kernel: user code runs on every CPU at once, while a CPU that enters the
 * kernel when another is in it spins, interrupts off. sched() passes it from a process to its CPU's
 * scheduler and back (whichever CPU that is when it resumes). An idle CPU waits without it and takes
 * it only when there may be something to do (proc.c) or for the boot CPU's tick (timer.c).
 *
 * Idle CPUs: work that appears while a CPU idles — a fork, a wake-up, a CPU told to go offline — would
 * wait for that CPU's next tick (up to 1/TICK_HZ) without a word to it. So `idle_cpus` (under the lock)
 * says which CPUs wait in their scheduler, and whoever makes a process runnable claims one of them and
 * sends it an IPI (SBI IPI) as it releases the lock: its wait ends at once, and it goes through its
 * scheduler.
 */
#include <sbi.h>
#include <stdio.h>
#include <string.h>

#include "kernel.h"

struct cpu cpus[NCPU];
/* The secondary CPUs' stacks, for their scheduler (the boot CPU's is head.S's boot stack). */
static uint8_t cpu_stacks[NCPU][CPU_STACK_SIZE] __attribute__((aligned(16)));
extern char _start_secondary[];

/* ---- the big kernel lock -------------------------------------------------------------------------- */
static struct {
  volatile uint32_t locked;
  volatile int owner; /* the CPU holding it, or -1 */
} bkl = {0, -1};
/* CPUs cpu_kick claimed, whose IPI goes out as the lock is released (under the lock). */
static uint32_t kicks_pending;

void bkl_acquire(void) {
  int me = mycpu()->id;
  if (bkl.locked && bkl.owner == me) panic("bkl_acquire: this CPU holds the lock already");
  while (__atomic_exchange_n(&bkl.locked, 1, __ATOMIC_ACQUIRE) != 0) {
    while (bkl.locked) {
      /* test-and-test-and-set: spin on a load, not on the swap */
    }
  }
  bkl.owner = me;
}

void bkl_release(void) {
  if (!bkl.locked || bkl.owner != mycpu()->id) panic("bkl_release: this CPU does not hold the lock");
  uint32_t kicks = kicks_pending;
  kicks_pending = 0;
  bkl.owner = -1;
  __atomic_store_n(&bkl.locked, 0, __ATOMIC_RELEASE);
  /* Not earlier: a CPU woken while this one still held the lock would only spin on it. */
  for (; kicks != 0; kicks &= kicks - 1) arch_ipi_send((unsigned long)__builtin_ctz(kicks));
}

int bkl_held(void) { return bkl.locked && bkl.owner == mycpu()->id; }

/* ---- idle CPUs and the wake-up IPI ---------------------------------------------------------------- */
/* A bit per CPU waiting in its scheduler for work and not yet claimed for any: written under the lock. */
static volatile uint32_t idle_cpus;

void cpu_idle_begin(void) { idle_cpus |= 1u << mycpu()->id; }
void cpu_idle_end(void) { idle_cpus &= ~(1u << mycpu()->id); }

int cpu_claimed(const struct cpu *c) {
  return (__atomic_load_n(&idle_cpus, __ATOMIC_ACQUIRE) & (1u << c->id)) == 0;
}

void cpu_kick(struct cpu *c) {
  uint32_t bit = 1u << c->id;
  if (!(idle_cpus & bit)) return;
  idle_cpus &= ~bit;
  /* This CPU itself looks anyway once the interrupt it is handling is done: no IPI to itself. */
  if (c != mycpu()) kicks_pending |= bit;
}

void cpu_kick_idle(void) {
  uint32_t idle = idle_cpus;
  if (idle == 0) return;
  int me = mycpu()->id;
  cpu_kick(&cpus[idle & (1u << me) ? me : __builtin_ctz(idle)]);
}

/* ---- boot ------------------------------------------------------------------------------------------ */
static void set_tp(struct cpu *c) { __asm__ volatile("mv tp, %0" ::"r"(c)); }

void cpu_boot_init(unsigned long hartid) {
  for (int i = 0; i < NCPU; i++) cpus[i].id = i;
  struct cpu *c = &cpus[hartid];
  set_tp(c);
  c->state = CPU_ONLINE;
  c->starts = 1;
}

/* Starts an OFFLINE CPU's hart at _start_secondary on its own stack. */
static int cpu_start(struct cpu *c) {
  c->state = CPU_STARTING;
  c->proc = 0;
  __atomic_thread_fence(__ATOMIC_SEQ_CST); /* everything written so far, before the hart reads it */
  uintptr_t stack_top = (uintptr_t)cpu_stacks[c->id] + CPU_STACK_SIZE;
  if (arch_cpu_start((unsigned long)c->id, (uintptr_t)_start_secondary, stack_top) != SBI_SUCCESS) {
    c->state = CPU_OFFLINE;
    return CPU_ERR_FIRMWARE;
  }
  return 0;
}

/* The value of `key=N` among the boot arguments, or `otherwise`. */
static int bootarg_int(const char *key, int otherwise) {
  size_t n = strlen(key);
  for (const char *s = boot_info.bootargs; *s;) {
    while (*s == ' ') s++;
    if (strncmp(s, key, n) == 0 && s[n] == '=' && s[n + 1] >= '0' && s[n + 1] <= '9') {
      int v = 0;
      for (s += n + 1; *s >= '0' && *s <= '9'; s++) v = v * 10 + (*s - '0');
      return v;
    }
    while (*s && *s != ' ') s++;
  }
  return otherwise;
}

void cpu_boot_secondaries(void) {
  for (int i = 0; i < NCPU; i++)
    if ((boot_info.harts & (1u << i)) && cpus[i].state == CPU_ABSENT) cpus[i].state = CPU_OFFLINE;
  int allowed = bootarg_int("maxcpus", NCPU), starting = 0;
  for (int i = 0; i < NCPU; i++) {
    if (cpus[i].state != CPU_OFFLINE || 1 + starting >= allowed) continue;
    if (cpu_start(&cpus[i]) == 0) starting++;
    else printf("cpu %d: hart_start refused\n", i);
  }
  if (starting == 0) return;
  /* They take the lock to come online: wait without it, idle (so a hypervisor can run them here). */
  uint64_t give_up = uptime_ms() + CPU_SWITCH_TIMEOUT_MS;
  for (;;) {
    int waiting = 0;
    for (int i = 0; i < NCPU; i++) waiting += cpus[i].state == CPU_STARTING;
    if (waiting == 0 || uptime_ms() >= give_up) break;
    bkl_release();
    arch_idle();
    bkl_acquire();
  }
  for (int i = 0; i < NCPU; i++)
    if (cpus[i].state == CPU_STARTING) printf("cpu %d: started, but not online yet\n", i);
  printf("smp: %d of %d CPUs online\n", cpu_online_count(), cpu_present_count());
}

/* ---- on and off ------------------------------------------------------------------------------------ */
int cpu_present_count(void) {
  int n = 0;
  for (int i = 0; i < NCPU; i++) n += cpus[i].state != CPU_ABSENT;
  return n;
}

int cpu_online_count(void) {
  int n = 0;
  for (int i = 0; i < NCPU; i++) n += cpus[i].state == CPU_ONLINE || cpus[i].state == CPU_STOPPING;
  return n;
}

void cpu_leave(void) {
  struct cpu *c = mycpu();
  /* No process's page table stays in use here (a PV hypervisor would refuse to unpin it). */
  vm_activate(kernel_pagetable);
  c->proc = 0;
  c->state = CPU_OFFLINE;
  bkl_release();
  arch_cpu_stop();
}

static int hart_stopped(struct cpu *c) {
  return arch_cpu_status((unsigned long)c->id) == SBI_HSM_STATE_STOPPED;
}

/* Sleeps, a tick at a time, until `done(c)`; CPU_ERR_TIMEOUT after CPU_SWITCH_TIMEOUT_MS. */
static int wait_until(struct cpu *c, int (*done)(struct cpu *)) {
  uint64_t give_up = uptime_ms() + CPU_SWITCH_TIMEOUT_MS;
  while (!done(c)) {
    if (uptime_ms() >= give_up) return CPU_ERR_TIMEOUT;
    sleep_on((const void *)&ticks);
  }
  return 0;
}

static int is_online(struct cpu *c) { return c->state == CPU_ONLINE; }
static int is_offline(struct cpu *c) { return c->state == CPU_OFFLINE && hart_stopped(c); }

int cpu_set_online(int cpu, int on) {
  if (cpu < 0 || cpu >= NCPU || cpus[cpu].state == CPU_ABSENT) return CPU_ERR_NO_CPU;
  struct cpu *c = &cpus[cpu];
  if (on) {
    if (c->state == CPU_ONLINE) return 0;
    if (c->state != CPU_OFFLINE) return CPU_ERR_BUSY;
    /* It may still be on its way out: between leaving its scheduler and hart_stop. */
    int r = wait_until(c, is_offline);
    if (r == 0) r = cpu_start(c);
    return r == 0 ? wait_until(c, is_online) : r;
  }
  if (cpu == (int)boot_hartid) return CPU_ERR_BOOT;
  if (c->state == CPU_OFFLINE) return 0;
  if (c->state != CPU_ONLINE) return CPU_ERR_BUSY;
  c->state = CPU_STOPPING;
  cpu_kick(c); /* an idle CPU sees the mark at once, not at its next tick */
  return wait_until(c, is_offline);
}

const char *cpu_error_text(int err) {
  switch (err) {
    case CPU_ERR_NO_CPU: return "no such CPU";
    case CPU_ERR_BOOT: return "the boot CPU stays online";
    case CPU_ERR_BUSY: return "it is already going online or offline";
    case CPU_ERR_FIRMWARE: return "the firmware refused hart_start";
    case CPU_ERR_TIMEOUT: return "it did not get there in time";
    default: return "unknown error";
  }
}

const char *cpu_state_name(enum cpu_state s) {
  switch (s) {
    case CPU_OFFLINE: return "offline";
    case CPU_STARTING: return "starting";
    case CPU_ONLINE: return "online";
    case CPU_STOPPING: return "stopping";
    default: return "absent";
  }
}
