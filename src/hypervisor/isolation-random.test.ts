/**
 * Isolation against random guests (the arena and the property it checks: testing/isolation/arena.ts;
 * the generators: testing/isolation/random.ts): random instruction streams run in guest kernel mode,
 * and random SBI calls, must end sanely — still running, powered off, or crashed with a reason naming
 * the vCPU and the cause — and leave everything outside the guest as it was.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Arena, assertEndedSanely, MODES, pairs } from "./testing/isolation/arena.js";
import {
  mayDivert,
  randomCall,
  randomCallImage,
  randomImage,
  randomStream,
  SENTINEL,
} from "./testing/isolation/random.js";

for (const mode of MODES) {
  describe(`isolation, ${mode} mode`, () => {
    it("random instruction streams in guest kernel mode stay contained", () => {
      fc.assert(
        fc.property(randomStream, (s) => {
          const arena = new Arena(mode);
          const d = arena.add({ name: "random", kernel: randomImage(mode, s) });
          arena.run(20_000);
          assertEndedSanely(d);
          arena.assertIsolated();
        }),
        { numRuns: 30, seed: mode !== "pv" ? 0x1501 : 0x1502 },
      );
    });

    it("random hypercalls get SBI answers and touch nothing outside the caller", () => {
      fc.assert(
        fc.property(fc.array(randomCall, { minLength: 10, maxLength: 40 }), (calls) => {
          const arena = new Arena(mode);
          const d = arena.add({ name: "random-calls", kernel: randomCallImage(calls) });
          arena.run(50_000);
          assertEndedSanely(d);
          arena.assertIsolated();
          const got = pairs(d, calls.length);
          for (const [i, c] of calls.entries()) {
            if (got[i][0] === (SENTINEL | 0)) break; // not reached (the guest stopped, or the limit)
            if (c.eid > 8) assert.ok(got[i][0] <= 0 && got[i][0] >= -8, `call ${i}: a0 = ${got[i][0]}`);
            if (mayDivert(c, mode)) break;
          }
        }),
        { numRuns: 30, seed: mode !== "pv" ? 0x2501 : 0x2502 },
      );
    });
  });
}
