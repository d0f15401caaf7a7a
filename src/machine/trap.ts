/**
 * Control transfers of the privileged architecture on a hart without the H extension (M, S and U): trap
 * entry, the choice of the interrupt to take, and the instructions that leave or wait for a trap — MRET,
 * SRET, WFI — with SFENCE.VMA, whose privilege rules are theirs (TVM beside TSR and TW). A hart with the
 * extension goes to hext.ts instead; `Hart` chooses, once per call, by `hart.hx`.
 *
 * None of this is on the per-instruction path: the engines reach it only when an instruction traps or
 * is one of these, or when an interrupt is pending and enabled ((mip & mie) ≠ 0).
 *
 *   trap from privilege p, cause c:
 *     p ≤ S and c delegated (medeleg / mideleg)  →  S: scause, sepc, stval; SPP ← p; SPIE ← SIE; SIE ← 0
 *     otherwise: the firmware hook (mTrapHook), or M: mcause, mepc, mtval; MPP ← p; MPIE ← MIE; MIE ← 0
 *   pc ← xtvec's base, + 4 × cause for interrupts when xtvec's mode is vectored (1)
 */
import type { Hart } from "./hart.js";
import {
  CAUSE_INTERRUPT,
  MSTATUS_MIE,
  MSTATUS_MPIE,
  MSTATUS_MPP,
  MSTATUS_MPP_SHIFT,
  MSTATUS_MPRV,
  MSTATUS_SIE,
  MSTATUS_SPIE,
  MSTATUS_SPP,
  MSTATUS_TSR,
  MSTATUS_TVM,
  MSTATUS_TW,
  PRIV_M,
  PRIV_S,
  PRIV_U,
  type Priv,
} from "./isa/csr-defs.js";

/** Interrupts in the order the privileged spec takes them when several are pending: MEI MSI MTI SEI SSI STI. */
const IRQ_PRIORITY = [11, 3, 7, 9, 1, 5] as const;

/** The handler address for a trap: the base, plus 4 × cause for interrupts in vectored mode. */
export function trapVector(tvec: number, interrupt: boolean, code: number): number {
  const base = tvec & ~3;
  return ((tvec & 3) === 1 && interrupt ? base + 4 * code : base) >>> 0;
}

/**
 * Enters the trap handler for `cause` (interrupts have CAUSE_INTERRUPT set), at privilege M or, when
 * delegated by medeleg/mideleg and the hart is not in M, at S. `h.pc` is the trapping instruction
 * (exceptions) or the next one to run (interrupts).
 */
export function baseTakeTrap(h: Hart, cause: number, tval: number): void {
  const interrupt = (cause & CAUSE_INTERRUPT) !== 0;
  const code = cause & 0x7fff_ffff;
  const deleg = interrupt ? h.mideleg : h.medeleg;
  h.reservation = -1;
  if (h.priv <= PRIV_S && ((deleg >>> code) & 1) !== 0) {
    h.scause = cause;
    h.sepc = h.pc;
    h.stval = tval >>> 0;
    let s = h.mstatus & ~(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE);
    if (h.priv === PRIV_S) s |= MSTATUS_SPP;
    if ((h.mstatus & MSTATUS_SIE) !== 0) s |= MSTATUS_SPIE;
    h.mstatus = s;
    h.setPriv(PRIV_S);
    h.pc = trapVector(h.stvec, interrupt, code);
    return;
  }
  if (h.mTrapHook?.(h, cause, tval)) return;
  h.mcause = cause;
  h.mepc = h.pc;
  h.mtval = tval >>> 0;
  let s = h.mstatus & ~(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE);
  s |= h.priv << MSTATUS_MPP_SHIFT;
  if ((h.mstatus & MSTATUS_MIE) !== 0) s |= MSTATUS_MPIE;
  h.mstatus = s;
  h.setPriv(PRIV_M);
  h.pc = trapVector(h.mtvec, interrupt, code);
}

/**
 * The interrupt to take now, or 0: pending (mip & mie), routed by mideleg, enabled by the privilege
 * rules (a lower privilege than the target always takes it; the same privilege only with xIE set).
 * M-level interrupts come before S-level ones; within a level, the fixed priority order.
 */
export function basePendingInterrupt(h: Hart): number {
  const pending = h.mip & h.mie;
  if (pending === 0) return 0;
  const m = pending & ~h.mideleg;
  const mEnabled = h.priv < PRIV_M || (h.mstatus & MSTATUS_MIE) !== 0;
  const s = pending & h.mideleg;
  const sEnabled = h.priv < PRIV_S || (h.priv === PRIV_S && (h.mstatus & MSTATUS_SIE) !== 0);
  const set = mEnabled && m !== 0 ? m : sEnabled && s !== 0 ? s : 0;
  if (set === 0) return 0;
  for (const irq of IRQ_PRIORITY) if ((set >>> irq) & 1) return CAUSE_INTERRUPT | irq | 0;
  return 0;
}

/** MRET (M only): back to MPP with MIE ← MPIE; MPRV cleared when leaving M. Returns the pc (mepc). */
export function baseMret(h: Hart, insn: number): number {
  if (h.priv < PRIV_M) h.illegal(insn);
  const s = h.mstatus;
  const mpp = ((s & MSTATUS_MPP) >>> MSTATUS_MPP_SHIFT) as Priv;
  let n = s & ~(MSTATUS_MPP | MSTATUS_MIE);
  if ((s & MSTATUS_MPIE) !== 0) n |= MSTATUS_MIE;
  n |= MSTATUS_MPIE; // MPP ← U (least privileged), MPIE ← 1
  if (mpp !== PRIV_M) n &= ~MSTATUS_MPRV;
  h.mstatus = n;
  h.setPriv(mpp);
  return h.mepc >>> 0;
}

/** SRET (S without TSR, or M): back to SPP with SIE ← SPIE; MPRV cleared. Returns the pc (sepc). */
export function baseSret(h: Hart, insn: number): number {
  if (h.priv < PRIV_S || (h.priv === PRIV_S && (h.mstatus & MSTATUS_TSR) !== 0)) h.illegal(insn);
  const s = h.mstatus;
  const spp: Priv = (s & MSTATUS_SPP) !== 0 ? PRIV_S : PRIV_U;
  let n = s & ~(MSTATUS_SPP | MSTATUS_SIE | MSTATUS_MPRV);
  if ((s & MSTATUS_SPIE) !== 0) n |= MSTATUS_SIE;
  n |= MSTATUS_SPIE;
  h.mstatus = n;
  h.setPriv(spp);
  return h.sepc >>> 0;
}

/** WFI: the hart waits (and its slice ends) unless an interrupt is already pending. */
export function baseWfi(h: Hart, insn: number): void {
  // U-mode WFI is illegal when S-mode exists; S-mode WFI is illegal with TW (no bounded wait here).
  if (h.priv === PRIV_U || (h.priv === PRIV_S && (h.mstatus & MSTATUS_TW) !== 0)) h.illegal(insn);
  if ((h.mip & h.mie) !== 0) return; // an interrupt is already pending: WFI completes at once
  h.waiting = true;
  h.remaining = 0;
}

/** SFENCE.VMA (S without TVM, or M) of page `vaddr` or (−1) all. */
export function baseSfenceVma(h: Hart, vaddr: number, insn: number): void {
  if (h.priv === PRIV_U || (h.priv === PRIV_S && (h.mstatus & MSTATUS_TVM) !== 0)) h.illegal(insn);
  // Every address space (banks are not selected by ASID): exact or conservative.
  h.flushTlbHs(vaddr);
}
