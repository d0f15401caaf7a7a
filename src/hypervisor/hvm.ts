/**
 * Mode `hvm` on the harts' H extension (machine/hext.ts): how an hvm vCPU goes on and off a pCPU, and how
 * the hypervisor hands a trap to its guest kernel in VS-mode. The rest of hvm is the dispatcher's
 * dispatchHvm (its exits) and memory/gstage.ts (its G-stage tables).
 *
 *   on (loadHvmVcpu):  vs* CSRs ← the vCPU's virtual S state; hgatp ← its domain's G-stage (VMID = domid
 *                      mod 128); htimedelta ← its domain's time offset (guest-time.ts); medeleg/hedeleg ←
 *                      what the guest handles itself; VS interrupts in mie/mip; VTW; V = 1 at the vCPU's
 *                      privilege; HFENCE.VVMA unless the hart's VS-stage entries of that VMID are this
 *                      vCPU's own (see below)
 *   off (saveHvmVcpu): the reverse, and the host's settings back (V = 0, U-mode, nothing delegated)
 *
 * TLB: the hart's entries are tagged by VMID (machine/tlb.ts), so a switch between virtual machines
 * flushes nothing and each finds its translations again. Within one virtual machine, the guest sees each
 * vCPU as a hart with a TLB of its own and fences accordingly (a local SFENCE.VMA on one vCPU says nothing
 * of the others); the hart's VS-stage entries under the VMID are those of the vCPU that last ran there.
 * So loading a vCPU flushes them (HFENCE.VVMA for the VMID) unless that vCPU was the last of its VM on this
 * hart and has not run on another hart since — which also covers a vCPU coming back after fencing
 * elsewhere. G-stage changes (a P2M change) flush the VMID on every hart (Hypervisor.flushTlbs), and so
 * does creating or destroying a domain (a VMID is reused after 128 domains).
 */
import type { Hart } from "../machine/hart.js";
import { setVirt } from "../machine/hext.js";
import {
  CAUSE_BREAKPOINT,
  CAUSE_ECALL_U,
  CAUSE_ILLEGAL_INSN,
  CAUSE_INSN_MISALIGNED,
  CAUSE_INSN_PAGE_FAULT,
  CAUSE_LOAD_MISALIGNED,
  CAUSE_LOAD_PAGE_FAULT,
  CAUSE_STORE_MISALIGNED,
  CAUSE_STORE_PAGE_FAULT,
  HGATP_VMID_MASK,
  HSTATUS_VTW,
  MIP_MSIP,
  MIP_MTIP,
  MIP_VSEIP,
  MIP_VSSIP,
  MIP_VSTIP,
  MSTATUS_SIE,
  MSTATUS_SPIE,
  MSTATUS_SPP,
  PRIV_S,
  PRIV_U,
} from "../machine/isa/csr-defs.js";
import { timeDeltaHalves } from "./guest-time.js";
import type { Vcpu, VirtualPriv } from "./vcpu.js";

/** The VS-level interrupt bits of mip/mie (VSSIP, VSTIP, VSEIP): a vCPU's S bits shifted left by one. */
export const VS_IRQS = MIP_VSSIP | MIP_VSTIP | MIP_VSEIP;
/**
 * hvm: the exceptions an hvm guest kernel handles itself, delegated M → HS (medeleg) → VS (hedeleg), so
 * they never exit: misaligned accesses, illegal instructions, breakpoints, ecalls from its programs,
 * and page faults of its own (VS-stage) tables.
 */
export const HVM_DELEG =
  (1 << CAUSE_INSN_MISALIGNED) |
  (1 << CAUSE_ILLEGAL_INSN) |
  (1 << CAUSE_BREAKPOINT) |
  (1 << CAUSE_LOAD_MISALIGNED) |
  (1 << CAUSE_STORE_MISALIGNED) |
  (1 << CAUSE_ECALL_U) |
  (1 << CAUSE_INSN_PAGE_FAULT) |
  (1 << CAUSE_LOAD_PAGE_FAULT) |
  (1 << CAUSE_STORE_PAGE_FAULT);

/** sstatus after a trap into S-mode: SPP ← came from S, SPIE ← SIE, SIE ← 0 (the privileged spec's rule). */
export function statusOnTrap(s: number, fromS: boolean): number {
  return (
    (s & ~(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE)) |
    (fromS ? MSTATUS_SPP : 0) |
    ((s & MSTATUS_SIE) !== 0 ? MSTATUS_SPIE : 0)
  );
}

/**
 * Puts hvm vCPU `v` on `h` in VS (or VU) mode: its VS CSRs, its domain's G-stage, the delegations that
 * keep its own traps and its VS interrupts off the exit path, and WFI trapping (VTW) so it can block.
 */
/** The VMID of `domain`'s G-stage: its id, to VMIDLEN (7) bits. */
export function vmidOf(domain: { id: number }): number {
  return domain.id & HGATP_VMID_MASK;
}

/** Per hart, the vCPU whose VS-stage entries it holds under each VMID; per vCPU, the hart it last ran on. */
const vsOwner = new WeakMap<Hart, Map<number, Vcpu>>();
const lastHart = new WeakMap<Vcpu, Hart>();

export function loadHvmVcpu(v: Vcpu, h: Hart): void {
  const x = h.hx;
  const g = v.domain.gstage;
  if (x === undefined || g === undefined)
    throw new Error(`hvm vCPU ${v.id} on a hart without the H extension`);
  x.vsstatus = v.sstatus;
  x.vstvec = v.stvec;
  x.vsscratch = v.sscratch;
  x.vsepc = v.sepc;
  x.vscause = v.scause;
  x.vstval = v.stval;
  x.vsatp = v.satp;
  x.hstatus = HSTATUS_VTW;
  x.hedeleg = HVM_DELEG;
  x.hideleg = VS_IRQS;
  x.hcounteren = 7;
  const vmid = vmidOf(v.domain);
  x.hgatp = g.hgatp(vmid);
  const delta = timeDeltaHalves(v.domain.timeOffset);
  x.htimedelta = delta.lo;
  x.htimedeltah = delta.hi;
  h.medeleg = HVM_DELEG;
  h.mideleg = 0; // the VS interrupts are delegated regardless (read-only one)
  h.mie = MIP_MTIP | MIP_MSIP | ((v.sie << 1) & VS_IRQS);
  h.mipSw = (h.mipSw & ~VS_IRQS) | ((v.sip << 1) & VS_IRQS);
  h.scounteren = v.scounteren;
  h.satp = 0;
  setVirt(h, true);
  h.setPriv(v.vpriv); // selects the TLB bank of (VMID, vsatp, …): nothing is flushed
  let owners = vsOwner.get(h);
  if (owners === undefined) {
    owners = new Map();
    vsOwner.set(h, owners);
  }
  if (owners.get(vmid) !== v || lastHart.get(v) !== h) h.flushTlbGuest(vmid, -1); // HFENCE.VVMA
  owners.set(vmid, v);
  lastHart.set(v, h);
}

/** Takes hvm vCPU `v`'s state off `h` and puts the host's back (V = 0, U-mode, nothing delegated). */
export function saveHvmVcpu(v: Vcpu, h: Hart): void {
  const x = h.hx;
  if (x === undefined) return;
  v.sstatus = x.vsstatus;
  v.stvec = x.vstvec;
  v.sscratch = x.vsscratch;
  v.sepc = x.vsepc;
  v.scause = x.vscause;
  v.stval = x.vstval;
  v.satp = x.vsatp;
  v.sie = (h.mie & VS_IRQS) >>> 1;
  v.sip = (h.mipSw & VS_IRQS) >>> 1;
  v.scounteren = h.scounteren;
  if (h.virt) v.vpriv = h.priv as VirtualPriv;
  x.hstatus = x.hedeleg = x.hideleg = x.hgatp = x.hcounteren = x.htimedelta = x.htimedeltah = 0;
  h.medeleg = h.mideleg = 0;
  h.mie = MIP_MTIP | MIP_MSIP;
  h.mipSw &= ~VS_IRQS;
  h.scounteren = 7;
  setVirt(h, false);
  h.setPriv(PRIV_U);
}

/**
 * Delivers exception `cause` to the guest kernel in VS-mode, as a delegated trap would arrive. Returns
 * why it cannot (the domain is then crashed), or undefined.
 */
export function reflectIntoVs(v: Vcpu, h: Hart, cause: number, tval: number): string | undefined {
  const x = h.hx;
  if (x === undefined || !h.virt) throw new Error(`hvm vCPU ${v.id}: reflect while not in V-mode`);
  const handler = (x.vstvec & ~3) >>> 0;
  if (h.pc === handler)
    return `trap cause ${cause} at the trap vector itself (0x${handler.toString(16)}): double fault`;
  x.vsepc = h.pc;
  x.vscause = cause;
  x.vstval = tval >>> 0;
  x.vsstatus = statusOnTrap(x.vsstatus, h.priv === PRIV_S);
  h.setPriv(PRIV_S);
  h.pc = handler;
  return undefined;
}
