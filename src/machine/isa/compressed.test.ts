import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import fc from "fast-check";
import { EXPANDED, expandCompressed } from "./compressed.js";
import { lookup } from "./table.js";

const hasLlvmMc = spawnSync("sh", ["-c", "command -v llvm-mc"]).status === 0;

/** Assembles lines with llvm-mc; returns each instruction's encoding as a number (16 or 32 bits). */
function assemble(lines: string[], compressed: boolean): number[] {
  const r = spawnSync(
    "llvm-mc",
    ["-triple=riscv32", `-mattr=+m,+a${compressed ? ",+c" : ",-c"}`, "-show-encoding"],
    {
      input: lines.join("\n"),
      encoding: "utf8",
    },
  );
  assert.equal(r.status, 0, r.stderr);
  return [...r.stdout.matchAll(/encoding: \[([^\]]+)\]/g)].map((m) =>
    m[1]
      .split(",")
      .map((b) => Number.parseInt(b, 16))
      .reduceRight((acc, b) => acc * 256 + b, 0),
  );
}

const reg = (n: number): string => `x${n}`;

/** Random instructions in forms that have a compressed encoding, written as their 32-bit selves. */
function compressibleSamples(seed: number): string[] {
  const rnd = fc.sample(fc.integer({ min: 0, max: 2 ** 30 }), { seed, numRuns: 4000 });
  let k = 0;
  const next = (n: number): number => rnd[k++ % rnd.length] % n;
  const nz = (n: number): number => 1 + next(n - 1);
  const rc = (): string => reg(8 + next(8)); // x8..x15
  const out: string[] = [];
  for (let i = 0; i < 150; i++) {
    const r = rc();
    const s = nz(32);
    out.push(
      `addi ${rc()}, x2, ${4 * nz(255)}`, // c.addi4spn
      `lw ${rc()}, ${4 * next(32)}(${rc()})`, // c.lw
      `sw ${rc()}, ${4 * next(32)}(${rc()})`, // c.sw
      `addi ${reg(s)}, ${reg(s)}, ${nz(31) - (next(2) ? 32 : 0)}`, // c.addi
      `addi ${reg(s)}, x0, ${next(32) - 16}`, // c.li
      `addi x2, x2, ${16 * (nz(31) - (next(2) ? 32 : 0))}`, // c.addi16sp
      `lui ${reg([1, 3, 4, 5, 6, 7, 8, 9, 10][next(9)])}, ${nz(31)}`, // c.lui
      `srli ${r}, ${r}, ${nz(31)}`, // c.srli
      `srai ${r}, ${r}, ${nz(31)}`, // c.srai
      `andi ${r}, ${r}, ${next(64) - 32}`, // c.andi
      `${["sub", "xor", "or", "and"][next(4)]} ${r}, ${r}, ${rc()}`, // c.sub/xor/or/and
      `slli ${reg(s)}, ${reg(s)}, ${nz(31)}`, // c.slli
      `lw ${reg(s)}, ${4 * next(64)}(x2)`, // c.lwsp
      `sw ${reg(next(32))}, ${4 * next(64)}(x2)`, // c.swsp
      `jalr x0, 0(${reg(s)})`, // c.jr
      `jalr x1, 0(${reg(s)})`, // c.jalr
      `add ${reg(s)}, x0, ${reg(nz(32))}`, // c.mv
      `add ${reg(s)}, ${reg(s)}, ${reg(nz(32))}`, // c.add
      `jal x1, ${2 * (next(2048) - 1024)}`, // c.jal
      `jal x0, ${2 * (next(2048) - 1024)}`, // c.j
      `beq ${rc()}, x0, ${2 * (next(256) - 128)}`, // c.beqz
      `bne ${rc()}, x0, ${2 * (next(256) - 128)}`, // c.bnez
    );
  }
  out.push("ebreak");
  return out;
}

test("every compressed instruction expands to the 32-bit instruction LLVM compressed it from", {
  skip: !hasLlvmMc,
}, () => {
  const lines = compressibleSamples(42);
  const short = assemble(lines, true);
  const long = assemble(lines, false);
  assert.equal(short.length, lines.length);
  assert.equal(long.length, lines.length);
  let compressed = 0;
  for (let i = 0; i < lines.length; i++) {
    if ((short[i] & 3) === 3) continue; // LLVM kept it 32-bit (e.g. an offset that does not fit)
    compressed++;
    assert.equal(
      (expandCompressed(short[i]) >>> 0).toString(16),
      (long[i] >>> 0).toString(16),
      `${lines[i]}: 0x${short[i].toString(16)}`,
    );
  }
  assert.ok(compressed > lines.length * 0.9, `only ${compressed} of ${lines.length} were compressed`);
});

test("every non-zero expansion decodes to a row of the instruction table", () => {
  for (let h = 0; h < 1 << 16; h++) {
    if ((h & 3) === 3 || EXPANDED[h] === 0) continue;
    assert.ok(
      lookup(EXPANDED[h]) !== undefined,
      `0x${h.toString(16)} → 0x${(EXPANDED[h] >>> 0).toString(16)}`,
    );
  }
});

test("reserved and floating-point compressed encodings are illegal", () => {
  assert.equal(expandCompressed(0x0000), 0); // all zeros: defined illegal
  assert.equal(expandCompressed(0x2000), 0); // c.fld
  assert.equal(expandCompressed(0x6000), 0); // c.flw
  assert.equal(expandCompressed(0x4002), 0); // c.lwsp with rd = x0
  assert.equal(expandCompressed(0x8002), 0); // c.jr with rs1 = x0
  assert.equal(expandCompressed(0x6101), 0); // c.addi16sp with imm 0
  assert.equal(expandCompressed(0x9c21), 0); // c.subw (RV64 only)
  assert.equal(expandCompressed(0x1002), 0); // c.slli with shamt[5] = 1
  assert.equal(expandCompressed(0x9002) >>> 0, 0x0010_0073); // c.ebreak
});
