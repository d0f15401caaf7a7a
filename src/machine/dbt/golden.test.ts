/**
 * Golden tests: the JavaScript the translator emits for a few guest blocks is pinned in
 * src/machine/dbt/golden/<name>.js. A change to code generation shows up here as a diff to review; accept
 * it with the explicit step `npm run golden:update` (which sets RVISOR_UPDATE_GOLDEN=1).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../../testing/guest-build.js";
import { CSR } from "../isa/csr-defs.js";
import { encode } from "../isa/encode.js";
import { DRAM_BASE } from "../memory-map.js";
import { Ram } from "../ram.js";
import { Translator } from "./translator.js";

const GOLDEN_DIR = join(repoRoot, "src", "machine", "dbt", "golden");
const update = process.env.RVISOR_UPDATE_GOLDEN === "1";

function translate(words: number[], halfwords: number[] = []): string {
  const ram = new Ram(DRAM_BASE, 1 << 16);
  const bytes = new Uint8Array(new Int32Array(words).buffer);
  ram.load(DRAM_BASE, bytes);
  if (halfwords.length > 0)
    ram.load(DRAM_BASE + bytes.length, new Uint8Array(new Uint16Array(halfwords).buffer));
  const b = new Translator(ram, undefined, 1).get(0, DRAM_BASE);
  assert.ok(b !== undefined, "the block translates");
  return `${b.source}\n`;
}

const CASES: Record<string, () => string> = {
  // Straight-line ALU code ending in a jump-and-link: constants folded, rd = x0 dropped, link as a constant.
  "alu-call": () =>
    translate([
      encode("lui", { rd: 10, imm: 0x12345000 }),
      encode("addi", { rd: 10, rs1: 10, imm: 0x678 }),
      encode("addi", { rd: 0, rs1: 0, imm: 0 }),
      encode("mulh", { rd: 11, rs1: 10, rs2: 10 }),
      encode("jal", { rd: 1, imm: 0x100 }),
    ]),
  // Loads and stores: h.pc set before each, an early exit after each, and a conditional branch at the end.
  "memory-branch": () =>
    translate([
      encode("lw", { rd: 5, rs1: 10, imm: 8 }),
      encode("sb", { rs1: 11, rs2: 5, imm: -1 }),
      encode("amoadd.w", { rd: 6, rs1: 12, rs2: 5 }),
      encode("bne", { rs1: 5, rs2: 0, imm: 0x40 }),
    ]),
  // A conditional branch in mid-block is a side exit; the block goes on along the fall-through path.
  superblock: () =>
    translate([
      encode("addi", { rd: 5, rs1: 5, imm: 1 }),
      encode("blt", { rs1: 5, rs2: 6, imm: 0x20 }),
      encode("sub", { rd: 7, rs1: 6, rs2: 5 }),
      encode("jalr", { rd: 0, rs1: 1, imm: 0 }),
    ]),
  // A loop whose last branch targets the block start becomes a JavaScript loop.
  "self-loop": () =>
    translate([
      encode("addi", { rd: 5, rs1: 5, imm: -1 }),
      encode("add", { rd: 6, rs1: 6, rs2: 5 }),
      encode("bne", { rs1: 5, rs2: 0, imm: -8 }),
    ]),
  // CSR instructions end a block and bring `retired` up to date first.
  csr: () =>
    translate([
      encode("addi", { rd: 5, rs1: 0, imm: 1 }),
      encode("csrrs", { rd: 6, rs1: 5, csr: CSR.mstatus }),
    ]),
  // Compressed instructions are translated from their 32-bit expansions (c.li, c.addi, c.jr).
  compressed: () => translate([], [0x4515, 0x0505, 0x8082]),
};

for (const [name, make] of Object.entries(CASES)) {
  test(`the translation of the ${name} block matches its golden file`, () => {
    const file = join(GOLDEN_DIR, `${name}.js`);
    const got = make();
    if (update) writeFileSync(file, got);
    assert.equal(got, readFileSync(file, "utf8"), `${file} differs; review and run npm run golden:update`);
  });
}
