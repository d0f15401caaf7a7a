/*
 * Start of an S-mode program, entered at 0x8020_0000 by the firmware (the boot shim on QEMU, rvisor's
 * SBI firmware) on one hart with a0 = hartid, a1 = DTB address, satp = 0 and interrupts off.
 *
 *   _start                boot hart: stack, clear .bss, main(hartid, dtb), poweroff(main's value)
 *   sdk_secondary_entry   the start_addr to pass to sbi_hart_start(): a0 = hartid, a1 = opaque;
 *                         calls secondary_main(hartid, opaque) (weak), then stops the hart (SBI HSM)
 */
#define STACK_SHIFT 14 /* 16 KiB per hart */
#define MAX_HARTS 8

  .section .text.init, "ax", @progbits
  .globl _start
_start:
  la t0, sdk_fatal_trap
  csrw stvec, t0
  csrw sie, zero
  li t0, MAX_HARTS
  bgeu a0, t0, hang
  la sp, __stack_top
  slli t0, a0, STACK_SHIFT
  sub sp, sp, t0

  la t0, __bss_start
  la t1, __bss_end
1:
  bgeu t0, t1, 2f
  sw zero, 0(t0)
  addi t0, t0, 4
  j 1b
2:
  call main
  call poweroff

  .globl sdk_secondary_entry
  .balign 4
sdk_secondary_entry:
  la t0, sdk_fatal_trap
  csrw stvec, t0
  csrw sie, zero
  li t0, MAX_HARTS
  bgeu a0, t0, hang
  la sp, __stack_top
  slli t0, a0, STACK_SHIFT
  sub sp, sp, t0
  lui t0, %hi(secondary_main)
  addi t0, t0, %lo(secondary_main)
  beqz t0, 3f
  jalr t0
3:
  call sbi_hart_stop
hang:
  wfi
  j hang

  .weak secondary_main
