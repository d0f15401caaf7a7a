/*
 * The system call numbers, shared by the kernel and the user library. A call is `ecall` from U-mode
 * with the number in a7 and arguments in a0..a2; the result comes back in a0 (-1 for an error).
 *
 *   exit(status)                 ends the process; the parent's wait sees status
 *   write(fd, buf, n)            fd 1 or 2: the console; returns n
 *   read(fd, buf, n)             fd 0: waits for at least one console byte; returns the count
 *   getpid()
 *   spawn(name, args)            starts an embedded program as a child; returns its pid
 *   fork()                       a copy of this process: child's pid here, 0 in the child
 *   wait(pid, &status)           pid > 0 that child, -1 any child; returns the pid reaped
 *   sbrk(increment)              moves the program break; returns the old one
 *   yield()
 *   sleep(ms)
 *   uptime()                     milliseconds since boot
 *   kill(pid)                    the process exits with status -1 at its next trap
 */
#ifndef KERNEL_SYSCALL_H
#define KERNEL_SYSCALL_H

#define SYS_exit 1
#define SYS_write 2
#define SYS_read 3
#define SYS_getpid 4
#define SYS_spawn 5
#define SYS_fork 6
#define SYS_wait 7
#define SYS_sbrk 8
#define SYS_yield 9
#define SYS_sleep 10
#define SYS_uptime 11
#define SYS_kill 12

#endif
