/**
 * Isolation of memory between domains: whatever one domain's memory operations do — populate, balloon,
 * writes through its P2M, attempts to map or free another's frames — the other domain's memory (its
 * mapping and every byte of its frames) hashes the same before and after.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type GuestFrame, guestFrame, guestPhysOf } from "./addresses.js";
import { DirtyTracker } from "./dirty-log.js";
import { MemoryError } from "./errors.js";
import { GUEST_RAM_BASE_GFN, isP2mFault, P2m } from "./p2m.js";
import { guestWrite, hashDomain, makeHost } from "./test-support.js";

const gfn = (i: number): GuestFrame => guestFrame(GUEST_RAM_BASE_GFN + i);

describe("memory isolation", () => {
  it("leaves another domain's memory unchanged whatever one domain's memory operations are", () => {
    const MAX = 32;
    const op = fc.oneof(
      fc.record({ kind: fc.constant("populate" as const), n: fc.nat(12) }),
      fc.record({ kind: fc.constant("remove" as const), pick: fc.array(fc.nat(MAX - 1), { maxLength: 8 }) }),
      fc.record({ kind: fc.constant("add" as const), pick: fc.array(fc.nat(MAX - 1), { maxLength: 8 }) }),
      fc.record({
        kind: fc.constant("write" as const),
        slot: fc.nat(MAX + 4),
        off: fc.nat(4095),
        v: fc.nat(),
      }),
      fc.record({ kind: fc.constant("steal" as const), victimSlot: fc.nat(MAX - 1), at: fc.nat(MAX - 1) }),
      fc.record({ kind: fc.constant("freeVictim" as const), victimSlot: fc.nat(MAX - 1) }),
      fc.record({ kind: fc.constant("peek" as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.array(op, { maxLength: 40 }), (seed, ops) => {
        const host = makeHost(96, 8, seed);
        const victim = new P2m(1, host.frames, MAX);
        victim.populate(MAX);
        for (let s = 0; s < MAX; s++) guestWrite(host, victim, gfn(s), (s * 52) & 4092, 0x1000_0000 + s);
        const attacker = new P2m(2, host.frames, MAX);
        const tracker = new DirtyTracker(host.ram, host.frames);
        const victimLog = tracker.logFor(victim);
        victimLog.enable();
        const attackerLog = tracker.logFor(attacker);
        attackerLog.enable();
        const before = hashDomain(host.ram, victim);

        for (const o of ops) {
          try {
            if (o.kind === "populate") attacker.populate(o.n);
            else if (o.kind === "remove") attacker.remove([...new Set(o.pick)].map(gfn));
            else if (o.kind === "add") attacker.addBack([...new Set(o.pick)].map(gfn));
            else if (o.kind === "write") {
              const hpa = attacker.translate(guestPhysOf(gfn(o.slot), o.off & ~3));
              if (!isP2mFault(hpa)) host.bus.write(hpa, 4, o.v);
            } else if (o.kind === "steal") {
              const f = victim.lookup(gfn(o.victimSlot));
              assert.ok(!isP2mFault(f));
              assert.throws(() => attacker.mapOwned(gfn(o.at), f), MemoryError);
            } else if (o.kind === "freeVictim") {
              const f = victim.lookup(gfn(o.victimSlot));
              assert.ok(!isP2mFault(f));
              assert.throws(() => host.frames.free([f], 2), /does not own/);
            } else attackerLog.peekAndClear();
          } catch (e) {
            // Refused requests are fine (that is the point); anything else is a bug.
            if (!(e instanceof MemoryError)) throw e;
          }
        }
        assert.equal(hashDomain(host.ram, victim), before);
        assert.deepEqual(victimLog.peekAndClear(), [], "the victim's log saw none of the attacker's writes");
        assert.equal(host.frames.countOf(1), MAX);
      }),
    );
  });
});
