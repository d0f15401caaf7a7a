import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CAUSE_LOAD_GUEST_PAGE_FAULT, CAUSE_STORE_GUEST_PAGE_FAULT } from "../../machine/isa/csr-defs.js";
import { DRAM_BASE } from "../../machine/memory-map.js";
import { ACCESS_FETCH, ACCESS_LOAD, ACCESS_STORE } from "../../machine/mmu.js";
import { walkG } from "../../machine/mmu-g.js";
import { guestFrame } from "./addresses.js";
import { HYPERVISOR } from "./frames.js";
import { GStage, GStageRoots } from "./gstage.js";
import { P2M_R, P2M_RWX, P2M_X, P2m } from "./p2m.js";
import { makeHost } from "./test-support.js";

describe("G-stage tables (Sv32x4)", () => {
  it("hands out 16 KiB-aligned roots from the reserved region only", () => {
    const host = makeHost(256, 16);
    const roots = new GStageRoots(host.frames, 0, 4);
    const got = [roots.take(), roots.take(), roots.take(), roots.take()];
    assert.equal(roots.take(), undefined);
    for (const r of got) {
      assert.ok(r !== undefined && r % 4 === 0 && host.frames.indexOf(r) < 16);
      assert.equal(host.frames.ownerOf(r), HYPERVISOR);
    }
    assert.equal(new Set(got).size, 4);
    assert.throws(() => new GStageRoots(host.frames, 0, 5));
  });

  it("maps P2M frames so the hardware's G-stage walk finds them, with the P2M's permissions", () => {
    const host = makeHost(256, 16);
    const p2m = new P2m(1, host.frames, 16);
    p2m.populate(16);
    const root = new GStageRoots(host.frames, 0, 4).take();
    assert.ok(root !== undefined);
    const g = new GStage(host.frames, host.ram, root);
    const hgatp = g.hgatp(5);
    assert.equal(hgatp >>> 31, 1);
    assert.equal((hgatp >>> 22) & 0x7f, 5);
    const gpa = DRAM_BASE + 3 * 4096 + 0x123;
    assert.equal(walkG(host.bus, hgatp, gpa, ACCESS_LOAD, false, false), -(CAUSE_LOAD_GUEST_PAGE_FAULT + 1));
    const hf = p2m.lookup(guestFrame(gpa >>> 12));
    assert.equal(typeof hf, "number");
    g.map(gpa, hf as never, P2M_RWX);
    for (const a of [ACCESS_LOAD, ACCESS_STORE, ACCESS_FETCH] as const)
      assert.equal(walkG(host.bus, hgatp, gpa, a, false, false), (hf as number) * 4096 + 0x123);
    const ro = DRAM_BASE + 4 * 4096;
    g.map(ro, p2m.lookup(guestFrame(ro >>> 12)) as never, P2M_R | P2M_X);
    assert.ok(walkG(host.bus, hgatp, ro, ACCESS_LOAD, false, false) >= 0);
    assert.equal(walkG(host.bus, hgatp, ro, ACCESS_STORE, false, false), -(CAUSE_STORE_GUEST_PAGE_FAULT + 1));
    assert.equal(g.tableCount, 1);
    assert.equal(g.leaves, 2);
  });

  it("clear unmaps everything and gives the level-0 tables back", () => {
    const host = makeHost(256, 16);
    const p2m = new P2m(1, host.frames, 16);
    p2m.populate(16);
    const root = new GStageRoots(host.frames, 0, 4).take();
    assert.ok(root !== undefined);
    const g = new GStage(host.frames, host.ram, root);
    const hyp = host.frames.countOf(HYPERVISOR);
    g.map(DRAM_BASE, p2m.lookup(guestFrame(DRAM_BASE >>> 12)) as never, P2M_RWX);
    g.map(DRAM_BASE + 0x40_0000, p2m.lookup(guestFrame(DRAM_BASE >>> 12)) as never, P2M_RWX);
    assert.equal(host.frames.countOf(HYPERVISOR), hyp + 2);
    g.clear();
    assert.equal(host.frames.countOf(HYPERVISOR), hyp);
    assert.equal(g.leaf(DRAM_BASE), 0);
    assert.equal(
      walkG(host.bus, g.hgatp(1), DRAM_BASE, ACCESS_LOAD, false, false),
      -(CAUSE_LOAD_GUEST_PAGE_FAULT + 1),
    );
  });
});
