/* What the kernel's files offer each other, file by file. */
#ifndef KERNEL_H
#define KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "arch/arch.h"
#include "memlayout.h"
#include "param.h"
#include "riscv.h"

typedef pte_t *pagetable_t;

/* main.c */
extern uint32_t boot_hartid; /* the hart kmain ran on */
__attribute__((noreturn)) void panic(const char *what);
#define ASSERT(cond) \
  do {               \
    if (!(cond)) panic("assertion failed: " #cond); \
  } while (0)

/* fdt.c: what the kernel learns from the device tree */
/* A device node of the tree: one with a `compatible` and a `reg` (its first register range). */
struct fdt_device {
  char name[FDT_NAME_LEN];             /* the node's name, unit address included ("virtio_mmio@10001000") */
  char compatible[FDT_COMPATIBLE_LEN]; /* the property as stored: strings separated by NULs */
  uint32_t compatible_len;
  uint64_t base, size;                 /* reg's first (address, size) pair */
  uint32_t irq;                        /* the first cell of `interrupts`, 0 when there is none */
  uint32_t event_channel;              /* `rvisor,event-channel` (docs/store-ring.md), 0 when absent */
};
struct boot_info {
  uint64_t mem_base;
  uint64_t mem_size;
  uint32_t timebase_hz;
  uint32_t harts; /* bit h: /cpus has an enabled cpu whose reg (hart id) is h < NCPU */
  char bootargs[BOOTARGS_LEN];
  uint32_t ndevices;
  struct fdt_device devices[FDT_MAX_DEVICES];
  uint32_t nreserved; /* /reserved-memory regions: RAM the page allocator leaves alone */
  struct {
    uint64_t base, size;
  } reserved[FDT_MAX_RESERVED];
};
extern struct boot_info boot_info; /* main.c */
/* Returns 0, or -1 with a reason in *why when the blob is not a device tree the kernel can use. */
int fdt_read(const void *dtb, struct boot_info *info, const char **why);
/* The `nth` (from 0) device whose compatible list holds `compatible`, or 0. */
const struct fdt_device *fdt_find_compatible(const char *compatible, int nth);

/* kalloc.c: physical pages */
/* Frees [start, end) into the allocator, except pages in boot_info's reserved regions. */
void kalloc_init(uintptr_t start, uintptr_t end);
/* A zeroed page, or 0 when none is left. */
uintptr_t kalloc(void);
/* A page as it was (not zeroed): for one whose contents nobody will read (the balloon's). */
uintptr_t kalloc_dirty(void);
void kfree(uintptr_t pa);
size_t kalloc_free_pages(void);
size_t kalloc_total_pages(void);

/* vm.c: Sv32 page tables */
extern pagetable_t kernel_pagetable;
void vm_init(uint64_t mem_base, uint64_t mem_size);
pagetable_t uvm_create(void);
void uvm_free(pagetable_t pt);
/* Maps one user page; returns 0 or -1 (out of memory, or already mapped). */
int uvm_map(pagetable_t pt, uintptr_t va, uintptr_t pa, pte_t perm);
/* Removes one user mapping and returns the page it mapped (0 if none). */
uintptr_t uvm_unmap(pagetable_t pt, uintptr_t va);
/* The leaf PTE for va, or 0 when it is not mapped. */
pte_t uvm_lookup(pagetable_t pt, uintptr_t va);
/* Allocates and maps zeroed pages over [start, end); undoes itself on failure. Returns 0 or -1. */
int uvm_alloc_range(pagetable_t pt, uintptr_t start, uintptr_t end, pte_t perm);
void uvm_free_range(pagetable_t pt, uintptr_t start, uintptr_t end);
/* Copies every user mapping of `from` into fresh pages of `to`; returns 0 or -1. */
int uvm_copy(pagetable_t from, pagetable_t to);
/* Whether [va, va + n) is mapped for user access with all of `need` (PTE_R/PTE_W) right now. */
int user_range_ok(uintptr_t va, size_t n, pte_t need);
/* Copies between kernel memory and user addresses of the current address space; 0 or -1. */
int copyout(uintptr_t dst_user, const void *src, size_t n);
int copyin(void *dst, uintptr_t src_user, size_t n);
/* Copies a NUL-terminated user string of at most max - 1 bytes; returns its length or -1. */
int copyinstr(char *dst, uintptr_t src_user, size_t max);
void vm_activate(pagetable_t pt);
/*
 * Maps a device's registers (physical `pa`, `size` bytes) into the kernel's I/O window and returns the
 * kernel virtual address of `pa`. Boot time only (before the first process: address spaces copy the
 * kernel's root entries when they are made). Panics when the window is full.
 */
void *vm_map_io(uintptr_t pa, size_t size);
/* Copies kernel bytes to user addresses of any address space (through the physical pages); 0 or -1. */
int uvm_write(pagetable_t pt, uintptr_t dst_user, const void *src, size_t n);

/* proc.c: processes and the scheduler */
enum proc_state { UNUSED, EMBRYO, RUNNABLE, RUNNING, SLEEPING, ZOMBIE };
struct context {
  uint32_t ra, sp, s[12];
};

/*
 * cpu.c: the CPUs, one per hart (a CPU's number is its hart id), and the big kernel lock.
 *
 *   ABSENT (not in the device tree)
 *   OFFLINE --cpu_set_online(c, 1): hart_start--> STARTING --its own first code--> ONLINE
 *   ONLINE --cpu_set_online(c, 0)--> STOPPING --its scheduler, between two processes: hart_stop--> OFFLINE
 */
enum cpu_state { CPU_ABSENT, CPU_OFFLINE, CPU_STARTING, CPU_ONLINE, CPU_STOPPING };
struct cpu {
  int id;                         /* the hart id */
  volatile enum cpu_state state;
  struct proc *proc;              /* what it runs, or 0 (its scheduler or idle) */
  struct context scheduler;       /* the scheduler's context, resumed by sched() */
  pagetable_t active;             /* the table its satp points at (vm.c) */
  uint64_t tick_deadline;         /* its next timer interrupt (timer.c) */
  uint32_t ticks;                 /* timer ticks it took, idle or not */
  uint32_t busy_ticks;            /* ticks that found a process running */
  uint32_t runs;                  /* times it switched to a process */
  uint32_t starts;                /* times it came online (the boot CPU: 1) */
};
extern struct cpu cpus[NCPU];
/* The boot CPU is boot_hartid (main.c): it keeps time and never goes offline. */
/* The CPU this code runs on: tp holds it in the kernel (trap vectors restore it from the frame). */
static inline struct cpu *mycpu(void) {
  struct cpu *c;
  /* volatile: a process may resume on another CPU after any call that switches, so never reuse it. */
  __asm__ volatile("mv %0, tp" : "=r"(c));
  return c;
}
/*
 * The big kernel lock: held by whichever CPU runs kernel code — taken on every trap from user mode and
 * every interrupt (which reach the kernel only while it idles), and by a CPU starting; given up on the
 * way back to user mode and around the idle wait. sched() hands it to the scheduler and back.
 */
void bkl_acquire(void);
void bkl_release(void);
int bkl_held(void); /* by this CPU */
/* Boot: claims the boot CPU (tp, state), and brings up the others the device tree and `maxcpus=` allow. */
void cpu_boot_init(unsigned long hartid);
void cpu_boot_secondaries(void);
/* How many CPUs are present (in the device tree, hart id < NCPU) and online. */
int cpu_present_count(void);
int cpu_online_count(void);
/*
 * Brings CPU `cpu` online (on = 1: SBI HSM hart_start, then waits until it runs) or offline (on = 0: it
 * finishes its current process's time slice, leaves its scheduler and calls hart_stop; waits until HSM
 * reports it STOPPED). Must be called from a process (it sleeps). 0 when the CPU is in the state asked
 * for (already, or now), else a CPU_ERR_* code (cpu_error_text says it in words).
 */
int cpu_set_online(int cpu, int on);
#define CPU_ERR_NO_CPU -1   /* no such CPU */
#define CPU_ERR_BOOT -2     /* the boot CPU stays online */
#define CPU_ERR_BUSY -3     /* it is already going online or offline */
#define CPU_ERR_FIRMWARE -4 /* hart_start refused */
#define CPU_ERR_TIMEOUT -5  /* it did not get there within CPU_SWITCH_TIMEOUT_MS */
const char *cpu_error_text(int err);
const char *cpu_state_name(enum cpu_state s);
/*
 * Idle CPUs and their wake-up IPI (Linux's smp_send_reschedule). A scheduler with nothing to run marks
 * its CPU idle (cpu_idle_begin, holding the lock) before it gives up the lock to wait, and unmarks it
 * when it has the lock again (cpu_idle_end). Whoever makes a process runnable calls cpu_kick_idle
 * (holding the lock): it claims one idle CPU for the work — the calling one, when it is idle itself
 * (an interrupt it handles while waiting), else the lowest other — by unmarking it, and sends it an IPI
 * (SBI IPI, a supervisor software interrupt) once it releases the lock, which the woken CPU needs.
 * cpu_kick(c) does the same for one CPU (going offline).
 * An idle CPU whose mark is gone (cpu_claimed, a glance without the lock) takes the lock and looks.
 */
void cpu_idle_begin(void);
void cpu_idle_end(void);
void cpu_kick_idle(void);
void cpu_kick(struct cpu *c);
int cpu_claimed(const struct cpu *c);
/* Called by the scheduler (holding the lock) when its CPU is STOPPING: gives the CPU back to the firmware. */
__attribute__((noreturn)) void cpu_leave(void);
struct proc {
  enum proc_state state;
  int pid;
  char name[PROC_NAME_LEN];
  struct proc *parent;
  pagetable_t pagetable; /* 0 for kernel threads, which run on kernel_pagetable */
  uintptr_t brk;         /* end of the heap: the program break */
  uintptr_t heap_start;
  struct trapframe *tf; /* at the top of kstack */
  struct context context;
  const void *chan; /* what a SLEEPING process waits for */
  void (*kthread_fn)(void);
  int killed;
  int killable; /* a kernel thread that `kill` may end: it watches `killed` (udpecho) */
  int exit_status;
  uint32_t ticks;    /* timer ticks it was running for */
  uint32_t switches; /* times it gave up the CPU */
  int tty;           /* its console: TTY_SBI or TTY_HVC (console.c), inherited from its parent */
  uint8_t kstack[KSTACK_SIZE] __attribute__((aligned(16)));
};
extern struct proc proc_table[NPROC];
struct proc *current(void);
__attribute__((noreturn)) void scheduler(void);
/* A fresh process slot (EMBRYO) with its kernel stack, trap frame and pid; 0 if the table is full. */
struct proc *proc_alloc(const char *name);
void proc_free(struct proc *p);
void proc_make_runnable(struct proc *p);
int kthread_create(const char *name, void (*fn)(void));
void yield(void);
void sleep_on(const void *chan);
void wakeup(const void *chan);
__attribute__((noreturn)) void proc_exit(int status);
/* Waits for a child (pid > 0: that one; -1: any) to exit; returns its pid or -1 if there is none. */
int proc_wait(int pid, int *status);
int proc_fork(void);
int proc_kill(int pid);
/* Frees zombies nobody will wait for (children of the shell it did not wait for). */
void proc_reap_orphans(int parent_pid);
int proc_count(void);

/* exec.c: programs embedded in the kernel image */
struct program {
  const char *name;
  const uint8_t *elf;
  size_t size;
};
extern const struct program programs[], programs_end[]; /* programs.S */
const struct program *program_find(const char *name);
/* Starts `name` with the argument text `args` as a child of the current process; pid or -1. */
int spawn(const char *name, const char *args);

/* trap.c / syscall.c */
void syscall(struct trapframe *tf);
/* probe.S: a word load that may fault; probe_faulted (trap.c) is set when it did. */
uint32_t probe_load_word(uintptr_t addr);
extern volatile int probe_faulted;

/* timer.c */
/* On the boot CPU; timer_start_cpu on each other CPU as it comes online. */
void timer_init(uint32_t timebase_hz);
void timer_start_cpu(void);
/* The timer interrupt on this CPU; `locked`: it came from user mode, so the lock is held already. */
void timer_tick(int locked);
uint64_t uptime_ms(void);
extern volatile uint32_t ticks;
/* Sleeps the current process for at least `ms` milliseconds. */
void sleep_ms(uint32_t ms);

/*
 * console.c: two consoles, as a Xen PV guest has them: the SBI one (the domain's serial console, where
 * the kernel's own messages go) and hvc0 (virtio-console). A process reads and writes its own, `tty`:
 * the shell on hvc0 and what it starts use hvc0; everything else the SBI console.
 */
#define TTY_SBI 0
#define TTY_HVC 1
/* Writes out what both consoles have buffered. */
void console_flush(void);
void console_write(const char *buf, size_t n);
/* Blocks (sleeping, not spinning) until a byte arrives on the current process's console. */
int console_read_byte(void);
/* Up to n bytes already waiting on the current process's console, without blocking; how many. */
size_t console_read_more(char *buf, size_t n);

/*
 * plic.c: external interrupts. A driver registers a handler for its PLIC source; the source is then
 * enabled for the boot hart's supervisor context, and trap.c calls irq_dispatch on every supervisor
 * external interrupt, which claims, runs the handler and completes until nothing is pending.
 */
typedef void (*irq_handler_t)(void *arg);
/* Finds the PLIC in the device tree and maps it; without one, irq_register fails. Boot time only. */
void plic_init(void);
/* Returns 0, or -1 (no PLIC, source out of range or already taken). */
int irq_register(uint32_t source, irq_handler_t handler, void *arg);
void irq_dispatch(void);
/* External interrupts handled so far, by source (the shell's `irqs`). */
uint32_t irq_count(uint32_t source);

/*
 * blk.c: virtio-blk disks (blk0, blk1, ... in device-tree order). Reads and writes are synchronous: the
 * caller sleeps until the device's interrupt. They return 0, or a status blk_status_text explains
 * (1 I/O error, as for a write to a read-only disk; 2 unsupported; -2 no such disk or sectors beyond it).
 */
#define BLK_SECTOR_SIZE 512
#define BLK_SERIAL_LEN 20
struct blk_info {
  uint64_t base;     /* the registers' physical address */
  uint32_t irq;      /* PLIC source */
  uint64_t capacity; /* sectors */
  int readonly;      /* VIRTIO_BLK_F_RO */
  int polled;        /* no interrupt: the driver polls */
  char serial[BLK_SERIAL_LEN + 1];
};
/* Finds and sets up every disk; prints one line per disk. Boot time only. */
void blk_init(void);
int blk_count(void);
int blk_info(int disk, struct blk_info *info);
/* `count` (1..BLK_MAX_SECTORS) sectors at `sector` into / from kernel memory `buf`. */
int blk_read(int disk, uint64_t sector, void *buf, uint32_t count);
int blk_write(int disk, uint64_t sector, const void *buf, uint32_t count);
int blk_flush(int disk);
const char *blk_status_text(int status);
/*
 * Writes a pattern over `nsectors` sectors from `first` in requests of several sizes, reads it back and
 * compares, then puts the old contents back; on a read-only disk, checks that writes fail with an I/O
 * error and change nothing. Returns 0, or -1 with a reason in why. (ktest.c's `blk`, the shell's
 * `blk test`.)
 */
int blk_selftest(int disk, uint64_t first, uint32_t nsectors, char *why, size_t whylen);

/* hvc.c: hvc0, a console on virtio-console (beside the SBI console); a shell runs on it (shell.c) */
/* Finds and sets up the device; prints a line when there is one. Boot time only. */
void hvc_init(void);
int hvc_present(void);
/*
 * Writes all of buf (sleeping until the device has it, one writer at a time); 0, or -1 without the
 * device, or when another writer's chunk is in flight and the caller cannot sleep (no process).
 */
int hvc_write(const char *buf, size_t n);
/* The next input byte, sleeping until one arrives; -1 without the device or when killed. */
int hvc_getc(void);
/* Up to n input bytes already there, without sleeping; how many. */
size_t hvc_read_nowait(char *buf, size_t n);
/*
 * A command that reads hvc0 itself (`hvc read`) claims its input meanwhile: the shell on hvc0 reads
 * nothing until it is released, so a line meant for the command is not taken by the shell.
 */
void hvc_claim(void);
void hvc_release(void);

/*
 * xenstore.c: the store ring (docs/store-ring.md), when the device tree has one. Paths not starting
 * with '/' are relative to the domain's home /local/domain/<id>. `tx` is a transaction id, 0 for none.
 * Each call sleeps until the store answers; -1 is a failure whose reason xs_error() names (the store's
 * errno name, "EACCES", or "no store ring" / "ring error").
 */
void xenstore_init(void);  /* boot: finds the ring, takes its interrupt (quiet without one) */
void xenstore_start(void); /* boot, after the shell: the control/shutdown thread */
int xs_available(void);
const char *xs_error(void);
/* The value into buf (nul-terminated, cut to size - 1); returns its whole length, or -1. */
int xs_read(uint32_t tx, const char *path, char *buf, size_t size);
int xs_write(uint32_t tx, const char *path, const char *value);
int xs_rm(uint32_t tx, const char *path);
/* The children's names, each nul-terminated, into buf; returns their bytes, or -1. */
int xs_directory(uint32_t tx, const char *path, char *buf, size_t size);
int xs_watch(const char *path, const char *token);
int xs_unwatch(const char *path, const char *token);
/* Waits for the next event of a watch with `token`; its path into `path`. 0, or -1 (no ring). */
int xs_wait_event(const char *token, char *path, size_t size);
/* Forgets the queued events of `token`. */
void xs_drop_events(const char *token);
int xs_transaction_start(uint32_t *tx);
int xs_transaction_end(uint32_t tx, int commit);

/*
 * balloon.c: the virtio-balloon driver (docs/resizing.md). The balloon thread inflates (pages taken with
 * kalloc and given to the host) or deflates (given back, then kfree'd) towards the target.
 */
struct balloon_info {
  int present;
  uint32_t ram_pages; /* RAM the device tree reports */
  uint32_t held;      /* pages in the balloon */
  uint32_t target;    /* pages it should hold */
  int short_of;       /* it stopped short of the target: memory is short */
};
void balloon_init(void);  /* boot: finds and sets up the device (quiet without one) */
void balloon_start(void); /* boot: the balloon thread */
int balloon_present(void);
/* The domain's memory target in KiB (memory/target): the balloon holds the RAM above it. */
void balloon_set_target_kib(uint64_t kib);
void balloon_status(struct balloon_info *info);
/* resize.c: follows cpu/<n>/availability and memory/target in the store (a thread; needs the ring). */
void resize_start(void);

/* shell.c, ktest.c, devcmd.c (the shell's device commands) */
void shell_main(void);
void hvc_shell_main(void); /* the shell on hvc0, started by shell_main when the device is there */
void cmd_blk(char *args);
void cmd_hvc(char *args);
void cmd_xenstore(char *args); /* xscmd.c */
/* Runs the tests named `which` ("all" for every one); returns how many failed, -1 for an unknown name. */
int ktest_run(const char *which);
void ktest_list(void);

#endif
