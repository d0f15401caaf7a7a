/*
 * Sv32 page tables: the kernel's (RAM identity-mapped with megapages), and one per process that shares
 * the kernel's root entries and adds the user pages (U = 1) below USER_END. Every store into a page
 * table goes through arch_set_pte, every page that becomes a table is announced with
 * arch_pagetable_new before its first entry is written, and released before it is freed.
 *
 * Loops that store many entries run in lazy MMU mode (arch.h), where a paravirtualized kernel sends its
 * stores to the hypervisor in batches. Inside one, an entry stored in the same section may not read
 * back yet: the only entries read back are root entries (walk flushes after storing one, if the store
 * is still queued) and, when uvm_alloc_range undoes itself, the leaf entries it stored (it flushes
 * first). Page-table pages go back to the allocator through arch_pagetable_free.
 */
#include <string.h>

#include "kernel.h"

pagetable_t kernel_pagetable; /* built once at boot; every CPU's table between processes */

#define KERNEL_PTE_BITS (PTE_V | PTE_R | PTE_W | PTE_X | PTE_G | PTE_A | PTE_D)

void vm_init(uint64_t mem_base, uint64_t mem_size) {
  if (mem_base < USER_END || mem_base + mem_size > IO_WINDOW_BASE)
    panic("vm_init: RAM must lie in 0x8000_0000..0xfdff_ffff, above user space, below the I/O window");
  kernel_pagetable = (pagetable_t)kalloc();
  if (!kernel_pagetable) panic("vm_init: no page for the kernel page table");
  arch_pagetable_new((uintptr_t)kernel_pagetable, 1);
  uint64_t end = mem_base + mem_size;
  arch_lazy_mmu_begin();
  for (uint64_t pa = mem_base & ~(uint64_t)(MEGAPAGE_SIZE - 1); pa < end; pa += MEGAPAGE_SIZE)
    arch_set_pte(&kernel_pagetable[VPN1(pa)], PA_TO_PTE(pa) | KERNEL_PTE_BITS);
  arch_lazy_mmu_end();
  vm_activate(kernel_pagetable);
}

/* Makes `pt` the calling CPU's address space (struct cpu's active: the table its satp points at). */
void vm_activate(pagetable_t pt) {
  struct cpu *c = mycpu();
  if (pt == c->active) return;
  c->active = pt;
  arch_set_satp((uintptr_t)pt);
}

#define IO_PTE_BITS (PTE_V | PTE_R | PTE_W | PTE_G | PTE_A | PTE_D)
static uintptr_t io_next = IO_WINDOW_BASE; /* the window's first unused megapage */

void *vm_map_io(uintptr_t pa, size_t size) {
  uintptr_t first = pa & ~(uintptr_t)(MEGAPAGE_SIZE - 1);
  uintptr_t last = (pa + size - 1) & ~(uintptr_t)(MEGAPAGE_SIZE - 1);
  /* A megapage already mapped for an earlier device serves this one too. */
  for (uintptr_t va = IO_WINDOW_BASE; va < io_next; va += MEGAPAGE_SIZE) {
    uintptr_t mapped = PTE_TO_PA(kernel_pagetable[VPN1(va)]);
    if (mapped == first && last - first <= io_next - MEGAPAGE_SIZE - va) return (void *)(va + (pa - first));
  }
  uintptr_t va = io_next;
  if (last - first >= IO_WINDOW_END - va) panic("vm_map_io: the I/O window is full");
  arch_lazy_mmu_begin();
  for (uintptr_t m = first;; m += MEGAPAGE_SIZE) {
    arch_set_pte(&kernel_pagetable[VPN1(io_next)], PA_TO_PTE(m) | IO_PTE_BITS);
    io_next += MEGAPAGE_SIZE;
    if (m == last) break;
  }
  arch_lazy_mmu_end();
  arch_flush_tlb();
  return (void *)(va + (pa - first));
}

pagetable_t uvm_create(void) {
  pagetable_t pt = (pagetable_t)kalloc();
  if (!pt) return 0;
  arch_pagetable_new((uintptr_t)pt, 1);
  arch_lazy_mmu_begin();
  for (uint32_t i = VPN1(USER_END); i < PT_ENTRIES; i++)
    if (kernel_pagetable[i] & PTE_V) arch_set_pte(&pt[i], kernel_pagetable[i]);
  arch_lazy_mmu_end();
  return pt;
}

/* The leaf entry for a user address, allocating the leaf table when `alloc` is set. */
static pte_t *walk(pagetable_t pt, uintptr_t va, int alloc) {
  if (va >= USER_END) panic("walk: not a user address");
  pte_t *root_entry = &pt[VPN1(va)];
  if (!(*root_entry & PTE_V)) {
    if (!alloc) return 0;
    uintptr_t leaf = kalloc();
    if (!leaf) return 0;
    arch_pagetable_new(leaf, 0);
    pte_t entry = PA_TO_PTE(leaf) | PTE_V;
    arch_set_pte(root_entry, entry);
    /* Read back below, and by the next walk through this entry: apply it if it is only queued. */
    if (*root_entry != entry) arch_lazy_mmu_flush();
  }
  if (*root_entry & PTE_LEAF_BITS) panic("walk: megapage in user space");
  return &((pte_t *)PTE_TO_PA(*root_entry))[VPN0(va)];
}

int uvm_map(pagetable_t pt, uintptr_t va, uintptr_t pa, pte_t perm) {
  pte_t *pte = walk(pt, va, 1);
  if (!pte || (*pte & PTE_V)) return -1;
  /* A and D are set up front: nothing needs to track use of user pages. */
  pte_t dirty = (perm & PTE_W) ? PTE_D : 0;
  arch_set_pte(pte, PA_TO_PTE(pa) | (perm & PTE_LEAF_BITS) | PTE_U | PTE_A | dirty | PTE_V);
  return 0;
}

uintptr_t uvm_unmap(pagetable_t pt, uintptr_t va) {
  pte_t *pte = walk(pt, va, 0);
  if (!pte || !(*pte & PTE_V)) return 0;
  uintptr_t pa = PTE_TO_PA(*pte);
  arch_set_pte(pte, 0);
  if (pt == mycpu()->active) arch_flush_tlb_page(va);
  return pa;
}

pte_t uvm_lookup(pagetable_t pt, uintptr_t va) {
  if (va >= USER_END) return 0;
  pte_t *pte = walk(pt, va, 0);
  return pte && (*pte & PTE_V) ? *pte : 0;
}

int uvm_alloc_range(pagetable_t pt, uintptr_t start, uintptr_t end, pte_t perm) {
  int result = 0;
  arch_lazy_mmu_begin();
  for (uintptr_t va = PAGE_ROUND_DOWN(start); va < end; va += PAGE_SIZE) {
    uintptr_t pa = kalloc();
    if (!pa || uvm_map(pt, va, pa, perm) < 0) {
      if (pa) kfree(pa);
      arch_lazy_mmu_flush(); /* uvm_unmap reads back the entries stored above */
      uvm_free_range(pt, start, va);
      result = -1;
      break;
    }
  }
  arch_lazy_mmu_end();
  return result;
}

void uvm_free_range(pagetable_t pt, uintptr_t start, uintptr_t end) {
  arch_lazy_mmu_begin();
  for (uintptr_t va = PAGE_ROUND_DOWN(start); va < end; va += PAGE_SIZE) {
    uintptr_t pa = uvm_unmap(pt, va);
    if (pa) kfree(pa);
  }
  arch_lazy_mmu_end();
}

void uvm_free(pagetable_t pt) {
  for (int i = 0; i < NCPU; i++)
    if (pt == cpus[i].active) panic("uvm_free: the page table in use");
  /* Released first, as a whole: a hypervisor then no longer treats its pages as page tables. */
  arch_pagetable_release((uintptr_t)pt, 1);
  for (uint32_t i = 0; i < VPN1(USER_END); i++) {
    if (!(pt[i] & PTE_V)) continue;
    pte_t *leaf = (pte_t *)PTE_TO_PA(pt[i]);
    arch_pagetable_release((uintptr_t)leaf, 0);
    for (uint32_t j = 0; j < PT_ENTRIES; j++)
      if (leaf[j] & PTE_V) kfree(PTE_TO_PA(leaf[j]));
    arch_pagetable_free((uintptr_t)leaf);
  }
  arch_pagetable_free((uintptr_t)pt);
}

static int copy_mappings(pagetable_t from, pagetable_t to) {
  for (uint32_t i = 0; i < VPN1(USER_END); i++) {
    if (!(from[i] & PTE_V)) continue;
    const pte_t *leaf = (const pte_t *)PTE_TO_PA(from[i]);
    for (uint32_t j = 0; j < PT_ENTRIES; j++) {
      if (!(leaf[j] & PTE_V)) continue;
      uintptr_t pa = kalloc();
      if (!pa) return -1;
      memcpy((void *)pa, (const void *)PTE_TO_PA(leaf[j]), PAGE_SIZE);
      if (uvm_map(to, (i << 22) | (j << 12), pa, leaf[j] & PTE_LEAF_BITS) < 0) {
        kfree(pa);
        return -1;
      }
    }
  }
  return 0;
}

int uvm_copy(pagetable_t from, pagetable_t to) {
  arch_lazy_mmu_begin();
  int result = copy_mappings(from, to);
  arch_lazy_mmu_end();
  return result;
}

/* Whether [va, va + n) is mapped for user access with all of `need` in the current address space. */
int user_range_ok(uintptr_t va, size_t n, pte_t need) {
  if (va + n < va || va + n > USER_END) return 0;
  for (uintptr_t page = PAGE_ROUND_DOWN(va); page < va + n; page += PAGE_SIZE)
    if ((uvm_lookup(mycpu()->active, page) & (need | PTE_U | PTE_V)) != (need | PTE_U | PTE_V)) return 0;
  return 1;
}

/*
 * The copies check the user's mappings first, so they never fault, and touch user memory only with
 * SUM set: at all other times a kernel access to a user page faults (and panics). Where the arch says
 * the window costs too much (arch_user_copy_physical), they reach the same pages at their physical
 * addresses instead, and never touch a user address at all.
 */

/* The kernel's pointer to user byte `va` of the current address space, which the caller checked. */
static void *user_physical(uintptr_t va) {
  return (void *)(PTE_TO_PA(uvm_lookup(mycpu()->active, va)) + va % PAGE_SIZE);
}

/* Copies n checked bytes between user `va` and `buf`, page by page through the identity map. */
static void copy_physical(uintptr_t va, void *buf, size_t n, int to_user) {
  uint8_t *k = buf;
  while (n > 0) {
    size_t chunk = PAGE_SIZE - va % PAGE_SIZE < n ? PAGE_SIZE - va % PAGE_SIZE : n;
    if (to_user) memcpy(user_physical(va), k, chunk);
    else memcpy(k, user_physical(va), chunk);
    va += chunk;
    k += chunk;
    n -= chunk;
  }
}

int copyout(uintptr_t dst_user, const void *src, size_t n) {
  if (!user_range_ok(dst_user, n, PTE_W)) return -1;
  if (arch_user_copy_physical()) {
    copy_physical(dst_user, (void *)src, n, 1);
    return 0;
  }
  arch_user_access_begin();
  memcpy((void *)dst_user, src, n);
  arch_user_access_end();
  return 0;
}

int copyin(void *dst, uintptr_t src_user, size_t n) {
  if (!user_range_ok(src_user, n, PTE_R)) return -1;
  if (arch_user_copy_physical()) {
    copy_physical(src_user, dst, n, 0);
    return 0;
  }
  arch_user_access_begin();
  memcpy(dst, (const void *)src_user, n);
  arch_user_access_end();
  return 0;
}

int copyinstr(char *dst, uintptr_t src_user, size_t max) {
  size_t i = 0;
  while (i < max) {
    uintptr_t va = src_user + i;
    if (!user_range_ok(va, 1, PTE_R)) return -1;
    size_t chunk = PAGE_SIZE - va % PAGE_SIZE;
    if (chunk > max - i) chunk = max - i;
    int length = -1;
    int physical = arch_user_copy_physical();
    const char *from = physical ? user_physical(va) : (const char *)va;
    if (!physical) arch_user_access_begin();
    for (size_t k = 0; k < chunk; k++) {
      char c = from[k];
      dst[i + k] = c;
      if (c == '\0') {
        length = (int)(i + k);
        break;
      }
    }
    if (!physical) arch_user_access_end();
    if (length >= 0) return length;
    i += chunk;
  }
  return -1;
}

int uvm_write(pagetable_t pt, uintptr_t dst_user, const void *src, size_t n) {
  const uint8_t *from = src;
  while (n > 0) {
    pte_t pte = uvm_lookup(pt, dst_user);
    if (!(pte & PTE_V)) return -1;
    size_t offset = dst_user % PAGE_SIZE;
    size_t chunk = PAGE_SIZE - offset < n ? PAGE_SIZE - offset : n;
    memcpy((void *)(PTE_TO_PA(pte) + offset), from, chunk);
    from += chunk;
    dst_user += chunk;
    n -= chunk;
  }
  return 0;
}
