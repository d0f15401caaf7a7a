/*
 * The architecture's data formats the kernel reads and builds: Sv32 page-table entries, satp, and the
 * trap causes. Definitions only — executing anything privileged is arch/'s job.
 *
 * Sv32 page-table entry (privileged spec, "Sv32: Page-Based 32-bit Virtual-Memory Systems"):
 *
 *    31                 20 19           10 9   8 7 6 5 4 3 2 1 0
 *   +---------------------+---------------+-----+-+-+-+-+-+-+-+-+
 *   |       PPN[1]        |    PPN[0]     | RSW |D|A|G|U|X|W|R|V|
 *   +---------------------+---------------+-----+-+-+-+-+-+-+-+-+
 *
 * Sv32 virtual address: VPN[1] (bits 31:22) indexes the root table, VPN[0] (21:12) the leaf table.
 * A root entry with R, W or X set is a 4 MiB megapage leaf.
 */
#ifndef KERNEL_RISCV_H
#define KERNEL_RISCV_H

#include <stdint.h>

typedef uint32_t pte_t;

#define PTE_V (1u << 0)
#define PTE_R (1u << 1)
#define PTE_W (1u << 2)
#define PTE_X (1u << 3)
#define PTE_U (1u << 4)
#define PTE_G (1u << 5)
#define PTE_A (1u << 6)
#define PTE_D (1u << 7)
#define PTE_LEAF_BITS (PTE_R | PTE_W | PTE_X)

#define PTE_PPN_SHIFT 10
#define PA_TO_PTE(pa) ((pte_t)(((uint32_t)(pa) >> 12) << PTE_PPN_SHIFT))
#define PTE_TO_PA(pte) ((uintptr_t)(((pte) >> PTE_PPN_SHIFT) << 12))

#define VPN1(va) (((uint32_t)(va) >> 22) & 0x3ff)
#define VPN0(va) (((uint32_t)(va) >> 12) & 0x3ff)
#define PT_ENTRIES 1024

/* satp: MODE (bit 31, 1 = Sv32), ASID (30:22), PPN (21:0). */
#define SATP_MODE_SV32 (1u << 31)

/* scause: the interrupt bit and the codes the kernel handles. */
#define CAUSE_INTERRUPT_BIT (1u << 31)
#define IRQ_S_SOFTWARE 1
#define IRQ_S_TIMER 5
#define IRQ_S_EXTERNAL 9
#define EXC_INSTRUCTION_MISALIGNED 0
#define EXC_INSTRUCTION_ACCESS 1
#define EXC_ILLEGAL_INSTRUCTION 2
#define EXC_BREAKPOINT 3
#define EXC_LOAD_MISALIGNED 4
#define EXC_LOAD_ACCESS 5
#define EXC_STORE_MISALIGNED 6
#define EXC_STORE_ACCESS 7
#define EXC_USER_ECALL 8
#define EXC_INSTRUCTION_PAGE_FAULT 12
#define EXC_LOAD_PAGE_FAULT 13
#define EXC_STORE_PAGE_FAULT 15

#endif
