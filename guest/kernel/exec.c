/*
 * Starting the user programs that are embedded in the kernel image (programs.S): the ELF's PT_LOAD
 * segments become user pages of a fresh address space, a stack goes below USER_STACK_TOP holding
 * argv, and the trap frame enters the program at its ELF entry with a0 = argc, a1 = argv.
 */
#include <string.h>

#include "kernel.h"

#define EM_RISCV 243
#define ET_EXEC 2
#define PT_LOAD 1
#define PF_X 1
#define PF_W 2
#define PF_R 4

struct elf32_header {
  uint8_t ident[16];
  uint16_t type, machine;
  uint32_t version, entry, phoff, shoff, flags;
  uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf32_phdr {
  uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};

const struct program *program_find(const char *name) {
  for (const struct program *p = programs; p < programs_end; p++)
    if (strcmp(p->name, name) == 0) return p;
  return 0;
}

/* Maps and fills the program's segments; returns the entry point (0 for a bad ELF) and the image end. */
static uint32_t load_elf(pagetable_t pt, const struct program *prog, uintptr_t *image_end) {
  const struct elf32_header *eh = (const void *)prog->elf;
  if (prog->size < sizeof *eh || memcmp(eh->ident, "\177ELF\1\1", 6) != 0 || eh->machine != EM_RISCV ||
      eh->type != ET_EXEC || eh->phentsize != sizeof(struct elf32_phdr) ||
      eh->phoff + (uint32_t)eh->phnum * sizeof(struct elf32_phdr) > prog->size)
    return 0;
  *image_end = USER_BASE;
  for (int i = 0; i < eh->phnum; i++) {
    const struct elf32_phdr *ph = (const void *)(prog->elf + eh->phoff + i * sizeof(struct elf32_phdr));
    if (ph->type != PT_LOAD || ph->memsz == 0) continue;
    if (ph->vaddr < USER_BASE || ph->vaddr + ph->memsz > USER_HEAP_LIMIT || ph->vaddr + ph->memsz < ph->vaddr ||
        ph->filesz > ph->memsz || ph->offset + ph->filesz > prog->size)
      return 0;
    pte_t perm = (ph->flags & PF_R ? PTE_R : 0) | (ph->flags & PF_W ? PTE_W : 0) | (ph->flags & PF_X ? PTE_X : 0);
    if (uvm_alloc_range(pt, ph->vaddr, ph->vaddr + ph->memsz, perm) < 0 ||
        uvm_write(pt, ph->vaddr, prog->elf + ph->offset, ph->filesz) < 0)
      return 0;
    if (ph->vaddr + ph->memsz > *image_end) *image_end = ph->vaddr + ph->memsz;
  }
  return eh->entry;
}

/*
 * The stack a program starts with: argv's strings at the top, the argv array (NULL-terminated) below
 * them, sp 16-byte aligned as the psABI wants. Returns sp, or 0 when it cannot be written.
 */
static uint32_t push_args(pagetable_t pt, const char *name, const char *args, uint32_t *argc_out,
                          uint32_t *argv_out) {
  char text[PROC_NAME_LEN + ARGS_LEN + 2];
  uint32_t offsets[MAX_ARGS + 1];
  uint32_t argc = 0, len = 0;
  const char *words[2] = {name, args};
  for (int w = 0; w < 2; w++) {
    const char *s = words[w];
    while (*s) {
      while (*s == ' ') s++;
      if (!*s) break;
      if (argc == MAX_ARGS) return 0;
      offsets[argc++] = len;
      while (*s && *s != ' ' && len < sizeof text - 1) text[len++] = *s++;
      text[len++] = '\0';
      if (len >= sizeof text) return 0;
    }
  }
  uint32_t sp = (USER_STACK_TOP - len) & ~15u;
  if (uvm_write(pt, sp, text, len) < 0) return 0;
  uint32_t argv[MAX_ARGS + 1];
  for (uint32_t i = 0; i < argc; i++) argv[i] = sp + offsets[i];
  argv[argc] = 0;
  sp = (sp - (argc + 1) * 4) & ~15u;
  if (uvm_write(pt, sp, argv, (argc + 1) * 4) < 0) return 0;
  *argc_out = argc;
  *argv_out = sp;
  return sp;
}

int spawn(const char *name, const char *args) {
  const struct program *prog = program_find(name);
  if (!prog) return -1;
  struct proc *p = proc_alloc(name);
  if (!p) return -1;
  p->pagetable = uvm_create();
  uintptr_t image_end = 0;
  uint32_t entry = p->pagetable ? load_elf(p->pagetable, prog, &image_end) : 0;
  uint32_t argc = 0, argv = 0, sp = 0;
  if (entry && uvm_alloc_range(p->pagetable, USER_STACK_BOTTOM, USER_STACK_TOP, PTE_R | PTE_W) == 0)
    sp = push_args(p->pagetable, name, args ? args : "", &argc, &argv);
  if (!sp) {
    proc_free(p);
    return -1;
  }
  arch_trapframe_init_user(p->tf, entry, sp);
  p->tf->regs[TF_A0] = argc;
  p->tf->regs[TF_A1] = argv;
  p->heap_start = p->brk = PAGE_ROUND_UP(image_end);
  proc_make_runnable(p);
  return p->pid;
}
