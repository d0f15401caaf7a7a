/**
 * What invalidates translated code, and what must not: self-modifying code, a page reused for other
 * code, data sharing a page with code, the same frame at two virtual addresses, and the size bound.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { run as interpret } from "../interpreter.js";
import { CSR, PRIV_S, SATP_MODE_SV32 } from "../isa/csr-defs.js";
import { encode } from "../isa/encode.js";
import { type Engine, Machine } from "../machine.js";
import { DRAM_BASE } from "../memory-map.js";
import { PTE_A, PTE_D, PTE_R, PTE_V, PTE_W, PTE_X } from "../mmu.js";
import { Ram } from "../ram.js";
import { poke } from "../test-support.js";
import { run as translate, translatorFor, useTranslator } from "./engine.js";
import { Translator } from "./translator.js";

const ECALL = encode("ecall");

/** Runs `words` at DRAM_BASE until the first trap into M-mode; returns the machine. */
function runUntilTrap(words: number[], engine: Engine, setup?: (m: Machine) => void): Machine {
  const m = new Machine({ ramBytes: 1 << 20, engine });
  useTranslator(m.ram, { hotAfter: 1 });
  poke(m, DRAM_BASE, words);
  const h = m.harts[0];
  h.reset(DRAM_BASE);
  h.mTrapHook = () => {
    m.requestExit({ kind: "poweroff", code: 0 });
    return true;
  };
  setup?.(m);
  m.runSync({ maxInsns: 100_000 });
  return m;
}

test("a store that rewrites a later instruction of the running block takes effect at once, as in the interpreter", () => {
  // x6 holds the encoding of `addi x7, x0, 2`; the store overwrites the `addi x7, x0, 1` two words on.
  const words = [
    encode("auipc", { rd: 5, imm: 0 }),
    encode("sw", { rs1: 5, rs2: 6, imm: 12 }),
    encode("addi", { rd: 0, rs1: 0, imm: 0 }),
    encode("addi", { rd: 7, rs1: 0, imm: 1 }),
    ECALL,
  ];
  for (const engine of [interpret, translate]) {
    const m = runUntilTrap(words, engine, (mm) => {
      mm.harts[0].x[6] = encode("addi", { rd: 7, rs1: 0, imm: 2 });
    });
    assert.equal(m.harts[0].x[7], 2);
  }
});

test("code copied over a translated function runs as the new code after fence.i", () => {
  // The function at F returns 11; it is called, overwritten to return 22, and called again.
  const F = 0x100;
  const words: number[] = [
    encode("jal", { rd: 1, imm: F }), // call F (returns to 4)
    encode("add", { rd: 8, rs1: 10, rs2: 0 }),
    encode("auipc", { rd: 5, imm: 0 }), // x5 = base + 8
    encode("sw", { rs1: 5, rs2: 6, imm: F - 8 }), // patch F's first instruction
    encode("fence.i"),
    encode("jal", { rd: 1, imm: F - 20 }), // call F again (from 20)
    encode("add", { rd: 9, rs1: 10, rs2: 0 }),
    ECALL,
  ];
  while (words.length < F / 4) words.push(0);
  words.push(encode("addi", { rd: 10, rs1: 0, imm: 11 }), encode("jalr", { rd: 0, rs1: 1, imm: 0 }));
  const m = runUntilTrap(words, translate, (mm) => {
    mm.harts[0].x[6] = encode("addi", { rd: 10, rs1: 0, imm: 22 });
  });
  assert.deepEqual([m.harts[0].x[8], m.harts[0].x[9]], [11, 22]);
  assert.ok(translatorFor(m.ram).stats().invalidations >= 1);
});

test("stores to data that shares a page with code do not invalidate its translations", () => {
  const words = [
    encode("auipc", { rd: 5, imm: 0 }),
    encode("addi", { rd: 6, rs1: 0, imm: 50 }),
    encode("sw", { rs1: 5, rs2: 6, imm: 0x7f0 }), // data at base + 0x7f0: same 4 KiB page, no code there
    encode("addi", { rd: 6, rs1: 6, imm: -1 }),
    encode("bne", { rs1: 6, rs2: 0, imm: -8 }),
    ECALL,
  ];
  const m = runUntilTrap(words, translate);
  const s = translatorFor(m.ram).stats();
  assert.equal(s.invalidations, 0);
  assert.equal(m.ram.i32[0x7f0 / 4], 1);
  assert.equal(m.harts[0].retired, 152); // the whole loop ran: 2 + 50 × 3
});

test("one frame mapped at two virtual addresses gets a translation per address, each with its own pcs", () => {
  // S-mode with Sv32: megapages at 0x4000_0000 and at 0x8000_0000 both map DRAM_BASE.
  const ROOT = DRAM_BASE + 0x10000;
  const words = [encode("auipc", { rd: 5, imm: 0 }), encode("jal", { rd: 6, imm: 4 }), ECALL];
  const m = new Machine({ ramBytes: 1 << 20, engine: translate });
  useTranslator(m.ram, { hotAfter: 1 });
  poke(m, DRAM_BASE, words);
  const leaf = ((DRAM_BASE / 4096) << 10) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
  m.bus.write(ROOT + (0x4000_0000 >>> 22) * 4, 4, leaf);
  m.bus.write(ROOT + (DRAM_BASE >>> 22) * 4, 4, leaf);
  const h = m.harts[0];
  const seen: number[][] = [];
  for (const start of [DRAM_BASE, 0x4000_0000, DRAM_BASE]) {
    h.reset(start);
    h.priv = PRIV_S;
    h.csrWrite(CSR.satp, SATP_MODE_SV32 | (ROOT / 4096), 0);
    h.mTrapHook = () => {
      h.remaining = 0;
      return true;
    };
    translate(h, 100);
    seen.push([h.x[5] >>> 0, h.x[6] >>> 0]);
  }
  assert.deepEqual(seen, [
    [DRAM_BASE, DRAM_BASE + 8],
    [0x4000_0000, 0x4000_0008],
    [DRAM_BASE, DRAM_BASE + 8],
  ]);
  assert.equal(translatorFor(m.ram).stats().translations, 4); // two blocks (up to the jal; the ecall) per address
});

test("the translation cache stays within its bound by flushing, and keeps translating correctly", () => {
  const ram = new Ram(DRAM_BASE, 1 << 16);
  const words = Array.from({ length: 200 }, (_, i) => encode("addi", { rd: 5, rs1: 5, imm: i }));
  ram.load(DRAM_BASE, new Uint8Array(new Int32Array([...words, ECALL]).buffer));
  const t = new Translator(ram, 16, 1);
  for (let i = 0; i < 100; i++) assert.ok(t.get(4 * i, DRAM_BASE + 4 * i) !== undefined);
  const s = t.stats();
  assert.ok(s.blocks <= 16, `${s.blocks} blocks held`);
  assert.ok(s.flushes >= 5);
  assert.equal(s.translations, 100);
});
