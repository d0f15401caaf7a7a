/*
 * rvisor-ctr-helper: the part of rvisor's container engine that must be a single-threaded process.
 *
 * Node cannot enter namespaces itself (it is multithreaded: unshare(CLONE_NEWPID|CLONE_NEWNS) and setns
 * into a mount namespace fail, and clone() from a thread pool is unsafe), so the engine spawns this
 * helper. Three verbs:
 *
 *   run      [opts] -- cmd args   clone a container and stay as its monitor (like conmon)
 *   restore  [opts] -- criu args  run `criu restore -d` as a child subreaper, then monitor what it restored
 *   exec     --pid P [opts] -- cmd   join the namespaces and cgroups of container init P and run cmd
 *
 * run, step by step (M = monitor, C = container init):
 *
 *   M: [setns into --netns]  clone(NEWNS|NEWPID|NEWUTS|NEWIPC|[NEWNET]|[NEWUSER])
 *   C: blocks on the sync pipe                 M: writes uid_map/gid_map, puts C in its cgroups
 *   M: releases C                              C: sethostname, private mounts, bind rootfs, /proc, /dev,
 *                                                 pivot_root, setsid, close inherited fds, [wait on
 *                                                 the start fifo], execvp
 *   M: reports "pid <C>" on the status fd, then copies C's output to the log file and waits for it;
 *      on exit it writes "exit <code>" or "signal <n>" to the exit file.
 *
 * C reports failures before exec on an error pipe that is close-on-exec: EOF means exec succeeded, 'E'
 * and a message mean it failed, 'R' means it is set up and waits on the start fifo (OCI create/start).
 *
 * The status fd (--status-fd, usually 3) carries one line to the engine: "pid <container> <monitor>" or
 * "error <message>". The engine takes a container as exited once its monitor is gone too, so the exit
 * file is complete and the overlay unmounted by then.
 * With --detach the monitor forks away, starts its own session and the first process exits at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LIST 32

struct opts {
  const char *rootfs, *hostname, *netns, *usermap, *log, *exit_file, *start_fifo, *cwd, *criu_pidfile;
  const char *overlay, *criu_netns;
  const char *cgroups[MAX_LIST];
  int ncgroups;
  const char *env[MAX_LIST];
  int nenv;
  int status_fd, detach, pid;
  char **argv;
};

static int status_fd = -1;

static void report(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  if (status_fd >= 0) {
    if (write(status_fd, buf, n) < 0) { /* the engine went away; nothing left to tell */ }
  } else if (write(2, buf, n) < 0) {
  }
}

static void die(const char *fmt, ...) {
  char buf[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  report("error %s", buf);
  exit(125);
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  int saved = errno;
  close(fd);
  errno = saved;
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void join_cgroups(const struct opts *o, pid_t pid) {
  char buf[32];
  snprintf(buf, sizeof buf, "%d", (int)pid);
  for (int i = 0; i < o->ncgroups; i++)
    if (write_file(o->cgroups[i], buf) < 0) die("cannot join cgroup %s: %s", o->cgroups[i], strerror(errno));
}

/* ---- the container init, between clone and exec ---- */

static int err_fd = -1;

static void child_fail(const char *fmt, ...) {
  char buf[900];
  buf[0] = 'E';
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + 1, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  if (write(err_fd, buf, n + 1) < 0) {
  }
  _exit(127);
}

static void mount_or_fail(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
  if (mount(src, dst, type, flags, data) < 0) child_fail("mount %s on %s: %s", type ? type : src, dst, strerror(errno));
}

/* /dev is a small tmpfs with the usual character devices: made with mknod as real root, bind-mounted
 * from the host inside a user namespace (where mknod is not allowed). */
static void populate_dev(const char *rootfs) {
  static const struct { const char *name; int major, minor; } devs[] = {
      {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  char dev[4096], path[4200], host[64];
  mode_t saved_umask = umask(0); /* the nodes are made 0666 as asked, without a chmod each */
  snprintf(dev, sizeof dev, "%s/dev", rootfs);
  mkdir(dev, 0755);
  mount_or_fail("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dev, devs[i].name);
    if (mknod(path, S_IFCHR | 0666, makedev(devs[i].major, devs[i].minor)) == 0) continue;
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
    if (fd >= 0) close(fd);
    snprintf(host, sizeof host, "/dev/%s", devs[i].name);
    mount_or_fail(host, path, NULL, MS_BIND, NULL);
  }
  static const char *links[][2] = {
      {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}};
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dev, links[i][1]);
    if (symlink(links[i][0], path) < 0) {
    }
  }
  snprintf(path, sizeof path, "%s/shm", dev);
  mkdir(path, 01777);
  umask(saved_umask);
}

static void container_init(const struct opts *o, int sync_fd, int start_fd) {
  char c;
  if (read(sync_fd, &c, 1) != 1) _exit(126); /* the monitor died before releasing us */
  close(sync_fd);
  if (o->usermap) {
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) child_fail("become root in the user namespace: %s", strerror(errno));
  }
  if (o->hostname && sethostname(o->hostname, strlen(o->hostname)) < 0)
    child_fail("sethostname %s: %s", o->hostname, strerror(errno));
  mount_or_fail(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  mount_or_fail(o->rootfs, o->rootfs, NULL, MS_BIND | MS_REC, NULL);
  char path[4200];
  snprintf(path, sizeof path, "%s/proc", o->rootfs);
  mkdir(path, 0555);
  mount_or_fail("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  populate_dev(o->rootfs);
  if (chdir(o->rootfs) < 0) child_fail("chdir %s: %s", o->rootfs, strerror(errno));
  /* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only the rootfs. */
  if (syscall(SYS_pivot_root, ".", ".") < 0) child_fail("pivot_root %s: %s", o->rootfs, strerror(errno));
  if (umount2(".", MNT_DETACH) < 0) child_fail("detach the old root: %s", strerror(errno));
  if (chdir(o->cwd ? o->cwd : "/") < 0) child_fail("chdir %s in the container: %s", o->cwd ? o->cwd : "/", strerror(errno));
  setsid();
  if (o->detach || o->start_fifo) {
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0 && null != 0) {
      dup2(null, 0);
      close(null);
    }
  }
  clearenv();
  setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
  setenv("HOME", "/", 1);
  if (o->hostname) setenv("HOSTNAME", o->hostname, 1);
  for (int i = 0; i < o->nenv; i++) putenv((char *)o->env[i]);
  /* Nothing the monitor or the engine had open may leak into the container (e.g. the status pipe). While
   * it waits on the start fifo it has not exec'd yet, so close-on-exec is not enough: the error pipe and
   * the fifo move to fds 3 and 4 and everything above is closed outright. */
  if (start_fd >= 0) {
    int e = fcntl(err_fd, F_DUPFD_CLOEXEC, 64), f = fcntl(start_fd, F_DUPFD_CLOEXEC, 64);
    if (e < 0 || f < 0 || dup3(e, 3, O_CLOEXEC) < 0 || dup3(f, 4, O_CLOEXEC) < 0) child_fail("move fds: %s", strerror(errno));
    err_fd = 3;
    start_fd = 4;
    syscall(SYS_close_range, 5, ~0U, 0);
  } else {
    syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
  }
  if (start_fd >= 0) {
    if (write(err_fd, "R", 1) < 0) _exit(127);
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", start_fd);
    int fifo = open(fdpath, O_WRONLY | O_CLOEXEC); /* blocks until `start` opens it for reading */
    if (fifo < 0) child_fail("open the start fifo: %s", strerror(errno));
    if (write(fifo, "0", 1) < 0) child_fail("write the start fifo: %s", strerror(errno));
    close(fifo);
  }
  execvp(o->argv[0], o->argv);
  child_fail("exec %s: %s", o->argv[0], strerror(errno));
}

/* ---- the monitor ---- */

static void write_exit(const char *path, int status) {
  if (!path) return;
  char tmp[4200], text[64];
  if (WIFEXITED(status)) snprintf(text, sizeof text, "exit %d\n", WEXITSTATUS(status));
  else snprintf(text, sizeof text, "signal %d\n", WTERMSIG(status));
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return;
  if (write(fd, text, strlen(text)) < 0) {
  }
  fsync(fd);
  close(fd);
  rename(tmp, path);
}

/* With --detach: fork; the parent exits at once, the child is the monitor in a session of its own. */
static void detach_monitor(void) {
  pid_t p = fork();
  if (p < 0) die("fork: %s", strerror(errno));
  if (p > 0) _exit(0);
  setsid();
  if (chdir("/") < 0) { /* keep no directory of the caller's busy */
  }
  int null = open("/dev/null", O_RDWR);
  dup2(null, 0);
  dup2(null, 1);
  dup2(null, 2);
  if (null > 2) close(null);
}

/* Copies the container's output (a pipe) to the log file until every writer has closed it. */
static void pump_log(int out_fd, const char *log) {
  int fd = open(log, O_CREAT | O_APPEND | O_WRONLY | O_CLOEXEC, 0644);
  char buf[65536];
  for (;;) {
    ssize_t n = read(out_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (fd >= 0 && write(fd, buf, n) < 0) {
    }
  }
  if (fd >= 0) close(fd);
  close(out_fd);
}

/* A foreground monitor passes the signals a terminal or a supervisor sends it on to the container's init
 * (which, as pid 1 of its namespace, acts on those it has a handler for), as `docker run` does. */
static pid_t forward_to = -1;

static void forward(int sig) {
  if (forward_to > 0) kill(forward_to, sig);
}

static void forward_signals(pid_t pid) {
  forward_to = pid;
  struct sigaction sa = {0};
  sa.sa_handler = forward;
  sa.sa_flags = SA_RESTART;
  int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}

static int wait_for(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t r = waitpid(-1, &status, 0);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return status;
  }
}

/* --overlay LOWER:UPPER:WORK mounts an overlay at --rootfs in the host's mount namespace, so the lower
 * directory (the image) is never written and the upper one is the container's rootfs diff (what migration
 * sends). The monitor unmounts it once the container is gone. */
static void mount_overlay(const struct opts *o) {
  if (!o->overlay) return;
  char copy[4096], data[8400];
  snprintf(copy, sizeof copy, "%s", o->overlay);
  char *upper = strchr(copy, ':');
  char *work = upper ? strchr(upper + 1, ':') : NULL;
  if (!upper || !work) die("--overlay wants LOWER:UPPER:WORK, got '%s'", o->overlay);
  *upper++ = 0;
  *work++ = 0;
  snprintf(data, sizeof data, "lowerdir=%s,upperdir=%s,workdir=%s", copy, upper, work);
  if (mount("overlay", o->rootfs, "overlay", 0, data) < 0) die("mount overlay on %s: %s", o->rootfs, strerror(errno));
}

static void unmount_overlay(const struct opts *o) {
  if (o->overlay) umount2(o->rootfs, MNT_DETACH);
}

static int do_run(struct opts *o) {
  if (!o->rootfs) die("run: --rootfs is required");
  if (!o->argv || !o->argv[0]) die("run: no command given");
  int start_fd = -1;
  if (o->start_fifo && (start_fd = open(o->start_fifo, O_PATH | O_CLOEXEC)) < 0)
    die("open start fifo %s: %s", o->start_fifo, strerror(errno));
  int out[2] = {-1, -1};
  if (o->log && pipe2(out, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  if (o->detach) detach_monitor();
  mount_overlay(o);
  if (o->netns) {
    int fd = open(o->netns, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) die("join network namespace %s: %s", o->netns, strerror(errno));
    close(fd);
  }
  int sync_p[2], err_p[2];
  if (pipe2(sync_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;
  if (!o->netns) flags |= CLONE_NEWNET;
  if (o->usermap) flags |= CLONE_NEWUSER;
  pid_t pid = (pid_t)syscall(SYS_clone, flags, 0, 0, 0, 0);
  if (pid < 0) die("clone namespaces: %s", strerror(errno));
  if (pid == 0) {
    close(sync_p[1]);
    close(err_p[0]);
    err_fd = err_p[1];
    if (out[1] >= 0) {
      dup2(out[1], 1);
      dup2(out[1], 2);
    }
    container_init(o, sync_p[0], start_fd);
  }
  close(sync_p[0]);
  close(err_p[1]);
  if (out[1] >= 0) close(out[1]);
  if (o->usermap) {
    char path[64], map[128];
    snprintf(map, sizeof map, "%s\n", o->usermap);
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
    if (write_file(path, map) < 0) die("write uid_map '%s': %s", o->usermap, strerror(errno));
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
    if (write_file(path, map) < 0) die("write gid_map '%s': %s", o->usermap, strerror(errno));
  }
  join_cgroups(o, pid);
  if (write(sync_p[1], "1", 1) != 1) die("release the container: %s", strerror(errno));
  close(sync_p[1]);
  char msg[1024];
  ssize_t n = read(err_p[0], msg, sizeof msg - 1);
  close(err_p[0]);
  if (n > 0 && msg[0] == 'E') {
    msg[n] = 0;
    waitpid(pid, NULL, 0);
    unmount_overlay(o);
    die("%s", msg + 1);
  }
  report("pid %d %d", (int)pid, (int)getpid());
  if (!o->detach) forward_signals(pid);
  if (status_fd >= 0) close(status_fd);
  status_fd = -1;
  if (out[0] >= 0) pump_log(out[0], o->log);
  int status = wait_for(pid);
  unmount_overlay(o);
  write_exit(o->exit_file, status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* restore: the monitor becomes a child subreaper, runs criu restore --restore-detached in the container's
 * cgroups with the container's new output pipe as fd 3 (criu maps it with --inherit-fd), and once criu
 * has exited adopts the restored init (re-parented to us) and monitors it as `run` does. */
static int do_restore(struct opts *o) {
  if (!o->argv || !o->argv[0]) die("restore: no criu command given");
  if (!o->criu_pidfile) die("restore: --criu-pidfile is required");
  int out[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  if (o->detach) detach_monitor();
  mount_overlay(o);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) die("become a subreaper: %s", strerror(errno));
  pid_t criu = fork();
  if (criu < 0) die("fork: %s", strerror(errno));
  if (criu == 0) {
    join_cgroups(o, getpid());
    dup2(out[1], 3); /* dup2 clears close-on-exec on fd 3 */
    if (o->criu_netns) {
      int ns = open(o->criu_netns, O_RDONLY);
      if (ns < 0 || dup2(ns, 4) < 0) _exit(126);
    }
    execvp(o->argv[0], o->argv);
    _exit(127);
  }
  close(out[1]);
  int status = 0;
  while (waitpid(criu, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) unmount_overlay(o);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("criu restore failed (status %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
  char buf[32] = {0};
  int fd = open(o->criu_pidfile, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0) die("read criu pidfile %s: %s", o->criu_pidfile, strerror(errno));
  close(fd);
  pid_t pid = (pid_t)atoi(buf);
  report("pid %d %d", (int)pid, (int)getpid());
  if (status_fd >= 0) close(status_fd);
  status_fd = -1;
  if (o->log) pump_log(out[0], o->log);
  status = wait_for(pid);
  unmount_overlay(o);
  write_exit(o->exit_file, status);
  return 0;
}

static int do_exec(struct opts *o) {
  if (o->pid <= 0) die("exec: --pid is required");
  if (!o->argv || !o->argv[0]) die("exec: no command given");
  static const struct { const char *name; int type; } order[] = {
      {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}, {"user", CLONE_NEWUSER}};
  int fds[6];
  char path[64];
  for (int i = 0; i < 6; i++) {
    snprintf(path, sizeof path, "/proc/%d/ns/%s", o->pid, order[i].name);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) die("open %s: %s", path, strerror(errno));
  }
  join_cgroups(o, getpid());
  /* Joining our own user namespace is EINVAL (looked up now: after setns mnt, /proc is the container's). */
  struct stat mine, theirs;
  int same_user = stat("/proc/self/ns/user", &mine) == 0 && fstat(fds[5], &theirs) == 0 && mine.st_ino == theirs.st_ino;
  for (int i = 0; i < 6; i++) {
    if (order[i].type == CLONE_NEWUSER && same_user) continue;
    if (setns(fds[i], order[i].type) < 0) die("join %s namespace of %d: %s", order[i].name, o->pid, strerror(errno));
    if (order[i].type == CLONE_NEWUSER && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) die("become root in the user namespace: %s", strerror(errno));
  }
  pid_t child = fork(); /* a pid namespace applies to children only */
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    if (chdir(o->cwd ? o->cwd : "/") < 0) _exit(126);
    clearenv();
    setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
    setenv("HOME", "/", 1);
    for (int i = 0; i < o->nenv; i++) putenv((char *)o->env[i]);
    execvp(o->argv[0], o->argv);
    fprintf(stderr, "exec %s: %s\n", o->argv[0], strerror(errno));
    _exit(127);
  }
  report("pid %d", (int)child);
  if (status_fd >= 0) close(status_fd);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void usage(void) {
  fprintf(stderr,
          "usage: rvisor-ctr-helper run|restore|exec [--rootfs DIR] [--hostname H] [--netns PATH] [--userns 'IN OUT N']\n"
          "       [--cgroup PROCS_FILE]... [--log FILE] [--exit-file FILE] [--start-fifo FIFO] [--env K=V]...\n"
          "       [--cwd DIR] [--status-fd N] [--detach] [--pid P] [--overlay LOWER:UPPER:WORK]\n"
          "       [--criu-pidfile F] [--criu-netns PATH] -- cmd [args]\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  struct opts o = {0};
  o.status_fd = -1;
  int i = 2;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      o.argv = argv + i + 1;
      break;
    }
    if (strcmp(a, "--detach") == 0) {
      o.detach = 1;
      continue;
    }
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (strcmp(a, "--rootfs") == 0) o.rootfs = v;
    else if (strcmp(a, "--hostname") == 0) o.hostname = v;
    else if (strcmp(a, "--netns") == 0) o.netns = v;
    else if (strcmp(a, "--userns") == 0) o.usermap = v;
    else if (strcmp(a, "--log") == 0) o.log = v;
    else if (strcmp(a, "--exit-file") == 0) o.exit_file = v;
    else if (strcmp(a, "--start-fifo") == 0) o.start_fifo = v;
    else if (strcmp(a, "--cwd") == 0) o.cwd = v;
    else if (strcmp(a, "--criu-pidfile") == 0) o.criu_pidfile = v;
    else if (strcmp(a, "--overlay") == 0) o.overlay = v;
    else if (strcmp(a, "--criu-netns") == 0) o.criu_netns = v;
    else if (strcmp(a, "--status-fd") == 0) o.status_fd = atoi(v);
    else if (strcmp(a, "--pid") == 0) o.pid = atoi(v);
    else if (strcmp(a, "--cgroup") == 0 && o.ncgroups < MAX_LIST) o.cgroups[o.ncgroups++] = v;
    else if (strcmp(a, "--env") == 0 && o.nenv < MAX_LIST) o.env[o.nenv++] = v;
    else usage();
  }
  status_fd = o.status_fd;
  if (status_fd >= 0) fcntl(status_fd, F_SETFD, FD_CLOEXEC);
  if (strcmp(argv[1], "run") == 0) return do_run(&o);
  if (strcmp(argv[1], "restore") == 0) return do_restore(&o);
  if (strcmp(argv[1], "exec") == 0) return do_exec(&o);
  usage();
  return 2;
}
