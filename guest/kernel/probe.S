/*
 * probe_load_word(addr): loads a word that may fault. The load is the one instruction trap.c forgives:
 * a page or access fault at probe_load_insn in the kernel sets probe_faulted and resumes after it, with
 * a0 still holding the address. Plain instructions: this needs no privilege.
 */
  .text
  .globl probe_load_word
  .globl probe_load_insn
probe_load_word:
  .option push
  .option norvc /* 4 bytes, which trap.c skips */
probe_load_insn:
  lw a0, 0(a0)
  .option pop
  ret
