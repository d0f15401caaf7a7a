/*
 * The board as guest programs see it: the device addresses of QEMU's riscv `virt` machine, which rvisor
 * reproduces (the same map as src/machine/memory-map.ts), and the two services every program needs
 * whatever its privilege mode: the console and power-off.
 *
 *   0x0010_0000  sifive_test   write PASS, (code << 16) | FAIL, or RESET
 *   0x0200_0000  CLINT         msip[hart] +0x0, mtimecmp[hart] +0x4000, mtime +0xbff8 (10 MHz)
 *   0x1000_0000  16550 UART0
 *   0x8000_0000  RAM           M-mode programs (and the S-mode boot shim) load here
 *   0x8020_0000                S-mode programs load here
 */
#ifndef SDK_PLATFORM_H
#define SDK_PLATFORM_H

#include <stdint.h>

#define TEST_BASE 0x00100000u
#define TEST_FAIL 0x3333u
#define TEST_PASS 0x5555u
#define TEST_RESET 0x7777u

#define CLINT_BASE 0x02000000u
#define CLINT_MSIP(hart) ((volatile uint32_t *)(CLINT_BASE + 0x0000u + 4u * (hart)))
#define CLINT_MTIMECMP_LO(hart) ((volatile uint32_t *)(CLINT_BASE + 0x4000u + 8u * (hart)))
#define CLINT_MTIMECMP_HI(hart) ((volatile uint32_t *)(CLINT_BASE + 0x4004u + 8u * (hart)))
#define CLINT_MTIME_LO ((volatile uint32_t *)(CLINT_BASE + 0xbff8u))
#define CLINT_MTIME_HI ((volatile uint32_t *)(CLINT_BASE + 0xbffcu))
#define TIMEBASE_HZ 10000000u

#define UART0_BASE 0x10000000u
#define DRAM_BASE 0x80000000u
#define KERNEL_BASE 0x80200000u

/* Harts the SDK's start-up code gives a stack to; harts with larger ids are parked. */
#define SDK_MAX_HARTS 8

/* The console: the 16550 UART in M-mode builds, SBI DBCN (or legacy putchar) in S-mode builds. */
void console_putc(char c);
/* The next input byte, or -1 when none is waiting. */
int console_getc(void);

/*
 * Ends the run with `code` as the exit status: sifive_test in M-mode builds (any code 0..65535),
 * SBI SRST in S-mode builds (0 is a shutdown with no reason, anything else a system failure, which
 * the firmware reports as exit status 1).
 */
__attribute__((noreturn)) void poweroff(int code);

/* M-mode helpers: the CLINT timer (mtime is 64 bits, read without tearing). */
uint64_t clint_mtime(void);
void clint_set_mtimecmp(unsigned hart, uint64_t when);

#endif
