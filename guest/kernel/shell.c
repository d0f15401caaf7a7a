/*
 * The console shell, a kernel thread (pid 1). It reads a line, echoing what it reads, and runs one
 * command; Ctrl-D on an empty line powers off, like `shutdown`. When the domain has hvc0 (virtio-console)
 * a second shell runs there, as a getty on hvc0 in a Xen PV guest: the same commands, its output and
 * what it starts on hvc0 (console.c), Ctrl-D just starts it again. With `autotest` in the boot arguments (or a kernel built with -DKERNEL_AUTOTEST) it runs
 * `test all` instead and powers off: exit status 0 when every test passed, 1 otherwise. Commands after
 * a `--` word in the boot arguments run first, one per ';' ("-- run cpu 200000; uptime"), echoed as if
 * typed; then the prompt.
 */
#include <sbi.h>
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "net.h"

struct command {
  const char *name;
  const char *usage;
  void (*run)(char *args);
};

static void cmd_help(char *args);

/* The first space in s, or 0 (the SDK's string.h has no strchr). */
static char *find_space(char *s) {
  for (; *s; s++)
    if (*s == ' ') return s;
  return 0;
}

static const char *state_name(enum proc_state s) {
  switch (s) {
    case EMBRYO: return "embryo";
    case RUNNABLE: return "runnable";
    case RUNNING: return "running";
    case SLEEPING: return "sleeping";
    case ZOMBIE: return "zombie";
    default: return "unused";
  }
}

static void cmd_ps(char *args) {
  (void)args;
  printf("  PID  PPID  STATE     TICKS  NAME\n");
  for (int i = 0; i < NPROC; i++) {
    struct proc *p = &proc_table[i];
    if (p->state == UNUSED) continue;
    printf("%5d %5d  %-8s %6u  %s%s\n", p->pid, p->parent ? p->parent->pid : 0, state_name(p->state),
           (unsigned)p->ticks, p->name, p->pagetable ? "" : " [kernel]");
  }
}

static void cmd_uptime(char *args) {
  (void)args;
  uint64_t ms = uptime_ms();
  int n = proc_count();
  printf("up %lu.%03lu s, %u ticks, %d process%s\n", (unsigned long)(ms / 1000), (unsigned long)(ms % 1000),
         (unsigned)ticks, n, n == 1 ? "" : "es");
}

static void cmd_mem(char *args) {
  (void)args;
  extern char _start[], _end[];
  size_t free_pages = kalloc_free_pages(), total = kalloc_total_pages();
  printf("RAM %lu KiB at %08lx; kernel image %lu KiB\n", (unsigned long)(boot_info.mem_size >> 10),
         (unsigned long)boot_info.mem_base, (unsigned long)((_end - _start) >> 10));
  printf("pages: %u free, %u in use, %u total (4 KiB each)\n", (unsigned)free_pages,
         (unsigned)(total - free_pages), (unsigned)total);
  struct balloon_info b;
  balloon_status(&b);
  if (b.present)
    printf("balloon: %u pages held, target %u%s\n", (unsigned)b.held, (unsigned)b.target,
           b.short_of ? " (memory is short)" : "");
}

static void cmd_programs(char *args) {
  (void)args;
  for (const struct program *p = programs; p < programs_end; p++)
    printf("%-10s %6u bytes\n", p->name, (unsigned)p->size);
}

static void cmd_run(char *args) {
  char *name = args;
  char *rest = find_space(args);
  if (rest) *rest++ = '\0';
  if (!*name) {
    printf("usage: run <program> [args]\n");
    return;
  }
  int pid = spawn(name, rest ? rest : "");
  if (pid < 0) {
    printf("run: cannot start '%s' (no such program, or no memory or process slot)\n", name);
    return;
  }
  int status;
  proc_wait(pid, &status);
  if (status != 0) printf("[%s: pid %d exited with status %d]\n", name, pid, status);
}

static int parse_int(const char *s, int *out) {
  int v = 0;
  if (!*s) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    v = v * 10 + (*s - '0');
  }
  *out = v;
  return 0;
}

static void cmd_kill(char *args) {
  int pid;
  if (parse_int(args, &pid) < 0 || proc_kill(pid) < 0) printf("kill: no user process '%s'\n", args);
}

static const char *hsm_state_name(long s) {
  switch (s) {
    case SBI_HSM_STATE_STARTED: return "started";
    case SBI_HSM_STATE_STOPPED: return "stopped";
    case SBI_HSM_STATE_START_PENDING: return "start-pending";
    case SBI_HSM_STATE_STOP_PENDING: return "stop-pending";
    case SBI_HSM_STATE_SUSPENDED: return "suspended";
    default: return s < 0 ? "error" : "other";
  }
}

/* Each CPU the device tree lists: the kernel's view, the firmware's (HSM), and what it runs. */
static void cmd_cpus(char *args) {
  (void)args;
  printf("CPU  STATE     HSM            TICKS  RUNS\n");
  for (int i = 0; i < NCPU; i++) {
    struct cpu *c = &cpus[i];
    if (c->state == CPU_ABSENT) continue;
    printf("%3d  %-8s  %-13s %6u  ", i, cpu_state_name(c->state), hsm_state_name(arch_cpu_status(i)),
           (unsigned)c->ticks);
    if (c->state != CPU_ONLINE && c->state != CPU_STOPPING) printf("-\n");
    else if (!c->proc) printf("idle\n");
    else printf("%s (pid %d)\n", c->proc->name, c->proc->pid);
  }
}

/* `online <cpu> 0|1`: the analogue of Linux's /sys/devices/system/cpu/cpuN/online. */
static void cmd_online(char *args) {
  char *value = find_space(args);
  int cpu, on;
  if (value) *value++ = '\0';
  if (!value || parse_int(args, &cpu) < 0 || parse_int(value, &on) < 0 || on > 1) {
    printf("usage: online <cpu> 0|1\n");
    return;
  }
  int r = cpu_set_online(cpu, on);
  if (r < 0) printf("online: cpu %s: %s\n", args, cpu_error_text(r));
}

static void cmd_test(char *args) {
  if (!*args) {
    ktest_list();
    return;
  }
  if (ktest_run(args) < 0) printf("test: no test '%s' (type `test` for the list)\n", args);
}

static void cmd_shutdown(char *args) {
  (void)args;
  printf("shutting down\n");
  console_flush();
  arch_shutdown(0);
}

static const struct command commands[] = {
    {"help", "help                 this list", cmd_help},
    {"ps", "ps                   the process table", cmd_ps},
    {"uptime", "uptime               time since boot", cmd_uptime},
    {"mem", "mem                  physical memory in use", cmd_mem},
    {"programs", "programs             the user programs in the kernel image", cmd_programs},
    {"run", "run <program> [args] start a program and wait for it", cmd_run},
    {"kill", "kill <pid>           kill a user process (or udpecho)", cmd_kill},
    {"cpus", "cpus                 the CPUs: online or offline, and what each runs", cmd_cpus},
    {"online", "online <cpu> 0|1     take a CPU offline (0) or bring it online (1)", cmd_online},
    {"test", "test [name|all]      run the kernel's tests (no name: list them)", cmd_test},
    {"blk", "blk info|read|write|test  the virtio disks (blk alone: usage)", cmd_blk},
    {"hvc", "hvc write <text>|read  the virtio console hvc0", cmd_hvc},
    {"ifconfig", "ifconfig             the network interface: MAC, address, counters", cmd_ifconfig},
    {"ping", "ping <ip> [count]    ICMP echo requests, one a second", cmd_ping},
    {"udpecho", "udpecho [port]       echo UDP datagrams in the background (default port 7)", cmd_udpecho},
    {"udpsend", "udpsend <ip> <port> <text>  send a datagram and print the reply", cmd_udpsend},
    {"xenstore", "xenstore read|write|ls|rm|watch <path> [value|count]  the store", cmd_xenstore},
    {"shutdown", "shutdown             power off", cmd_shutdown},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void cmd_help(char *args) {
  (void)args;
  for (size_t i = 0; i < NCOMMANDS; i++) printf("  %s\n", commands[i].usage);
}

#define END_OF_INPUT 0x04 /* Ctrl-D */

/*
 * Reads a line into buf with echo and backspace from the current process's console; returns its length,
 * or -1 at Ctrl-D on an empty line (or when the console is gone).
 */
static int read_line(char *buf, int size) {
  static int after_cr[2]; /* per console: a terminal's "\r\n" is one end of line */
  int *cr = &after_cr[current()->tty == TTY_HVC];
  int n = 0;
  for (;;) {
    int c = console_read_byte();
    if (c < 0) return -1;
    if (c == '\n' && *cr) {
      *cr = 0;
      continue;
    }
    *cr = c == '\r';
    if (c == END_OF_INPUT && n == 0) return -1; /* as a terminal's Ctrl-D: no more commands */
    if (c == '\r' || c == '\n') {
      putchar('\n');
      buf[n] = '\0';
      return n;
    }
    if (c == 0x7f || c == '\b') {
      if (n > 0) {
        n--;
        printf("\b \b");
      }
    } else if (c >= ' ' && n < size - 1) {
      buf[n++] = (char)c;
      putchar(c);
    }
  }
}

static void execute(char *line) {
  while (*line == ' ') line++;
  char *end = line + strlen(line);
  while (end > line && end[-1] == ' ') *--end = '\0';
  if (!*line) return;
  char *args = find_space(line);
  if (args) {
    *args++ = '\0';
    while (*args == ' ') args++;
  } else {
    args = end;
  }
  for (size_t i = 0; i < NCOMMANDS; i++) {
    if (strcmp(commands[i].name, line) == 0) {
      commands[i].run(args);
      return;
    }
  }
  printf("%s: unknown command (type help)\n", line);
}

static int has_word(const char *text, const char *word) {
  size_t n = strlen(word);
  for (const char *s = text; *s;) {
    while (*s == ' ') s++;
    if (strncmp(s, word, n) == 0 && (s[n] == ' ' || s[n] == '\0')) return 1;
    while (*s && *s != ' ') s++;
  }
  return 0;
}

/* What follows a `--` word in the boot arguments, or 0. */
static const char *boot_commands(const char *text) {
  for (const char *s = text; *s;) {
    while (*s == ' ') s++;
    if (s[0] == '-' && s[1] == '-' && (s[2] == ' ' || s[2] == '\0')) return s[2] ? s + 3 : s + 2;
    while (*s && *s != ' ') s++;
  }
  return 0;
}

void shell_main(void) {
#ifdef KERNEL_AUTOTEST
  int autotest = 1;
#else
  int autotest = has_word(boot_info.bootargs, "autotest");
#endif
  if (autotest) {
    int failed = ktest_run("all");
    console_flush();
    arch_shutdown(failed != 0);
  }
  if (net_if && has_word(boot_info.bootargs, "udpecho")) {
    char none[] = ""; /* `udpecho` in the boot arguments: the echo service on port 7 from the start */
    cmd_udpecho(none);
  }
  if (hvc_present() && kthread_create("hvc0-shell", hvc_shell_main) < 0)
    printf("hvc0: no process slot for its shell\n");
  printf("type help for the commands\n");
  char line[LINE_LEN];
  /* Commands after `--` on the command line run first, separated by ';' (init's arguments, as Linux). */
  const char *init = boot_commands(boot_info.bootargs);
  while (init != 0 && *init) {
    while (*init == ' ') init++;
    size_t n = 0;
    while (init[n] && init[n] != ';' && n + 1 < sizeof line) n++;
    memcpy(line, init, n);
    line[n] = '\0';
    init += init[n] == ';' ? n + 1 : n;
    printf("$ %s\n", line);
    execute(line);
    proc_reap_orphans(current()->pid);
  }
  for (;;) {
    printf("$ ");
    if (read_line(line, sizeof line) < 0) {
      printf("shutdown\n");
      cmd_shutdown(line);
    }
    execute(line);
    proc_reap_orphans(current()->pid);
  }
}

/* The shell on hvc0: a getty's shell, started again at Ctrl-D; `shutdown` powers the domain off. */
void hvc_shell_main(void) {
  current()->tty = TTY_HVC;
  char line[LINE_LEN];
  for (;;) {
    printf("hvc0: rvisor guest kernel shell; type help for the commands\n");
    for (;;) {
      printf("$ ");
      if (read_line(line, sizeof line) < 0) {
        printf("\n");
        break;
      }
      execute(line);
      proc_reap_orphans(current()->pid);
    }
  }
}
