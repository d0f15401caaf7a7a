/** Every limit and nominal figure of the emulated host, in one place. */

/** Page size of Sv32 and of host frames. */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/** Default RAM size of a machine. */
export const DEFAULT_RAM_BYTES = 128 * 1024 * 1024;
/** Most harts a board may have (CLINT/PLIC layouts allow more; this keeps tables small). */
export const MAX_HARTS = 32;

/** CLINT's mtime runs at 10 MHz, as on QEMU `virt`. */
export const TIMEBASE_HZ = 10_000_000;
/**
 * The `icount` clock: every retired instruction is ICOUNT_NS_PER_INSN nanoseconds of virtual time
 * (a nominal 100 MIPS hart), so mtime advances by one tick every 10 instructions.
 */
export const ICOUNT_NS_PER_INSN = 10;
export const INSNS_PER_MTIME_TICK = 1e9 / TIMEBASE_HZ / ICOUNT_NS_PER_INSN;

/** Instructions a hart runs before the board looks at devices, timers and the other harts. */
export const SLICE_INSNS = 10_000;

/** Entries of each direct-mapped software TLB (fetch, load, store), a power of two. */
export const TLB_ENTRIES = 256;
/** TLB banks per hart: translation contexts (privilege, V, satp, VMID, …) kept at once (tlb.ts). */
export const TLB_BANKS = 8;

/** PLIC geometry: sources 1..PLIC_SOURCES-1, two contexts (M, S) per hart. */
export const PLIC_SOURCES = 96;
