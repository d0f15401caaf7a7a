import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { UART0_BASE } from "../../machine/memory-map.js";
import { PAGE_SIZE } from "../../machine/params.js";
import {
  type GuestFrame,
  gfnOf,
  guestFrame,
  guestPhys,
  guestPhysOf,
  type HostFrame,
  hostPhysOf,
} from "./addresses.js";
import { MemoryError, OutOfFramesError, OwnershipError } from "./errors.js";
import { HYPERVISOR } from "./frames.js";
import { GUEST_RAM_BASE_GFN, isP2mFault, P2M_R, P2M_RWX, P2M_W, P2M_X, P2m } from "./p2m.js";
import { guestWrite, makeHost } from "./test-support.js";

const gfn = (i: number): GuestFrame => guestFrame(GUEST_RAM_BASE_GFN + i);

/** The host frame behind a gfn the test knows is mapped. */
function frameOf(p2m: P2m, g: GuestFrame): HostFrame {
  const r = p2m.lookup(g);
  if (isP2mFault(r)) throw new Error(`gfn 0x${g.toString(16)} unexpectedly faults: ${r.detail}`);
  return r;
}

describe("P2M", () => {
  it("shows the guest contiguous RAM from 0x8000_0000 backed by scattered host frames", () => {
    const { frames } = makeHost();
    const p2m = new P2m(1, frames, 64);
    const gfns = p2m.populate(64);
    assert.deepEqual(
      gfns,
      Array.from({ length: 64 }, (_, i) => gfn(i)),
    );
    assert.equal(gfns[0], 0x80000);
    const hpa = p2m.translate(guestPhys(0x8000_0123));
    assert.ok(!isP2mFault(hpa));
    assert.equal(hpa, hostPhysOf(frameOf(p2m, gfn(0)), 0x123));
    for (let i = 1; i < 64; i++) {
      const a = frameOf(p2m, gfn(i - 1));
      const b = frameOf(p2m, gfn(i));
      assert.notEqual(Math.abs(a - b), 1, `gfns ${i - 1} and ${i} are backed by adjacent host frames`);
    }
    assert.equal(frames.countOf(1), 64);
  });

  it("answers faults that say why: absent, outside, mmio and permission", () => {
    const { frames } = makeHost();
    const p2m = new P2m(2, frames, 8);
    p2m.populate(4);
    p2m.mapMmio(guestPhys(UART0_BASE), 0x100, "uart0");
    const absent = p2m.translate(guestPhysOf(gfn(5)));
    assert.ok(isP2mFault(absent) && absent.fault === "absent");
    const outside = p2m.lookup(gfn(8));
    assert.ok(isP2mFault(outside) && outside.fault === "outside");
    const mmio = p2m.translate(guestPhys(UART0_BASE + 5));
    assert.ok(isP2mFault(mmio) && mmio.fault === "mmio" && mmio.detail === "uart0");
    assert.deepEqual(p2m.entry(gfnOf(guestPhys(UART0_BASE))), { type: "mmio-trap", device: "uart0" });
    p2m.setPerms(gfn(1), P2M_R | P2M_X);
    const denied = p2m.translate(guestPhysOf(gfn(1), 8), P2M_W);
    assert.ok(isP2mFault(denied) && denied.fault === "permission");
    assert.ok(!isP2mFault(p2m.translate(guestPhysOf(gfn(1), 8), P2M_R)));
    assert.deepEqual(p2m.entry(gfn(5)), { type: "absent" });
    assert.throws(() => p2m.mapMmio(guestPhysOf(gfn(2)), PAGE_SIZE, "bad"), /overlaps guest RAM/);
    assert.throws(() => p2m.mapMmio(guestPhys(UART0_BASE), PAGE_SIZE, "again"), /overlaps uart0/);
  });

  it("gives ballooned-out frames back to the allocator and maps fresh zeroed ones on deflate", () => {
    const host = makeHost();
    const p2m = new P2m(1, host.frames, 16);
    p2m.populate(16);
    guestWrite(host, p2m, gfn(3), 0, 0xdeadbeef);
    const free0 = host.frames.freeCount;
    const old = frameOf(p2m, gfn(3));
    assert.equal(p2m.remove([gfn(3), gfn(4)]), 2);
    assert.equal(host.frames.freeCount, free0 + 2);
    assert.equal(host.frames.ownerOf(old), undefined);
    assert.equal(p2m.populated, 14);
    const gone = p2m.lookup(gfn(3));
    assert.ok(isP2mFault(gone) && gone.fault === "absent");
    p2m.addBack([gfn(3)]);
    const hpa = p2m.translate(guestPhysOf(gfn(3)));
    assert.ok(!isP2mFault(hpa));
    assert.equal(host.bus.read(hpa, 4), 0, "a deflated frame starts zeroed");
    assert.throws(() => p2m.addBack([gfn(3)]), /already mapped/);
    assert.throws(() => p2m.remove([gfn(4)]), /not mapped/);
    assert.throws(() => p2m.addBack([gfn(16)]), /outside guest RAM/);
    assert.deepEqual(p2m.populate(1), [gfn(4)], "populate fills the lowest hole");
    assert.throws(() => p2m.populate(1), /passes maxmem/);
  });

  it("never maps a host frame the domain does not own, and says so loudly", () => {
    const { frames } = makeHost();
    const a = new P2m(1, frames, 8);
    const b = new P2m(2, frames, 8);
    b.populate(2);
    a.populate(1);
    const bFrame = frameOf(b, gfn(0));
    assert.throws(
      () => a.mapOwned(gfn(5), bFrame),
      /domain 1 does not own host frame .* belongs to domain 2/,
    );
    const [hyp] = frames.alloc(1, HYPERVISOR);
    assert.throws(() => a.mapOwned(gfn(5), hyp), OwnershipError);
    assert.throws(() => a.mapOwned(gfn(5), frames.frameAt(0)), /belongs to the hypervisor/);
    const [mine] = frames.alloc(1, 1);
    a.mapOwned(gfn(5), mine);
    assert.equal(a.lookup(gfn(5)), mine);
    assert.throws(() => a.mapOwned(gfn(6), mine), /already backs gfn/);
    assert.equal(a.gfnOf(mine), gfn(5));
  });

  it("catches a frame freed behind its back the next time the gfn is used", () => {
    const { frames } = makeHost();
    const p2m = new P2m(1, frames, 4);
    p2m.populate(2);
    frames.free([frameOf(p2m, gfn(1))], 1);
    assert.throws(() => p2m.lookup(gfn(1)), /domain 1 does not own host frame .* is free/);
  });

  it("takes nothing when the allocator cannot supply a whole populate", () => {
    const { frames } = makeHost(32, 0);
    const p2m = new P2m(1, frames, 64);
    assert.throws(() => p2m.populate(40), OutOfFramesError);
    assert.equal(p2m.populated, 0);
    assert.equal(frames.freeCount, 32);
  });

  it("iterates mapped frames in gfn order and tells listeners before a frame is freed", () => {
    const { frames } = makeHost();
    const p2m = new P2m(1, frames, 8);
    p2m.populate(8);
    p2m.remove([gfn(2)]);
    const seen: number[] = [];
    p2m.forEach((g, hf, perms) => {
      seen.push(g - GUEST_RAM_BASE_GFN);
      assert.equal(frames.ownerOf(hf), 1);
      assert.equal(perms, P2M_RWX);
    });
    assert.deepEqual(seen, [0, 1, 3, 4, 5, 6, 7]);
    const events: string[] = [];
    const target = frameOf(p2m, gfn(5));
    p2m.onChange((gs) => {
      for (const g of gs) events.push(`${g - GUEST_RAM_BASE_GFN}:${frames.ownerOf(target)}`);
    });
    p2m.remove([gfn(5)]);
    assert.deepEqual(events, ["5:1"], "the listener ran while the frame was still the domain's");
    const calls: number[][] = [];
    p2m.onChange((gs) => calls.push(gs.map((g) => g - GUEST_RAM_BASE_GFN)));
    p2m.remove([gfn(6), gfn(7)]);
    assert.deepEqual(calls, [[6, 7]], "one operation, one call with every gfn it changed");
    p2m.release();
    assert.equal(frames.countOf(1), 0);
    assert.equal(p2m.populated, 0);
  });

  it("rejects a maxmem that does not fit above 0x8000_0000", () => {
    const { frames } = makeHost();
    assert.throws(() => new P2m(1, frames, 0), MemoryError);
    assert.throws(() => new P2m(1, frames, 0x80001), /does not fit/);
  });

  it("keeps every mapped gfn on a distinct frame its domain owns, with counts balanced, under random operations", () => {
    const DOMS = 3;
    const MAX = 24;
    const op = fc.oneof(
      fc.record({ kind: fc.constant("populate" as const), dom: fc.nat(DOMS - 1), n: fc.nat(10) }),
      fc.record({
        kind: fc.constant("remove" as const),
        dom: fc.nat(DOMS - 1),
        pick: fc.array(fc.nat(MAX - 1), { maxLength: 6 }),
      }),
      fc.record({
        kind: fc.constant("add" as const),
        dom: fc.nat(DOMS - 1),
        pick: fc.array(fc.nat(MAX - 1), { maxLength: 6 }),
      }),
      fc.record({
        kind: fc.constant("write" as const),
        dom: fc.nat(DOMS - 1),
        slot: fc.nat(MAX - 1),
        value: fc.nat(),
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.array(op, { maxLength: 50 }), (seed, ops) => {
        const host = makeHost(64, 4, seed);
        const p2ms = Array.from({ length: DOMS }, (_, d) => new P2m(d + 1, host.frames, MAX));
        // The model: what each guest last wrote at offset 0 of each of its gfns.
        const written = p2ms.map(() => new Map<number, number>());
        for (const o of ops) {
          const p2m = p2ms[o.dom];
          const mapped = (s: number) => !isP2mFault(p2m.lookup(gfn(s)));
          try {
            if (o.kind === "populate") {
              p2m.populate(o.n);
            } else if (o.kind === "remove") {
              const gs = [...new Set(o.pick)].filter(mapped);
              p2m.remove(gs.map(gfn));
              for (const s of gs) written[o.dom].delete(s);
            } else if (o.kind === "add") {
              p2m.addBack([...new Set(o.pick)].filter((s) => !mapped(s)).map(gfn));
            } else if (mapped(o.slot)) {
              guestWrite(host, p2m, gfn(o.slot), 0, o.value);
              written[o.dom].set(o.slot, o.value >>> 0);
            }
          } catch (e) {
            // Only running out of frames or passing maxmem is allowed, and it must change nothing.
            assert.ok(
              e instanceof MemoryError && (e.code === "ENOMEM" || /passes maxmem/.test(e.message)),
              String(e),
            );
          }
          const all = new Set<number>();
          let owned = 0;
          p2ms.forEach((p, d) => {
            let n = 0;
            p.forEach((g, hf) => {
              assert.equal(host.frames.ownerOf(hf), d + 1);
              assert.ok(!all.has(hf), `host frame ${hf} backs two gfns`);
              all.add(hf);
              assert.equal(p.gfnOf(hf), g);
              n++;
            });
            assert.equal(n, p.populated);
            assert.equal(host.frames.countOf(d + 1), p.populated);
            owned += n;
            for (const [s, v] of written[d]) {
              const hpa = p.translate(guestPhysOf(gfn(s)));
              assert.ok(!isP2mFault(hpa));
              assert.equal(host.bus.read(hpa, 4), v, `domain ${d + 1} gfn ${s} lost its data`);
            }
          });
          assert.equal(host.frames.freeCount + owned + 4, host.frames.total);
        }
      }),
    );
  });
});
