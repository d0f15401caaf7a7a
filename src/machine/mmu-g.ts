/**
 * Two-stage address translation of the H extension (privileged spec, "Two-Stage Address Translation"):
 * a guest virtual address goes through the VS-stage (Sv32, rooted at vsatp, its tables in guest-physical
 * memory) to a guest-physical address, which goes through the G-stage (Sv32x4, rooted at hgatp) to a
 * supervisor-physical address. Every VS-stage page-table access is itself a guest-physical access, so
 * it is translated by the G-stage first (as a load; as a store when A/D must be written).
 *
 *   guest-physical address (34 bits)   33           22 21        12 11          0
 *                                      │  VPN[1] ×4  │   VPN[0]   │   offset    │
 *
 * Sv32x4 differs from Sv32 only in its root: VPN[1] is two bits wider, so the root table has 4096
 * entries (16 KiB, 16 KiB-aligned). G-stage leaves must have U = 1: every G-stage access is checked as
 * a U-mode access (whatever the guest's privilege), with mstatus.MXR (HS's) for loads.
 *
 * Pure, like mmu.ts: PTEs are read and written (A/D) through the Bus, there is no TLB here. Results are
 * encoded as in walkSv32: a physical address ≥ 0, or −(cause + 1). A guest-page fault (causes 20, 21,
 * 23) leaves the faulting guest-physical address in `ctx.gpa`, and whether it came from an implicit
 * VS-stage page-table access in `ctx.implicit` (the trap then writes a pseudoinstruction to htinst).
 * Guest-physical addresses can exceed 2^32, so they are JS numbers built with arithmetic, not bit ops.
 */
import type { Bus } from "./bus.js";
import {
  CAUSE_INSN_ACCESS,
  CAUSE_INSN_GUEST_PAGE_FAULT,
  CAUSE_INSN_PAGE_FAULT,
  CAUSE_LOAD_ACCESS,
  CAUSE_LOAD_GUEST_PAGE_FAULT,
  CAUSE_LOAD_PAGE_FAULT,
  CAUSE_STORE_ACCESS,
  CAUSE_STORE_GUEST_PAGE_FAULT,
  CAUSE_STORE_PAGE_FAULT,
  HGATP_MODE_SV32X4,
  HGATP_PPN_MASK,
  PRIV_S,
  PRIV_U,
  SATP_MODE_SV32,
  SATP_PPN_MASK,
} from "./isa/csr-defs.js";
import {
  ACCESS_FETCH,
  ACCESS_LOAD,
  ACCESS_STORE,
  type Access,
  PTE_A,
  PTE_D,
  PTE_R,
  PTE_U,
  PTE_V,
  PTE_W,
  PTE_X,
  walkStats,
} from "./mmu.js";

const PAGE_FAULT: readonly number[] = [CAUSE_INSN_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT];
const GUEST_PAGE_FAULT: readonly number[] = [
  CAUSE_INSN_GUEST_PAGE_FAULT,
  CAUSE_LOAD_GUEST_PAGE_FAULT,
  CAUSE_STORE_GUEST_PAGE_FAULT,
];
const ACCESS_FAULT: readonly number[] = [CAUSE_INSN_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS];

const TWO32 = 2 ** 32;
const MEGA = 4 * 1024 * 1024;

/** What a two-stage walk needs to know about the hart, and what it reports back on a guest-page fault. */
export interface TwoStageContext {
  vsatp: number;
  hgatp: number;
  /** The guest's privilege for the VS-stage check (U or S). */
  priv: number;
  /** vsstatus.SUM. */
  sum: boolean;
  /** VS-stage MXR: vsstatus.MXR or mstatus.MXR. */
  mxr: boolean;
  /** G-stage MXR: mstatus.MXR. */
  gmxr: boolean;
  /** HLVX: a load that needs execute permission (read permission does not suffice) at both stages. */
  hlvx: boolean;
  /** Out: the guest-physical address of the last guest-page fault. */
  gpa: number;
  /** Out: that fault came from an implicit VS-stage page-table access (a write if `implicitWrite`). */
  implicit: boolean;
  implicitWrite: boolean;
  /** Out: a successful walk's VS-stage leaf was a megapage (G-stage leaves do not matter to the fences). */
  mega: boolean;
}

export function twoStageContext(): TwoStageContext {
  return {
    vsatp: 0,
    hgatp: 0,
    priv: PRIV_S,
    sum: false,
    mxr: false,
    gmxr: false,
    hlvx: false,
    gpa: 0,
    implicit: false,
    implicitWrite: false,
    mega: false,
  };
}

/**
 * G-stage: translates guest-physical `gpa` (0 ≤ gpa < 2^34) for `access`. Returns the physical address,
 * or −(cause + 1): a guest-page fault of `access`'s kind, or an access fault of `faultAccess`'s kind.
 */
export function walkG(
  bus: Bus,
  hgatp: number,
  gpa: number,
  access: Access,
  mxr: boolean,
  hlvx: boolean,
  faultAccess: Access = access,
): number {
  if ((hgatp & HGATP_MODE_SV32X4) === 0) return gpa < TWO32 ? gpa : -(ACCESS_FAULT[faultAccess] + 1);
  const gpf = -(GUEST_PAGE_FAULT[faultAccess] + 1);
  if (gpa >= 4 * TWO32) return gpf;
  let table = (hgatp & HGATP_PPN_MASK) * 4096;
  for (let level = 1; level >= 0; level--) {
    const vpn = level === 1 ? Math.floor(gpa / MEGA) : Math.floor(gpa / 4096) % 1024;
    const pteAddr = table + vpn * 4;
    walkStats.pteReads++;
    const pte = pteAddr < TWO32 ? bus.read(pteAddr, 4) : undefined;
    if (pte === undefined) return -(ACCESS_FAULT[faultAccess] + 1);
    if ((pte & PTE_V) === 0 || ((pte & PTE_R) === 0 && (pte & PTE_W) !== 0)) return gpf;
    if ((pte & (PTE_R | PTE_X)) === 0) {
      table = (pte >>> 10) * 4096;
      continue;
    }
    if ((pte & PTE_U) === 0 || !allowed(pte, access, mxr, hlvx)) return gpf;
    const ppn = pte >>> 10;
    if (level === 1 && (ppn & 0x3ff) !== 0) return gpf;
    const want = PTE_A | (access === ACCESS_STORE ? PTE_D : 0);
    if ((pte & want) !== want && !bus.write(pteAddr, 4, pte | want)) return -(ACCESS_FAULT[faultAccess] + 1);
    const pa = level === 1 ? (ppn >>> 10) * MEGA + (gpa % MEGA) : ppn * 4096 + (gpa % 4096);
    return pa < TWO32 ? pa : -(ACCESS_FAULT[faultAccess] + 1);
  }
  return gpf;
}

/**
 * Both stages: translates guest virtual `va` (unsigned) for `access`. Returns the physical address, or
 * −(cause + 1): a page fault (VS-stage; tval = va), a guest-page fault (ctx.gpa set) or an access fault.
 */
export function walkTwoStage(bus: Bus, ctx: TwoStageContext, va: number, access: Access): number {
  ctx.implicit = false;
  ctx.implicitWrite = false;
  ctx.mega = false;
  const gpa = vsStage(bus, ctx, va, access);
  if (gpa < 0) return gpa;
  const pa = walkG(bus, ctx.hgatp, gpa, access, ctx.gmxr, ctx.hlvx);
  if (pa === -(GUEST_PAGE_FAULT[access] + 1)) ctx.gpa = gpa;
  return pa;
}

/** The VS-stage: va → guest-physical address (or −(cause + 1)). */
function vsStage(bus: Bus, ctx: TwoStageContext, va: number, access: Access): number {
  if ((ctx.vsatp & SATP_MODE_SV32) === 0) return va;
  let table = (ctx.vsatp & SATP_PPN_MASK) * 4096;
  for (let level = 1; level >= 0; level--) {
    const vpn = level === 1 ? va >>> 22 : (va >>> 12) & 0x3ff;
    const pteGpa = table + vpn * 4;
    // The implicit read of the PTE: a G-stage load, its faults reported as the original access's kind.
    const ptePa = walkG(bus, ctx.hgatp, pteGpa, ACCESS_LOAD, ctx.gmxr, false, access);
    if (ptePa < 0) return implicitFault(ctx, ptePa, pteGpa, access, false);
    const pte = bus.read(ptePa, 4);
    if (pte === undefined) return -(ACCESS_FAULT[access] + 1);
    if ((pte & PTE_V) === 0 || ((pte & PTE_R) === 0 && (pte & PTE_W) !== 0)) return -(PAGE_FAULT[access] + 1);
    if ((pte & (PTE_R | PTE_X)) === 0) {
      table = (pte >>> 10) * 4096;
      continue;
    }
    if (!vsPermitted(pte, ctx, access)) return -(PAGE_FAULT[access] + 1);
    const ppn = pte >>> 10;
    if (level === 1 && (ppn & 0x3ff) !== 0) return -(PAGE_FAULT[access] + 1);
    const want = PTE_A | (access === ACCESS_STORE ? PTE_D : 0);
    if ((pte & want) !== want) {
      // Writing A/D is a G-stage store to the PTE.
      const wPa = walkG(bus, ctx.hgatp, pteGpa, ACCESS_STORE, ctx.gmxr, false, access);
      if (wPa < 0) return implicitFault(ctx, wPa, pteGpa, access, true);
      if (!bus.write(wPa, 4, pte | want)) return -(ACCESS_FAULT[access] + 1);
    }
    ctx.mega = level === 1;
    return level === 1 ? (ppn >>> 10) * MEGA + (va & 0x3f_ffff) : ppn * 4096 + (va & 0xfff);
  }
  return -(PAGE_FAULT[access] + 1);
}

function implicitFault(
  ctx: TwoStageContext,
  r: number,
  pteGpa: number,
  access: Access,
  write: boolean,
): number {
  if (r === -(GUEST_PAGE_FAULT[access] + 1)) {
    ctx.gpa = pteGpa;
    ctx.implicit = true;
    ctx.implicitWrite = write;
  }
  return r;
}

function allowed(pte: number, access: Access, mxr: boolean, hlvx: boolean): boolean {
  switch (access) {
    case ACCESS_FETCH:
      return (pte & PTE_X) !== 0;
    case ACCESS_LOAD:
      if (hlvx) return (pte & PTE_X) !== 0;
      return (pte & PTE_R) !== 0 || (mxr && (pte & PTE_X) !== 0);
    default:
      return (pte & PTE_W) !== 0;
  }
}

function vsPermitted(pte: number, ctx: TwoStageContext, access: Access): boolean {
  const user = (pte & PTE_U) !== 0;
  if (ctx.priv === PRIV_U && !user) return false;
  if (ctx.priv === PRIV_S && user && (access === ACCESS_FETCH || !ctx.sum)) return false;
  return allowed(pte, access, ctx.mxr, ctx.hlvx);
}
