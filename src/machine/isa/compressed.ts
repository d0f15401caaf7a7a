/**
 * RV32C: every 16-bit instruction expands to the 32-bit instruction it is defined as, so the instruction
 * table (table.ts) holds the meaning of each operation exactly once. `expandCompressed(half)` returns the
 * 32-bit encoding, or 0 when the 16-bit pattern is reserved/illegal on RV32IMAC (F/D forms included).
 *
 *   15 13 12 11 10  9  8  7  6  5  4  3  2  1  0
 *   funct3 │ bits 12..2 per format (CR, CI, CSS, CIW, CL, CS, CA, CB, CJ)  │ op (00, 01, 10; 11 = 32-bit)
 */

const bit = (v: number, i: number): number => (v >>> i) & 1;
const bits = (v: number, hi: number, lo: number): number => (v >>> lo) & ((1 << (hi - lo + 1)) - 1);
const sext = (v: number, width: number): number => (v << (32 - width)) >> (32 - width);

// 32-bit encoders of the base formats.
const encI = (op: number, f3: number, rd: number, rs1: number, imm: number): number =>
  ((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op;
const encS = (op: number, f3: number, rs1: number, rs2: number, imm: number): number =>
  (((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | op;
const encR = (op: number, f3: number, f7: number, rd: number, rs1: number, rs2: number): number =>
  (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op;
const encB = (f3: number, rs1: number, rs2: number, imm: number): number =>
  (bit(imm, 12) << 31) |
  (bits(imm, 10, 5) << 25) |
  (rs2 << 20) |
  (rs1 << 15) |
  (f3 << 12) |
  (bits(imm, 4, 1) << 8) |
  (bit(imm, 11) << 7) |
  0x63;
const encJ = (rd: number, imm: number): number =>
  (bit(imm, 20) << 31) |
  (bits(imm, 10, 1) << 21) |
  (bit(imm, 11) << 20) |
  (bits(imm, 19, 12) << 12) |
  (rd << 7) |
  0x6f;

const OP_IMM = 0x13;
const OP = 0x33;
const LOAD = 0x03;
const STORE = 0x23;

/** The 3-bit register fields of CIW/CL/CS/CA/CB name x8..x15. */
const rp = (v: number, lo: number): number => 8 + bits(v, lo + 2, lo);

/** CJ-format jump offset: imm[11|4|9:8|10|6|7|3:1|5] in bits 12..2. */
function cjOffset(c: number): number {
  const imm =
    (bit(c, 12) << 11) |
    (bit(c, 11) << 4) |
    (bits(c, 10, 9) << 8) |
    (bit(c, 8) << 10) |
    (bit(c, 7) << 6) |
    (bit(c, 6) << 7) |
    (bits(c, 5, 3) << 1) |
    (bit(c, 2) << 5);
  return sext(imm, 12);
}

/** CB-format branch offset: offset[8|4:3] in bits 12..10, offset[7:6|2:1|5] in bits 6..2. */
function cbOffset(c: number): number {
  const imm =
    (bit(c, 12) << 8) |
    (bits(c, 11, 10) << 3) |
    (bits(c, 6, 5) << 6) |
    (bits(c, 4, 3) << 1) |
    (bit(c, 2) << 5);
  return sext(imm, 9);
}

/** CI-format 6-bit signed immediate: imm[5] in bit 12, imm[4:0] in bits 6..2. */
const ciImm = (c: number): number => sext((bit(c, 12) << 5) | bits(c, 6, 2), 6);

function quadrant0(c: number): number {
  const rdp = rp(c, 2);
  const rs1p = rp(c, 7);
  // lw/sw offset: uimm[5:3] in 12..10, uimm[2] in 6, uimm[6] in 5.
  const lsImm = (bits(c, 12, 10) << 3) | (bit(c, 6) << 2) | (bit(c, 5) << 6);
  switch (bits(c, 15, 13)) {
    case 0: {
      // c.addi4spn: nzuimm[5:4|9:6|2|3] in bits 12..5
      const imm = (bits(c, 12, 11) << 4) | (bits(c, 10, 7) << 6) | (bit(c, 6) << 2) | (bit(c, 5) << 3);
      return imm === 0 ? 0 : encI(OP_IMM, 0, rdp, 2, imm);
    }
    case 2:
      return encI(LOAD, 2, rdp, rs1p, lsImm); // c.lw
    case 6:
      return encS(STORE, 2, rs1p, rdp, lsImm); // c.sw
    default:
      return 0; // c.fld, c.flw, c.fsd, c.fsw and the reserved slot
  }
}

function quadrant1(c: number): number {
  const rd = bits(c, 11, 7);
  switch (bits(c, 15, 13)) {
    case 0:
      return encI(OP_IMM, 0, rd, rd, ciImm(c)); // c.addi (c.nop when rd = 0)
    case 1:
      return encJ(1, cjOffset(c)); // c.jal (RV32 only)
    case 2:
      return encI(OP_IMM, 0, rd, 0, ciImm(c)); // c.li
    case 3: {
      if (rd === 2) {
        // c.addi16sp: nzimm[9] in 12, nzimm[4|6|8:7|5] in 6..2
        const imm = sext(
          (bit(c, 12) << 9) | (bit(c, 6) << 4) | (bit(c, 5) << 6) | (bits(c, 4, 3) << 7) | (bit(c, 2) << 5),
          10,
        );
        return imm === 0 ? 0 : encI(OP_IMM, 0, 2, 2, imm);
      }
      const imm = ciImm(c) << 12; // c.lui: nzimm[17:12]
      return imm === 0 ? 0 : (imm & 0xfffff000) | (rd << 7) | 0x37;
    }
    case 4: {
      const r = rp(c, 7);
      switch (bits(c, 11, 10)) {
        case 0:
          return bit(c, 12) ? 0 : encI(OP_IMM, 5, r, r, bits(c, 6, 2)); // c.srli
        case 1:
          return bit(c, 12) ? 0 : encI(OP_IMM, 5, r, r, 0x400 | bits(c, 6, 2)); // c.srai
        case 2:
          return encI(OP_IMM, 7, r, r, ciImm(c)); // c.andi
        default: {
          if (bit(c, 12)) return 0; // c.subw/c.addw are RV64
          const rs2 = rp(c, 2);
          switch (bits(c, 6, 5)) {
            case 0:
              return encR(OP, 0, 0x20, r, r, rs2); // c.sub
            case 1:
              return encR(OP, 4, 0, r, r, rs2); // c.xor
            case 2:
              return encR(OP, 6, 0, r, r, rs2); // c.or
            default:
              return encR(OP, 7, 0, r, r, rs2); // c.and
          }
        }
      }
    }
    case 5:
      return encJ(0, cjOffset(c)); // c.j
    case 6:
      return encB(0, rp(c, 7), 0, cbOffset(c)); // c.beqz
    default:
      return encB(1, rp(c, 7), 0, cbOffset(c)); // c.bnez
  }
}

function quadrant2(c: number): number {
  const rd = bits(c, 11, 7);
  const rs2 = bits(c, 6, 2);
  switch (bits(c, 15, 13)) {
    case 0:
      return bit(c, 12) ? 0 : encI(OP_IMM, 1, rd, rd, rs2); // c.slli (shamt[5] must be 0 on RV32)
    case 2: {
      if (rd === 0) return 0; // c.lwsp with rd = 0 is reserved
      const imm = (bit(c, 12) << 5) | (bits(c, 6, 4) << 2) | (bits(c, 3, 2) << 6);
      return encI(LOAD, 2, rd, 2, imm);
    }
    case 4:
      if (bit(c, 12) === 0) {
        if (rs2 === 0) return rd === 0 ? 0 : encI(0x67, 0, 0, rd, 0); // c.jr
        return encR(OP, 0, 0, rd, 0, rs2); // c.mv
      }
      if (rs2 === 0) return rd === 0 ? 0x0010_0073 : encI(0x67, 0, 1, rd, 0); // c.ebreak, c.jalr
      return encR(OP, 0, 0, rd, rd, rs2); // c.add
    case 6: {
      const imm = (bits(c, 12, 9) << 2) | (bits(c, 8, 7) << 6);
      return encS(STORE, 2, 2, rs2, imm); // c.swsp
    }
    default:
      return 0; // c.fldsp, c.flwsp, c.fsdsp, c.fswsp
  }
}

/** Expands one 16-bit instruction; 0 means illegal. */
export function expandCompressed(half: number): number {
  switch (half & 3) {
    case 0:
      return quadrant0(half);
    case 1:
      return quadrant1(half);
    case 2:
      return quadrant2(half);
    default:
      throw new Error(`expandCompressed: 0x${half.toString(16)} is a 32-bit instruction parcel`);
  }
}

/** All 2^16 parcels expanded once (entries for 32-bit parcels are unused). */
export const EXPANDED: Int32Array = (() => {
  const t = new Int32Array(1 << 16);
  for (let h = 0; h < 1 << 16; h++) if ((h & 3) !== 3) t[h] = expandCompressed(h);
  return t;
})();
