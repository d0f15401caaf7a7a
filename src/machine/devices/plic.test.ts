import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MIP_MEIP, MIP_SEIP } from "../isa/csr-defs.js";
import { PLIC_SOURCES } from "../params.js";
import { Plic } from "./plic.js";
import { recordingHarts } from "./recording-hart.js";

const priority = (s: number) => 4 * s;
const PENDING = 0x1000;
const enable = (ctx: number, s: number) => 0x2000 + 0x80 * ctx + 4 * (s >> 5);
const threshold = (ctx: number) => 0x20_0000 + 0x1000 * ctx;
const claim = (ctx: number) => 0x20_0004 + 0x1000 * ctx;

function setup(harts = 2) {
  const hs = recordingHarts(harts);
  const plic = new Plic(hs);
  /** Enables `s` for context `ctx`, keeping the other enables of that word. */
  const enableSource = (ctx: number, s: number) =>
    plic.write(enable(ctx, s), 4, plic.read(enable(ctx, s), 4) | (1 << (s & 31)));
  return { plic, harts: hs, enableSource };
}

describe("Plic", () => {
  it("holds 3-bit priorities and thresholds", () => {
    const { plic } = setup();
    plic.write(priority(5), 4, 0xff);
    assert.equal(plic.read(priority(5), 4), 7);
    plic.write(threshold(1), 4, 0x1b);
    assert.equal(plic.read(threshold(1), 4), 3);
  });

  it("has no source 0 and nothing past the last source", () => {
    const { plic } = setup();
    plic.write(priority(0), 4, 7);
    assert.equal(plic.read(priority(0), 4), 0);
    plic.write(enable(0, 0), 4, 0xffff_ffff);
    assert.equal(plic.read(enable(0, 0), 4), 0xffff_fffe);
    assert.throws(() => plic.line(0), /source 0 is outside/);
    assert.throws(() => plic.line(PLIC_SOURCES), /outside/);
  });

  it("shows a raised line as pending and drives MEIP of the enabled M context", () => {
    const { plic, harts, enableSource } = setup();
    plic.write(priority(10), 4, 1);
    plic.line(10)(true);
    assert.equal(plic.read(PENDING, 4), 1 << 10);
    assert.equal(harts[0].mip, 0, "not enabled yet");
    enableSource(0, 10);
    assert.equal(harts[0].has(MIP_MEIP), true);
    assert.equal(harts[0].has(MIP_SEIP), false);
    assert.equal(harts[1].mip, 0);
  });

  it("drives SEIP of hart h from context 2h+1", () => {
    const { plic, harts, enableSource } = setup();
    plic.write(priority(33), 4, 2);
    enableSource(3, 33);
    plic.line(33)(true);
    assert.equal(harts[1].mip, MIP_SEIP);
    assert.equal(harts[0].mip, 0);
  });

  it("masks sources whose priority is not above the threshold", () => {
    const { plic, harts, enableSource } = setup(1);
    enableSource(0, 3);
    plic.line(3)(true);
    assert.equal(harts[0].mip, 0, "priority 0 never interrupts");
    plic.write(priority(3), 4, 2);
    plic.write(threshold(0), 4, 2);
    assert.equal(harts[0].mip, 0);
    assert.equal(plic.read(claim(0), 4), 0);
    plic.write(threshold(0), 4, 1);
    assert.equal(harts[0].mip, MIP_MEIP);
  });

  it("claims the highest priority first and the lowest id among equals", () => {
    const { plic, enableSource } = setup(1);
    for (const [s, p] of [
      [4, 1],
      [9, 3],
      [7, 3],
      [40, 2],
    ]) {
      plic.write(priority(s), 4, p);
      enableSource(0, s);
      plic.line(s)(true);
    }
    assert.deepEqual(
      [plic.read(claim(0), 4), plic.read(claim(0), 4), plic.read(claim(0), 4), plic.read(claim(0), 4)],
      [7, 9, 40, 4],
    );
    assert.equal(plic.read(claim(0), 4), 0);
  });

  it("keeps a claimed source from being pending until it is completed", () => {
    const { plic, harts, enableSource } = setup(1);
    plic.write(priority(10), 4, 1);
    enableSource(0, 10);
    const irq = plic.line(10);
    irq(true);
    assert.equal(plic.read(claim(0), 4), 10);
    assert.equal(plic.read(PENDING, 4), 0);
    assert.equal(harts[0].mip, 0);
    irq(false);
    irq(true); // the device raises again while the source is claimed
    assert.equal(plic.read(PENDING, 4), 0);
    assert.equal(harts[0].mip, 0);
    plic.write(claim(0), 4, 10);
    assert.equal(plic.read(PENDING, 4), 1 << 10, "line still high: a new request after completion");
    assert.equal(harts[0].mip, MIP_MEIP);
  });

  it("forgets a request whose line drops before it is claimed, and none after completion", () => {
    const { plic, harts, enableSource } = setup(1);
    plic.write(priority(2), 4, 1);
    enableSource(0, 2);
    const irq = plic.line(2);
    irq(true);
    irq(false);
    assert.equal(plic.read(PENDING, 4), 0);
    assert.equal(harts[0].mip, 0);
    irq(true);
    assert.equal(plic.read(claim(0), 4), 2);
    irq(false);
    plic.write(claim(0), 4, 2);
    assert.equal(plic.read(PENDING, 4), 0);
    assert.equal(harts[0].mip, 0);
  });

  it("turns each trigger of an edge-triggered source into one request, none lost while claimed", () => {
    const { plic, harts, enableSource } = setup(1);
    plic.write(priority(16), 4, 1);
    enableSource(0, 16);
    const trigger = plic.edge(16);
    trigger();
    trigger(); // coalesces with the first
    assert.equal(plic.read(PENDING, 4), 1 << 16);
    assert.equal(plic.read(claim(0), 4), 16);
    assert.equal(harts[0].mip, 0);
    plic.write(claim(0), 4, 16);
    assert.equal(plic.read(PENDING, 4), 0, "nothing came while it was claimed: no new request");
    trigger();
    assert.equal(plic.read(claim(0), 4), 16);
    trigger(); // arrives while claimed
    assert.equal(plic.read(PENDING, 4), 0);
    plic.write(claim(0), 4, 16);
    assert.equal(plic.read(PENDING, 4), 1 << 16, "the trigger during the claim is a request now");
    assert.equal(harts[0].mip, MIP_MEIP);
    assert.throws(() => plic.edge(0), /outside/);
  });

  it("ignores a completion for a source not enabled in that context", () => {
    const { plic, enableSource } = setup(1);
    plic.write(priority(6), 4, 1);
    enableSource(0, 6);
    const irq = plic.line(6);
    irq(true);
    assert.equal(plic.read(claim(0), 4), 6);
    plic.write(claim(1), 4, 6); // context 1 does not have 6 enabled
    assert.equal(plic.read(PENDING, 4), 0, "still claimed");
    plic.write(claim(0), 4, 6);
    assert.equal(plic.read(PENDING, 4), 1 << 6);
  });

  it("lets two contexts race for one source: the second claim gets nothing", () => {
    const { plic, harts, enableSource } = setup(2);
    plic.write(priority(1), 4, 1);
    enableSource(1, 1);
    enableSource(3, 1);
    plic.line(1)(true);
    assert.equal(harts[0].mip, MIP_SEIP);
    assert.equal(harts[1].mip, MIP_SEIP);
    assert.equal(plic.read(claim(3), 4), 1);
    assert.equal(harts[0].mip, 0);
    assert.equal(plic.read(claim(1), 4), 0);
  });

  it("does not re-send an unchanged level to the hart", () => {
    const { plic, harts, enableSource } = setup(1);
    plic.write(priority(1), 4, 1);
    plic.write(priority(2), 4, 1);
    enableSource(0, 1);
    enableSource(0, 2);
    plic.line(1)(true);
    plic.line(2)(true);
    plic.line(1)(true);
    assert.deepEqual(harts[0].calls, [{ mask: MIP_MEIP, level: true }]);
  });

  it("ignores writes to pending bits and narrower writes, and reads bytes of a word", () => {
    const { plic } = setup(1);
    plic.write(PENDING, 4, 0xffff_ffff);
    assert.equal(plic.read(PENDING, 4), 0);
    plic.write(priority(1), 1, 5);
    assert.equal(plic.read(priority(1), 4), 0);
    plic.write(enable(0, 8), 4, 0x0000_ff00);
    assert.equal(plic.read(enable(0, 8) + 1, 1), 0xff);
  });

  it("asserts a context's line exactly when claim would return a source", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            source: fc.integer({ min: 1, max: 40 }),
            prio: fc.integer({ min: 0, max: 7 }),
            level: fc.boolean(),
            enabled: fc.boolean(),
          }),
          { maxLength: 20 },
        ),
        fc.integer({ min: 0, max: 7 }),
        (ops, thr) => {
          const { plic, harts } = setup(1);
          plic.write(threshold(0), 4, thr);
          for (const op of ops) {
            plic.write(priority(op.source), 4, op.prio);
            const word = plic.read(enable(0, op.source), 4);
            const bit = 1 << (op.source & 31);
            plic.write(enable(0, op.source), 4, op.enabled ? word | bit : word & ~bit);
            plic.line(op.source)(op.level);
          }
          const asserted = harts[0].has(MIP_MEIP);
          const got = plic.read(claim(0), 4);
          assert.equal(asserted, got !== 0);
          if (got !== 0) assert.ok(plic.read(priority(got), 4) > thr);
        },
      ),
    );
  });
});
