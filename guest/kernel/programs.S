/*
 * The user programs, embedded in the kernel image: each build/guest/kernel/user/<name>.elf (built from
 * guest/kernel/user/<name>.c) becomes an entry of `programs` (struct program: name, elf, size), which
 * ends at `programs_end`. The build puts that directory on the assembler's include path.
 */
  .macro program name
  .section .rodata.program_elf.\name, "a", @progbits
  .balign 4
1:
  .incbin "\name\().elf"
2:
  .section .rodata.program_names, "a", @progbits
3:
  .asciz "\name"
  .section .rodata.programs, "a", @progbits
  .word 3b, 1b, 2b - 1b
  .endm

  .section .rodata.programs, "a", @progbits
  .balign 4
  .globl programs
programs:
  program hello
  program cpu
  program mem
  program syscalls
  program forks
  program fault
  program badargs
  program spin
  program sleeper
  program echo
  program work
  program forkjoin
  .section .rodata.programs, "a", @progbits
  .globl programs_end
programs_end:
