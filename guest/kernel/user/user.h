/*
 * The user library: system calls (../syscall.h) and the SDK's printf family, whose output is gathered
 * and written a line at a time with write(1, ...).
 */
#ifndef USER_H
#define USER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

__attribute__((noreturn)) void exit(int status);
long write(int fd, const void *buf, size_t n);
long read(int fd, void *buf, size_t n);
int getpid(void);
int spawn(const char *name, const char *args);
int fork(void);
int wait(int pid, int *status);
void *sbrk(long increment);
void yield(void);
void sleep(unsigned ms);
unsigned uptime(void);
int kill(int pid);
/* A raw system call, for testing the kernel's answers to odd ones. */
long syscall3(long number, long a0, long a1, long a2);

/* Writes out what printf gathered so far. */
void flush(void);
int atoi(const char *s);
/* Whether `-q` (quiet: print only failures) is among the arguments. */
int quiet(int argc, char **argv);
/* The primes below `limit`, by trial division: the CPU-bound work of `work` and `forkjoin`. */
int primes_below(unsigned limit);

#endif
