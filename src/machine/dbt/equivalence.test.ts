/**
 * The translator against its oracle: random valid programs — ALU, loads and stores (misaligned ones
 * too), atomics, CSR instructions, branches, traps, and timer interrupts arriving anywhere — must leave
 * exactly the same architectural state on the interpreter and on the translator after the same number
 * of instructions.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { run as interpret } from "../interpreter.js";
import { CSR } from "../isa/csr-defs.js";
import { encode } from "../isa/encode.js";
import { type Engine, Machine } from "../machine.js";
import { CLINT_BASE, CLINT_MTIMECMP, DRAM_BASE } from "../memory-map.js";
import { poke } from "../test-support.js";
import { run as translate, useTranslator } from "./engine.js";

const DATA = DRAM_BASE + 0x8000; // x31 points here; loads and stores stay within 0..2047 of it
const HANDLER = DRAM_BASE + 0x4000;
const MTIMECMP = CLINT_BASE + CLINT_MTIMECMP;

/** Registers the random code may write: not x29/x30 (trap handler), x31 (data base), x28 (loop). */
const reg = fc.integer({ min: 1, max: 27 });
const anyReg = fc.integer({ min: 0, max: 31 });
const imm12 = fc.integer({ min: -2048, max: 2047 });

const alu = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(
        "add",
        "sub",
        "sll",
        "slt",
        "sltu",
        "xor",
        "srl",
        "sra",
        "or",
        "and",
        "mul",
        "mulh",
        "mulhsu",
        "mulhu",
        "div",
        "divu",
        "rem",
        "remu",
      ),
      reg,
      anyReg,
      anyReg,
    )
    .map(([op, rd, rs1, rs2]) => [encode(op, { rd, rs1, rs2 })]),
  fc
    .tuple(fc.constantFrom("addi", "slti", "sltiu", "xori", "ori", "andi"), reg, anyReg, imm12)
    .map(([op, rd, rs1, imm]) => [encode(op, { rd, rs1, imm })]),
  fc
    .tuple(fc.constantFrom("slli", "srli", "srai"), reg, anyReg, fc.integer({ min: 0, max: 31 }))
    .map(([op, rd, rs1, shamt]) => [encode(op, { rd, rs1, shamt })]),
  fc
    .tuple(fc.constantFrom("lui", "auipc"), reg, fc.integer())
    .map(([op, rd, imm]) => [encode(op, { rd, imm })]),
);

const offset = fc.integer({ min: 0, max: 2040 });
const memory = fc.oneof(
  fc
    .tuple(fc.constantFrom("lb", "lh", "lw", "lbu", "lhu"), reg, offset)
    .map(([op, rd, imm]) => [encode(op, { rd, rs1: 31, imm })]),
  fc
    .tuple(fc.constantFrom("sb", "sh", "sw"), anyReg, offset)
    .map(([op, rs2, imm]) => [encode(op, { rs1: 31, rs2, imm })]),
  // Atomics: the address is x31 + an aligned offset, built in x27 first.
  fc
    .tuple(
      fc.constantFrom(
        "amoswap.w",
        "amoadd.w",
        "amoxor.w",
        "amoand.w",
        "amoor.w",
        "amomin.w",
        "amomax.w",
        "amominu.w",
        "amomaxu.w",
        "sc.w",
      ),
      reg,
      anyReg,
      fc.integer({ min: 0, max: 500 }),
    )
    .map(([op, rd, rs2, w]) => [
      encode("addi", { rd: 27, rs1: 31, imm: 4 * w }),
      encode(op, { rd, rs1: 27, rs2 }),
    ]),
  fc
    .tuple(reg, fc.integer({ min: 0, max: 500 }))
    .map(([rd, w]) => [encode("addi", { rd: 27, rs1: 31, imm: 4 * w }), encode("lr.w", { rd, rs1: 27 })]),
);

const csr = fc
  .tuple(
    fc.constantFrom("csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"),
    fc.constantFrom(0, 1, 5, 9),
    fc.integer({ min: 0, max: 31 }),
    fc.constantFrom(
      CSR.mscratch,
      CSR.minstret,
      CSR.mcycle,
      CSR.instret,
      CSR.cycle,
      CSR.time,
      CSR.mcause,
      CSR.mtval,
    ),
  )
  .map(([op, rd, rs1, c]) => {
    const readOnly = c >= 0xc00;
    // Read-only CSRs only with a form that does not write (rs1 = x0), or it is an illegal-instruction trap.
    return [
      encode(op, { rd, rs1: readOnly && rs1 !== 0 && op !== "csrrw" && op !== "csrrwi" ? 0 : rs1, csr: c }),
    ];
  });

const traps = fc.constantFrom(
  [encode("ecall")],
  [0xffffffff | 0],
  [encode("ebreak")],
  [encode("csrrs", { rd: 5, csr: 0x7c0 })],
);

/** A forward branch over the next k instructions (k ≥ 1), so programs always end. */
const branch = fc
  .tuple(
    fc.constantFrom("beq", "bne", "blt", "bge", "bltu", "bgeu"),
    anyReg,
    anyReg,
    fc.integer({ min: 1, max: 4 }),
  )
  .map(([op, rs1, rs2, k]) => ({ op, rs1, rs2, k }));

type Piece = readonly number[] | { op: string; rs1: number; rs2: number; k: number };

const program = fc.array(
  fc.oneof(
    { weight: 5, arbitrary: alu },
    { weight: 4, arbitrary: memory },
    { weight: 1, arbitrary: csr },
    { weight: 1, arbitrary: traps },
    { weight: 2, arbitrary: branch },
  ),
  {
    minLength: 5,
    maxLength: 60,
  },
);

/** Lays out the pieces: branches become instructions whose offsets skip k following words. */
function assemble(pieces: Piece[]): number[] {
  const words: number[] = [];
  for (const p of pieces) {
    if ("length" in p) words.push(...p);
    else words.push(encode(p.op, { rs1: p.rs1, rs2: p.rs2, imm: 4 * (p.k + 1) }));
  }
  return words;
}

/**
 * The test program: the random body runs three times in a loop (so blocks are reused and loops
 * translated), then the hart spins. Traps skip the faulting instruction; timer interrupts push
 * mtimecmp far ahead.
 */
function machineFor(
  body: number[],
  seed: { regs: number[]; timer: number },
  engine: Engine,
  hotAfter?: number,
): Machine {
  const m = new Machine({ ramBytes: 1 << 20, engine });
  if (hotAfter !== undefined) useTranslator(m.ram, { hotAfter });
  const code = [
    encode("addi", { rd: 28, rs1: 0, imm: 3 }),
    ...body,
    encode("addi", { rd: 28, rs1: 28, imm: -1 }),
    encode("bne", { rs1: 28, rs2: 0, imm: -4 * (body.length + 1) }),
    encode("jal", { rd: 0, imm: 0 }),
  ];
  poke(m, DRAM_BASE, code);
  poke(m, HANDLER, [
    encode("csrrs", { rd: 29, csr: CSR.mcause }),
    encode("blt", { rs1: 29, rs2: 0, imm: 20 }), // interrupt: to the timer part
    encode("csrrs", { rd: 29, csr: CSR.mepc }),
    encode("addi", { rd: 29, rs1: 29, imm: 4 }),
    encode("csrrw", { rd: 0, rs1: 29, csr: CSR.mepc }),
    encode("mret"),
    encode("lui", { rd: 29, imm: MTIMECMP & 0xfffff000 }),
    encode("addi", { rd: 30, rs1: 0, imm: -1 }),
    encode("sw", { rs1: 29, rs2: 30, imm: (MTIMECMP & 0xfff) + 4 }),
    encode("mret"),
  ]);
  const h = m.harts[0];
  h.reset(DRAM_BASE);
  seed.regs.forEach((v, i) => {
    h.x[i + 1] = v;
  });
  h.x[31] = DATA;
  h.mtvec = HANDLER;
  h.mie = 1 << 7; // MTIE
  h.mstatus = 1 << 3; // MIE
  m.clint.setTimecmp(0, seed.timer);
  return m;
}

function state(m: Machine) {
  const h = m.harts[0];
  return {
    x: [...h.x],
    pc: h.pc,
    priv: h.priv,
    csrs: [h.mstatus, h.mepc, h.mcause, h.mtval, h.mscratch, h.mie, h.mip],
    retired: h.retired,
    counters: [h.instretOffset, h.cycleOffset],
    data: Buffer.from(m.ram.u8.subarray(DATA - DRAM_BASE, DATA - DRAM_BASE + 2048)).toString("base64"),
    exit: m.exit?.kind,
  };
}

test("random programs leave the same architectural state on the interpreter and the translator", () => {
  fc.assert(
    fc.property(
      program,
      fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 27, maxLength: 27 }),
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 10, max: 600 }),
      fc.constantFrom(1, 2, 3),
      (pieces, regs, timer, limit, hotAfter) => {
        const body = assemble(pieces);
        const a = machineFor(body, { regs, timer }, interpret);
        // Blocks translated at their first, second or third visit: translated and interpreted code mix.
        const b = machineFor(body, { regs, timer }, translate, hotAfter);
        a.runSync({ maxInsns: limit });
        b.runSync({ maxInsns: limit });
        assert.deepEqual(state(b), state(a));
      },
    ),
    { numRuns: 1000 },
  );
});

test("a store between LR and SC leaves the SC's outcome the same on both engines, whatever the TLB holds", () => {
  // Found by the property above: the interpreter's store took the TLB's fast path while the translated
  // one took the slow path, which alone dropped the reservation, so the SC succeeded on one engine only.
  const body = [
    encode("addi", { rd: 27, rs1: 31, imm: 0 }),
    encode("lr.w", { rd: 1, rs1: 27 }),
    encode("add", { rd: 1, rs1: 0, rs2: 0 }),
    encode("sb", { rs1: 31, rs2: 0, imm: 0 }),
    encode("addi", { rd: 27, rs1: 31, imm: 0 }),
    encode("sc.w", { rd: 1, rs1: 27, rs2: 0 }),
    encode("slli", { rd: 1, rs1: 0, shamt: 0 }),
    encode("beq", { rs1: 0, rs2: 0, imm: 8 }),
  ];
  const regs = new Array<number>(27).fill(0);
  regs[2] = 1;
  for (let limit = 1; limit <= 40; limit++) {
    const a = machineFor(body, { regs, timer: 1 }, interpret);
    const b = machineFor(body, { regs, timer: 1 }, translate, 2);
    a.runSync({ maxInsns: limit });
    b.runSync({ maxInsns: limit });
    assert.deepEqual(state(b), state(a), `after ${limit} instructions`);
  }
});
