/**
 * The H extension's CSR file (hext.ts has the rest of the extension): the hypervisor CSRs (hstatus,
 * hedeleg, hideleg, hie/hip/hvip, hgatp, htimedelta, htval, htinst, …), the virtual-supervisor ones
 * (vsstatus, vsie/vsip, vstvec, vsepc, vscause, vstval, vsatp, …), mtval2/mtinst and mstatush, and what
 * the extension changes in the base CSRs (misa.H, mideleg's read-only VS bits, medeleg and mie's wider
 * masks, time plus htimedelta in V mode). Access runs through `hAccess` before the base rules of csr.ts:
 *
 *   V = 1: a CSR of level 2 (h*, vs*), or of level 1 from VU  →  virtual-instruction exception
 *                                                               (illegal-instruction if it does not exist)
 *   V = 1: an S CSR (sstatus, sie, stvec, …, satp)             →  its vs* twin (number + 0x100)
 *   V = 0: the CSR itself; the h* and vs* ones need HS or M
 *
 * hvip's bits live in the hart's software-written mip bits (mipSw) and hie is the VS bits of mie (see
 * hext.ts); writes that change translation (hgatp, vsatp, vsstatus, mstatush.MPV) select another TLB
 * bank instead of flushing.
 */
import { csrRead, csrWrite, MISA } from "./csr.js";
import type { Hart } from "./hart.js";
import { hx, MIDELEG_FORCED, VS_IRQS, virtualInsn } from "./hext.js";
import {
  CSR,
  HCSR,
  HGATP_MODE_SV32X4,
  HGATP_PPN_MASK,
  HGATP_VMID_MASK,
  HGATP_VMID_SHIFT,
  HSTATUS_GVA,
  HSTATUS_HU,
  HSTATUS_SPV,
  HSTATUS_SPVP,
  HSTATUS_VTSR,
  HSTATUS_VTVM,
  HSTATUS_VTW,
  MIP_SGEIP,
  MIP_VSSIP,
  MSTATUS_MXR,
  MSTATUS_SIE,
  MSTATUS_SPIE,
  MSTATUS_SPP,
  MSTATUS_SUM,
  MSTATUS_TVM,
  MSTATUS_UBE,
  MSTATUSH_GVA,
  MSTATUSH_MPV,
  PRIV_M,
  PRIV_S,
  PRIV_U,
} from "./isa/csr-defs.js";

/** misa with the H bit. */
export const MISA_H = MISA | (1 << 7);

const HSTATUS_WRITABLE =
  HSTATUS_GVA | HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_HU | HSTATUS_VTVM | HSTATUS_VTW | HSTATUS_VTSR;
/** hedeleg: the exceptions VS-mode may handle (not ecalls from HS/VS/M, not guest-page faults, not 22). */
const HEDELEG_WRITABLE = 0xb1ff;
/** medeleg with H: also ecall from VS (10), guest-page faults (20, 21, 23) and virtual instruction (22). */
const MEDELEG_WRITABLE_H = 0xb7ff | (0xf << 20);
const MIE_WRITABLE_H = 0xaaa | VS_IRQS | MIP_SGEIP;
const HIE_WRITABLE = VS_IRQS | MIP_SGEIP;
const VSSTATUS_MASK = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_UBE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR;
const VSSTATUS_WRITABLE = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR;

/** The S CSRs that, while V = 1, name their vs* counterparts (number + 0x100). */
const VS_REMAPPED = new Set<number>([
  CSR.sstatus,
  CSR.sie,
  CSR.stvec,
  CSR.sscratch,
  CSR.sepc,
  CSR.scause,
  CSR.stval,
  CSR.sip,
  CSR.satp,
]);
const H_CSRS = new Set<number>(Object.values(HCSR));

/**
 * The H extension's access rules, before the base ones (csr.ts): returns the CSR number to access (an S
 * CSR becomes its vs* twin in VS-mode) or raises. In VS/VU, a hypervisor or VS CSR (and, in VU, an S
 * CSR) raises a virtual-instruction exception when HS-mode could have made the access; so do satp with
 * hstatus.VTVM in VS, and counters that mcounteren allows but hcounteren (or, in VU, scounteren) does not.
 */
function hAccess(h: Hart, csr: number, insn: number, write: boolean): number {
  const x = hx(h);
  const level = (csr >>> 8) & 3;
  const readOnly = csr >>> 10 === 3;
  // M-level CSRs (those handled here too: misa, mstatush, mideleg, …) and read-only ones, as in csr.ts.
  if ((level === 3 && h.priv < PRIV_M) || (write && readOnly)) h.illegal(insn);
  if (h.virt) {
    if (level === 2 || (level === 1 && h.priv === PRIV_U)) {
      const exists = level === 2 ? H_CSRS.has(csr) : isSupervisorCsr(csr);
      if (!exists) h.illegal(insn);
      virtualInsn(h, insn);
    }
    if (level === 1) {
      if (csr === CSR.satp && (x.hstatus & HSTATUS_VTVM) !== 0) virtualInsn(h, insn);
      if (VS_REMAPPED.has(csr)) return csr + 0x100;
    }
    if ((csr >= 0xc00 && csr <= 0xc1f) || (csr >= 0xc80 && csr <= 0xc9f)) {
      const bit = 1 << (csr & 31);
      if ((h.mcounteren & bit) !== 0) {
        if ((x.hcounteren & bit) === 0) virtualInsn(h, insn);
        if (h.priv === PRIV_U && (h.scounteren & bit) === 0) virtualInsn(h, insn);
      }
    }
    return csr;
  }
  if (level === 2) {
    if (h.priv < PRIV_S) h.illegal(insn);
    if (csr === HCSR.hgatp && h.priv === PRIV_S && (h.mstatus & MSTATUS_TVM) !== 0) h.illegal(insn);
  }
  return csr;
}

function isSupervisorCsr(csr: number): boolean {
  return VS_REMAPPED.has(csr) || csr === CSR.scounteren || csr === CSR.senvcfg;
}

export function hCsrRead(h: Hart, csr: number, insn: number): number {
  const x = hx(h);
  const c = hAccess(h, csr, insn, false);
  switch (c) {
    case HCSR.hstatus:
      return x.hstatus;
    case HCSR.hedeleg:
      return x.hedeleg;
    case HCSR.hideleg:
      return x.hideleg;
    case HCSR.hie:
      return h.mie & HIE_WRITABLE;
    case HCSR.hip:
      return h.mip & (VS_IRQS | MIP_SGEIP);
    case HCSR.hvip:
      return h.mipSw & VS_IRQS;
    case HCSR.hcounteren:
      return x.hcounteren;
    case HCSR.hgeie:
    case HCSR.hgeip:
      return 0; // GEILEN = 0: no guest external interrupts
    case HCSR.henvcfg:
      return x.henvcfg;
    case HCSR.henvcfgh:
      return 0;
    case HCSR.htimedelta:
      return x.htimedelta;
    case HCSR.htimedeltah:
      return x.htimedeltah;
    case HCSR.htval:
      return x.htval;
    case HCSR.htinst:
      return x.htinst;
    case HCSR.hgatp:
      return x.hgatp;
    case HCSR.vsstatus:
      return x.vsstatus & VSSTATUS_MASK;
    case HCSR.vsie:
      return (h.mie & x.hideleg & VS_IRQS) >>> 1;
    case HCSR.vsip:
      return (h.mip & x.hideleg & VS_IRQS) >>> 1;
    case HCSR.vstvec:
      return x.vstvec;
    case HCSR.vsscratch:
      return x.vsscratch;
    case HCSR.vsepc:
      return x.vsepc;
    case HCSR.vscause:
      return x.vscause;
    case HCSR.vstval:
      return x.vstval;
    case HCSR.vsatp:
      return x.vsatp;
    case HCSR.mtval2:
      return x.mtval2;
    case HCSR.mtinst:
      return x.mtinst;
    case CSR.misa:
      return MISA_H;
    case CSR.mstatush:
      return x.mstatush;
    case CSR.mideleg:
      return h.mideleg | MIDELEG_FORCED;
    case CSR.time:
    case CSR.timeh:
      if (h.virt) {
        csrRead(h, c, insn); // the counter-enable checks
        const t = h.readTime() + x.htimedeltah * 2 ** 32 + (x.htimedelta >>> 0);
        return c === CSR.time ? (t % 2 ** 32) | 0 : Math.floor(t / 2 ** 32) | 0;
      }
      return csrRead(h, c, insn);
    default:
      return csrRead(h, c, insn);
  }
}

export function hCsrWrite(h: Hart, csr: number, v: number, insn: number): void {
  const x = hx(h);
  const c = hAccess(h, csr, insn, true);
  switch (c) {
    case HCSR.hstatus:
      x.hstatus = v & HSTATUS_WRITABLE;
      return;
    case HCSR.hedeleg:
      x.hedeleg = v & HEDELEG_WRITABLE;
      return;
    case HCSR.hideleg:
      x.hideleg = v & VS_IRQS;
      return;
    case HCSR.hie:
      h.mie = (h.mie & ~HIE_WRITABLE) | (v & HIE_WRITABLE);
      return;
    case HCSR.hip:
      setVssip(h, (v & MIP_VSSIP) !== 0);
      return;
    case HCSR.hvip:
      h.setSoftwareInterrupt(VS_IRQS & ~v, false);
      h.setSoftwareInterrupt(VS_IRQS & v, true);
      return;
    case HCSR.hcounteren:
      x.hcounteren = v;
      return;
    case HCSR.hgeie:
    case HCSR.henvcfgh:
      return;
    case HCSR.henvcfg:
      x.henvcfg = v & 1; // FIOM
      return;
    case HCSR.htimedelta:
      x.htimedelta = v;
      return;
    case HCSR.htimedeltah:
      x.htimedeltah = v;
      return;
    case HCSR.htval:
      x.htval = v;
      return;
    case HCSR.htinst:
      x.htinst = v;
      return;
    case HCSR.hgatp:
      // Sv32x4 or Bare; VMIDLEN = 7; the root is 16 KiB-aligned, so PPN[1:0] read as zero.
      x.hgatp = (v & HGATP_MODE_SV32X4) | (v & (HGATP_VMID_MASK << HGATP_VMID_SHIFT)) | (v & HGATP_PPN_MASK);
      h.retagTlb(); // no flush: another VMID's (or table's) entries are in other banks
      return;
    case HCSR.vsstatus:
      x.vsstatus = (x.vsstatus & ~VSSTATUS_WRITABLE) | (v & VSSTATUS_WRITABLE);
      h.retagTlb(); // SUM/MXR of the VS-stage
      return;
    case HCSR.vsie: {
      const mask = x.hideleg & VS_IRQS;
      h.mie = (h.mie & ~mask) | ((v << 1) & mask);
      return;
    }
    case HCSR.vsip:
      if ((x.hideleg & MIP_VSSIP) !== 0) setVssip(h, ((v << 1) & MIP_VSSIP) !== 0);
      return;
    case HCSR.vstvec:
      if ((v & 3) < 2) x.vstvec = v;
      return;
    case HCSR.vsscratch:
      x.vsscratch = v;
      return;
    case HCSR.vsepc:
      x.vsepc = v & ~1;
      return;
    case HCSR.vscause:
      x.vscause = v;
      return;
    case HCSR.vstval:
      x.vstval = v;
      return;
    case HCSR.vsatp:
      x.vsatp = v;
      h.retagTlb();
      return;
    case HCSR.mtval2:
      x.mtval2 = v;
      return;
    case HCSR.mtinst:
      x.mtinst = v;
      return;
    case CSR.mstatush:
      x.mstatush = v & (MSTATUSH_MPV | MSTATUSH_GVA);
      h.retagTlb(); // MPV changes what MPRV accesses translate with
      return;
    case CSR.medeleg:
      h.medeleg = v & MEDELEG_WRITABLE_H;
      return;
    case CSR.mie:
      h.mie = v & MIE_WRITABLE_H;
      return;
    case CSR.mip:
      csrWrite(h, c, v, insn); // SSIP, STIP, SEIP
      setVssip(h, (v & MIP_VSSIP) !== 0); // mip.VSSIP is hvip.VSSIP; VSTIP and VSEIP are read-only here
      return;
    default:
      csrWrite(h, c, v, insn);
  }
}

function setVssip(h: Hart, on: boolean): void {
  h.setSoftwareInterrupt(MIP_VSSIP, on);
}
