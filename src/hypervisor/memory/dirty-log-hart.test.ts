/**
 * The dirty log against a real hart: stores through the store-TLB fast path mark RAM's bitmap only when
 * the TLB entry is filled, so the log is right only if every harvest (Ram.takeDirty) flushes the store
 * TLBs. A loop stores to one frame of each of two domains and stops at an ecall after every iteration,
 * where the host reads domain A's log: A's frame must be reported every time, B's kept for B.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run as translate } from "../../machine/dbt/engine.js";
import { run as interpret } from "../../machine/interpreter.js";
import { encode } from "../../machine/isa/encode.js";
import { Machine } from "../../machine/machine.js";
import { DRAM_BASE } from "../../machine/memory-map.js";
import { type GuestFrame, guestFrame, guestPhysOf } from "./addresses.js";
import { DirtyTracker } from "./dirty-log.js";
import { FrameAllocator } from "./frames.js";
import { GUEST_RAM_BASE_GFN, isP2mFault, P2m } from "./p2m.js";

const gfn = (i: number): GuestFrame => guestFrame(GUEST_RAM_BASE_GFN + i);
const ROUNDS = 5;

for (const [name, engine] of [
  ["interpreter", interpret],
  ["translator", translate],
] as const) {
  describe(`dirty log on a hart (${name})`, () => {
    it("reports a frame written again after every read, because each read flushes the store TLBs", () => {
      const m = new Machine({ ramBytes: 1024 * 1024, engine });
      // Frame 0 of RAM holds the code and belongs to the hypervisor's reserved region.
      const frames = new FrameAllocator(m.ram, { reservedFrames: 4, seed: 5 });
      const a = new P2m(1, frames, 8);
      const b = new P2m(2, frames, 8);
      a.populate(8);
      b.populate(8);
      const tracker = new DirtyTracker(m.ram, frames);
      const logA = tracker.logFor(a);
      const logB = tracker.logFor(b);
      logA.enable();
      logB.enable();
      const hpaA = a.translate(guestPhysOf(gfn(3), 0x40));
      const hpaB = b.translate(guestPhysOf(gfn(5), 0x80));
      assert.ok(!isP2mFault(hpaA) && !isP2mFault(hpaB));

      const code = [
        encode("sw", { rs1: 10, rs2: 11, imm: 0 }), // loop: sw a1, 0(a0)
        encode("sw", { rs1: 12, rs2: 11, imm: 0 }), //       sw a1, 0(a2)
        encode("ecall"), //                                  the host reads A's log here
        encode("addi", { rd: 11, rs1: 11, imm: 1 }), //      a1 += 1
        encode("jal", { rd: 0, imm: -16 }), //               j loop
      ];
      m.ram.load(DRAM_BASE, new Uint8Array(new Int32Array(code).buffer));
      const h = m.harts[0];
      h.reset(DRAM_BASE);
      h.x[10] = hpaA | 0;
      h.x[11] = 100;
      h.x[12] = hpaB | 0;
      const reads: number[][] = [];
      h.mTrapHook = (hart) => {
        reads.push(logA.peekAndClear().map((g) => g - GUEST_RAM_BASE_GFN));
        hart.pc = (hart.pc + 4) >>> 0;
        if (reads.length === ROUNDS) m.requestExit({ kind: "poweroff", code: 0 });
        return true;
      };
      m.runSync({ maxInsns: 10_000 });

      assert.deepEqual(reads, Array(ROUNDS).fill([3]));
      assert.deepEqual(
        logB.peekAndClear().map((g) => g - GUEST_RAM_BASE_GFN),
        [5],
      );
      assert.equal(m.bus.read(hpaA, 4), 100 + ROUNDS - 1);
      assert.equal(m.bus.read(hpaB, 4), 100 + ROUNDS - 1);
    });
  });
}
