/*
 * CSR access with the names the privileged spec uses. `csr` is the bare CSR name (mstatus, sie, ...),
 * which the assembler knows. Bits are spelled as in the spec's register diagrams.
 */
#ifndef SDK_CSR_H
#define SDK_CSR_H

#include <stdint.h>

#define csr_read(csr)                                       \
  ({                                                        \
    unsigned long __v;                                      \
    __asm__ volatile("csrr %0, " #csr : "=r"(__v)::"memory"); \
    __v;                                                    \
  })
#define csr_write(csr, val) __asm__ volatile("csrw " #csr ", %0" ::"rK"((unsigned long)(val)) : "memory")
#define csr_set(csr, bits) __asm__ volatile("csrs " #csr ", %0" ::"rK"((unsigned long)(bits)) : "memory")
#define csr_clear(csr, bits) __asm__ volatile("csrc " #csr ", %0" ::"rK"((unsigned long)(bits)) : "memory")
#define csr_swap(csr, val)                                                           \
  ({                                                                                 \
    unsigned long __v = (unsigned long)(val);                                        \
    __asm__ volatile("csrrw %0, " #csr ", %0" : "+r"(__v)::"memory");                \
    __v;                                                                             \
  })

/* A 64-bit counter read on RV32: hi, lo, hi again until hi did not move (the spec's sequence). */
#define SDK_READ64(lo, hi)                                                             \
  ({                                                                                   \
    uint32_t __h, __l, __h2;                                                           \
    do {                                                                               \
      __asm__ volatile("csrr %0, " #hi "\n\tcsrr %1, " #lo "\n\tcsrr %2, " #hi         \
                       : "=r"(__h), "=r"(__l), "=r"(__h2));                            \
    } while (__h != __h2);                                                             \
    ((uint64_t)__h << 32) | __l;                                                       \
  })
#define rdtime64() SDK_READ64(time, timeh)
#define rdcycle64() SDK_READ64(cycle, cycleh)
#define rdinstret64() SDK_READ64(instret, instreth)
#define rdtime() csr_read(time)
#define rdcycle() csr_read(cycle)
#define rdinstret() csr_read(instret)

/* mstatus / sstatus */
#define MSTATUS_SIE (1u << 1)
#define MSTATUS_MIE (1u << 3)
#define MSTATUS_SPIE (1u << 5)
#define MSTATUS_MPIE (1u << 7)
#define MSTATUS_SPP (1u << 8)
#define MSTATUS_MPP_SHIFT 11
#define MSTATUS_MPP (3u << 11)
#define MSTATUS_MPRV (1u << 17)
#define MSTATUS_SUM (1u << 18)
#define SSTATUS_SIE MSTATUS_SIE
#define SSTATUS_SPIE MSTATUS_SPIE
#define SSTATUS_SPP MSTATUS_SPP

/* Privilege levels as MPP encodes them. */
#define PRV_U 0u
#define PRV_S 1u
#define PRV_M 3u

/* Interrupt numbers: bits of mip/mie (sip/sie) and mcause/scause when the interrupt bit is set. */
#define IRQ_S_SOFT 1
#define IRQ_M_SOFT 3
#define IRQ_S_TIMER 5
#define IRQ_M_TIMER 7
#define IRQ_S_EXT 9
#define IRQ_M_EXT 11
#define MIP_SSIP (1u << IRQ_S_SOFT)
#define MIP_MSIP (1u << IRQ_M_SOFT)
#define MIP_STIP (1u << IRQ_S_TIMER)
#define MIP_MTIP (1u << IRQ_M_TIMER)
#define MIP_SEIP (1u << IRQ_S_EXT)
#define MIP_MEIP (1u << IRQ_M_EXT)
#define SIP_SSIP MIP_SSIP
#define SIP_STIP MIP_STIP
#define SIP_SEIP MIP_SEIP
#define CAUSE_INTERRUPT (1u << 31)

/* Exception codes (mcause/scause with the interrupt bit clear). */
#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS 1
#define CAUSE_ILLEGAL_INSTRUCTION 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_MISALIGNED_LOAD 4
#define CAUSE_LOAD_ACCESS 5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS 7
#define CAUSE_USER_ECALL 8
#define CAUSE_SUPERVISOR_ECALL 9
#define CAUSE_MACHINE_ECALL 11
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT 13
#define CAUSE_STORE_PAGE_FAULT 15

/* mcounteren / scounteren */
#define COUNTEREN_CY (1u << 0)
#define COUNTEREN_TM (1u << 1)
#define COUNTEREN_IR (1u << 2)

static inline void wfi(void) { __asm__ volatile("wfi" ::: "memory"); }
static inline void fence(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }
static inline void fence_i(void) { __asm__ volatile("fence.i" ::: "memory"); }
static inline void sfence_vma(void) { __asm__ volatile("sfence.vma" ::: "memory"); }

#endif
