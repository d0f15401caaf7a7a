/**
 * An encoder over the instruction table: `encode("addi", { rd: 10, rs1: 0, imm: 5 })`. Tests, property
 * tests and the translator's golden tests use it to write guest code without an assembler.
 */
import { INSNS, type InsnDef } from "./table.js";

export interface Operands {
  rd?: number;
  rs1?: number;
  rs2?: number;
  imm?: number;
  shamt?: number;
  csr?: number;
}

const BY_NAME = new Map<string, InsnDef>(INSNS.map((d) => [d.name, d]));

const reg = (name: string, v: number | undefined): number => {
  const r = v ?? 0;
  if (!Number.isInteger(r) || r < 0 || r > 31)
    throw new Error(`encode: ${name} must be a register 0..31, got ${v}`);
  return r;
};

function immBits(d: InsnDef, imm: number): number {
  switch (d.fmt) {
    case "I":
      return (imm & 0xfff) << 20;
    case "S":
      return (((imm >> 5) & 0x7f) << 25) | ((imm & 0x1f) << 7);
    case "B":
      return (
        (((imm >> 12) & 1) << 31) |
        (((imm >> 5) & 0x3f) << 25) |
        (((imm >> 1) & 0xf) << 8) |
        (((imm >> 11) & 1) << 7)
      );
    case "U":
      return imm & 0xfffff000;
    case "J":
      return (
        (((imm >> 20) & 1) << 31) |
        (((imm >> 1) & 0x3ff) << 21) |
        (((imm >> 11) & 1) << 20) |
        (((imm >> 12) & 0xff) << 12)
      );
    default:
      return 0;
  }
}

export function encode(name: string, ops: Operands = {}): number {
  const d = BY_NAME.get(name);
  if (d === undefined) throw new Error(`encode: no instruction named ${name}`);
  let w = d.match;
  if (d.mask === (0xffffffff | 0)) return w;
  if (d.fmt !== "S" && d.fmt !== "B" && d.fmt !== "NONE") w |= reg("rd", ops.rd) << 7;
  if (d.fmt !== "U" && d.fmt !== "J") w |= reg("rs1", ops.rs1) << 15;
  if (d.fmt === "R" || d.fmt === "S" || d.fmt === "B" || d.fmt === "NONE") w |= reg("rs2", ops.rs2) << 20;
  if (d.fmt === "SHIFT") w |= ((ops.shamt ?? 0) & 31) << 20;
  if (d.fmt === "CSR" || d.fmt === "CSRI") w |= ((ops.csr ?? 0) & 0xfff) << 20;
  w |= immBits(d, ops.imm ?? 0);
  return w | 0;
}
