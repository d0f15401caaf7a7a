import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MIP_MSIP, MIP_MTIP } from "../isa/csr-defs.js";
import { CLINT_MTIME, CLINT_MTIMECMP } from "../memory-map.js";
import { Clint } from "./clint.js";
import { recordingHarts } from "./recording-hart.js";

/** A clock the test moves by hand. */
class ManualClock {
  now = 0;
  mtime(): number {
    return this.now;
  }
}

function setup(harts = 2) {
  const clock = new ManualClock();
  const hs = recordingHarts(harts);
  let changes = 0;
  const clint = new Clint(hs, clock, () => changes++);
  return { clock, harts: hs, clint, changes: () => changes };
}

const cmpLo = (h: number) => CLINT_MTIMECMP + 8 * h;
const cmpHi = (h: number) => CLINT_MTIMECMP + 8 * h + 4;

describe("Clint", () => {
  it("sets and clears a hart's MSIP through its msip word", () => {
    const { clint, harts } = setup();
    clint.write(4, 4, 1);
    assert.equal(harts[1].has(MIP_MSIP), true);
    assert.equal(harts[0].has(MIP_MSIP), false);
    assert.equal(clint.read(4, 4), 1);
    clint.write(4, 4, 0xfffe); // only bit 0 is implemented
    assert.equal(harts[1].has(MIP_MSIP), false);
    assert.equal(clint.read(4, 4), 0);
  });

  it("reads mtime from the clock as two 32-bit halves", () => {
    const { clint, clock } = setup();
    clock.now = 5 * 2 ** 32 + 0x1234_5678;
    assert.equal(clint.read(CLINT_MTIME, 4), 0x1234_5678);
    assert.equal(clint.read(CLINT_MTIME + 4, 4), 5);
    assert.equal(clint.mtime(), clock.now);
  });

  it("resets mtimecmp to all ones, which never fires", () => {
    const { clint, clock, harts } = setup();
    assert.equal(clint.read(cmpLo(0), 4), 0xffff_ffff);
    assert.equal(clint.read(cmpHi(0), 4), 0xffff_ffff);
    assert.equal(clint.getTimecmp(0), Number.POSITIVE_INFINITY);
    clock.now = 2 ** 52;
    clint.update();
    assert.equal(harts[0].has(MIP_MTIP), false);
    assert.equal(clint.nextDeadline(), Number.POSITIVE_INFINITY);
  });

  it("raises MTIP once mtime reaches mtimecmp and lowers it when mtimecmp moves ahead", () => {
    const { clint, clock, harts } = setup();
    clint.write(cmpHi(1), 4, 0);
    clint.write(cmpLo(1), 4, 1000);
    assert.equal(clint.getTimecmp(1), 1000);
    clock.now = 999;
    clint.update();
    assert.equal(harts[1].has(MIP_MTIP), false);
    clock.now = 1000;
    clint.update();
    assert.equal(harts[1].has(MIP_MTIP), true);
    assert.equal(harts[0].has(MIP_MTIP), false);
    clint.write(cmpLo(1), 4, 2000);
    assert.equal(harts[1].has(MIP_MTIP), false);
  });

  it("tells the board after every mtimecmp write so it can end the time slice", () => {
    const { clint, changes } = setup();
    clint.write(cmpLo(0), 4, 10);
    clint.write(cmpHi(0), 4, 0);
    assert.equal(changes(), 2);
  });

  it("accepts the 64-bit halves in either order", () => {
    const { clint, clock, harts } = setup(1);
    clock.now = 3 * 2 ** 32;
    clint.write(cmpLo(0), 4, 7);
    clint.write(cmpHi(0), 4, 3);
    assert.equal(clint.getTimecmp(0), 3 * 2 ** 32 + 7);
    clint.setTimecmp(0, Number.POSITIVE_INFINITY);
    clint.write(cmpHi(0), 4, 3);
    clint.write(cmpLo(0), 4, 7);
    assert.equal(clint.getTimecmp(0), 3 * 2 ** 32 + 7);
    assert.equal(harts[0].has(MIP_MTIP), false);
    clock.now += 7;
    clint.update();
    assert.equal(harts[0].has(MIP_MTIP), true);
  });

  it("lets the guest write mtime without disturbing the clock", () => {
    const { clint, clock } = setup(1);
    clock.now = 100;
    clint.write(CLINT_MTIME + 4, 4, 1);
    clint.write(CLINT_MTIME, 4, 50);
    assert.equal(clint.mtime(), 2 ** 32 + 50);
    clock.now = 110;
    assert.equal(clint.read(CLINT_MTIME, 4), 60);
    assert.equal(clint.read(CLINT_MTIME + 4, 4), 1);
  });

  it("gives the next deadline in the clock's units, skipping those already past", () => {
    const { clint, clock } = setup(3);
    clock.now = 1000;
    clint.write(CLINT_MTIME, 4, 0); // guest mtime = clock - 1000
    clint.setTimecmp(0, 50); // guest time, clock 1050
    clint.setTimecmp(1, 20); // guest time, clock 1020
    clint.setTimecmp(2, 0); // already due
    assert.equal(clint.nextDeadline(), 1020);
    clock.now = 1030;
    assert.equal(clint.nextDeadline(), 1050);
  });

  it("serves SBI set_timer through setTimecmp, readable through MMIO", () => {
    const { clint, clock, harts, changes } = setup(1);
    clock.now = 10;
    clint.setTimecmp(0, 2 ** 40 + 3);
    assert.equal(clint.read(cmpLo(0), 4), 3);
    assert.equal(clint.read(cmpHi(0), 4), 2 ** 8);
    assert.equal(changes(), 1);
    clint.setTimecmp(0, 5);
    assert.equal(harts[0].has(MIP_MTIP), true);
    assert.throws(() => clint.setTimecmp(1, 0), /hart 1 does not exist/);
  });

  it("reads and writes single bytes of a register", () => {
    const { clint } = setup(1);
    clint.write(cmpLo(0), 1, 0x12);
    assert.equal(clint.read(cmpLo(0), 4), 0xffff_ff12);
    assert.equal(clint.read(cmpLo(0) + 1, 1), 0xff);
    assert.equal(clint.read(cmpLo(0), 2), 0xff12);
  });

  it("reads reserved words as zero and ignores writes to them", () => {
    const { clint, harts } = setup(1);
    clint.write(8, 4, 1); // msip of a hart that does not exist
    assert.equal(clint.read(8, 4), 0);
    assert.equal(clint.read(0x8000, 4), 0);
    assert.equal(harts[0].calls.length, 0);
  });
});
