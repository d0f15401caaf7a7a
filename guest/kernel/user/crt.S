/* A user program starts here with a0 = argc, a1 = argv (exec.c) and ends with exit(main's value). */
  .section .text.init, "ax", @progbits
  .globl _start
_start:
  call main
  call exit
