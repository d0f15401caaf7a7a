import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { PAGE_SIZE } from "../../machine/params.js";
import { type GuestFrame, guestFrame, hostPhysOf } from "./addresses.js";
import { DirtyTracker } from "./dirty-log.js";
import { HYPERVISOR } from "./frames.js";
import { GUEST_RAM_BASE_GFN, P2M_R, P2m } from "./p2m.js";
import { guestWrite, makeHost } from "./test-support.js";

const gfn = (i: number): GuestFrame => guestFrame(GUEST_RAM_BASE_GFN + i);
const slots = (gs: readonly GuestFrame[]) => gs.map((g) => g - GUEST_RAM_BASE_GFN);

function twoDomains(frames = 16) {
  const host = makeHost();
  const a = new P2m(1, host.frames, frames);
  const b = new P2m(2, host.frames, frames);
  a.populate(frames);
  b.populate(frames);
  const tracker = new DirtyTracker(host.ram, host.frames);
  return { host, a, b, tracker, logA: tracker.logFor(a), logB: tracker.logFor(b) };
}

describe("dirty log", () => {
  it("reports exactly the guest frames each domain wrote, whichever domain is read first", () => {
    const { host, a, b, logA, logB } = twoDomains();
    logA.enable();
    logB.enable();
    guestWrite(host, a, gfn(3), 0, 1);
    guestWrite(host, a, gfn(9), 100, 2);
    guestWrite(host, b, gfn(3), 8, 3);
    guestWrite(host, b, gfn(15), 4092, 4);
    assert.deepEqual(slots(logA.peekAndClear()), [3, 9]);
    // Reading A cleared RAM's bitmap; B's writes were credited to B's log first.
    guestWrite(host, b, gfn(0), 0, 5);
    assert.deepEqual(slots(logB.peekAndClear()), [0, 3, 15]);
    assert.deepEqual(logA.peekAndClear(), []);
    assert.deepEqual(logB.peekAndClear(), []);
    guestWrite(host, a, gfn(9), 0, 6);
    assert.deepEqual(slots(logA.peekAndClear()), [9], "a frame is reported again after it is written again");
  });

  it("reports nothing written before enable, nor by a domain that is not logging, nor by the hypervisor", () => {
    const { host, a, b, logA, logB } = twoDomains();
    guestWrite(host, a, gfn(1), 0, 1);
    logA.enable();
    guestWrite(host, b, gfn(2), 0, 1);
    const [hyp] = host.frames.alloc(1, HYPERVISOR);
    host.bus.write(hostPhysOf(hyp), 4, 7);
    assert.deepEqual(logA.peekAndClear(), []);
    logB.enable();
    assert.deepEqual(logB.peekAndClear(), [], "B's earlier write was not kept for it");
    guestWrite(host, a, gfn(4), 0, 1);
    logA.disable();
    assert.throws(() => logA.peekAndClear(), /read while disabled/);
    logA.enable();
    assert.deepEqual(logA.peekAndClear(), [], "disable forgot what was accumulated");
  });

  it("reports a gfn whose mapping changed: ballooned out, added back, populated or made read-only", () => {
    const host = makeHost();
    const p2m = new P2m(1, host.frames, 16);
    p2m.populate(8);
    const tracker = new DirtyTracker(host.ram, host.frames);
    const log = tracker.logFor(p2m);
    log.enable();
    p2m.remove([gfn(2)]);
    p2m.populate(1);
    p2m.populate(1);
    p2m.setPerms(gfn(5), P2M_R);
    assert.deepEqual(slots(log.peekAndClear()), [2, 5, 8]);
  });

  it("sees stores that land anywhere in the frame, including its last word", () => {
    const { host, a, logA } = twoDomains(4);
    logA.enable();
    guestWrite(host, a, gfn(1), PAGE_SIZE - 4, 0xffff_ffff);
    assert.deepEqual(slots(logA.peekAndClear()), [1]);
  });

  it("keeps each domain's log equal to a model under random writes and reads by two domains", () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("write" as const),
        dom: fc.nat(1),
        slot: fc.nat(15),
        off: fc.nat(PAGE_SIZE - 4),
      }),
      fc.record({ kind: fc.constant("read" as const), dom: fc.nat(1) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const { host, a, b, logA, logB } = twoDomains();
        const doms = [
          { p2m: a, log: logA },
          { p2m: b, log: logB },
        ];
        for (const d of doms) d.log.enable();
        const model = [new Set<number>(), new Set<number>()];
        for (const o of ops) {
          if (o.kind === "write") {
            guestWrite(host, doms[o.dom].p2m, gfn(o.slot), o.off, o.slot);
            model[o.dom].add(o.slot);
          } else {
            const want = [...model[o.dom]].sort((x, y) => x - y);
            assert.deepEqual(slots(doms[o.dom].log.peekAndClear()), want);
            model[o.dom].clear();
          }
        }
      }),
    );
  });

  it("refuses a P2M of another allocator and a second P2M for the same domain", () => {
    const { host, tracker, a } = twoDomains();
    const other = makeHost();
    assert.throws(() => tracker.logFor(new P2m(3, other.frames, 4)), /another allocator/);
    assert.throws(() => tracker.logFor(new P2m(1, host.frames, 4)), /already has a log/);
    assert.equal(tracker.logFor(a), tracker.logFor(a));
  });
});
