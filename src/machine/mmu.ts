/**
 * Sv32 address translation: the hardware page-table walker (privileged spec §10.3, "Virtual Address
 * Translation Process"). Pure: it reads and writes page-table entries through the Bus and knows nothing
 * of TLBs, which live in the hart (hart.ts) as a fast path in front of this slow path.
 *
 *   virtual address            31        22 21        12 11          0
 *                              │  VPN[1]   │  VPN[0]   │  page offset │
 *
 *   page-table entry           31             20 19          10 9 8 7 6 5 4 3 2 1 0
 *                              │    PPN[1]      │   PPN[0]     │RSW│D│A│G│U│X│W│R│V│
 *
 * Leaf PTEs have R or X set. A leaf at level 1 maps a 4 MiB megapage and must have PPN[0] = 0. A and D
 * are set by this walker (the Svadu behaviour that QEMU also implements), written back to memory.
 */
import type { Bus } from "./bus.js";
import {
  CAUSE_INSN_ACCESS,
  CAUSE_INSN_PAGE_FAULT,
  CAUSE_LOAD_ACCESS,
  CAUSE_LOAD_PAGE_FAULT,
  CAUSE_STORE_ACCESS,
  CAUSE_STORE_PAGE_FAULT,
  PRIV_S,
  PRIV_U,
  SATP_PPN_MASK,
} from "./isa/csr-defs.js";

export const ACCESS_FETCH = 0;
export const ACCESS_LOAD = 1;
export const ACCESS_STORE = 2;
export type Access = 0 | 1 | 2;

export const PTE_V = 1 << 0;
export const PTE_R = 1 << 1;
export const PTE_W = 1 << 2;
export const PTE_X = 1 << 3;
export const PTE_U = 1 << 4;
export const PTE_G = 1 << 5;
export const PTE_A = 1 << 6;
export const PTE_D = 1 << 7;

const PAGE_FAULT: readonly number[] = [CAUSE_INSN_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT];
const ACCESS_FAULT: readonly number[] = [CAUSE_INSN_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS];

/**
 * Page-table entries read by hardware walks (Sv32, and the G-stage in mmu-g.ts), all harts together:
 * the memory references a TLB miss costs. Benchmarks read and reset it; nothing else depends on it.
 */
export const walkStats = { pteReads: 0 };

/** What a walk needs to know about the hart. */
export interface WalkContext {
  satp: number;
  /** Effective privilege of the access (U or S; M never walks). */
  priv: number;
  sum: boolean;
  mxr: boolean;
  /** Out: a successful walk's leaf was a megapage (a TLB must then fence the whole 4 MiB together). */
  mega?: boolean;
}

/**
 * Translates `va` (unsigned) for `access`. Returns the physical address (≥ 0), or a negative number
 * -(cause + 1) naming the page-fault or access-fault cause to raise with tval = va.
 */
export function walkSv32(bus: Bus, ctx: WalkContext, va: number, access: Access): number {
  let table = (ctx.satp & SATP_PPN_MASK) * 4096;
  for (let level = 1; level >= 0; level--) {
    const vpn = level === 1 ? va >>> 22 : (va >>> 12) & 0x3ff;
    const pteAddr = table + vpn * 4;
    walkStats.pteReads++;
    const pte = pteAddr < 2 ** 32 ? bus.read(pteAddr, 4) : undefined;
    if (pte === undefined) return -(ACCESS_FAULT[access] + 1);
    if ((pte & PTE_V) === 0 || ((pte & PTE_R) === 0 && (pte & PTE_W) !== 0)) {
      return -(PAGE_FAULT[access] + 1);
    }
    if ((pte & (PTE_R | PTE_X)) === 0) {
      // Pointer to the next level (its D, A, U bits are reserved for software to clear; not checked).
      table = (pte >>> 10) * 4096;
      continue;
    }
    if (!permitted(pte, ctx, access)) return -(PAGE_FAULT[access] + 1);
    const ppn = pte >>> 10;
    if (level === 1 && (ppn & 0x3ff) !== 0) return -(PAGE_FAULT[access] + 1); // misaligned megapage
    const want = PTE_A | (access === ACCESS_STORE ? PTE_D : 0);
    if ((pte & want) !== want) {
      if (!bus.write(pteAddr, 4, pte | want)) return -(ACCESS_FAULT[access] + 1);
    }
    const pa = level === 1 ? (ppn >>> 10) * 4 * 1024 * 1024 + (va & 0x3f_ffff) : ppn * 4096 + (va & 0xfff);
    ctx.mega = level === 1;
    return pa < 2 ** 32 ? pa : -(ACCESS_FAULT[access] + 1);
  }
  return -(PAGE_FAULT[access] + 1);
}

/** The leaf permission rules: R/W/X by access, U against privilege, SUM and MXR. */
function permitted(pte: number, ctx: WalkContext, access: Access): boolean {
  const user = (pte & PTE_U) !== 0;
  if (ctx.priv === PRIV_U && !user) return false;
  if (ctx.priv === PRIV_S && user && (access === ACCESS_FETCH || !ctx.sum)) return false;
  switch (access) {
    case ACCESS_FETCH:
      return (pte & PTE_X) !== 0;
    case ACCESS_LOAD:
      return (pte & PTE_R) !== 0 || (ctx.mxr && (pte & PTE_X) !== 0);
    default:
      return (pte & PTE_W) !== 0;
  }
}
