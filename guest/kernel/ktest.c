/*
 * The kernel's own test suite, run by name from the shell (`test <name>`, `test all`). Each test
 * prints one line, `PASS <name>` or `FAIL <name>: <why>`, and `test all` ends with a summary. Tests of
 * the kernel's parts call them directly; tests of processes run the embedded user programs, which
 * check their side and report through their exit status. Every test must also give back every page
 * it took: a test that leaks memory fails.
 */
#include <sbi.h>
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "net.h"

static char why[160];

#define CHECK(cond, ...)                           \
  do {                                             \
    if (!(cond)) {                                 \
      snprintf(why, sizeof why, __VA_ARGS__);      \
      return -1;                                   \
    }                                              \
  } while (0)

/* Runs a program as the shell's child and waits for it; returns its exit status (-1000: no start). */
static int run(const char *name, const char *args) {
  int pid = spawn(name, args);
  if (pid < 0) return -1000;
  int status = -2000;
  proc_wait(pid, &status);
  return status;
}

static int test_fdt(void) {
  extern char _start[], _end[];
  CHECK(boot_info.mem_base == 0x80000000u, "RAM at %08lx, expected 0x80000000", (unsigned long)boot_info.mem_base);
  CHECK(boot_info.mem_size >= (16u << 20), "only %lu bytes of RAM", (unsigned long)boot_info.mem_size);
  CHECK((uintptr_t)_end <= boot_info.mem_base + boot_info.mem_size, "kernel image beyond RAM");
  CHECK((uintptr_t)_start == 0x80200000u, "kernel not at 0x80200000");
  CHECK(boot_info.timebase_hz >= 1000, "timebase-frequency %u", (unsigned)boot_info.timebase_hz);
  return 0;
}

static int test_kalloc(void) {
  enum { N = 64 };
  uintptr_t pages[N];
  size_t before = kalloc_free_pages();
  for (int i = 0; i < N; i++) {
    pages[i] = kalloc();
    CHECK(pages[i] != 0, "out of pages after %d", i);
    CHECK(pages[i] % PAGE_SIZE == 0, "page %08lx not aligned", (unsigned long)pages[i]);
    const uint32_t *w = (const uint32_t *)pages[i];
    for (uint32_t k = 0; k < PAGE_SIZE / 4; k++) CHECK(w[k] == 0, "page %08lx not zeroed", (unsigned long)pages[i]);
    for (int j = 0; j < i; j++) CHECK(pages[j] != pages[i], "page %08lx handed out twice", (unsigned long)pages[i]);
    memset((void *)pages[i], 0xa5, PAGE_SIZE);
  }
  CHECK(kalloc_free_pages() == before - N, "free count did not drop by %d", N);
  for (int i = 0; i < N; i++) kfree(pages[i]);
  CHECK(kalloc_free_pages() == before, "free count not restored");
  return 0;
}

static int test_vm(void) {
  pagetable_t pt = uvm_create();
  CHECK(pt != 0, "uvm_create failed");
  for (uint32_t i = VPN1(USER_END); i < PT_ENTRIES; i++)
    CHECK(pt[i] == kernel_pagetable[i], "kernel root entry %u differs", (unsigned)i);
  uintptr_t va = 0x00400000u, pa = kalloc();
  CHECK(uvm_map(pt, va, pa, PTE_R | PTE_W) == 0, "map failed");
  CHECK(uvm_map(pt, va, pa, PTE_R) < 0, "mapping a mapped page succeeded");
  pte_t pte = uvm_lookup(pt, va + 123);
  CHECK((pte & (PTE_V | PTE_U | PTE_R | PTE_W | PTE_X)) == (PTE_V | PTE_U | PTE_R | PTE_W), "pte %08lx", (unsigned long)pte);
  CHECK(PTE_TO_PA(pte) == pa, "pte maps %08lx, not %08lx", (unsigned long)PTE_TO_PA(pte), (unsigned long)pa);
  CHECK(uvm_lookup(pt, va + PAGE_SIZE) == 0, "the next page is mapped");
  CHECK(uvm_lookup(pt, 0x80200000u) == 0, "the kernel looks like a user page");
  CHECK(uvm_unmap(pt, va) == pa, "unmap returned another page");
  CHECK(uvm_lookup(pt, va) == 0, "still mapped after unmap");
  kfree(pa);
  uvm_free(pt);
  return 0;
}

/* copyin/copyout in a scratch address space: they honour U, R and W and never fault. */
static int test_copy(void) {
  pagetable_t pt = uvm_create();
  CHECK(pt != 0, "uvm_create failed");
  uintptr_t rw = 0x00800000u, ro = rw + PAGE_SIZE;
  int ok = uvm_alloc_range(pt, rw, rw + PAGE_SIZE, PTE_R | PTE_W) == 0 &&
           uvm_alloc_range(pt, ro, ro + PAGE_SIZE, PTE_R) == 0;
  char msg[] = "across a page boundary", back[sizeof msg] = {0}, str[32];
  int out = -1, in = -1, to_ro = 0, from_kernel = 0, unmapped = 0, len = -1, overflow = 0;
  if (ok) {
    vm_activate(pt);
    uintptr_t at = rw + PAGE_SIZE - 8; /* the copy straddles the R/W and read-only pages */
    out = copyout(rw + 100, msg, sizeof msg);
    in = copyin(back, rw + 100, sizeof msg);
    to_ro = copyout(at, msg, sizeof msg);
    from_kernel = copyin(back, 0x80200000u, 4);
    unmapped = copyin(back, ro + PAGE_SIZE, 4);
    len = copyinstr(str, rw + 100, sizeof str);
    overflow = copyin(back, 0xfffffff0u, 0x20);
    vm_activate(kernel_pagetable);
  }
  uvm_free(pt);
  CHECK(ok, "could not map the scratch pages");
  CHECK(out == 0 && in == 0 && memcmp(msg, back, sizeof msg) == 0, "copy out and back differs");
  CHECK(to_ro == -1, "copyout into a read-only page succeeded");
  CHECK(from_kernel == -1, "copyin from a kernel address succeeded");
  CHECK(unmapped == -1, "copyin from an unmapped page succeeded");
  CHECK(len == (int)strlen(msg) && strcmp(str, msg) == 0, "copyinstr returned %d", len);
  CHECK(overflow == -1, "copyin across the top of the address space succeeded");
  return 0;
}

/* Whether the kernel can load the word at `va` right now. */
static int kernel_can_read(uintptr_t va, uint32_t *value) {
  probe_faulted = 0;
  *value = probe_load_word(va);
  return !probe_faulted;
}

/*
 * The kernel reaches a user page only while SUM is set (arch_user_access_begin/end), and never one
 * that is not mapped: a deprivileged kernel must see the same (the hypervisor's ring compression).
 */
static int test_sum(void) {
  pagetable_t pt = uvm_create();
  CHECK(pt != 0, "uvm_create failed");
  uintptr_t va = 0x00c00000u;
  uint32_t magic = 0x5a17e5edu, v0 = 0, v1 = 0, v2 = 0, v3 = 0;
  int ok = uvm_alloc_range(pt, va, va + PAGE_SIZE, PTE_R | PTE_W) == 0 && uvm_write(pt, va, &magic, 4) == 0;
  int before = 0, inside = 0, after = 0, unmapped = 1, open_seen = 0, closed_seen = 1;
  if (ok) {
    vm_activate(pt);
    before = kernel_can_read(va, &v0);
    arch_user_access_begin();
    open_seen = arch_user_access_enabled();
    inside = kernel_can_read(va, &v1);
    unmapped = kernel_can_read(va + PAGE_SIZE, &v3);
    arch_user_access_end();
    closed_seen = arch_user_access_enabled();
    after = kernel_can_read(va, &v2);
    vm_activate(kernel_pagetable);
  }
  uvm_free(pt);
  CHECK(ok, "could not map the scratch page");
  CHECK(!before, "the kernel read a user page without SUM");
  CHECK(inside && v1 == magic, "with SUM the kernel could not read the user page (read %08lx)", (unsigned long)v1);
  CHECK(!unmapped, "the kernel read an unmapped user address");
  CHECK(!after, "the kernel read a user page after SUM was cleared");
  /*
   * The kernel reads its own SUM state back. A hypervisor that lets that read through without a trap
   * (rvisor's sensitive-unprivileged quirk under trap-and-emulate) hands it the host's U-mode sstatus.
   */
  CHECK(open_seen, "sstatus reads SUM clear inside the user-access window");
  CHECK(!closed_seen, "sstatus reads SUM set after the window closed");
  return 0;
}

static int test_spawn(void) {
  CHECK(run("hello", "-q") == 0, "hello did not exit with 0");
  CHECK(spawn("no-such-program", "") == -1, "spawning a missing program succeeded");
  int status;
  CHECK(proc_wait(-1, &status) == -1, "wait without children found one");
  return 0;
}

static int test_exit_status(void) {
  /* The program counts primes below 1000 (there are 168) and exits with the count. */
  int status = run("cpu", "1000 -q");
  CHECK(status == 168, "cpu 1000 exited with %d, expected 168", status);
  return 0;
}

static int test_preempt(void) {
  /*
   * spin never makes a system call: with one spinning on every CPU, cpu can only finish if the timer
   * takes a CPU away from one of them.
   */
  int spinners[NCPU], n = cpu_online_count();
  for (int i = 0; i < n; i++) {
    spinners[i] = spawn("spin", "");
    CHECK(spinners[i] > 0, "spawning spin failed");
  }
  int status = run("cpu", "3000 -q");
  uint32_t slices = 0;
  for (int i = 0; i < NPROC; i++)
    for (int k = 0; k < n; k++)
      if (proc_table[i].pid == spinners[k]) slices += proc_table[i].switches;
  int reaped_all = 1;
  for (int k = 0; k < n; k++) proc_kill(spinners[k]);
  for (int k = 0; k < n; k++) {
    int spin_status = 0;
    int reaped = proc_wait(spinners[k], &spin_status);
    if (reaped != spinners[k] || spin_status != -1) reaped_all = 0;
  }
  CHECK(status == 430, "cpu 3000 exited with %d, expected 430", status);
  CHECK(slices > 0, "spin was never preempted");
  CHECK(reaped_all, "a killed spin was not reaped with status -1");
  return 0;
}

static int test_sleep(void) {
  uint64_t t0 = uptime_ms();
  uint32_t tick0 = ticks;
  sleep_ms(30);
  uint64_t slept = uptime_ms() - t0;
  CHECK(slept >= 30, "slept %lu ms of 30", (unsigned long)slept);
  CHECK(ticks != tick0, "no tick in 30 ms");
  int status = run("sleeper", "20 -q");
  CHECK(status == 0, "sleeper exited with %d", status);
  return 0;
}

static int test_sbrk(void) {
  int status = run("mem", "512 -q");
  CHECK(status == 0, "mem exited with %d", status);
  return 0;
}

static int test_fork(void) {
  int status = run("forks", "5 -q");
  CHECK(status == 0, "forks exited with %d", status);
  return 0;
}

static int test_syscalls(void) {
  int status = run("syscalls", "300 -q");
  CHECK(status == 0, "syscalls exited with %d", status);
  return 0;
}

static int test_bad_args(void) {
  int status = run("badargs", "");
  CHECK(status == 0, "badargs exited with %d (the failing check's number)", status);
  return 0;
}

static int test_faults(void) {
  static const char *const kinds[] = {"null", "kernel-read", "kernel-write", "kernel-jump", "csr", "sret", "text-write"};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    int status = run("fault", kinds[i]);
    CHECK(status == -1, "fault %s exited with %d instead of being killed", kinds[i], status);
  }
  return 0;
}

static int test_proc_table(void) {
  int pids[NPROC], n = 0, before = proc_count();
  while (n < NPROC && (pids[n] = spawn("spin", "")) > 0) n++;
  CHECK(n == NPROC - before, "started %d spinners with %d slots free", n, NPROC - before);
  CHECK(spawn("hello", "-q") == -1, "spawn succeeded with a full table");
  for (int i = 0; i < n; i++) proc_kill(pids[i]);
  for (int i = 0; i < n; i++) {
    int status = 0;
    CHECK(proc_wait(pids[i], &status) == pids[i] && status == -1, "spinner %d not reaped as killed", pids[i]);
  }
  CHECK(proc_count() == before, "%d processes left, expected %d", proc_count(), before);
  return 0;
}

/* ---- smp: CPUs going offline and online around and under a workload --------------------------------- */
#define SMP_WORKERS 4
#define SMP_PRIMES_BELOW "8000 -q"
#define SMP_PRIMES 1007

/* The workload: SMP_WORKERS CPU-bound programs and a fork/spawn storm, all at once. */
static int smp_spawn(int pids[SMP_WORKERS + 1]) {
  for (int i = 0; i < SMP_WORKERS; i++)
    if ((pids[i] = spawn("cpu", SMP_PRIMES_BELOW)) < 0) return -1;
  return (pids[SMP_WORKERS] = spawn("forks", "3 -q")) < 0 ? -1 : 0;
}

/* Waits for the workload; 0 when every program gave the right answer, else the first wrong status. */
static int smp_reap(const int pids[SMP_WORKERS + 1], int *bad) {
  int ok = 1;
  for (int i = 0; i <= SMP_WORKERS; i++) {
    int status = -2000;
    proc_wait(pids[i], &status);
    if (status != (i < SMP_WORKERS ? SMP_PRIMES : 0) && ok) {
      *bad = status;
      ok = 0;
    }
  }
  return ok ? 0 : -1;
}

/*
 * One spinner per online CPU, until every CPU in `others` has run a process (an idle CPU looks for work
 * at its next tick); returns the first that ran none in CPU_SWITCH_TIMEOUT_MS, or -1.
 */
static int smp_spread(const int others[], int n, int *started) {
  int spinners[NCPU], online = cpu_online_count(), idle = -1;
  uint32_t runs0[NCPU];
  for (int k = 0; k < n; k++) runs0[k] = cpus[others[k]].runs;
  *started = 0;
  for (int i = 0; i < online; i++)
    if ((spinners[*started] = spawn("spin", "")) > 0) ++*started;
  uint64_t give_up = uptime_ms() + CPU_SWITCH_TIMEOUT_MS;
  for (;;) {
    idle = -1;
    for (int k = 0; k < n && idle < 0; k++)
      if (cpus[others[k]].runs == runs0[k]) idle = others[k];
    if (idle < 0 || uptime_ms() >= give_up) break;
    sleep_ms(10);
  }
  for (int i = 0; i < *started; i++) proc_kill(spinners[i]);
  for (int i = 0; i < *started; i++) proc_wait(spinners[i], 0);
  *started = *started == online;
  return idle;
}

/* `online cpu on`, and both the kernel and the firmware (HSM) must agree that it happened. */
static int set_cpu(int cpu, int on) {
  int r = cpu_set_online(cpu, on);
  enum cpu_state state = cpus[cpu].state;
  long hsm = arch_cpu_status((unsigned long)cpu);
  CHECK(r == 0, "online %d %d: %s", cpu, on, cpu_error_text(r));
  CHECK(state == (on ? CPU_ONLINE : CPU_OFFLINE), "cpu %d is %s after online %d %d", cpu, cpu_state_name(state),
        cpu, on);
  CHECK(hsm == (on ? SBI_HSM_STATE_STARTED : SBI_HSM_STATE_STOPPED), "cpu %d: HSM state %ld after online %d %d",
        cpu, hsm, cpu, on);
  return 0;
}

/*
 * Needs two CPUs or more. All online, every CPU runs processes, and the workload runs; every other CPU
 * offline (the boot CPU refuses), it runs again and the offline CPUs take no tick and run nothing; then
 * they come back, and one leaves and returns again, while it runs a third time. Every result must be
 * right, and every CPU ends online.
 */
static int test_smp(void) {
  int others[NCPU], n = 0, pids[SMP_WORKERS + 1], bad = 0;
  for (int i = 0; i < NCPU; i++)
    if (cpus[i].state != CPU_ABSENT && i != (int)boot_hartid) others[n++] = i;
  CHECK(n > 0, "only one CPU");
  for (int k = 0; k < n; k++)
    if (set_cpu(others[k], 1) < 0) return -1;
  CHECK(cpu_set_online((int)boot_hartid, 0) == CPU_ERR_BOOT, "the boot CPU did not refuse to go offline");

  int started, idle = smp_spread(others, n, &started);
  CHECK(started, "could not start a spinner per CPU");
  CHECK(idle < 0, "cpu %d ran no process while there were as many as CPUs", idle);
  CHECK(smp_spawn(pids) == 0, "could not start the workload");
  CHECK(smp_reap(pids, &bad) == 0, "all online: a program exited with %d", bad);

  uint32_t ticks0[NCPU], runs1[NCPU];
  for (int k = 0; k < n; k++) {
    if (set_cpu(others[k], 0) < 0) return -1;
    ticks0[k] = cpus[others[k]].ticks;
    runs1[k] = cpus[others[k]].runs;
  }
  CHECK(cpu_online_count() == 1, "%d CPUs online, expected only the boot CPU", cpu_online_count());
  CHECK(smp_spawn(pids) == 0, "could not start the workload");
  CHECK(smp_reap(pids, &bad) == 0, "boot CPU only: a program exited with %d", bad);
  for (int k = 0; k < n; k++) {
    CHECK(cpus[others[k]].ticks == ticks0[k], "cpu %d took ticks while offline", others[k]);
    CHECK(cpus[others[k]].runs == runs1[k], "cpu %d ran a process while offline", others[k]);
  }

  CHECK(smp_spawn(pids) == 0, "could not start the workload");
  int failed = 0;
  for (int k = 0; k < n && !failed; k++) failed = set_cpu(others[k], 1);
  if (!failed) failed = set_cpu(others[n - 1], 0);
  if (!failed) failed = set_cpu(others[n - 1], 1);
  int reaped = smp_reap(pids, &bad); /* reaped even after a failure, so that nothing leaks */
  if (failed) return -1;
  CHECK(reaped == 0, "CPUs coming and going: a program exited with %d", bad);
  CHECK(cpu_online_count() == n + 1, "%d CPUs online at the end, expected %d", cpu_online_count(), n + 1);
  return 0;
}

/*
 * Every disk, non-destructively (blk_selftest puts the old sectors back): the last 32 sectors (or the
 * whole disk if smaller) through the driver and the device's interrupt; a read-only disk must refuse
 * writes with an I/O error.
 */
static int test_blk(void) {
  for (int d = 0; d < blk_count(); d++) {
    struct blk_info info;
    CHECK(blk_info(d, &info) == 0, "blk%d has no info", d);
    CHECK(info.capacity > 0, "blk%d has no sectors", d);
    uint32_t n = info.capacity < 32 ? (uint32_t)info.capacity : 32;
    char reason[120];
    CHECK(blk_selftest(d, info.capacity - n, n, reason, sizeof reason) == 0, "blk%d: %s", d, reason);
  }
  uint8_t sector[BLK_SECTOR_SIZE];
  CHECK(blk_read(0, 0, sector, 0) != 0, "a read of 0 sectors succeeded");
  return 0;
}

static int have_disks(void) { return blk_count() > 0; }

/* By name without an interface they fail (as blk without disks has nothing to check) instead of crashing. */
static int test_net(void) {
  if (!ktest_net_present()) return snprintf(why, sizeof why, "no network interface"), -1;
  return ktest_net(why, sizeof why);
}
static int test_net_arp(void) {
  if (!ktest_net_present()) return snprintf(why, sizeof why, "no network interface"), -1;
  return ktest_net_arp(why, sizeof why);
}

struct ktest {
  const char *name;
  int (*run)(void);
  int smp; /* needs more than one CPU: not listed or run by `all` on one */
  int (*present)(void); /* when set: listed and run by `all` only if it says its device is there */
};

static const struct ktest tests[] = {
    {"fdt", test_fdt, 0},           {"kalloc", test_kalloc, 0},     {"vm", test_vm, 0},
    {"copy", test_copy, 0},         {"sum", test_sum, 0},           {"spawn", test_spawn, 0},
    {"exit-status", test_exit_status, 0}, {"preempt", test_preempt, 0}, {"sleep", test_sleep, 0},
    {"sbrk", test_sbrk, 0},         {"fork", test_fork, 0},         {"syscalls", test_syscalls, 0},
    {"bad-args", test_bad_args, 0}, {"faults", test_faults, 0},     {"proc-table", test_proc_table, 0},
    {"smp", test_smp, 1},           {"blk", test_blk, 0, have_disks},
    {"net", test_net, 0, ktest_net_present}, {"net-arp", test_net_arp, 0, ktest_net_present},
};
#define NTESTS (sizeof tests / sizeof tests[0])

/* Whether `t` means anything here: the smp tests only with more than one CPU, device tests with the device. */
static int applies(const struct ktest *t) {
  return (!t->smp || cpu_present_count() > 1) && (!t->present || t->present());
}

static int run_one(const struct ktest *t) {
  proc_reap_orphans(current()->pid); /* so that tests waiting for "any child" find only their own */
  arch_lazy_mmu_flush(); /* a paravirtualized kernel frees released page tables once that is done */
  size_t pages = kalloc_free_pages();
  why[0] = '\0';
  int r = t->run();
  proc_reap_orphans(current()->pid);
  arch_lazy_mmu_flush();
  if (r == 0 && kalloc_free_pages() != pages)
    snprintf(why, sizeof why, "%d pages leaked", (int)(pages - kalloc_free_pages())), r = -1;
  if (r == 0) printf("PASS %s\n", t->name);
  else printf("FAIL %s: %s\n", t->name, why);
  return r == 0;
}

int ktest_run(const char *which) {
  int all = strcmp(which, "all") == 0, passed = 0, failed = 0;
  for (size_t i = 0; i < NTESTS; i++) {
    if (all ? !applies(&tests[i]) : strcmp(which, tests[i].name) != 0) continue;
    if (run_one(&tests[i])) passed++;
    else failed++;
  }
  if (passed + failed == 0) return -1;
  if (all) printf("tests: %d passed, %d failed\n", passed, failed);
  return failed;
}

void ktest_list(void) {
  printf("tests:");
  for (size_t i = 0; i < NTESTS; i++)
    if (applies(&tests[i])) printf(" %s", tests[i].name);
  printf("\nrun one with `test <name>`, or `test all`\n");
}
