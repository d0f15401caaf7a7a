/* The system calls (syscall.h): arguments from the trap frame, user memory only through copyin/out. */
#include <string.h>

#include "kernel.h"
#include "syscall.h"

#define IO_CHUNK 128

static long sys_write(uint32_t fd, uintptr_t buf, uint32_t n) {
  if (fd != 1 && fd != 2) return -1;
  char chunk[IO_CHUNK];
  for (uint32_t done = 0; done < n;) {
    uint32_t k = n - done < IO_CHUNK ? n - done : IO_CHUNK;
    if (copyin(chunk, buf + done, k) < 0) return done > 0 ? (long)done : -1;
    console_write(chunk, k);
    done += k;
  }
  return n;
}

static long sys_read(uint32_t fd, uintptr_t buf, uint32_t n) {
  if (fd != 0) return -1;
  if (n == 0) return 0;
  if (!user_range_ok(buf, n < IO_CHUNK ? n : IO_CHUNK, PTE_W)) return -1; /* before waiting for input */
  char chunk[IO_CHUNK];
  int c = console_read_byte(); /* wait for the first byte, then take what is already there */
  if (c < 0) return -1;
  chunk[0] = (char)c;
  uint32_t want = n < IO_CHUNK ? n : IO_CHUNK;
  uint32_t got = 1 + console_read_more(chunk + 1, want - 1);
  return copyout(buf, chunk, got) < 0 ? -1 : (long)got;
}

static long sys_spawn(uintptr_t name_user, uintptr_t args_user) {
  char name[PROC_NAME_LEN], args[ARGS_LEN];
  if (copyinstr(name, name_user, sizeof name) < 0) return -1;
  args[0] = '\0';
  if (args_user && copyinstr(args, args_user, sizeof args) < 0) return -1;
  return spawn(name, args);
}

static long sys_wait(int pid, uintptr_t status_user) {
  int status = 0;
  int found = proc_wait(pid, &status);
  if (found > 0 && status_user && copyout(status_user, &status, sizeof status) < 0) return -1;
  return found;
}

static long sys_sbrk(int increment) {
  struct proc *p = current();
  uintptr_t old = p->brk, new = old + increment;
  if (increment > 0) {
    if (new < old || new > USER_HEAP_LIMIT) return -1;
    if (uvm_alloc_range(p->pagetable, PAGE_ROUND_UP(old), PAGE_ROUND_UP(new), PTE_R | PTE_W) < 0) return -1;
  } else if (increment < 0) {
    if (new > old || new < p->heap_start) return -1;
    uvm_free_range(p->pagetable, PAGE_ROUND_UP(new), PAGE_ROUND_UP(old));
  }
  p->brk = new;
  return old;
}

void syscall(struct trapframe *tf) {
  uint32_t a0 = tf->regs[TF_A0], a1 = tf->regs[TF_A1], a2 = tf->regs[TF_A2];
  long r;
  switch (tf->regs[TF_A7]) {
    case SYS_exit: proc_exit((int)a0);
    case SYS_write: r = sys_write(a0, a1, a2); break;
    case SYS_read: r = sys_read(a0, a1, a2); break;
    case SYS_getpid: r = current()->pid; break;
    case SYS_spawn: r = sys_spawn(a0, a1); break;
    case SYS_fork: r = proc_fork(); break;
    case SYS_wait: r = sys_wait((int)a0, a1); break;
    case SYS_sbrk: r = sys_sbrk((int)a0); break;
    case SYS_yield: yield(); r = 0; break;
    case SYS_sleep: sleep_ms(a0); r = 0; break;
    case SYS_uptime: r = (long)uptime_ms(); break;
    case SYS_kill: r = proc_kill((int)a0); break;
    default: r = -1; break;
  }
  tf->regs[TF_A0] = (uint32_t)r;
}
