/**
 * rvisor's PV interface, the hypervisor side (docs/pv-abi.md is the contract): an SBI vendor extension
 * through which a paravirtualized kernel does what a deprivileged kernel would otherwise trap for —
 * batched, validated page-table updates (Xen's mmu_update, pin and unpin), the base-pointer switch, a
 * registered trap handler, the return to user mode, event masking in a shared page, and SUM.
 *
 * Validation keeps one invariant: a domain's page tables reference only its own RAM, and a page-table
 * frame is never writable through the shadow. Updates apply to the guest's table and invalidate exactly
 * the shadow entries built from it, so shadows survive address-space switches.
 */
import {
  fail,
  NO_RETURN,
  ok,
  SBI_ERR_DENIED,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_SUCCESS,
  type SbiRet,
} from "../machine/firmware/sbi-defs.js";
import type { Hart } from "../machine/hart.js";
import { MSTATUS_SPIE, MSTATUS_SPP, PRIV_S, PRIV_U, SATP_MODE_SV32 } from "../machine/isa/csr-defs.js";
import { PTE_R, PTE_V, PTE_W, PTE_X } from "../machine/mmu.js";
import type { Domain } from "./domain.js";
import type { HypercallHost } from "./hypercalls.js";
import type { Vcpu } from "./vcpu.js";

export const EID_RVISOR_PV = 0x0952_5650;

export const PV_REGISTER_SHARED = 0;
export const PV_SET_TRAP_HANDLER = 1;
export const PV_MMU_UPDATE = 2;
export const PV_PIN_TABLE = 3;
export const PV_UNPIN_TABLE = 4;
export const PV_SET_BASEPTR = 5;
export const PV_IRET = 6;
export const PV_BLOCK = 7;
export const PV_USER_ACCESS = 8;
export const PV_EVENT_CHECK = 9;
export const PV_MULTICALL = 10;

export const PV_FUNCTION_NAMES = [
  "REGISTER_SHARED",
  "SET_TRAP_HANDLER",
  "MMU_UPDATE",
  "PIN_TABLE",
  "UNPIN_TABLE",
  "SET_BASEPTR",
  "IRET",
  "BLOCK",
  "USER_ACCESS",
  "EVENT_CHECK",
  "MULTICALL",
] as const;

/** Most requests one PV_MMU_UPDATE takes. */
export const PV_MMU_BATCH_MAX = 512;

/** Most entries one PV_MULTICALL takes; each entry is four words: fid, arg0, arg1, result. */
export const PV_MULTICALL_MAX = 64;
const MC_WORDS = 4;
/** The calls a multicall may hold; IRET and BLOCK only as its last entry. */
const MC_CALLS: ReadonlySet<number> = new Set([
  PV_MMU_UPDATE,
  PV_PIN_TABLE,
  PV_UNPIN_TABLE,
  PV_SET_BASEPTR,
  PV_USER_ACCESS,
  PV_IRET,
  PV_BLOCK,
]);

/** Shared-page field offsets. */
export const SH_MASK = 0;
export const SH_PENDING = 4;
export const SH_EPC = 8;
export const SH_CAUSE = 12;
export const SH_TVAL = 16;
export const SH_STATUS = 20;
export const SH_SAVED_SP = 24;
export const SH_KERNEL_SP = 28;

const TRAPFRAME_WORDS = 34; // x0..x31, epc, status

/** Per-domain PV page-table bookkeeping. */
export class PvState {
  /** Pinned page-table frames (gfn → level: 1 root, 0 leaf table). */
  readonly pinned = new Map<number, 0 | 1>();
  /** gfn → how many 4 KiB writable leaves in pinned tables map it. */
  readonly writable = new Map<number, number>();
  /** Requests applied, and refused, over the domain's life. */
  updates = 0;
  refused = 0;
  /** Calls run by function name, alone or as multicall entries (exits count only the former). */
  readonly calls = new Map<string, number>();
}

/** Reads a shared-page field of `v` (0 when none is registered). */
export function sharedRead(v: Vcpu, field: number): number {
  if (v.sharedGpa < 0) return 0;
  return v.domain.mem.read32(v.sharedGpa + field) ?? 0;
}

export function sharedWrite(v: Vcpu, field: number, value: number): void {
  if (v.sharedGpa >= 0) v.domain.mem.write32(v.sharedGpa + field, value);
}

export function pvCall(host: HypercallHost, v: Vcpu, h: Hart, fid: number): SbiRet | typeof NO_RETURN {
  const pv = v.domain.pv;
  if (pv === undefined) return fail(SBI_ERR_NOT_SUPPORTED);
  const a0 = h.x[10] >>> 0;
  const a1 = h.x[11] >>> 0;
  if (fid === PV_MULTICALL) return multicall(host, v, h, pv, a0, a1);
  return pvOp(host, v, h, pv, fid, a0, a1);
}

/** One PV function with its two arguments: alone, or as an entry of a multicall. */
function pvOp(
  host: HypercallHost,
  v: Vcpu,
  h: Hart,
  pv: PvState,
  fid: number,
  a0: number,
  a1: number,
): SbiRet | typeof NO_RETURN {
  const d = v.domain;
  const name = PV_FUNCTION_NAMES[fid];
  if (name !== undefined) pv.calls.set(name, (pv.calls.get(name) ?? 0) + 1);
  switch (fid) {
    case PV_REGISTER_SHARED:
      if ((a0 & 0xfff) !== 0 || !d.mem.contains(a0, 4096)) return fail(SBI_ERR_INVALID_ADDRESS);
      // The hypervisor writes the shared page on every trap: a page table cannot be one.
      if (pv.pinned.has(a0 >>> 12)) return fail(SBI_ERR_DENIED);
      v.sharedGpa = a0;
      return ok();
    case PV_SET_TRAP_HANDLER:
      if ((a0 & 1) !== 0) return fail(SBI_ERR_INVALID_PARAM);
      v.trapHandler = a0;
      return ok();
    case PV_MMU_UPDATE:
      return mmuUpdate(host, d, pv, a0, a1);
    case PV_PIN_TABLE:
      return pin(host, d, pv, a0, a1);
    case PV_UNPIN_TABLE:
      return unpin(host, d, pv, a0);
    case PV_SET_BASEPTR: {
      const gfn = a0 >>> 12;
      if ((a0 & 0xfff) !== 0) return fail(SBI_ERR_INVALID_PARAM);
      if (pv.pinned.get(gfn) !== 1) return fail(SBI_ERR_DENIED);
      v.satp = (SATP_MODE_SV32 | gfn) >>> 0;
      v.shadow.select(v.satp);
      host.loadShadow(v, h);
      return ok();
    }
    case PV_IRET:
      return iret(host, v, h, a0);
    case PV_BLOCK:
      sharedWrite(v, SH_MASK, 0);
      if ((sharedRead(v, SH_PENDING) & pvEnabled) === 0) host.block(v);
      return ok();
    case PV_USER_ACCESS:
      v.userAccess = a0 !== 0;
      host.loadShadow(v, h);
      return ok();
    case PV_EVENT_CHECK:
      return ok();
    default:
      return fail(SBI_ERR_NOT_SUPPORTED);
  }
}

/**
 * PV_MULTICALL (Xen's HYPERVISOR_multicall): `n` entries {fid, arg0, arg1, result} at guest-physical
 * `list`, run in order, each exactly as if it came alone, in one exit. Each entry run gets its call's
 * value in `result`; the first refused one stops the batch: a0 = its error, a1 = its index (the entries
 * before it are done, none after it is). A batch that cannot be read, is too long, or lies in a pinned
 * table (the hypervisor writes the results there) is refused whole. IRET and BLOCK may only come last:
 * a batch ending in IRET does not return when every entry succeeds.
 */
function multicall(
  host: HypercallHost,
  v: Vcpu,
  h: Hart,
  pv: PvState,
  list: number,
  n: number,
): SbiRet | typeof NO_RETURN {
  const d = v.domain;
  if (n > PV_MULTICALL_MAX) return fail(SBI_ERR_INVALID_PARAM);
  const len = n * MC_WORDS * 4;
  const bytes = d.mem.read(list, len);
  if (bytes === undefined || (list & 3) !== 0) return fail(SBI_ERR_INVALID_ADDRESS);
  if (touchesPinned(d, list, len)) return fail(SBI_ERR_DENIED);
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, n * MC_WORDS);
  const firstPage = Math.floor(list / 4096);
  const lastPage = Math.floor((list + Math.max(len, 1) - 1) / 4096);
  for (let i = 0; i < n; i++) {
    const fid = words[MC_WORDS * i] >>> 0;
    const a0 = words[MC_WORDS * i + 1] >>> 0;
    const a1 = words[MC_WORDS * i + 2] >>> 0;
    let r: SbiRet | typeof NO_RETURN;
    if (!MC_CALLS.has(fid)) r = fail(SBI_ERR_NOT_SUPPORTED);
    else if ((fid === PV_IRET || fid === PV_BLOCK) && i !== n - 1) r = fail(SBI_ERR_INVALID_PARAM);
    else if (fid === PV_PIN_TABLE && a0 >>> 12 >= firstPage && a0 >>> 12 <= lastPage)
      r = fail(SBI_ERR_DENIED); // the batch's own page: its results are still to be written
    else r = pvOp(host, v, h, pv, fid, a0, a1);
    if (r === NO_RETURN) return NO_RETURN; // a successful IRET, the last entry
    d.mem.write32(list + (MC_WORDS * i + 3) * 4, r.value);
    if (r.error !== SBI_SUCCESS) return { error: r.error, value: i };
  }
  return { error: SBI_SUCCESS, value: n };
}

/** Events a PV guest can receive: software (bit 1), timer (bit 5) and external (bit 9, the virtual PLIC). */
export const pvEnabled = (1 << 1) | (1 << 5) | (1 << 9);

function iret(host: HypercallHost, v: Vcpu, h: Hart, frame: number): SbiRet | typeof NO_RETURN {
  if ((frame & 3) !== 0) return fail(SBI_ERR_INVALID_PARAM);
  const bytes = v.domain.mem.read(frame, TRAPFRAME_WORDS * 4);
  if (bytes === undefined) return fail(SBI_ERR_INVALID_ADDRESS);
  const w = new Int32Array(bytes.buffer, bytes.byteOffset, TRAPFRAME_WORDS);
  const epc = w[32] >>> 0;
  const status = w[33];
  if ((epc & 1) !== 0) return fail(SBI_ERR_INVALID_PARAM);
  for (let r = 1; r < 32; r++) h.x[r] = w[r];
  h.pc = epc;
  v.vpriv = (status & MSTATUS_SPP) !== 0 ? PRIV_S : PRIV_U;
  sharedWrite(v, SH_MASK, (status & MSTATUS_SPIE) !== 0 ? 0 : 1);
  host.loadShadow(v, h);
  return NO_RETURN;
}

/** Why entry `pte` may not stand in a pinned table of `level`, or SBI_SUCCESS. */
function checkEntry(d: Domain, pv: PvState, level: 0 | 1, pte: number): number {
  if ((pte & PTE_V) === 0) return SBI_SUCCESS;
  if ((pte & PTE_R) === 0 && (pte & PTE_W) !== 0) return SBI_ERR_INVALID_PARAM;
  const ppn = pte >>> 10;
  if ((pte & (PTE_R | PTE_X)) === 0) {
    // A pointer to the next level: only a root may hold one, and only to a pinned leaf table.
    if (level === 0) return SBI_ERR_INVALID_PARAM;
    return pv.pinned.get(ppn) === 0 ? SBI_SUCCESS : SBI_ERR_DENIED;
  }
  // Device registers may be mapped (a driver's MMIO): the shadow never maps them to a host frame, every
  // access traps to the device model. Anything else must be the domain's RAM.
  // A megapage may cover pages the balloon took (the kernel's identity map of its RAM does): the shadow
  // maps only what the P2M backs, so touching one is an access fault in the guest, nothing more.
  if (level === 1) {
    if ((ppn & 1023) !== 0) return SBI_ERR_INVALID_PARAM;
    return d.p2m.inSpan(ppn, 1024) || d.p2m.isDeviceRange(ppn, 1024) ? SBI_SUCCESS : SBI_ERR_DENIED;
  }
  if (d.p2m.isDeviceRange(ppn, 1)) return SBI_SUCCESS;
  if (!isRam(d, ppn)) return SBI_ERR_DENIED;
  if ((pte & PTE_W) !== 0 && pv.pinned.has(ppn)) return SBI_ERR_DENIED;
  return SBI_SUCCESS;
}

function isRam(d: Domain, gfn: number): boolean {
  return d.p2m.isRamRange(gfn, 1);
}

/** Whether a guest-physical range touches a pinned page table (the hypervisor must not write there). */
export function touchesPinned(d: Domain, gpa: number, len: number): boolean {
  const pv = d.pv;
  if (pv === undefined || pv.pinned.size === 0 || len <= 0) return false;
  for (let f = Math.floor(gpa / 4096); f <= Math.floor((gpa + len - 1) / 4096); f++)
    if (pv.pinned.has(f)) return true;
  return false;
}

/** A 4 KiB leaf that maps its frame writable (what pinning that frame must not meet). */
function writableLeaf(pte: number): number {
  return (pte & (PTE_V | PTE_R | PTE_W)) === (PTE_V | PTE_R | PTE_W) ? pte >>> 10 : -1;
}

function count(pv: PvState, gfn: number, by: number): void {
  if (gfn < 0) return;
  const n = (pv.writable.get(gfn) ?? 0) + by;
  if (n <= 0) pv.writable.delete(gfn);
  else pv.writable.set(gfn, n);
}

function mmuUpdate(host: HypercallHost, d: Domain, pv: PvState, reqs: number, n: number): SbiRet {
  if (n > PV_MMU_BATCH_MAX) return fail(SBI_ERR_INVALID_PARAM);
  const bytes = d.mem.read(reqs, n * 8);
  if (bytes === undefined || (reqs & 3) !== 0) return fail(SBI_ERR_INVALID_ADDRESS);
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, n * 2);
  let done = 0;
  let error = SBI_SUCCESS;
  for (; done < n; done++) {
    const ptr = words[2 * done] >>> 0;
    const val = words[2 * done + 1];
    const table = ptr >>> 12;
    const level = pv.pinned.get(table);
    if ((ptr & 3) !== 0) error = SBI_ERR_INVALID_PARAM;
    else if (level === undefined) error = SBI_ERR_DENIED;
    else error = checkEntry(d, pv, level, val);
    if (error !== SBI_SUCCESS) {
      pv.refused++;
      break;
    }
    const index = (ptr & 0xfff) >>> 2;
    const old = d.mem.read32(ptr) ?? 0;
    if (level === 0) {
      count(pv, writableLeaf(old), -1);
      count(pv, writableLeaf(val), +1);
    }
    d.mem.write32(ptr, val);
    pv.updates++;
    for (const v of d.vcpus) {
      if (level === 1) v.shadow.invalidateRootEntry(table, index);
      else v.shadow.invalidateLeafEntry(table, index);
    }
  }
  if (done > 0) host.flushTlbs(d);
  return { error, value: done };
}

function pin(host: HypercallHost, d: Domain, pv: PvState, gpa: number, level: number): SbiRet {
  const gfn = gpa >>> 12;
  if ((gpa & 0xfff) !== 0 || (level !== 0 && level !== 1)) return fail(SBI_ERR_INVALID_PARAM);
  if (!isRam(d, gfn)) return fail(SBI_ERR_INVALID_ADDRESS);
  if (pv.pinned.has(gfn) || pv.writable.has(gfn)) return fail(SBI_ERR_DENIED);
  if (d.vcpus.some((v) => v.sharedGpa >= 0 && v.sharedGpa >>> 12 === gfn)) return fail(SBI_ERR_DENIED);
  const bytes = d.mem.read(gpa, 4096) ?? new Uint8Array(4096);
  const entries = new Int32Array(bytes.buffer, bytes.byteOffset, 1024);
  for (const pte of entries) {
    const e = checkEntry(d, pv, level, pte);
    if (e !== SBI_SUCCESS) return fail(e);
    // Once pinned it is a page table too: it may not map itself writable.
    if (level === 0 && writableLeaf(pte) === gfn) return fail(SBI_ERR_DENIED);
  }
  pv.pinned.set(gfn, level);
  if (level === 0) for (const pte of entries) count(pv, writableLeaf(pte), +1);
  for (const v of d.vcpus) v.shadow.writeProtect(gfn);
  host.flushTlbs(d);
  return ok();
}

function unpin(host: HypercallHost, d: Domain, pv: PvState, gpa: number): SbiRet {
  const gfn = gpa >>> 12;
  const level = pv.pinned.get(gfn);
  if ((gpa & 0xfff) !== 0 || level === undefined) return fail(SBI_ERR_INVALID_PARAM);
  if (level === 1) {
    // The base pointer of a started vCPU: a stopped one has none (hart_start begins with paging off).
    const inUse = (v: Vcpu) => v.power === "started" && v.satp >>> 31 !== 0 && (v.satp & 0x3f_ffff) === gfn;
    if (d.vcpus.some(inUse)) return fail(SBI_ERR_DENIED);
    for (const v of d.vcpus) v.shadow.dropRoot(gfn);
  } else {
    for (const [root, l] of pv.pinned) {
      if (l !== 1) continue;
      const words = d.mem.read(root * 4096, 4096);
      if (words === undefined) continue;
      for (const pte of new Int32Array(words.buffer, words.byteOffset, 1024))
        if ((pte & PTE_V) !== 0 && (pte & (PTE_R | PTE_X)) === 0 && pte >>> 10 === gfn)
          return fail(SBI_ERR_DENIED);
    }
    const words = d.mem.read(gpa, 4096) ?? new Uint8Array(4096);
    for (const pte of new Int32Array(words.buffer, words.byteOffset, 1024)) count(pv, writableLeaf(pte), -1);
  }
  pv.pinned.delete(gfn);
  for (const v of d.vcpus) v.shadow.unprotect(gfn);
  host.flushTlbs(d);
  return ok();
}
