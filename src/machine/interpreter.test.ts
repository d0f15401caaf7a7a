import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { generateExecuteSource } from "./interpreter.js";
import {
  CAUSE_BREAKPOINT,
  CAUSE_ECALL_M,
  CAUSE_ILLEGAL_INSN,
  CAUSE_LOAD_MISALIGNED,
  CAUSE_STORE_MISALIGNED,
} from "./isa/csr-defs.js";
import { encode } from "./isa/encode.js";
import { DRAM_BASE } from "./memory-map.js";
import { ECALL, runCode } from "./test-support.js";

const i32 = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.constantFrom(0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 31, 32, 0x8000, 0xffff),
);

/** An independent model of the register-register operations, in BigInt arithmetic. */
function model(op: string, a: number, b: number): number {
  const A = BigInt(a);
  const B = BigInt(b);
  const uA = BigInt(a >>> 0);
  const uB = BigInt(b >>> 0);
  const sh = BigInt(b & 31);
  const w = (v: bigint): number => Number(BigInt.asIntN(32, v));
  switch (op) {
    case "add":
      return w(A + B);
    case "sub":
      return w(A - B);
    case "sll":
      return w(uA << sh);
    case "slt":
      return A < B ? 1 : 0;
    case "sltu":
      return uA < uB ? 1 : 0;
    case "xor":
      return w(A ^ B);
    case "srl":
      return w(uA >> sh);
    case "sra":
      return w(A >> sh);
    case "or":
      return w(A | B);
    case "and":
      return w(A & B);
    case "mul":
      return w(A * B);
    case "mulh":
      return w((A * B) >> 32n);
    case "mulhsu":
      return w((A * uB) >> 32n);
    case "mulhu":
      return w((uA * uB) >> 32n);
    case "div":
      if (b === 0) return -1;
      if (a === -(2 ** 31) && b === -1) return a;
      return w(A / B); // BigInt division truncates toward zero, as RISC-V's does
    case "divu":
      return b === 0 ? -1 : w(uA / uB);
    case "rem":
      if (b === 0) return a;
      if (a === -(2 ** 31) && b === -1) return 0;
      return w(A % B);
    case "remu":
      return b === 0 ? a : w(uA % uB);
    default:
      throw new Error(op);
  }
}

const R_OPS = ["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and"];
const M_OPS = ["mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu"];

/** Runs one instruction on registers x5 = a, x6 = b; returns x7. */
function exec1(word: number, a: number, b: number): number {
  const { machine } = runCode([word, ECALL], (m) => {
    m.harts[0].x[5] = a;
    m.harts[0].x[6] = b;
  });
  return machine.harts[0].x[7];
}

test("register-register ALU and M instructions match an independent BigInt model", () => {
  fc.assert(
    fc.property(fc.constantFrom(...R_OPS, ...M_OPS), i32, i32, (op, a, b) => {
      assert.equal(exec1(encode(op, { rd: 7, rs1: 5, rs2: 6 }), a, b), model(op, a, b), `${op} ${a} ${b}`);
    }),
    { numRuns: 3000 },
  );
});

test("immediate ALU instructions sign-extend their 12-bit immediate", () => {
  const imm12 = fc.integer({ min: -2048, max: 2047 });
  fc.assert(
    fc.property(fc.constantFrom("addi", "slti", "sltiu", "xori", "ori", "andi"), i32, imm12, (op, a, imm) => {
      const rr = { addi: "add", slti: "slt", sltiu: "sltu", xori: "xor", ori: "or", andi: "and" }[op]!;
      assert.equal(exec1(encode(op, { rd: 7, rs1: 5, imm }), a, 0), model(rr, a, imm));
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom("slli", "srli", "srai"),
      i32,
      fc.integer({ min: 0, max: 31 }),
      (op, a, shamt) => {
        assert.equal(exec1(encode(op, { rd: 7, rs1: 5, shamt }), a, 0), model(op.slice(0, 3), a, shamt));
      },
    ),
    { numRuns: 500 },
  );
});

test("writes to x0 are discarded", () => {
  const { machine } = runCode([
    encode("addi", { rd: 0, rs1: 0, imm: 5 }),
    encode("add", { rd: 7, rs1: 0, rs2: 0 }),
    ECALL,
  ]);
  assert.equal(machine.harts[0].x[0], 0);
  assert.equal(machine.harts[0].x[7], 0);
});

test("lui, auipc, jal and jalr compute addresses and links from pc", () => {
  const { machine } = runCode([
    encode("lui", { rd: 5, imm: 0x12345000 }),
    encode("auipc", { rd: 6, imm: 0x1000 }), // pc + 0x1000
    encode("jal", { rd: 1, imm: 8 }), // skip the next word
    encode("addi", { rd: 7, rs1: 0, imm: 1 }), // skipped
    encode("auipc", { rd: 8, imm: 0 }),
    encode("jalr", { rd: 8, rs1: 8, imm: 13 }), // rd == rs1: target from the old value, low bit cleared
    encode("addi", { rd: 7, rs1: 0, imm: 2 }), // skipped
    ECALL,
  ]);
  const x = machine.harts[0].x;
  assert.equal(x[5], 0x12345000);
  assert.equal(x[6] >>> 0, DRAM_BASE + 4 + 0x1000);
  assert.equal(x[1] >>> 0, DRAM_BASE + 12);
  assert.equal(x[7], 0);
  assert.equal(x[8] >>> 0, DRAM_BASE + 24);
});

test("branches compare signed and unsigned as their names say", () => {
  const cases: [string, number, number, boolean][] = [
    ["beq", 5, 5, true],
    ["bne", 5, 5, false],
    ["blt", -1, 1, true],
    ["bltu", -1, 1, false],
    ["bge", 1, -1, true],
    ["bgeu", 1, -1, false],
    ["bge", 7, 7, true],
    ["bltu", 0, -1, true],
  ];
  for (const [op, a, b, taken] of cases) {
    const { machine } = runCode(
      [encode(op, { rs1: 5, rs2: 6, imm: 8 }), encode("addi", { rd: 7, rs1: 0, imm: 1 }), ECALL],
      (m) => {
        m.harts[0].x[5] = a;
        m.harts[0].x[6] = b;
      },
    );
    assert.equal(machine.harts[0].x[7], taken ? 0 : 1, `${op} ${a} ${b}`);
  }
});

test("loads sign- or zero-extend, and misaligned accesses work across a page boundary", () => {
  const data = DRAM_BASE + 0x1ffe; // the word at 0x…1ffe straddles two 4 KiB pages
  const { machine } = runCode(
    [
      encode("sw", { rs1: 5, rs2: 6, imm: 0 }),
      encode("lw", { rd: 7, rs1: 5, imm: 0 }),
      encode("lh", { rd: 8, rs1: 5, imm: 2 }),
      encode("lhu", { rd: 9, rs1: 5, imm: 2 }),
      encode("lb", { rd: 10, rs1: 5, imm: 3 }),
      encode("lbu", { rd: 11, rs1: 5, imm: 3 }),
      ECALL,
    ],
    (m) => {
      m.harts[0].x[5] = data;
      m.harts[0].x[6] = 0x8899aabb | 0;
    },
  );
  const x = machine.harts[0].x;
  assert.equal(x[7] >>> 0, 0x8899aabb);
  assert.equal(x[8], 0xffff8899 | 0);
  assert.equal(x[9], 0x8899);
  assert.equal(x[10], -0x78);
  assert.equal(x[11], 0x88);
  assert.equal(machine.ram.u8[0x1ffe], 0xbb);
  assert.equal(machine.ram.u8[0x2001], 0x88);
});

test("illegal instructions, ecall and ebreak trap with the cause and tval the spec names", () => {
  assert.deepEqual(runCode([0xffffffff]).trap, {
    cause: CAUSE_ILLEGAL_INSN,
    tval: 0xffffffff,
    pc: DRAM_BASE,
    priv: 3,
  });
  // A 16-bit illegal instruction reports its 16 bits.
  assert.equal(runCode([0x0000_0000]).trap?.tval, 0);
  assert.equal(runCode([ECALL]).trap?.cause, CAUSE_ECALL_M);
  assert.equal(runCode([ECALL]).trap?.tval, 0);
  const brk = runCode([encode("addi", { rd: 0, rs1: 0 }), 0x0010_0073]).trap;
  assert.equal(brk?.cause, CAUSE_BREAKPOINT);
  assert.equal(brk?.tval, DRAM_BASE + 4);
  assert.equal(brk?.pc, DRAM_BASE + 4);
  // A CSR that does not exist is illegal, with the instruction as tval.
  const bad = encode("csrrs", { rd: 5, rs1: 0, csr: 0x7ff });
  assert.equal(runCode([bad]).trap?.tval, bad >>> 0);
});

test("LR/SC succeed only on a reservation, and misaligned atomics fault with the AMO causes", () => {
  const a = DRAM_BASE + 0x1000;
  const { machine } = runCode(
    [
      encode("sc.w", { rd: 7, rs1: 5, rs2: 6 }), // no reservation: fails (1), no store
      encode("lr.w", { rd: 8, rs1: 5 }),
      encode("sc.w", { rd: 9, rs1: 5, rs2: 6 }), // succeeds (0)
      encode("sc.w", { rd: 10, rs1: 5, rs2: 6 }), // the reservation is gone: fails
      encode("amoadd.w", { rd: 11, rs1: 5, rs2: 6 }),
      ECALL,
    ],
    (m) => {
      m.harts[0].x[5] = a;
      m.harts[0].x[6] = 40;
    },
  );
  const x = machine.harts[0].x;
  assert.deepEqual([x[7], x[8], x[9], x[10], x[11]], [1, 0, 0, 1, 40]);
  assert.equal(machine.ram.i32[0x1000 / 4], 80);
  const mis = (op: string) =>
    runCode([encode(op, { rd: 7, rs1: 5, rs2: op === "lr.w" ? 0 : 6 })], (m) => {
      m.harts[0].x[5] = a + 2;
    }).trap;
  assert.deepEqual(mis("amoswap.w"), { cause: CAUSE_STORE_MISALIGNED, tval: a + 2, pc: DRAM_BASE, priv: 3 });
  assert.equal(mis("lr.w")?.cause, CAUSE_LOAD_MISALIGNED);
  assert.equal(mis("sc.w")?.cause, CAUSE_STORE_MISALIGNED);
});

test("the generated interpreter has one case per table row", () => {
  const src = generateExecuteSource();
  for (const name of ["addi", "mret", "sfence.vma", "amomaxu.w", "csrrci"])
    assert.ok(src.includes(`/* ${name} */`), name);
});
