/*
 * The boot shim: the M-mode firmware that lets S-mode programs run on `qemu-system-riscv32 -machine virt`
 * (Debian ships no 32-bit OpenSBI). It does what OpenSBI's fw_dynamic does for such a program, no more:
 * open PMP, delegate traps and S interrupts, answer the SBI calls of spec v2.0 (Base, TIME, IPI, RFENCE,
 * HSM, SRST, DBCN, legacy console and shutdown), and mret into the program in S-mode.
 */
#ifndef SHIM_H
#define SHIM_H

#include <stdint.h>

#define SHIM_MAX_HARTS 8
#define SHIM_STACK_SIZE 2048

/* Registers x0..x31 of the trapped hart, saved by start.S on the hart's M-mode stack. */
struct trap_frame {
  unsigned long x[32];
};
#define REG_A0 10
#define REG_A1 11
#define REG_A6 16
#define REG_A7 17

/*
 * struct fw_dynamic_info (OpenSBI include/sbi/fw_dynamic.h), placed by QEMU in its reset ROM and passed
 * in a2: xlen-sized words, so 32-bit words here.
 */
struct fw_dynamic_info {
  unsigned long magic; /* FW_DYNAMIC_INFO_MAGIC */
  unsigned long version;
  unsigned long next_addr; /* the S-mode program's entry */
  unsigned long next_mode; /* 0 U, 1 S, 3 M */
  unsigned long options;
  unsigned long boot_hart; /* version >= 2; -1 lets the firmware choose */
};
#define FW_DYNAMIC_INFO_MAGIC 0x4942534f /* "OSBI" */

/* HSM state of each hart slot; ABSENT marks hart ids the board does not have (never reached the shim). */
#define HART_ABSENT (-1)
#define HART_CLAIMED 0x100 /* a hart_start caller owns the hart while it fills in the start address */
extern volatile long hart_state[SHIM_MAX_HARTS];

/* Work another hart asked of this one, delivered with the CLINT's msip (an M-mode software interrupt). */
#define WORK_SSIP 1u       /* raise the S-mode software interrupt: SBI IPI */
#define WORK_FENCE_I 2u    /* SBI RFENCE remote_fence_i */
#define WORK_SFENCE_VMA 4u /* SBI RFENCE remote_sfence_vma(_asid): flushed whole, which is always allowed */
extern volatile unsigned long hart_work[SHIM_MAX_HARTS];
void do_work(unsigned long hart);

void sbi_ecall_handler(struct trap_frame *f, unsigned long hart);

/* start.S */
__attribute__((noreturn)) void enter_next(unsigned long a0, unsigned long a1, unsigned long addr,
                                          unsigned long mode);
__attribute__((noreturn)) void park_stopped(unsigned long hart);

/* fdt.c: bit h set for every hart h (< SHIM_MAX_HARTS) under /cpus in the device tree */
unsigned long fdt_hart_mask(const void *fdt);

/* boot.c */
__attribute__((noreturn)) void wait_for_start(unsigned long hart);
void shim_puts(const char *s);
void shim_puthex(unsigned long v);
__attribute__((noreturn)) void shim_fail(const char *what, unsigned long v);

#endif
