/**
 * Isolation against hostile guests, one at a time (the arena and the property it checks:
 * testing/isolation/arena.ts). Each hostile guest runs beside the victim; it must see exactly the SBI
 * error or fault the hypervisor owes it, or end `crashed` with a reason naming the vCPU and the cause,
 * and nothing outside it may change. The groups of hostile acts are in testing/isolation/ (memory.ts,
 * pv.ts, traps.ts, hypercalls.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DRAM_BASE } from "../machine/memory-map.js";
import { A, D, pte, R, V, W, X } from "./testing/hostile.js";
import {
  Arena,
  assertEndedSanely,
  gfnOf,
  type Hostile,
  MODES,
  ROOT,
  results,
  runAlone,
} from "./testing/isolation/arena.js";
import { HOSTILES } from "./testing/isolation/hostiles.js";
import { shadowHogImage } from "./testing/isolation/memory.js";
import { PLANT_WORDS, pinnedWrites } from "./testing/isolation/pv.js";
import { crashers } from "./testing/isolation/traps.js";

for (const mode of MODES) {
  describe(`isolation, ${mode} mode`, () => {
    for (const h of HOSTILES) {
      if (!h.modes.includes(mode)) continue;
      it(`hostile guest "${h.name}" is contained`, () => {
        runAlone(mode, h);
      });
    }

    it("a guest cannot exhaust host memory with the shadow tables it makes the hypervisor build", () => {
      const arena = new Arena(mode);
      const d = arena.add({ name: "shadow-hog", kernel: shadowHogImage(mode) });
      arena.run(2_000_000); // must not throw
      assertEndedSanely(d);
      if (d.state === "shutdown") assert.deepEqual(results(d, 2), [1, 2]);
      arena.assertIsolated();
    });

    if (mode !== "pv")
      it("a double fault's reason names the trap vector's address in hex", () => {
        const d = runAlone(mode, crashers.find((c) => c.name === "root-outside-ram") as Hostile);
        assert.equal(
          d.end?.reason,
          "vCPU 0: trap cause 1 at the trap vector itself (0x80000100): double fault",
        );
      });

    if (mode === "pv")
      it("the hypervisor never writes into a pinned table on the guest's behalf", () => {
        const d = runAlone(mode, pinnedWrites);
        const r = results(d, PLANT_WORDS);
        assert.notEqual(r[2], 0, "PV_PIN_TABLE of the shared page must be refused");
        assert.notEqual(r[10], 0, "DBCN_CONSOLE_READ into a pinned table must be refused");
        assert.notEqual(r[12], 0, "PV_REGISTER_SHARED of a pinned table must be refused");
        for (let i = 0; i < 1024; i++) {
          const e = (d.mem.read32(ROOT + 4 * i) ?? 0) & ~(A | D);
          assert.equal(e, i === 0x200 ? pte(gfnOf(DRAM_BASE), V | R | W | X) : 0, `root entry ${i}`);
        }
      });
  });
}
