/**
 * The trap bounce: how a trap or interrupt meant for the guest kernel is delivered into it, as the
 * hardware does for an hvm guest (VS-mode CSRs, hvm.ts), as the privileged spec's S-mode trap entry
 * does for a trap/bt guest (its virtual sepc, scause, stval, sstatus, stvec), and as docs/pv-abi.md
 * says for a pv guest (the shared page's saved state and its registered handler). The hypervisor
 * (hypervisor.ts) decides when; this file only changes the vCPU's and hart's state.
 */
import type { Hart } from "../machine/hart.js";
import {
  CAUSE_INTERRUPT,
  MIP_SEIP,
  MIP_SSIP,
  MSTATUS_SIE,
  MSTATUS_SPIE,
  MSTATUS_SPP,
  PRIV_S,
  PRIV_U,
} from "../machine/isa/csr-defs.js";
import { reflectIntoVs, statusOnTrap } from "./hvm.js";
import {
  pvEnabled,
  SH_CAUSE,
  SH_EPC,
  SH_KERNEL_SP,
  SH_MASK,
  SH_PENDING,
  SH_SAVED_SP,
  SH_STATUS,
  SH_TVAL,
  sharedRead,
  sharedWrite,
} from "./pv.js";
import type { Vcpu } from "./vcpu.js";

/**
 * The interrupt cause a trap or pv vCPU should take now (its highest pending enabled virtual interrupt,
 * external before software before timer, as the spec orders them), or undefined when none is pending
 * or the guest kernel has interrupts masked.
 */
export function interruptToTake(v: Vcpu): number | undefined {
  let pending: number;
  if (v.domain.mode === "pv") {
    if (v.sharedGpa < 0) return undefined;
    pending = sharedRead(v, SH_PENDING) & pvEnabled;
    if (pending === 0 || (v.vpriv === PRIV_S && sharedRead(v, SH_MASK) !== 0)) return undefined;
  } else {
    pending = v.sip & v.sie;
    if (pending === 0 || (v.vpriv === PRIV_S && (v.sstatus & MSTATUS_SIE) === 0)) return undefined;
  }
  const irq = (pending & MIP_SEIP) !== 0 ? 9 : (pending & MIP_SSIP) !== 0 ? 1 : 5;
  return (CAUSE_INTERRUPT | irq) >>> 0;
}

/**
 * Delivers `cause` (with `tval`) into the guest kernel running on `h`: its trap state saved where its
 * mode keeps it, the vCPU in (virtual) S-mode, the pc at its handler. Returns why the domain must crash
 * instead — no handler registered yet, or a trap at the handler itself (a double fault) — or undefined.
 */
export function bounce(v: Vcpu, h: Hart, cause: number, tval: number): string | undefined {
  const interrupt = (cause & CAUSE_INTERRUPT) !== 0;
  const d = v.domain;
  if (d.mode === "hvm") return reflectIntoVs(v, h, cause, tval);
  if (d.mode === "pv") {
    const handler = v.trapHandler;
    if (v.sharedGpa < 0 || handler === 0)
      return `trap ${causeText(cause)} at 0x${h.pc.toString(16)} before a PV trap handler and shared page were registered`;
    if (!interrupt && h.pc === handler)
      return `trap ${causeText(cause)} at the trap handler itself (0x${(handler >>> 0).toString(16)}): double fault`;
    const status = (v.vpriv === PRIV_S ? MSTATUS_SPP : 0) | (sharedRead(v, SH_MASK) === 0 ? MSTATUS_SPIE : 0);
    sharedWrite(v, SH_EPC, h.pc);
    sharedWrite(v, SH_CAUSE, cause);
    sharedWrite(v, SH_TVAL, tval);
    sharedWrite(v, SH_STATUS, status);
    sharedWrite(v, SH_SAVED_SP, h.x[2]);
    sharedWrite(v, SH_MASK, 1);
    if (v.vpriv === PRIV_U) h.x[2] = sharedRead(v, SH_KERNEL_SP);
    v.vpriv = PRIV_S;
    h.pc = handler >>> 0;
    return undefined;
  }
  const base = v.stvec & ~3;
  const handler = (v.stvec & 1) !== 0 && interrupt ? base + 4 * (cause & 0xff) : base;
  if (!interrupt && h.pc === handler >>> 0)
    return `trap ${causeText(cause)} at the trap vector itself (0x${(handler >>> 0).toString(16)}): double fault`;
  v.sepc = h.pc;
  v.scause = cause;
  v.stval = tval >>> 0;
  v.sstatus = statusOnTrap(v.sstatus, v.vpriv === PRIV_S);
  v.vpriv = PRIV_S;
  h.pc = handler >>> 0;
  return undefined;
}

export function causeText(cause: number): string {
  return (cause & CAUSE_INTERRUPT) !== 0 ? `interrupt ${cause & 0xff}` : `cause ${cause}`;
}
