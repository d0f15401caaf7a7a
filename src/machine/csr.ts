/**
 * The CSR file of an RV32IMAC hart with M, S and U modes: access rules (privilege in csr[9:8], read-only
 * in csr[11:10] = 3, counter enables, TVM) and each register's WARL behaviour. State lives in the Hart.
 *
 *   csr number  11 10 │ 9 8 │ 7 ... 0
 *               access│ priv│ index        access 3 = read-only; priv = lowest privilege allowed
 */
import type { Hart } from "./hart.js";
import {
  CSR,
  MIP_SSIP,
  MSTATUS_MIE,
  MSTATUS_MPIE,
  MSTATUS_MPP,
  MSTATUS_MPP_SHIFT,
  MSTATUS_MPRV,
  MSTATUS_MXR,
  MSTATUS_SIE,
  MSTATUS_SPIE,
  MSTATUS_SPP,
  MSTATUS_SUM,
  MSTATUS_TSR,
  MSTATUS_TVM,
  MSTATUS_TW,
  MSTATUS_UBE,
  PRIV_M,
  PRIV_S,
  PRIV_U,
} from "./isa/csr-defs.js";

/** misa: MXL = 1 (RV32) and the extensions A, C, I, M, S, U. */
export const MISA = (1 << 30) | (1 << 0) | (1 << 2) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20);

const MSTATUS_WRITABLE =
  MSTATUS_SIE |
  MSTATUS_MIE |
  MSTATUS_SPIE |
  MSTATUS_MPIE |
  MSTATUS_SPP |
  MSTATUS_MPP |
  MSTATUS_MPRV |
  MSTATUS_SUM |
  MSTATUS_MXR |
  MSTATUS_TVM |
  MSTATUS_TW |
  MSTATUS_TSR;
/** The fields of mstatus that sstatus shows (FS, XS, SD are read-only zero here: no F/V/custom state). */
const SSTATUS_MASK = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_UBE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR;
const SSTATUS_WRITABLE = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR;
/** Fields whose change alters address translation, so the TLB must select another bank. */
const TRANSLATION_FIELDS = MSTATUS_MPRV | MSTATUS_MPP | MSTATUS_SUM | MSTATUS_MXR;

/** Exceptions that medeleg may delegate: all but ECALL from M (bit 11) and the reserved 10 and 14. */
const MEDELEG_WRITABLE = 0xb3ff;
/** Interrupts that mideleg may delegate: the S-level ones. */
const MIDELEG_WRITABLE = 0x222;
const MIE_WRITABLE = 0xaaa;
/** mip bits software may write: SSIP, STIP, SEIP (the rest are driven by the CLINT and PLIC). */
const MIP_WRITABLE = 0x222;

const TWO32 = 2 ** 32;
const lo32 = (v: number): number => (v % TWO32) | 0;
const hi32 = (v: number): number => Math.floor(v / TWO32) | 0;

function checkAccess(h: Hart, csr: number, insn: number, write: boolean): void {
  if (h.priv < ((csr >>> 8) & 3) && !(h.quirkSensitiveRead && !write && csr === CSR.sstatus)) h.illegal(insn);
  if (write && csr >>> 10 === 3) h.illegal(insn);
  if (csr === CSR.satp && h.priv === PRIV_S && (h.mstatus & MSTATUS_TVM) !== 0) h.illegal(insn);
  // Counters: cycle, time, instret, hpmcounter3..31 and their high halves.
  if ((csr >= 0xc00 && csr <= 0xc1f) || (csr >= 0xc80 && csr <= 0xc9f)) {
    const bit = 1 << (csr & 31);
    if (h.priv < PRIV_M && (h.mcounteren & bit) === 0) h.illegal(insn);
    if (h.priv === PRIV_U && (h.scounteren & bit) === 0) h.illegal(insn);
  }
}

const instret = (h: Hart): number => h.retired + h.instretOffset;
const cycle = (h: Hart): number => h.retired + h.cycleOffset;

export function csrRead(h: Hart, csr: number, insn: number): number {
  checkAccess(h, csr, insn, false);
  switch (csr) {
    case CSR.cycle:
    case CSR.mcycle:
      return lo32(cycle(h));
    case CSR.cycleh:
    case CSR.mcycleh:
      return hi32(cycle(h));
    case CSR.instret:
    case CSR.minstret:
      return lo32(instret(h));
    case CSR.instreth:
    case CSR.minstreth:
      return hi32(instret(h));
    case CSR.time:
      return lo32(h.readTime());
    case CSR.timeh:
      return hi32(h.readTime());
    case CSR.sstatus:
      return h.mstatus & SSTATUS_MASK;
    case CSR.sie:
      return h.mie & h.mideleg;
    case CSR.stvec:
      return h.stvec;
    case CSR.scounteren:
      return h.scounteren;
    case CSR.senvcfg:
      return h.senvcfg;
    case CSR.sscratch:
      return h.sscratch;
    case CSR.sepc:
      return h.sepc;
    case CSR.scause:
      return h.scause;
    case CSR.stval:
      return h.stval;
    case CSR.sip:
      return h.mip & h.mideleg;
    case CSR.satp:
      return h.satp;
    case CSR.mvendorid:
    case CSR.marchid:
    case CSR.mimpid:
    case CSR.mconfigptr:
      return 0;
    case CSR.mhartid:
      return h.hartId;
    case CSR.mstatus:
      return h.mstatus;
    case CSR.misa:
      return MISA;
    case CSR.medeleg:
      return h.medeleg;
    case CSR.mideleg:
      return h.mideleg;
    case CSR.mie:
      return h.mie;
    case CSR.mtvec:
      return h.mtvec;
    case CSR.mcounteren:
      return h.mcounteren;
    case CSR.menvcfg:
      return h.menvcfg;
    case CSR.mstatush:
      return 0;
    case CSR.menvcfgh:
      return h.menvcfgh;
    case CSR.mcountinhibit:
      return h.mcountinhibit;
    case CSR.mscratch:
      return h.mscratch;
    case CSR.mepc:
      return h.mepc;
    case CSR.mcause:
      return h.mcause;
    case CSR.mtval:
      return h.mtval;
    case CSR.mip:
      return h.mip;
    default:
      if (csr >= CSR.pmpcfg0 && csr <= CSR.pmpcfg0 + 3) return h.pmpcfg[csr - CSR.pmpcfg0];
      if (csr >= CSR.pmpaddr0 && csr <= CSR.pmpaddr0 + 15) return h.pmpaddr[csr - CSR.pmpaddr0];
      if (isHpm(csr)) return 0;
      return h.illegal(insn);
  }
}

export function csrWrite(h: Hart, csr: number, v: number, insn: number): void {
  checkAccess(h, csr, insn, true);
  switch (csr) {
    case CSR.sstatus:
      writeMstatus(h, (h.mstatus & ~SSTATUS_WRITABLE) | (v & SSTATUS_WRITABLE));
      return;
    case CSR.sie:
      h.mie = (h.mie & ~h.mideleg) | (v & h.mideleg & MIE_WRITABLE);
      return;
    case CSR.stvec:
      if ((v & 3) < 2) h.stvec = v;
      return;
    case CSR.scounteren:
      h.scounteren = v;
      return;
    case CSR.senvcfg:
      h.senvcfg = v & 1; // FIOM
      return;
    case CSR.sscratch:
      h.sscratch = v;
      return;
    case CSR.sepc:
      h.sepc = v & ~1;
      return;
    case CSR.scause:
      h.scause = v;
      return;
    case CSR.stval:
      h.stval = v;
      return;
    case CSR.sip: {
      const mask = MIP_SSIP & h.mideleg;
      h.setSoftwareInterrupt(mask & ~v, false);
      h.setSoftwareInterrupt(mask & v, true);
      return;
    }
    case CSR.satp:
      h.satp = v;
      h.retagTlb(); // no flush (the spec's rule): entries are tagged by the whole satp
      return;
    case CSR.mstatus:
      writeMstatus(h, (h.mstatus & ~MSTATUS_WRITABLE) | (v & MSTATUS_WRITABLE));
      return;
    case CSR.misa:
    case CSR.mstatush:
      return; // fixed: no writable extensions, little-endian only
    case CSR.medeleg:
      h.medeleg = v & MEDELEG_WRITABLE;
      return;
    case CSR.mideleg:
      h.mideleg = v & MIDELEG_WRITABLE;
      return;
    case CSR.mie:
      h.mie = v & MIE_WRITABLE;
      return;
    case CSR.mtvec:
      if ((v & 3) < 2) h.mtvec = v;
      return;
    case CSR.mcounteren:
      h.mcounteren = v;
      return;
    case CSR.menvcfg:
      h.menvcfg = v & 1; // FIOM
      return;
    case CSR.menvcfgh:
      h.menvcfgh = 0;
      return;
    case CSR.mcountinhibit:
      h.mcountinhibit = v & ~2; // TM is read-only zero
      return;
    case CSR.mscratch:
      h.mscratch = v;
      return;
    case CSR.mepc:
      h.mepc = v & ~1;
      return;
    case CSR.mcause:
      h.mcause = v;
      return;
    case CSR.mtval:
      h.mtval = v;
      return;
    case CSR.mip:
      h.setSoftwareInterrupt(MIP_WRITABLE & ~v, false);
      h.setSoftwareInterrupt(MIP_WRITABLE & v, true);
      return;
    // Counter writes take effect after the writing instruction retires, hence the −1.
    case CSR.mcycle:
      h.cycleOffset = hi32(cycle(h)) * TWO32 + (v >>> 0) - h.retired - 1;
      return;
    case CSR.mcycleh:
      h.cycleOffset = (v >>> 0) * TWO32 + (lo32(cycle(h) + 1) >>> 0) - h.retired - 1;
      return;
    case CSR.minstret:
      h.instretOffset = hi32(instret(h)) * TWO32 + (v >>> 0) - h.retired - 1;
      return;
    case CSR.minstreth:
      h.instretOffset = (v >>> 0) * TWO32 + (lo32(instret(h) + 1) >>> 0) - h.retired - 1;
      return;
    default:
      if (csr >= CSR.pmpcfg0 && csr <= CSR.pmpcfg0 + 3) {
        // PMP is accepted but not enforced; entries keep their values (the reserved W-without-R is cleared).
        let cfg = v;
        for (let b = 0; b < 4; b++) {
          const e = (cfg >>> (8 * b)) & 0xff;
          if ((e & 3) === 2) cfg &= ~(0x3 << (8 * b));
        }
        h.pmpcfg[csr - CSR.pmpcfg0] = cfg;
        return;
      }
      if (csr >= CSR.pmpaddr0 && csr <= CSR.pmpaddr0 + 15) {
        h.pmpaddr[csr - CSR.pmpaddr0] = v;
        return;
      }
      if (isHpm(csr)) return; // hpm counters and events are read-only zero
      h.illegal(insn);
  }
}

/** mhpmcounter3..31(h) and mhpmevent3..31, and the user hpmcounter3..31(h). */
function isHpm(csr: number): boolean {
  return (
    (csr >= 0xb03 && csr <= 0xb1f) ||
    (csr >= 0xb83 && csr <= 0xb9f) ||
    (csr >= 0x323 && csr <= 0x33f) ||
    (csr >= 0xc03 && csr <= 0xc1f) ||
    (csr >= 0xc83 && csr <= 0xc9f)
  );
}

function writeMstatus(h: Hart, next: number): void {
  // MPP is WARL over {U, S, M}: the reserved value 2 leaves the field as it was.
  if ((next & MSTATUS_MPP) >>> MSTATUS_MPP_SHIFT === 2)
    next = (next & ~MSTATUS_MPP) | (h.mstatus & MSTATUS_MPP);
  const changed = h.mstatus ^ next;
  h.mstatus = next;
  // Enabling interrupts may make a pending one takeable: the engine checks before every instruction.
  if ((changed & TRANSLATION_FIELDS) !== 0) h.retagTlb();
}
