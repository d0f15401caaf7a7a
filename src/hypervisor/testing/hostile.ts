/**
 * Hostile guests for the isolation tests, built in memory as ElfImage objects: no files, no C, no
 * assembler — a few lines of machine code from `encode` and, where a guest needs prepared data (page
 * tables, PV update requests, a trap frame), extra segments holding it.
 *
 * Every guest here uses the same small layout of its guest-physical RAM (at least 4 MiB):
 *
 *   0x8000_0000  code (the entry point)
 *   0x8001_0000  RESULTS  what the guest records: two words per probe or hypercall (`rec`)
 *   0x8002_0000  DATA     prepared data (PV_MMU_UPDATE requests, trap frames)
 *   0x8003_0000  SHARED   the PV shared page
 *   0x8004_0000  stack top
 *   0x8010_0000  TABLES   page-table pages, one per 4 KiB (TABLE(0), TABLE(1), ...)
 *
 * Register conventions of the generated code: s1 (x9) is the RESULTS cursor, s2 (x18) the address a
 * probe's trap handler resumes at, s3 (x19) the PV shared page.
 */

import type { ElfImage, ElfSegment } from "../../machine/elf.js";
import { encode, type Operands } from "../../machine/isa/encode.js";
import { DRAM_BASE } from "../../machine/memory-map.js";

export const CODE = DRAM_BASE;
export const RESULTS = DRAM_BASE + 0x1_0000;
export const DATA = DRAM_BASE + 0x2_0000;
export const SHARED = DRAM_BASE + 0x3_0000;
export const STACK_TOP = DRAM_BASE + 0x4_0000;
export const TABLES = DRAM_BASE + 0x10_0000;
/** Guest-physical address of page-table page `i`. */
export const TABLE = (i: number): number => TABLES + i * 0x1000;

/** What a probe records when its instruction did not trap (both words). */
export const NO_FAULT = 0x0bad_f00d;

// Registers by ABI name.
export const ZERO = 0;
export const RA = 1;
export const SP = 2;
export const T0 = 5;
export const T1 = 6;
export const T2 = 7;
export const S0 = 8;
export const S1 = 9;
export const A0 = 10;
export const A1 = 11;
export const A2 = 12;
export const A6 = 16;
export const A7 = 17;
export const S2 = 18;
export const S3 = 19;
export const S4 = 20;
export const S5 = 21;

/** Sv32 PTE bits. */
export const V = 1;
export const R = 2;
export const W = 4;
export const X = 8;
export const U = 16;
export const A = 64;
export const D = 128;
/** A PTE: frame number `ppn` and flag bits. */
export const pte = (ppn: number, flags: number): number => ((ppn << 10) | flags) >>> 0;

interface Fixup {
  at: number;
  label: string;
  kind: "b" | "j" | "li";
  name: string;
  ops: Operands;
}

/** A tiny assembler: instructions by name, `li` of any 32-bit value, labels for branches and addresses. */
export class Asm {
  private readonly code: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: Fixup[] = [];
  private uniq = 0;

  constructor(readonly base = CODE) {}

  /** Address of the next instruction. */
  get here(): number {
    return this.base + 4 * this.code.length;
  }

  /** A fresh label name. */
  fresh(prefix = "L"): string {
    return `.${prefix}${this.uniq++}`;
  }

  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`label ${name} defined twice`);
    this.labels.set(name, this.here);
    return this;
  }

  /** Address of a defined label (after assembly, or for labels already placed). */
  addr(name: string): number {
    const a = this.labels.get(name);
    if (a === undefined) throw new Error(`no label ${name}`);
    return a;
  }

  word(w: number): this {
    this.code.push(w | 0);
    return this;
  }

  op(name: string, ops: Operands = {}): this {
    return this.word(encode(name, ops));
  }

  /** rd ← value (lui + addi; always two instructions, so label addresses can be patched in). */
  li(rd: number, value: number): this {
    const v = value | 0;
    const lo = (v << 20) >> 20;
    const hi = (v - lo) | 0;
    this.op("lui", { rd, imm: hi });
    return this.op("addi", { rd, rs1: rd, imm: lo });
  }

  /** rd ← address of `label` (may be defined later). */
  la(rd: number, label: string): this {
    this.fixups.push({ at: this.code.length, label, kind: "li", name: "", ops: { rd } });
    this.word(0);
    return this.word(0);
  }

  /** Conditional branch to `label` ("beq", "bne", "blt", "bltu", ...). */
  branch(name: string, rs1: number, rs2: number, label: string): this {
    this.fixups.push({ at: this.code.length, label, kind: "b", name, ops: { rs1, rs2 } });
    return this.word(0);
  }

  j(label: string): this {
    this.fixups.push({ at: this.code.length, label, kind: "j", name: "jal", ops: { rd: 0 } });
    return this.word(0);
  }

  csrw(csr: number, rs1: number): this {
    return this.op("csrrw", { rd: 0, rs1, csr });
  }

  csrr(rd: number, csr: number): this {
    return this.op("csrrs", { rd, rs1: 0, csr });
  }

  /** Records register `rs` at the RESULTS cursor (s1) and advances it. */
  rec(rs: number): this {
    this.op("sw", { rs1: S1, rs2: rs, imm: 0 });
    return this.op("addi", { rd: S1, rs1: S1, imm: 4 });
  }

  /** An SBI call: a7 = eid, a6 = fid, a0.. = args; records a0 and a1 afterwards when `record`. */
  sbi(eid: number, fid: number, args: readonly number[] = [], record = true): this {
    this.li(A7, eid).li(A6, fid);
    for (const [i, v] of args.entries()) this.li(A0 + i, v);
    this.op("ecall");
    if (record) this.rec(A0).rec(A1);
    return this;
  }

  /**
   * Runs `insn` (one or more words) with s2 pointing past it: if it traps, the probe handler records
   * (cause, tval) and resumes there; if it does not, (NO_FAULT, NO_FAULT) is recorded.
   */
  probe(...insns: number[]): this {
    const after = this.fresh("probe");
    this.la(S2, after);
    for (const w of insns) this.word(w);
    this.li(T0, NO_FAULT).rec(T0).rec(T0);
    return this.label(after);
  }

  /** Resolves labels and returns the machine code. */
  assemble(): number[] {
    const out = [...this.code];
    for (const f of this.fixups) {
      const target = this.addr(f.label);
      const pc = this.base + 4 * f.at;
      if (f.kind === "li") {
        const v = target | 0;
        const lo = (v << 20) >> 20;
        out[f.at] = encode("lui", { rd: f.ops.rd, imm: (v - lo) | 0 });
        out[f.at + 1] = encode("addi", { rd: f.ops.rd, rs1: f.ops.rd, imm: lo });
      } else {
        out[f.at] = encode(f.name, { ...f.ops, imm: target - pc });
      }
    }
    return out;
  }
}

/** Little-endian bytes of 32-bit words. */
export function wordsToBytes(words: readonly number[]): Uint8Array {
  const b = new Uint8Array(words.length * 4);
  const dv = new DataView(b.buffer);
  for (const [i, w] of words.entries()) dv.setUint32(4 * i, w >>> 0, true);
  return b;
}

/** One prepared data block: words at a guest-physical address. */
export interface DataBlock {
  addr: number;
  words: readonly number[];
}

/** An ElfImage whose code starts (and is entered) at CODE, plus data blocks. */
export function image(name: string, code: readonly number[], data: readonly DataBlock[] = []): ElfImage {
  const seg = (addr: number, words: readonly number[], flags: number): ElfSegment => ({
    paddr: addr,
    vaddr: addr,
    data: wordsToBytes(words),
    memsz: words.length * 4,
    flags,
  });
  return {
    entry: CODE,
    segments: [seg(CODE, code, 5), ...data.map((d) => seg(d.addr, d.words, 6))],
    symbols: new Map(),
    source: `<hostile guest ${name}>`,
  };
}

/** Builds an image from an assembler. */
export function assemble(name: string, asm: Asm, data: readonly DataBlock[] = []): ElfImage {
  return image(name, asm.assemble(), data);
}

// ── SBI / PV numbers the guests use (kept here so the images do not depend on hypervisor modules) ──

export const EID_LEGACY_PUTCHAR = 0x01;
export const EID_LEGACY_SHUTDOWN = 0x08;
export const EID_BASE = 0x10;
export const EID_TIME = 0x5449_4d45;
export const EID_IPI = 0x73_5049;
export const EID_RFENCE = 0x5246_4e43;
export const EID_HSM = 0x48_534d;
export const EID_SRST = 0x5352_5354;
export const EID_DBCN = 0x4442_434e;
export const EID_PV = 0x0952_5650;

export const PV_REGISTER_SHARED = 0;
export const PV_SET_TRAP_HANDLER = 1;
export const PV_MMU_UPDATE = 2;
export const PV_PIN_TABLE = 3;
export const PV_UNPIN_TABLE = 4;
export const PV_SET_BASEPTR = 5;
export const PV_IRET = 6;
export const PV_BLOCK = 7;
export const PV_USER_ACCESS = 8;
export const PV_MULTICALL = 10;

/** Shared-page offsets (docs/pv-abi.md). */
export const SH_MASK = 0;
export const SH_CAUSE = 12;
export const SH_TVAL = 16;

const CSR_SSTATUS = 0x100;
const CSR_STVEC = 0x105;
const CSR_SCAUSE = 0x142;
const CSR_STVAL = 0x143;
const CSR_SATP = 0x180;

export type Mode = "trap" | "bt" | "pv";

/** Powers the domain off cleanly (SRST shutdown, no reason). */
export function shutdown(asm: Asm): Asm {
  return asm.sbi(EID_SRST, 0, [0, 0], false);
}

/**
 * The prologue of a guest that probes: s1 = RESULTS, sp = STACK_TOP, and a trap handler that records
 * (cause, tval) and resumes at s2 — through stvec in trap mode, through the shared page and
 * PV_SET_TRAP_HANDLER in pv mode (whose two hypercalls record their answers first).
 */
export function probeSetup(asm: Asm, mode: Mode): Asm {
  asm.li(S1, RESULTS).li(SP, STACK_TOP).li(S3, SHARED);
  if (mode !== "pv") {
    asm.la(T0, ".probe-handler").csrw(CSR_STVEC, T0);
  } else {
    asm.sbi(EID_PV, PV_REGISTER_SHARED, [SHARED]);
    asm.la(A0, ".probe-handler");
    asm.li(A7, EID_PV).li(A6, PV_SET_TRAP_HANDLER).op("ecall").rec(A0).rec(A1);
  }
  return asm.j(".probe-main");
}

/** The handler probeSetup installs; call once, after the guest's code. */
export function probeHandler(asm: Asm, mode: Mode): Asm {
  asm.label(".probe-handler");
  if (mode !== "pv") asm.csrr(T0, CSR_SCAUSE).rec(T0).csrr(T0, CSR_STVAL).rec(T0);
  else
    asm
      .op("lw", { rd: T0, rs1: S3, imm: SH_CAUSE })
      .rec(T0)
      .op("lw", { rd: T0, rs1: S3, imm: SH_TVAL })
      .rec(T0)
      .op("sw", { rs1: S3, rs2: ZERO, imm: SH_MASK });
  return asm.op("jalr", { rd: 0, rs1: S2, imm: 0 });
}

/** A guest of probes: setup, `body` (label .probe-main is placed for it), shutdown, handler. */
export function probeGuest(
  name: string,
  mode: Mode,
  body: (asm: Asm) => void,
  data: DataBlock[] = [],
): ElfImage {
  const asm = new Asm();
  probeSetup(asm, mode);
  asm.label(".probe-main");
  body(asm);
  shutdown(asm);
  asm.label(".hang").j(".hang");
  probeHandler(asm, mode);
  return assemble(name, asm, data);
}

/** Words of the known pattern a victim carries in its RAM (word i = PATTERN_SEED ^ i * 0x9e3779b9). */
export const PATTERN_WORDS = 64 * 1024;
export const PATTERN_SEED = 0x5a5a_1234;

/**
 * The victim: loaded with 256 KiB of a known pattern and a kernel that only ever waits for an interrupt
 * it will never get (WFI with sie = 0 in trap mode; PV_BLOCK, no timer armed, in pv mode). Its memory
 * can then only change if someone else changes it.
 */
export function victimImage(mode: Mode): ElfImage {
  const asm = new Asm();
  asm.label("loop");
  if (mode !== "pv") asm.op("wfi");
  else asm.li(A7, EID_PV).li(A6, PV_BLOCK).op("ecall");
  asm.j("loop");
  const pattern: number[] = [];
  for (let i = 0; i < PATTERN_WORDS; i++) pattern.push((PATTERN_SEED ^ Math.imul(i, 0x9e37_79b9)) >>> 0);
  return assemble(`victim (${mode})`, asm, [{ addr: DRAM_BASE + 0x4_0000, words: pattern }]);
}

/** CSR numbers the generated code touches. */
export const CSRS = {
  sstatus: CSR_SSTATUS,
  stvec: CSR_STVEC,
  scause: CSR_SCAUSE,
  stval: CSR_STVAL,
  satp: CSR_SATP,
};
