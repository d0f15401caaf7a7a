/*
 * Where things are, physically and in every process's address space (Sv32, 4 KiB pages, 4 MiB
 * megapages). The kernel is mapped at its physical addresses in every address space, with U = 0,
 * so a trap never needs to switch satp and the kernel reaches all RAM directly.
 *
 *   virtual                                    physical
 *   0x0000_0000  unmapped (null pointers fault)
 *   0x0001_0000  user program: text, rodata,    any free pages
 *                data, bss (from its ELF), then
 *                the heap growing up (sbrk)
 *   0x7ffe_f000  stack guard page (unmapped)
 *   0x7fff_0000  user stack, USER_STACK_PAGES
 *   0x7fff_4000  end of user stack
 *   0x8000_0000  RAM, identity-mapped with      0x8000_0000  firmware (boot shim on QEMU)
 *                4 MiB megapages, U = 0         0x8020_0000  kernel image (_start first)
 *                                               _end         free pages: kalloc
 *                                               RAM end      (from the device tree's /memory)
 *   0xfe00_0000  the I/O window: device         the devices' own addresses (PLIC, virtio-mmio, ...)
 *                registers, by megapage, U = 0  (vm_map_io, at boot)
 */
#ifndef KERNEL_MEMLAYOUT_H
#define KERNEL_MEMLAYOUT_H

#define PAGE_SIZE 4096u
#define PAGE_SHIFT 12
#define MEGAPAGE_SIZE (4u << 20)
#define PAGE_ROUND_UP(a) (((a) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define PAGE_ROUND_DOWN(a) ((a) & ~(PAGE_SIZE - 1))

#define USER_BASE 0x00010000u
#define USER_STACK_PAGES 4u
#define USER_STACK_BOTTOM 0x7fff0000u
#define USER_STACK_TOP (USER_STACK_BOTTOM + USER_STACK_PAGES * PAGE_SIZE)
/* The heap may grow up to the guard page below the stack. */
#define USER_HEAP_LIMIT (USER_STACK_BOTTOM - PAGE_SIZE)
/* Everything below this is user space (root page-table entries 0..511); the kernel owns the rest. */
#define USER_END 0x80000000u
/* Device registers are mapped here (whole megapages, kernel only); RAM must end below it. */
#define IO_WINDOW_BASE 0xfe000000u
#define IO_WINDOW_END 0xff000000u

#endif
