/**
 * The RV32IMA + Zicsr + Zifencei + privileged instruction table: the one place that says what each
 * instruction means. The interpreter (interpreter.ts) and the binary translator are both generated from
 * it, so `addi` means one thing, in one place. Compressed instructions expand into these (compressed.ts).
 *
 * Each row: name, encoding (`match`/`mask`), operand format, and `sem` — the instruction's meaning as a
 * JavaScript statement over this vocabulary:
 *
 *   x        Int32Array of the 32 integer registers (x[0] is re-zeroed after every instruction)
 *   pc       address of this instruction (unsigned);  npc   next pc (pc + 2 or 4); assign to jump
 *   insn     the 32-bit encoding (for tval of illegal-instruction traps)
 *   h        the Hart: memory (h.lb … h.sw, h.lr, h.sc, h.amoIndex/h.amoWrite, h.mem32), CSRs
 *            (h.csrRead/h.csrWrite), and the privileged operations (h.ecall, h.mret, …)
 *   rd rs1 rs2 imm shamt csr   operand fields, decoded per format (constants inside a translated block)
 *   mulh mulhu mulhsu          helpers from alu.ts
 *
 * A `sem` reads all of its sources before it writes `rd`, and performs every check that can trap before
 * any architectural side effect, so traps are precise.
 */

export type Format = "R" | "I" | "S" | "B" | "U" | "J" | "SHIFT" | "CSR" | "CSRI" | "NONE";

export interface InsnDef {
  readonly name: string;
  readonly match: number;
  readonly mask: number;
  readonly fmt: Format;
  readonly sem: string;
  /** Ends a translated block: it jumps, may change privilege/translation, or waits. */
  readonly endsBlock?: boolean;
}

/** JavaScript expressions that decode each operand field from `insn`. */
export const FIELD: Record<string, string> = {
  rd: "(insn >>> 7) & 31",
  rs1: "(insn >>> 15) & 31",
  rs2: "(insn >>> 20) & 31",
  shamt: "(insn >>> 20) & 31",
  csr: "insn >>> 20",
  immI: "insn >> 20",
  immS: "((insn >> 20) & ~31) | ((insn >>> 7) & 31)",
  immB: "((insn >> 19) & 0xfffff000) | ((insn << 4) & 0x800) | ((insn >>> 20) & 0x7e0) | ((insn >>> 7) & 0x1e)",
  immU: "insn & 0xfffff000",
  immJ: "((insn >> 11) & 0xfff00000) | (insn & 0xff000) | ((insn >>> 9) & 0x800) | ((insn >>> 20) & 0x7fe)",
};

/** Which fields each format defines (`imm` is bound to the format's immediate). */
export const FORMAT_FIELDS: Record<Format, readonly [string, string][]> = {
  R: [
    ["rd", FIELD.rd],
    ["rs1", FIELD.rs1],
    ["rs2", FIELD.rs2],
  ],
  I: [
    ["rd", FIELD.rd],
    ["rs1", FIELD.rs1],
    ["imm", FIELD.immI],
  ],
  S: [
    ["rs1", FIELD.rs1],
    ["rs2", FIELD.rs2],
    ["imm", FIELD.immS],
  ],
  B: [
    ["rs1", FIELD.rs1],
    ["rs2", FIELD.rs2],
    ["imm", FIELD.immB],
  ],
  U: [
    ["rd", FIELD.rd],
    ["imm", FIELD.immU],
  ],
  J: [
    ["rd", FIELD.rd],
    ["imm", FIELD.immJ],
  ],
  SHIFT: [
    ["rd", FIELD.rd],
    ["rs1", FIELD.rs1],
    ["shamt", FIELD.shamt],
  ],
  CSR: [
    ["rd", FIELD.rd],
    ["rs1", FIELD.rs1],
    ["csr", FIELD.csr],
  ],
  CSRI: [
    ["rd", FIELD.rd],
    ["rs1", FIELD.rs1],
    ["csr", FIELD.csr],
  ],
  NONE: [
    ["rs1", FIELD.rs1],
    ["rs2", FIELD.rs2],
  ],
};

// Encoding masks.
const OPC = 0x7f; // opcode only (U, J)
const F3 = 0x707f; // opcode + funct3 (I, S, B)
const F7 = 0xfe00707f; // opcode + funct3 + funct7 (R, shifts)
const F5 = 0xf800707f; // opcode + funct3 + funct5 (AMOs; aq/rl free)
const ALL = 0xffffffff | 0; // exact encodings

const r = (
  name: string,
  match: number,
  mask: number,
  fmt: Format,
  sem: string,
  endsBlock?: boolean,
): InsnDef => ({
  name,
  match: match | 0,
  mask: mask | 0,
  fmt,
  sem,
  endsBlock,
});

const rtype = (f7: number, f3: number, op: number): number => (f7 << 25) | (f3 << 12) | op;
const amo = (f5: number): number => (f5 << 27) | (2 << 12) | 0x2f;

/** Address of a load/store: rs1 + offset, as a signed 32-bit value. */
const EA = "(x[rs1] + imm) | 0";

const amoOp = (name: string, f5: number, combine: string): InsnDef =>
  r(
    name,
    amo(f5),
    F5,
    "R",
    `const s = x[rs2]; const o = h.amoIndex(x[rs1]); const v = h.mem32[o]; h.amoWrite(o, ${combine}); x[rd] = v;`,
  );

const csrOp = (name: string, f3: number, fmt: "CSR" | "CSRI", kind: "w" | "s" | "c"): InsnDef => {
  const src = fmt === "CSR" ? "x[rs1]" : "rs1";
  // With a monitor's direct calls (binary translation), U-mode CSR operations go to it (hart.ts VmmCalls).
  const vmm = `const s = ${src}; if (h.vmm !== undefined && h.priv === 0) { const v = h.vmm.csr(insn, s); if (rd !== 0) x[rd] = v; } else {`;
  let sem: string;
  if (kind === "w") {
    // csrrw with rd = x0 does not read the CSR (no read side effects).
    sem = `const s = ${src}; if (rd !== 0) { const v = h.csrRead(csr, insn); h.csrWrite(csr, s, insn); x[rd] = v; } else h.csrWrite(csr, s, insn);`;
  } else {
    // csrrs/csrrc with rs1 = x0 (or uimm = 0) do not write the CSR.
    const next = kind === "s" ? "v | s" : "v & ~s";
    sem = `const s = ${src}; const v = h.csrRead(csr, insn); if (rs1 !== 0) h.csrWrite(csr, ${next}, insn); x[rd] = v;`;
  }
  sem = `${vmm} ${sem.replace(`const s = ${src}; `, "")} }`;
  return r(name, (f3 << 12) | 0x73, F3, fmt, sem, true);
};

/** HFENCE.VVMA (0) / GVMA (1) with their operands' values, −1 for x0 (as sfence.vma passes them). */
const HFENCE_SEM = (gvma: number): string =>
  `h.hfence(${gvma}, rs1 === 0 ? -1 : x[rs1], rs2 === 0 ? -1 : x[rs2], insn);`;

/** HLV/HLVX (funct7 and rs2 fixed), HSV (rd = 0) and HFENCE.VVMA/GVMA: SYSTEM, funct3 4 and 0. */
function hRows(): InsnDef[] {
  const HLV = 0xfff0707f; // funct7 + rs2 + funct3 + opcode
  const HSV = 0xfe007fff; // funct7 + funct3 + rd + opcode
  const hlv = (name: string, f7: number, rs2: number, kind: number): InsnDef =>
    r(name, (f7 << 25) | (rs2 << 20) | (4 << 12) | 0x73, HLV, "R", `x[rd] = h.hlv(x[rs1], ${kind}, insn);`);
  const hsv = (name: string, f7: number, size: number): InsnDef =>
    r(name, (f7 << 25) | (4 << 12) | 0x73, HSV, "R", `h.hsv(x[rs1], x[rs2], ${size}, insn);`);
  return [
    hlv("hlv.b", 0x30, 0, 0),
    hlv("hlv.bu", 0x30, 1, 1),
    hlv("hlv.h", 0x32, 0, 2),
    hlv("hlv.hu", 0x32, 1, 3),
    hlv("hlvx.hu", 0x32, 3, 5),
    hlv("hlv.w", 0x34, 0, 4),
    hlv("hlvx.wu", 0x34, 3, 6),
    hsv("hsv.b", 0x31, 1),
    hsv("hsv.h", 0x33, 2),
    hsv("hsv.w", 0x35, 4),
    r("hfence.vvma", (0x11 << 25) | 0x73, HSV, "NONE", HFENCE_SEM(0), true),
    r("hfence.gvma", (0x31 << 25) | 0x73, HSV, "NONE", HFENCE_SEM(1), true),
  ];
}

export const INSNS: readonly InsnDef[] = [
  // ── RV32I ──────────────────────────────────────────────────────────────────────────────────
  r("lui", 0x37, OPC, "U", "x[rd] = imm;"),
  r("auipc", 0x17, OPC, "U", "x[rd] = (pc + imm) | 0;"),
  r("jal", 0x6f, OPC, "J", "x[rd] = npc; npc = (pc + imm) >>> 0;", true),
  r("jalr", 0x67, F3, "I", "const t = ((x[rs1] + imm) & ~1) >>> 0; x[rd] = npc; npc = t;", true),
  r("beq", 0x0063, F3, "B", "if (x[rs1] === x[rs2]) npc = (pc + imm) >>> 0;", true),
  r("bne", 0x1063, F3, "B", "if (x[rs1] !== x[rs2]) npc = (pc + imm) >>> 0;", true),
  r("blt", 0x4063, F3, "B", "if (x[rs1] < x[rs2]) npc = (pc + imm) >>> 0;", true),
  r("bge", 0x5063, F3, "B", "if (x[rs1] >= x[rs2]) npc = (pc + imm) >>> 0;", true),
  r("bltu", 0x6063, F3, "B", "if (x[rs1] >>> 0 < x[rs2] >>> 0) npc = (pc + imm) >>> 0;", true),
  r("bgeu", 0x7063, F3, "B", "if (x[rs1] >>> 0 >= x[rs2] >>> 0) npc = (pc + imm) >>> 0;", true),
  r("lb", 0x0003, F3, "I", `x[rd] = h.lb(${EA});`),
  r("lh", 0x1003, F3, "I", `x[rd] = h.lh(${EA});`),
  r("lw", 0x2003, F3, "I", `x[rd] = h.lw(${EA});`),
  r("lbu", 0x4003, F3, "I", `x[rd] = h.lbu(${EA});`),
  r("lhu", 0x5003, F3, "I", `x[rd] = h.lhu(${EA});`),
  r("sb", 0x0023, F3, "S", `h.sb(${EA}, x[rs2]);`),
  r("sh", 0x1023, F3, "S", `h.sh(${EA}, x[rs2]);`),
  r("sw", 0x2023, F3, "S", `h.sw(${EA}, x[rs2]);`),
  r("addi", 0x0013, F3, "I", "x[rd] = (x[rs1] + imm) | 0;"),
  r("slti", 0x2013, F3, "I", "x[rd] = x[rs1] < imm ? 1 : 0;"),
  r("sltiu", 0x3013, F3, "I", "x[rd] = x[rs1] >>> 0 < imm >>> 0 ? 1 : 0;"),
  r("xori", 0x4013, F3, "I", "x[rd] = x[rs1] ^ imm;"),
  r("ori", 0x6013, F3, "I", "x[rd] = x[rs1] | imm;"),
  r("andi", 0x7013, F3, "I", "x[rd] = x[rs1] & imm;"),
  r("slli", rtype(0x00, 1, 0x13), F7, "SHIFT", "x[rd] = x[rs1] << shamt;"),
  r("srli", rtype(0x00, 5, 0x13), F7, "SHIFT", "x[rd] = x[rs1] >>> shamt;"),
  r("srai", rtype(0x20, 5, 0x13), F7, "SHIFT", "x[rd] = x[rs1] >> shamt;"),
  r("add", rtype(0x00, 0, 0x33), F7, "R", "x[rd] = (x[rs1] + x[rs2]) | 0;"),
  r("sub", rtype(0x20, 0, 0x33), F7, "R", "x[rd] = (x[rs1] - x[rs2]) | 0;"),
  r("sll", rtype(0x00, 1, 0x33), F7, "R", "x[rd] = x[rs1] << (x[rs2] & 31);"),
  r("slt", rtype(0x00, 2, 0x33), F7, "R", "x[rd] = x[rs1] < x[rs2] ? 1 : 0;"),
  r("sltu", rtype(0x00, 3, 0x33), F7, "R", "x[rd] = x[rs1] >>> 0 < x[rs2] >>> 0 ? 1 : 0;"),
  r("xor", rtype(0x00, 4, 0x33), F7, "R", "x[rd] = x[rs1] ^ x[rs2];"),
  r("srl", rtype(0x00, 5, 0x33), F7, "R", "x[rd] = x[rs1] >>> (x[rs2] & 31);"),
  r("sra", rtype(0x20, 5, 0x33), F7, "R", "x[rd] = x[rs1] >> (x[rs2] & 31);"),
  r("or", rtype(0x00, 6, 0x33), F7, "R", "x[rd] = x[rs1] | x[rs2];"),
  r("and", rtype(0x00, 7, 0x33), F7, "R", "x[rd] = x[rs1] & x[rs2];"),
  // FENCE orders memory; one in-order hart at a time makes it a no-op here (fm/pred/succ ignored).
  r("fence", 0x000f, F3, "NONE", ""),
  // ── Zifencei ───────────────────────────────────────────────────────────────────────────────
  r("fence.i", 0x100f, F3, "NONE", "h.fenceI();", true),
  // ── system ─────────────────────────────────────────────────────────────────────────────────
  r("ecall", 0x0000_0073, ALL, "NONE", "h.ecall();", true),
  r("ebreak", 0x0010_0073, ALL, "NONE", "h.ebreak();", true),
  r(
    "sret",
    0x1020_0073,
    ALL,
    "NONE",
    "npc = h.vmm !== undefined && h.priv === 0 ? h.vmm.sret(insn) : h.sret(insn);",
    true,
  ),
  r("mret", 0x3020_0073, ALL, "NONE", "npc = h.mret(insn);", true),
  r("wfi", 0x1050_0073, ALL, "NONE", "h.wfi(insn);", true),
  r(
    "sfence.vma",
    0x1200_0073,
    0xfe007fff,
    "NONE",
    "if (h.vmm !== undefined && h.priv === 0) h.vmm.sfence(insn, rs1 === 0 ? -1 : x[rs1]); " +
      "else h.sfenceVma(rs1 === 0 ? -1 : x[rs1], rs2 === 0 ? -1 : x[rs2], insn);",
    true,
  ),
  // ── H (hypervisor): illegal on a hart without the extension (hext.ts) ──────────────────────────
  ...hRows(),
  // ── Zicsr ──────────────────────────────────────────────────────────────────────────────────
  csrOp("csrrw", 1, "CSR", "w"),
  csrOp("csrrs", 2, "CSR", "s"),
  csrOp("csrrc", 3, "CSR", "c"),
  csrOp("csrrwi", 5, "CSRI", "w"),
  csrOp("csrrsi", 6, "CSRI", "s"),
  csrOp("csrrci", 7, "CSRI", "c"),
  // ── M ──────────────────────────────────────────────────────────────────────────────────────
  r("mul", rtype(0x01, 0, 0x33), F7, "R", "x[rd] = Math.imul(x[rs1], x[rs2]);"),
  r("mulh", rtype(0x01, 1, 0x33), F7, "R", "x[rd] = mulh(x[rs1], x[rs2]);"),
  r("mulhsu", rtype(0x01, 2, 0x33), F7, "R", "x[rd] = mulhsu(x[rs1], x[rs2]);"),
  r("mulhu", rtype(0x01, 3, 0x33), F7, "R", "x[rd] = mulhu(x[rs1], x[rs2]);"),
  // Division by zero gives -1 (all ones) and keeps the dividend as remainder; INT_MIN / -1 = INT_MIN.
  r("div", rtype(0x01, 4, 0x33), F7, "R", "x[rd] = x[rs2] === 0 ? -1 : (x[rs1] / x[rs2]) | 0;"),
  r(
    "divu",
    rtype(0x01, 5, 0x33),
    F7,
    "R",
    "x[rd] = x[rs2] === 0 ? -1 : (x[rs1] >>> 0) / (x[rs2] >>> 0) | 0;",
  ),
  r("rem", rtype(0x01, 6, 0x33), F7, "R", "x[rd] = x[rs2] === 0 ? x[rs1] : (x[rs1] % x[rs2]) | 0;"),
  r(
    "remu",
    rtype(0x01, 7, 0x33),
    F7,
    "R",
    "x[rd] = x[rs2] === 0 ? x[rs1] : (x[rs1] >>> 0) % (x[rs2] >>> 0) | 0;",
  ),
  // ── A ──────────────────────────────────────────────────────────────────────────────────────
  r("lr.w", amo(0x02), 0xf9f0707f, "R", "x[rd] = h.lr(x[rs1]);"),
  r("sc.w", amo(0x03), F5, "R", "x[rd] = h.sc(x[rs1], x[rs2]);"),
  amoOp("amoswap.w", 0x01, "s"),
  amoOp("amoadd.w", 0x00, "(v + s) | 0"),
  amoOp("amoxor.w", 0x04, "v ^ s"),
  amoOp("amoand.w", 0x0c, "v & s"),
  amoOp("amoor.w", 0x08, "v | s"),
  amoOp("amomin.w", 0x10, "v < s ? v : s"),
  amoOp("amomax.w", 0x14, "v > s ? v : s"),
  amoOp("amominu.w", 0x18, "v >>> 0 < s >>> 0 ? v : s"),
  amoOp("amomaxu.w", 0x1c, "v >>> 0 > s >>> 0 ? v : s"),
];

/** The row that decodes `insn`, or undefined for an illegal encoding. */
export function lookup(insn: number): InsnDef | undefined {
  for (const d of INSNS) if ((insn & d.mask) === d.match) return d;
  return undefined;
}
