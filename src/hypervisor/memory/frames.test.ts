import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { PAGE_SIZE } from "../../machine/params.js";
import { type HostFrame, hostFrame, hostPhysOf } from "./addresses.js";
import { MemoryError, OutOfFramesError, OwnershipError } from "./errors.js";
import { FrameAllocator, HYPERVISOR, type Owner } from "./frames.js";
import { makeHost } from "./test-support.js";

/** Largest number of successive handed-out frames that are physically adjacent in sequence. */
function longestAdjacentRun(frames: readonly number[]): number {
  let best = frames.length > 0 ? 1 : 0;
  let run = 1;
  for (let i = 1; i < frames.length; i++) {
    run = Math.abs(frames[i] - frames[i - 1]) === 1 ? run + 1 : 1;
    best = Math.max(best, run);
  }
  return best;
}

describe("host-frame allocator", () => {
  it("keeps the reserved region for the hypervisor and never hands it out", () => {
    const { frames } = makeHost(64, 8);
    assert.equal(frames.freeCount, 56);
    assert.equal(frames.countOf(HYPERVISOR), 8);
    const got = frames.alloc(56, 1);
    for (const hf of got) assert.ok(frames.indexOf(hf) >= 8, `frame ${hf} is in the reserved region`);
    for (let i = 0; i < 8; i++) assert.equal(frames.ownerOfIndex(i), HYPERVISOR);
    assert.throws(() => frames.free([frames.frameAt(0)], HYPERVISOR), OwnershipError);
  });

  it("hands out successive frames that are never physically adjacent while others are free", () => {
    for (const seed of [1, 2, 3, 99, 12345]) {
      const { frames } = makeHost(256, 16, seed);
      const order: number[] = [];
      // Chunks of varied size, so the rule is seen to hold across calls as well as within one.
      for (const n of [1, 7, 30, 2, 60, 40, 50]) order.push(...frames.alloc(n, 3));
      assert.equal(longestAdjacentRun(order), 1, `seed ${seed}: adjacent frames handed out in a row`);
    }
  });

  it("keeps scattering after frees and reallocations", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.array(fc.nat(40), { minLength: 1, maxLength: 20 }),
        (seed, sizes) => {
          const { frames } = makeHost(256, 0, seed);
          const order: number[] = [];
          for (const n of sizes) {
            if (n > frames.freeCount - 3) break; // the rule may bend only when the last few frames remain
            const got = frames.alloc(n, 1);
            order.push(...got);
            if (n % 3 === 0) frames.free(got.slice(0, n >> 1), 1);
          }
          assert.ok(longestAdjacentRun(order) <= 1, `adjacent frames in a row: ${order}`);
        },
      ),
    );
  });

  it("gives the same frames for the same seed and different frames for another", () => {
    const a = makeHost(128, 4, 7).frames.alloc(20, 1);
    const b = makeHost(128, 4, 7).frames.alloc(20, 1);
    const c = makeHost(128, 4, 8).frames.alloc(20, 1);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it("never hands out a frame twice and keeps its counts balanced under random alloc and free", () => {
    const owners: Owner[] = [0, 1, 2, HYPERVISOR];
    const op = fc.oneof(
      fc.record({ kind: fc.constant("alloc" as const), owner: fc.constantFrom(...owners), n: fc.nat(30) }),
      fc.record({ kind: fc.constant("free" as const), owner: fc.constantFrom(...owners), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const { frames } = makeHost(128, 8);
        const held = new Map<Owner, HostFrame[]>(owners.map((o) => [o, []]));
        const outstanding = new Set<number>();
        for (const o of ops) {
          if (o.kind === "alloc") {
            if (o.n > frames.freeCount) {
              assert.throws(() => frames.alloc(o.n, o.owner), OutOfFramesError);
              continue;
            }
            for (const hf of frames.alloc(o.n, o.owner)) {
              assert.ok(!outstanding.has(hf), `frame ${hf} handed out twice`);
              outstanding.add(hf);
              held.get(o.owner)!.push(hf);
            }
          } else {
            const mine = held.get(o.owner)!;
            const k = mine.length === 0 ? 0 : o.pick % mine.length;
            const gone = mine.splice(0, k);
            frames.free(gone, o.owner);
            for (const hf of gone) outstanding.delete(hf);
          }
          let owned = 0;
          for (const [owner, list] of held) {
            const reserved = owner === HYPERVISOR ? 8 : 0;
            assert.equal(frames.countOf(owner), list.length + reserved);
            for (const hf of list) assert.equal(frames.ownerOf(hf), owner);
            owned += list.length;
          }
          assert.equal(frames.freeCount + owned + 8, frames.total);
        }
      }),
    );
  });

  it("refuses a double free, a free of another owner's frame and a duplicated frame, freeing nothing", () => {
    const { frames } = makeHost(64, 4);
    const a = frames.alloc(3, 1);
    const b = frames.alloc(2, 2);
    assert.throws(
      () => frames.free([a[0], b[0]], 1),
      /domain 1 does not own host frame .* belongs to domain 2/,
    );
    assert.equal(frames.countOf(1), 3, "the valid frame before the bad one was not freed");
    assert.throws(() => frames.free([a[1], a[1]], 1), /appears twice/);
    frames.free([a[0]], 1);
    assert.throws(() => frames.free([a[0]], 1), /already free \(double free\)/);
    assert.throws(() => frames.free([b[0]], HYPERVISOR), OwnershipError);
    assert.throws(() => frames.free([hostFrame(0x1234)], 1), /not in RAM/);
    assert.equal(frames.countOf(2), 2);
  });

  it("says how many frames were asked and how many are free when it runs out, taking none", () => {
    const { frames } = makeHost(32, 2);
    frames.alloc(25, 1);
    const err = (() => {
      try {
        frames.alloc(10, 4);
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof OutOfFramesError);
    assert.equal(err.code, "ENOMEM");
    assert.equal(err.requested, 10);
    assert.equal(err.available, 5);
    assert.match(err.message, /domain 4 asked for 10 frame\(s\) but only 5 are free/);
    assert.equal(frames.freeCount, 5);
    assert.equal(frames.countOf(4), 0);
  });

  it("zeroes a frame before handing it to its next owner", () => {
    const { ram, frames } = makeHost(16, 0);
    const first = frames.alloc(16, 1);
    for (const hf of first)
      ram.u8.fill(0xa5, hostPhysOf(hf) - ram.base, hostPhysOf(hf) - ram.base + PAGE_SIZE);
    frames.free(first, 1);
    const second = frames.alloc(16, 2);
    for (const hf of second) {
      const off = hostPhysOf(hf) - ram.base;
      assert.ok(
        ram.u8.subarray(off, off + PAGE_SIZE).every((b) => b === 0),
        `frame ${hf} kept data of domain 1`,
      );
    }
  });

  it("rejects configurations and requests that make no sense", () => {
    const { ram } = makeHost(16, 0);
    assert.throws(() => new FrameAllocator(ram, { reservedFrames: 17 }), MemoryError);
    const frames = new FrameAllocator(ram);
    assert.throws(() => frames.alloc(-1, 1), /not a frame count/);
    assert.throws(() => frames.alloc(1, -3), /not a domain id/);
  });
});
