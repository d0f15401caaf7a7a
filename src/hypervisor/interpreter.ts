/**
 * The interpreter (the seed's third module): emulates, on a vCPU's virtual CSRs, the privileged and
 * sensitive instructions a deprivileged guest kernel executes in `trap` mode. The guest kernel runs in
 * the host's U-mode, so every one of these raises an illegal-instruction exception on the hart, whose
 * tval holds the instruction bits; the dispatcher hands it here when the vCPU is in virtual S-mode.
 *
 *   instruction                     emulation
 *   ─────────────────────────────   ──────────────────────────────────────────────────────────────────
 *   csrr* on sstatus sie sip stvec  read/modify/write the virtual CSR with the spec's WARL masks; a
 *   sscratch sepc scause stval      satp write switches shadow set, a SUM/MXR change switches or
 *   satp scounteren senvcfg         flushes shadows (ring compression keeps their meaning)
 *   sret                            virtual privilege ← SPP, SIE ← SPIE, pc ← sepc
 *   wfi                             blocks the vCPU until a virtual interrupt is pending
 *   sfence.vma [rs1]                flushes the shadow (all, or the page of rs1)
 *
 * Anything else (an M-mode CSR, mret, a CSR that does not exist) is illegal in S-mode too: the caller
 * reflects the exception into the guest, as the hardware would.
 */

import type { Hart } from "../machine/hart.js";
import {
  CSR,
  MIP_SEIP,
  MIP_SSIP,
  MIP_STIP,
  MSTATUS_MXR,
  MSTATUS_SIE,
  MSTATUS_SPIE,
  MSTATUS_SPP,
  MSTATUS_SUM,
  PRIV_S,
  PRIV_U,
} from "../machine/isa/csr-defs.js";
import type { Vcpu } from "./vcpu.js";

/** The sstatus fields a guest can see and change (no F/V state, UXL fixed on RV32). */
export const SSTATUS_MASK = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR;
const SIE_MASK = MIP_SSIP | MIP_STIP | MIP_SEIP;

const INSN_SRET = 0x1020_0073;
const INSN_WFI = 0x1050_0073;

/** What the interpreter needs from the hypervisor. */
export interface InterpreterHost {
  /** Points the hart at the vCPU's current shadow (after a privilege, SUM or satp change). */
  loadShadow(v: Vcpu, h: Hart): void;
  /** WFI with nothing pending: the vCPU sleeps until an interrupt. */
  block(v: Vcpu): void;
}

/** Exit labels, as counted per domain. */
export type Emulated = "csr" | "sret" | "wfi" | "sfence.vma";

/**
 * Emulates `insn` for `v`, whose state is live on hart `h` (pc = the instruction). Returns what it
 * emulated, or null when the instruction is illegal in S-mode as well.
 */
export function emulate(host: InterpreterHost, v: Vcpu, h: Hart, insn: number): Emulated | null {
  if ((insn & 0x7f) !== 0x73 || v.vpriv !== PRIV_S) return null;
  const funct3 = (insn >>> 12) & 7;
  const rd = (insn >>> 7) & 31;
  const rs1 = (insn >>> 15) & 31;
  if (funct3 === 0) {
    if (insn === INSN_SRET) {
      h.pc = sretOp(host, v, h);
      return "sret";
    }
    if (insn === INSN_WFI) {
      h.pc = (h.pc + 4) >>> 0;
      if ((v.sip & v.sie) === 0) host.block(v);
      return "wfi";
    }
    if (insn >>> 25 === 0x09 && rd === 0) {
      sfenceOp(v, h, rs1 === 0 ? -1 : h.x[rs1]);
      h.pc = (h.pc + 4) >>> 0;
      return "sfence.vma";
    }
    return null;
  }
  if (funct3 === 4) return null;
  const old = csrOp(host, v, h, insn, (funct3 & 4) !== 0 ? rs1 : h.x[rs1]);
  if (old === null) return null;
  if (rd !== 0) h.x[rd] = old;
  h.pc = (h.pc + 4) >>> 0;
  return "csr";
}

/**
 * The CSR instruction `insn` (csrrw/s/c and their immediate forms) with source value `src`, on the
 * vCPU's virtual CSRs: returns the CSR's old value, or null when it is illegal in S-mode. Used by the
 * trap path above and directly by binary translation (bt.ts).
 */
export function csrOp(host: InterpreterHost, v: Vcpu, h: Hart, insn: number, src: number): number | null {
  if (v.vpriv !== PRIV_S) return null;
  const csr = insn >>> 20;
  const op = (insn >>> 12) & 3; // 1 write, 2 set, 3 clear
  const rs1 = (insn >>> 15) & 31;
  const old = readCsr(v, csr);
  if (old === undefined) return null;
  if (op === 1 || rs1 !== 0) {
    if (csr >>> 10 === 3) return null; // read-only CSR
    const value = op === 1 ? src : op === 2 ? old | src : old & ~src;
    writeCsr(host, v, h, csr, value >>> 0);
  }
  return old;
}

/** SRET on the vCPU: virtual privilege ← SPP, SIE ← SPIE; returns sepc, where it continues. */
export function sretOp(host: InterpreterHost, v: Vcpu, h: Hart): number {
  const s = v.sstatus;
  v.vpriv = (s & MSTATUS_SPP) !== 0 ? PRIV_S : PRIV_U;
  v.sstatus =
    (s & ~(MSTATUS_SPP | MSTATUS_SIE)) | MSTATUS_SPIE | ((s & MSTATUS_SPIE) !== 0 ? MSTATUS_SIE : 0);
  host.loadShadow(v, h);
  return v.sepc >>> 0;
}

/** SFENCE.VMA on the vCPU's shadows (vaddr -1: all). */
export function sfenceOp(v: Vcpu, h: Hart, vaddr: number): void {
  if (vaddr === -1) v.shadow.flushAll();
  else v.shadow.flushVa(vaddr);
  h.flushTlbHs(-1);
}

/** The CSRs the interpreter keeps per vCPU (the rest are the hart's own: counters, or illegal). */
export const VIRTUAL_CSRS: ReadonlySet<number> = new Set([
  CSR.sstatus,
  CSR.sie,
  CSR.sip,
  CSR.stvec,
  CSR.sscratch,
  CSR.sepc,
  CSR.scause,
  CSR.stval,
  CSR.satp,
  CSR.scounteren,
  CSR.senvcfg,
]);

function readCsr(v: Vcpu, csr: number): number | undefined {
  switch (csr) {
    case CSR.sstatus:
      return v.sstatus;
    case CSR.sie:
      return v.sie;
    case CSR.sip:
      return v.sip & SIE_MASK;
    case CSR.stvec:
      return v.stvec;
    case CSR.sscratch:
      return v.sscratch;
    case CSR.sepc:
      return v.sepc;
    case CSR.scause:
      return v.scause;
    case CSR.stval:
      return v.stval;
    case CSR.satp:
      return v.satp;
    case CSR.scounteren:
      return v.scounteren;
    case CSR.senvcfg:
      return v.senvcfg;
    default:
      return undefined;
  }
}

function writeCsr(host: InterpreterHost, v: Vcpu, h: Hart, csr: number, value: number): void {
  switch (csr) {
    case CSR.sstatus: {
      const before = v.sstatus;
      v.sstatus = value & SSTATUS_MASK;
      const changed = before ^ v.sstatus;
      if ((changed & MSTATUS_MXR) !== 0) v.shadow.flushAll(); // leaves were built for the old MXR
      if ((changed & (MSTATUS_SUM | MSTATUS_MXR)) !== 0) host.loadShadow(v, h);
      return;
    }
    case CSR.sie:
      v.sie = value & SIE_MASK;
      return;
    case CSR.sip:
      v.sip = (v.sip & ~MIP_SSIP) | (value & MIP_SSIP);
      return;
    case CSR.stvec:
      v.stvec = value & ~2; // modes 0 (direct) and 1 (vectored); bit 1 reads zero
      return;
    case CSR.sscratch:
      v.sscratch = value;
      return;
    case CSR.sepc:
      v.sepc = value & ~1;
      return;
    case CSR.scause:
      v.scause = value;
      return;
    case CSR.stval:
      v.stval = value;
      return;
    case CSR.satp:
      v.satp = value;
      v.shadow.select(value);
      host.loadShadow(v, h);
      return;
    case CSR.scounteren:
      v.scounteren = value & 7;
      return;
    case CSR.senvcfg:
      v.senvcfg = value & 1; // FIOM only
      return;
  }
}
