// rvisor: s-mode
/*
 * uscall: a benchmark of traps between U-mode and S-mode. The S-mode program is a kernel of one system
 * call table; it drops to U-mode with sret, and the U-mode loop makes CALLS system calls with `ecall`,
 * each answered by the S-mode handler, which returns with sret:
 *
 *        S-mode                                      U-mode
 *   main ─ enter_user(user_main, stack) ──sret──►  user_main
 *                                                   ecall (a7 = number, a0..a2 = arguments)
 *   trap_entry: save x1..x31 in a frame  ◄─trap──┘
 *   uscall_trap(frame): answer in frame a0, sepc += 4
 *   restore x1..x31 ───────────────────────sret──►  next call ... SYS_EXIT
 *   enter_user returns (SYS_EXIT)         ◄─trap──┘
 *
 * While U-mode runs, sscratch holds the top of the trap stack; trap_entry swaps it with sp, so the
 * user's sp is saved and the handler runs on its own stack. The address space is bare (satp = 0), so
 * both modes see the same memory; the firmware delegates U-mode ecalls to S-mode (medeleg bit 8).
 *
 * Validation: U-mode checks every answer against its own computation of it; S-mode counts the calls of
 * each kind and checks that every trap came from U-mode with scause = 8, and that the counts match what
 * U-mode reports. Prints VALID and exits 0 (SRST shutdown) only when all of it holds. CALLS can be set
 * with -D.
 */
#include <csr.h>
#include <sbi.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef CALLS
#define CALLS 2000
#endif

enum syscall { SYS_COUNT, SYS_ADD, SYS_MIX, SYS_SUM, SYS_WRITE, SYS_EXIT, NSYSCALLS };

/* The trap frame: x1..x31 at their register numbers (x0's slot is unused), as trap_entry lays it out. */
struct frame {
  uint32_t x[32];
};
#define REG_A0 10
#define REG_A1 11
#define REG_A2 12
#define REG_A7 17
#define FRAME_BYTES 128

/* ---- the S-mode side ------------------------------------------------------------------------------ */
static uint32_t calls[NSYSCALLS];
static uint32_t total_calls, bad_traps, exit_value;
/* enter_user's stack pointer, where SYS_EXIT goes back to; the trap stack. */
uint32_t uscall_kernel_sp;
static uint8_t trap_stack[4096] __attribute__((aligned(16)));

static uint32_t mix(uint32_t a, uint32_t b, uint32_t c) {
  uint32_t h = a * 0x9e3779b1u ^ b;
  h = (h ^ (h >> 16)) * 0x85ebca6bu + c;
  return h ^ (h >> 13);
}

/* Answers the system call in `f`; returns 1 when U-mode asked to exit, 0 to go back to it. */
uint32_t uscall_trap(struct frame *f) {
  uint32_t cause = csr_read(scause);
  if (cause != CAUSE_USER_ECALL || (csr_read(sstatus) & SSTATUS_SPP) != 0) {
    /* Not a system call from U-mode: nothing to resume, so end the run as a failure. */
    printf("unexpected trap: scause=%08lx sepc=%08lx\n", (unsigned long)cause, csr_read(sepc));
    bad_traps++;
    sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN, SBI_SRST_REASON_SYSTEM_FAILURE);
  }
  csr_write(sepc, csr_read(sepc) + 4); /* past the ecall */
  uint32_t n = f->x[REG_A7], a0 = f->x[REG_A0], a1 = f->x[REG_A1], a2 = f->x[REG_A2];
  total_calls++;
  if (n >= NSYSCALLS) {
    f->x[REG_A0] = (uint32_t)-1;
    return 0;
  }
  calls[n]++;
  switch (n) {
    case SYS_COUNT: f->x[REG_A0] = total_calls; break;
    case SYS_ADD: f->x[REG_A0] = a0 + a1; break;
    case SYS_MIX: f->x[REG_A0] = mix(a0, a1, a2); break;
    case SYS_SUM: {
      const uint32_t *v = (const uint32_t *)a0; /* a user buffer: bare addressing, the same address */
      uint32_t s = 0;
      for (uint32_t i = 0; i < a1; i++) s += v[i];
      f->x[REG_A0] = s;
      break;
    }
    case SYS_WRITE: f->x[REG_A0] = (uint32_t)sbi_debug_console_write(a1, a0, 0).value; break;
    case SYS_EXIT: exit_value = a0; return 1;
  }
  return 0;
}

/*
 * enter_user(entry, user_sp): saves the callee-saved registers on the S-mode stack, then sret to entry
 * in U-mode; returns (into the caller of enter_user) when U-mode makes SYS_EXIT.
 * trap_entry: stvec's target for every trap while U-mode runs.
 */
__asm__(
    "  .section .text.uscall_asm, \"ax\", @progbits\n"
    "  .globl enter_user\n"
    "  .balign 4\n"
    "enter_user:\n"
    "  addi sp, sp, -64\n"
    "  sw ra, 0(sp)\n  sw s0, 4(sp)\n  sw s1, 8(sp)\n  sw s2, 12(sp)\n  sw s3, 16(sp)\n"
    "  sw s4, 20(sp)\n  sw s5, 24(sp)\n  sw s6, 28(sp)\n  sw s7, 32(sp)\n  sw s8, 36(sp)\n"
    "  sw s9, 40(sp)\n  sw s10, 44(sp)\n  sw s11, 48(sp)\n"
    "  la t0, uscall_kernel_sp\n"
    "  sw sp, 0(t0)\n"
    "  csrw sepc, a0\n"
    "  li t0, 0x100\n" /* sstatus.SPP = 0: sret goes to U-mode */
    "  csrc sstatus, t0\n"
    "  mv sp, a1\n"
    "  sret\n"
    "\n"
    "  .globl trap_entry\n"
    "  .balign 4\n"
    "trap_entry:\n"
    "  csrrw sp, sscratch, sp\n" /* sp = trap stack top, sscratch = the user's sp */
    "  addi sp, sp, -128\n"
    "  sw x1, 4(sp)\n  sw x3, 12(sp)\n  sw x4, 16(sp)\n  sw x5, 20(sp)\n  sw x6, 24(sp)\n"
    "  sw x7, 28(sp)\n  sw x8, 32(sp)\n  sw x9, 36(sp)\n  sw x10, 40(sp)\n  sw x11, 44(sp)\n"
    "  sw x12, 48(sp)\n  sw x13, 52(sp)\n  sw x14, 56(sp)\n  sw x15, 60(sp)\n  sw x16, 64(sp)\n"
    "  sw x17, 68(sp)\n  sw x18, 72(sp)\n  sw x19, 76(sp)\n  sw x20, 80(sp)\n  sw x21, 84(sp)\n"
    "  sw x22, 88(sp)\n  sw x23, 92(sp)\n  sw x24, 96(sp)\n  sw x25, 100(sp)\n  sw x26, 104(sp)\n"
    "  sw x27, 108(sp)\n  sw x28, 112(sp)\n  sw x29, 116(sp)\n  sw x30, 120(sp)\n  sw x31, 124(sp)\n"
    "  csrr t0, sscratch\n"
    "  sw t0, 8(sp)\n"
    "  mv a0, sp\n"
    "  call uscall_trap\n"
    "  bnez a0, 1f\n"
    "  addi t0, sp, 128\n"
    "  csrw sscratch, t0\n" /* the trap stack top again, for the next trap */
    "  lw x1, 4(sp)\n  lw x3, 12(sp)\n  lw x4, 16(sp)\n  lw x5, 20(sp)\n  lw x6, 24(sp)\n"
    "  lw x7, 28(sp)\n  lw x8, 32(sp)\n  lw x9, 36(sp)\n  lw x10, 40(sp)\n  lw x11, 44(sp)\n"
    "  lw x12, 48(sp)\n  lw x13, 52(sp)\n  lw x14, 56(sp)\n  lw x15, 60(sp)\n  lw x16, 64(sp)\n"
    "  lw x17, 68(sp)\n  lw x18, 72(sp)\n  lw x19, 76(sp)\n  lw x20, 80(sp)\n  lw x21, 84(sp)\n"
    "  lw x22, 88(sp)\n  lw x23, 92(sp)\n  lw x24, 96(sp)\n  lw x25, 100(sp)\n  lw x26, 104(sp)\n"
    "  lw x27, 108(sp)\n  lw x28, 112(sp)\n  lw x29, 116(sp)\n  lw x30, 120(sp)\n  lw x31, 124(sp)\n"
    "  lw x2, 8(sp)\n"
    "  sret\n"
    "1:\n" /* SYS_EXIT: back on enter_user's stack, return from it */
    "  la t0, uscall_kernel_sp\n"
    "  lw sp, 0(t0)\n"
    "  lw ra, 0(sp)\n  lw s0, 4(sp)\n  lw s1, 8(sp)\n  lw s2, 12(sp)\n  lw s3, 16(sp)\n"
    "  lw s4, 20(sp)\n  lw s5, 24(sp)\n  lw s6, 28(sp)\n  lw s7, 32(sp)\n  lw s8, 36(sp)\n"
    "  lw s9, 40(sp)\n  lw s10, 44(sp)\n  lw s11, 48(sp)\n"
    "  addi sp, sp, 64\n"
    "  ret\n"
    "  .text\n");

void enter_user(void (*entry)(void), uint32_t user_sp);
void trap_entry(void);

/* ---- the U-mode side ------------------------------------------------------------------------------ */
/* What U-mode found, for S-mode to print: written by U-mode, read after SYS_EXIT. */
static struct {
  uint32_t failures, made, checksum;
} user_report;
static uint32_t user_buffer[16];
static uint8_t user_stack[4096] __attribute__((aligned(16)));

static inline uint32_t syscall3(uint32_t n, uint32_t a0, uint32_t a1, uint32_t a2) {
  register uint32_t r_a0 __asm__("a0") = a0;
  register uint32_t r_a1 __asm__("a1") = a1;
  register uint32_t r_a2 __asm__("a2") = a2;
  register uint32_t r_a7 __asm__("a7") = n;
  __asm__ volatile("ecall" : "+r"(r_a0) : "r"(r_a1), "r"(r_a2), "r"(r_a7) : "memory");
  return r_a0;
}

static void user_main(void) {
  static const char hello[] = "uscall: hello from U-mode\n";
  uint32_t failures = 0, made = 0, acc = 0x12345678u;
  if (syscall3(SYS_WRITE, (uint32_t)hello, sizeof hello - 1, 0) != sizeof hello - 1) failures++;
  made++;
  for (uint32_t i = 0; i < CALLS; i++) {
    uint32_t r;
    switch (i & 3) {
      case 0:
      case 2:
        r = syscall3(SYS_ADD, i, acc, 0);
        if (r != i + acc) failures++;
        break;
      case 1:
        r = syscall3(SYS_MIX, acc, i, 7);
        if (r != mix(acc, i, 7)) failures++;
        break;
      default: {
        uint32_t s = 0;
        for (int k = 0; k < 16; k++) s += user_buffer[k] = acc + (uint32_t)k * i;
        r = syscall3(SYS_SUM, (uint32_t)user_buffer, 16, 0);
        if (r != s) failures++;
      }
    }
    made++;
    acc = acc * 31u + r;
    if ((i & 255) == 255) { /* the kernel's count includes this call */
      made++;
      if (syscall3(SYS_COUNT, 0, 0, 0) != made) failures++;
    }
  }
  user_report.failures = failures;
  user_report.made = made;
  user_report.checksum = acc;
  syscall3(SYS_EXIT, failures, 0, 0);
  for (;;) {
  }
}

int main(unsigned long hartid, void *dtb) {
  (void)hartid;
  (void)dtb;
  csr_write(stvec, (uintptr_t)trap_entry);
  csr_write(sscratch, (uintptr_t)(trap_stack + sizeof trap_stack));
  enter_user(user_main, (uint32_t)(uintptr_t)(user_stack + sizeof user_stack));
  csr_write(sscratch, 0);

  uint32_t expected[NSYSCALLS] = {
      [SYS_COUNT] = CALLS / 256,                       /* i % 256 == 255 */
      [SYS_ADD] = (CALLS + 3) / 4 + (CALLS + 1) / 4, /* i % 4 == 0 or 2 */
      [SYS_MIX] = (CALLS + 2) / 4,                     /* i % 4 == 1 */
      [SYS_SUM] = CALLS / 4,                           /* i % 4 == 3 */
      [SYS_WRITE] = 1,
      [SYS_EXIT] = 1,
  };
  int failures = (int)(user_report.failures + bad_traps);
  for (int n = 0; n < NSYSCALLS; n++)
    if (calls[n] != expected[n]) {
      printf("system call %d made %lu times, expected %lu\n", n, (unsigned long)calls[n],
             (unsigned long)expected[n]);
      failures++;
    }
  if (total_calls != user_report.made + 1 || exit_value != user_report.failures) failures++;
  printf("uscall: %lu system calls from U-mode\n", (unsigned long)total_calls);
  printf("count %lu add %lu mix %lu sum %lu write %lu exit %lu\n", (unsigned long)calls[SYS_COUNT],
         (unsigned long)calls[SYS_ADD], (unsigned long)calls[SYS_MIX], (unsigned long)calls[SYS_SUM],
         (unsigned long)calls[SYS_WRITE], (unsigned long)calls[SYS_EXIT]);
  printf("checksum %08lx\n", (unsigned long)user_report.checksum);
  printf("%s\n", failures == 0 ? "VALID" : "INVALID");
  return failures == 0 ? 0 : 1;
}
