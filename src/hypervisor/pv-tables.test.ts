/**
 * The PV extension's page-table calls (docs/pv-abi.md, "Page tables"; the environment:
 * testing/pv-env.ts): PV_PIN_TABLE, PV_MMU_UPDATE, PV_UNPIN_TABLE and PV_SET_BASEPTR. Each rule of the
 * ABI is checked to refuse with its error and to change nothing; what is accepted must reach the guest's
 * table and the shadows.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  SBI_ERR_DENIED,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_INVALID_PARAM,
  SBI_SUCCESS,
} from "../machine/firmware/sbi-defs.js";
import { SATP_MODE_SV32 } from "../machine/isa/csr-defs.js";
import { DRAM_BASE } from "../machine/memory-map.js";
import { ACCESS_LOAD, ACCESS_STORE, PTE_A, PTE_D, PTE_R, PTE_V, PTE_W, PTE_X } from "../machine/mmu.js";
import { PAGE_SIZE } from "../machine/params.js";
import { hostPhysOf } from "./memory/addresses.js";
import { KIND_S } from "./memory/shadow.js";
import {
  PV_MMU_BATCH_MAX,
  PV_MMU_UPDATE,
  PV_PIN_TABLE,
  PV_REGISTER_SHARED,
  PV_SET_BASEPTR,
  PV_UNPIN_TABLE,
  pvCall,
} from "./pv.js";
import {
  at,
  DATA,
  Env,
  err,
  G,
  GUEST_FRAMES,
  L0A,
  L0B,
  MMIO_GFN,
  OK,
  OUTSIDE,
  pte,
  REQS,
  ROOT,
  ROOT2,
  SHARED,
  va,
} from "./testing/pv-env.js";

describe("PV_PIN_TABLE", () => {
  it("pins an empty leaf table, then a root whose only pointer is to it", () => {
    const e = new Env();
    assert.deepEqual(e.pin(L0A, 0), OK);
    assert.equal(e.pv.pinned.get(L0A), 0);
    assert.equal(e.host.flushes, 1);
    e.set(ROOT, 0, pte(L0A, PTE_V));
    e.set(ROOT, 1, pte(G, PTE_V | PTE_R | PTE_W | PTE_X)); // a megapage wholly inside guest RAM
    assert.deepEqual(e.pin(ROOT, 1), OK);
    assert.equal(e.pv.pinned.get(ROOT), 1);
  });

  it("refuses bad arguments, frames outside RAM, and a frame already pinned", () => {
    const e = new Env();
    assert.deepEqual(e.call(PV_PIN_TABLE, L0A * PAGE_SIZE + 4, 0), err(SBI_ERR_INVALID_PARAM));
    assert.deepEqual(e.pin(L0A, 2), err(SBI_ERR_INVALID_PARAM));
    assert.deepEqual(e.pin(OUTSIDE, 0), err(SBI_ERR_INVALID_ADDRESS));
    assert.deepEqual(e.pin(MMIO_GFN, 0), err(SBI_ERR_INVALID_ADDRESS));
    assert.deepEqual(e.pin(G + GUEST_FRAMES, 0), err(SBI_ERR_INVALID_ADDRESS));
    assert.equal(e.pv.pinned.size, 0);
    assert.deepEqual(e.pin(L0A, 0), OK);
    assert.deepEqual(e.pin(L0A, 0), err(SBI_ERR_DENIED));
    assert.deepEqual(e.pin(L0A, 1), err(SBI_ERR_DENIED));
  });

  const bad: [string, 0 | 1, number, number][] = [
    ["a leaf with W but not R", 0, pte(DATA, PTE_V | PTE_W), SBI_ERR_INVALID_PARAM],
    ["a leaf outside guest RAM", 0, pte(OUTSIDE, PTE_V | PTE_R), SBI_ERR_DENIED],
    ["a leaf past the end of guest RAM", 0, pte(G + GUEST_FRAMES, PTE_V | PTE_R), SBI_ERR_DENIED],
    ["a pointer in a level-0 table", 0, pte(DATA, PTE_V), SBI_ERR_INVALID_PARAM],
    ["a writable 4 KiB leaf on a pinned table", 0, pte(L0B, PTE_V | PTE_R | PTE_W), SBI_ERR_DENIED],
    ["a root megapage that is not 4 MiB aligned", 1, pte(G + 1, PTE_V | PTE_R), SBI_ERR_INVALID_PARAM],
    ["a root megapage not wholly in RAM", 1, pte(G + GUEST_FRAMES, PTE_V | PTE_R), SBI_ERR_DENIED],
    ["a root megapage on a hole with no device", 1, pte(0x4000_0000 >>> 12, PTE_V | PTE_R), SBI_ERR_DENIED],
    ["a root W-without-R entry", 1, pte(G, PTE_V | PTE_W), SBI_ERR_INVALID_PARAM],
    ["a root pointer to an unpinned table", 1, pte(DATA, PTE_V), SBI_ERR_DENIED],
    ["a root pointer to a pinned root", 1, pte(ROOT2, PTE_V), SBI_ERR_DENIED],
    ["a root pointer outside RAM", 1, pte(OUTSIDE, PTE_V), SBI_ERR_DENIED],
  ];
  for (const [what, level, entry, error] of bad) {
    it(`refuses to pin a level-${level} table holding ${what}`, () => {
      const e = new Env();
      assert.deepEqual(e.pin(L0B, 0), OK);
      e.set(ROOT2, 0, pte(L0B, PTE_V));
      assert.deepEqual(e.pin(ROOT2, 1), OK);
      const t = G + 0x120;
      e.set(t, 700, entry);
      const before = e.snapshot();
      assert.deepEqual(e.pin(t, level), err(error));
      assert.equal(e.pv.pinned.has(t), false);
      assert.equal(e.snapshot(), before);
    });
  }

  it("accepts invalid entries whatever their other bits, and read-only leaves on pinned tables", () => {
    const e = new Env();
    assert.deepEqual(e.pin(L0B, 0), OK);
    e.set(L0A, 0, 0xffff_fffe);
    e.set(L0A, 1, pte(L0B, PTE_V | PTE_R));
    e.set(L0A, 2, pte(DATA, PTE_V | PTE_R | PTE_W | PTE_D));
    assert.deepEqual(e.pin(L0A, 0), OK);
  });

  it("accepts device registers: a leaf on a device page, a megapage over devices (drivers' MMIO)", () => {
    const e = new Env();
    e.set(L0A, 5, pte(MMIO_GFN, PTE_V | PTE_R | PTE_W));
    assert.deepEqual(e.pin(L0A, 0), OK);
    e.set(ROOT2, 1, pte(MMIO_GFN & ~1023, PTE_V | PTE_R | PTE_W));
    assert.deepEqual(e.pin(ROOT2, 1), OK);
  });

  it("refuses a frame a pinned table maps writable with a 4 KiB leaf, until that leaf is read-only", () => {
    const e = new Env();
    e.standardTables([[3, pte(DATA, PTE_V | PTE_R | PTE_W)]]);
    assert.deepEqual(e.pin(DATA, 0), err(SBI_ERR_DENIED));
    assert.deepEqual(e.update([[at(L0A, 3), pte(DATA, PTE_V | PTE_R)]]), { error: SBI_SUCCESS, value: 1 });
    assert.deepEqual(e.pin(DATA, 0), OK);
  });

  it("does not count a writable megapage (the shadow keeps pinned frames read-only instead)", () => {
    const e = new Env();
    e.standardTables();
    assert.deepEqual(e.update([[at(ROOT, 4), pte(G, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)]]), {
      error: SBI_SUCCESS,
      value: 1,
    });
    assert.deepEqual(e.pin(DATA, 0), OK);
    assert.deepEqual(e.call(PV_SET_BASEPTR, ROOT * PAGE_SIZE), OK);
    const s = e.v.satp;
    assert.deepEqual(e.v.shadow.fill(va(4, DATA - G), ACCESS_STORE, KIND_S, false, s), {
      kind: "guest-fault",
      cause: 15,
    });
    assert.deepEqual(e.v.shadow.fill(va(4, 5), ACCESS_STORE, KIND_S, false, s), { kind: "mapped" });
    assert.equal(e.shadowLeaf(va(4, DATA - G)) & PTE_W, 0, "the megapage's pinned page is read-only");
    assert.equal(e.shadowLeaf(va(4, L0A - G)) & PTE_W, 0);
    assert.equal(e.shadowLeaf(va(4, 5)) & PTE_W, PTE_W);
  });

  it("refuses a leaf table that maps itself writable (once pinned it would be a writable pinned table)", () => {
    const e = new Env();
    e.set(L0B, 9, pte(L0B, PTE_V | PTE_R | PTE_W));
    assert.deepEqual(e.pin(L0B, 0), err(SBI_ERR_DENIED));
    assert.equal(e.pv.writable.size, 0);
    e.set(L0B, 9, pte(L0B, PTE_V | PTE_R));
    assert.deepEqual(e.pin(L0B, 0), OK, "read-only, it may");
  });

  it("refuses a page registered as any vCPU's shared page (the hypervisor writes it on every trap)", () => {
    const e = new Env(2);
    e.h.x[10] = SHARED;
    assert.deepEqual(pvCall(e.host, e.d.vcpus[1], e.h, PV_REGISTER_SHARED), OK);
    assert.deepEqual(e.pin(SHARED >>> 12, 0), err(SBI_ERR_DENIED));
    assert.equal(e.pv.pinned.size, 0);
  });

  it("write-protects the frame in every vCPU's existing shadows", () => {
    const e = new Env(2);
    const [v0, v1] = e.d.vcpus;
    // Paging off (as a PV kernel starts): the bare shadows map DATA writable.
    for (const v of [v0, v1]) {
      assert.deepEqual(v.shadow.fill(DATA * PAGE_SIZE, ACCESS_STORE, KIND_S, false, 0), { kind: "mapped" });
      assert.equal(e.hw(DATA * PAGE_SIZE, ACCESS_STORE, v), hostPhysOf(e.hostFrame(DATA)));
    }
    assert.deepEqual(e.pin(DATA, 0), OK);
    for (const v of [v0, v1]) {
      assert.ok(e.hw(DATA * PAGE_SIZE + 8, ACCESS_STORE, v) < 0, "no store reaches a pinned table");
      assert.equal(e.hw(DATA * PAGE_SIZE + 8, ACCESS_LOAD, v), hostPhysOf(e.hostFrame(DATA), 8));
      assert.equal(e.hw((DATA + 1) * PAGE_SIZE, ACCESS_STORE, v), hostPhysOf(e.hostFrame(DATA + 1)));
    }
  });
});

describe("PV_MMU_UPDATE", () => {
  let e: Env;
  beforeEach(() => {
    e = new Env();
    e.standardTables();
  });

  it("applies valid requests to the guest's tables and counts them", () => {
    const reqs = [
      [at(L0A, 3), pte(DATA + 3, PTE_V | PTE_R | PTE_W)],
      [at(L0A, 4), pte(L0A, PTE_V | PTE_R)], // a pinned table, read-only: fine
      [at(L0A, 5), 0xffff_fff0], // invalid: anything goes
      [at(ROOT, 4), pte(G, PTE_V | PTE_R | PTE_X)],
      [at(ROOT, 1), pte(L0A, PTE_V)],
    ] as const;
    const flushes = e.host.flushes;
    assert.deepEqual(e.update(reqs), { error: SBI_SUCCESS, value: reqs.length });
    for (const [ptr, val] of reqs) assert.equal(e.mem.read32(ptr)! >>> 0, val);
    assert.equal(e.pv.updates, reqs.length);
    assert.equal(e.pv.refused, 0);
    assert.equal(e.host.flushes, flushes + 1);
  });

  const refusals: [string, number, number, number][] = [
    ["ptr not 4-byte aligned", at(L0A, 3) + 2, pte(DATA, PTE_V | PTE_R), SBI_ERR_INVALID_PARAM],
    ["ptr in a page that is not a pinned table", at(DATA, 3), pte(DATA, PTE_V | PTE_R), SBI_ERR_DENIED],
    ["ptr outside guest RAM", at(OUTSIDE, 0), 0, SBI_ERR_DENIED],
    ["a leaf outside guest RAM", at(L0A, 3), pte(OUTSIDE, PTE_V | PTE_R), SBI_ERR_DENIED],
    ["a leaf with W but not R", at(L0A, 3), pte(DATA, PTE_V | PTE_W | PTE_X), SBI_ERR_INVALID_PARAM],
    ["a writable leaf on a pinned table", at(L0A, 3), pte(L0A, PTE_V | PTE_R | PTE_W), SBI_ERR_DENIED],
    ["a writable leaf on the pinned root", at(L0A, 3), pte(ROOT, PTE_V | PTE_R | PTE_W), SBI_ERR_DENIED],
    ["a pointer in a level-0 table", at(L0A, 3), pte(L0A, PTE_V), SBI_ERR_INVALID_PARAM],
    ["a misaligned root megapage", at(ROOT, 4), pte(G + 0x200, PTE_V | PTE_R), SBI_ERR_INVALID_PARAM],
    ["a root megapage past guest RAM", at(ROOT, 4), pte(G + GUEST_FRAMES, PTE_V | PTE_R), SBI_ERR_DENIED],
    ["a root pointer to an unpinned table", at(ROOT, 4), pte(L0B, PTE_V), SBI_ERR_DENIED],
    ["a root pointer to a root", at(ROOT, 4), pte(ROOT, PTE_V), SBI_ERR_DENIED],
    ["a root W-without-R entry", at(ROOT, 4), pte(G, PTE_V | PTE_W), SBI_ERR_INVALID_PARAM],
  ];
  for (const [what, ptr, val, error] of refusals) {
    it(`refuses ${what}, changing nothing`, () => {
      e.mem.write32(REQS, ptr);
      e.mem.write32(REQS + 4, val);
      const before = e.snapshot();
      const flushes = e.host.flushes;
      assert.deepEqual(e.call(PV_MMU_UPDATE, REQS, 1), err(error, 0));
      assert.equal(e.snapshot(), before);
      assert.equal(e.pv.refused, 1);
      assert.equal(e.pv.updates, 0);
      assert.equal(e.host.flushes, flushes, "nothing changed: no flush");
    });
  }

  it("stops at the first refused request of a batch and reports how many were done", () => {
    const reqs = [
      [at(L0A, 1), pte(DATA + 1, PTE_V | PTE_R)],
      [at(L0A, 2), pte(DATA + 2, PTE_V | PTE_R | PTE_W)],
      [at(L0A, 3), pte(OUTSIDE, PTE_V | PTE_R)],
      [at(L0A, 4), pte(DATA + 4, PTE_V | PTE_R)],
    ] as const;
    assert.deepEqual(e.update(reqs), err(SBI_ERR_DENIED, 2));
    assert.equal(e.get(L0A, 1), reqs[0][1]);
    assert.equal(e.get(L0A, 2), reqs[1][1]);
    assert.equal(e.get(L0A, 3), 0);
    assert.equal(e.get(L0A, 4), 0, "nothing after the refused request");
    assert.equal(e.pv.updates, 2);
    assert.equal(e.pv.refused, 1);
    assert.equal(e.pv.writable.get(DATA + 2), 1);
  });

  it("refuses a batch it cannot read: too long, outside RAM, unaligned, past the end of RAM", () => {
    const before = e.snapshot();
    assert.deepEqual(e.call(PV_MMU_UPDATE, REQS, PV_MMU_BATCH_MAX + 1), err(SBI_ERR_INVALID_PARAM));
    assert.deepEqual(e.call(PV_MMU_UPDATE, REQS, -1), err(SBI_ERR_INVALID_PARAM));
    assert.deepEqual(e.call(PV_MMU_UPDATE, OUTSIDE * PAGE_SIZE, 1), err(SBI_ERR_INVALID_ADDRESS));
    assert.deepEqual(e.call(PV_MMU_UPDATE, REQS + 2, 1), err(SBI_ERR_INVALID_ADDRESS));
    const last = DRAM_BASE + GUEST_FRAMES * PAGE_SIZE - 8;
    assert.deepEqual(e.call(PV_MMU_UPDATE, last, 2), err(SBI_ERR_INVALID_ADDRESS));
    assert.deepEqual(e.call(PV_MMU_UPDATE, REQS, 0), { error: SBI_SUCCESS, value: 0 });
    assert.equal(e.snapshot(), before);
  });

  it("a root-entry update invalidates exactly the shadow entries under that root entry", () => {
    e.set(L0A, 3, 0);
    assert.deepEqual(e.update([[at(L0A, 3), pte(DATA + 3, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)]]), {
      error: SBI_SUCCESS,
      value: 1,
    });
    assert.deepEqual(e.update([[at(ROOT, 4), pte(G, PTE_V | PTE_R | PTE_X)]]), {
      error: SBI_SUCCESS,
      value: 1,
    });
    assert.deepEqual(e.call(PV_SET_BASEPTR, ROOT * PAGE_SIZE), OK);
    const s = e.v.satp;
    assert.deepEqual(e.v.shadow.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, s), { kind: "mapped" });
    assert.deepEqual(e.v.shadow.fill(va(4, 7), ACCESS_LOAD, KIND_S, false, s), { kind: "mapped" });
    assert.deepEqual(e.update([[at(ROOT, 4), 0]]), { error: SBI_SUCCESS, value: 1 });
    assert.equal(e.shadowLeaf(va(4, 7)), 0, "the unmapped megapage is gone from the shadow");
    assert.ok(e.hw(va(4, 7), ACCESS_LOAD) < 0);
    assert.equal(e.hw(va(0, 3), ACCESS_LOAD), hostPhysOf(e.hostFrame(DATA + 3)), "root entry 0 untouched");
  });

  it("a leaf-entry update replaces the shadow leaf built from it (no sfence.vma in PV)", () => {
    assert.deepEqual(e.update([[at(L0A, 3), pte(DATA + 3, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)]]), {
      error: SBI_SUCCESS,
      value: 1,
    });
    assert.deepEqual(e.update([[at(L0A, 4), pte(DATA + 4, PTE_V | PTE_R | PTE_A)]]), {
      error: SBI_SUCCESS,
      value: 1,
    });
    assert.deepEqual(e.call(PV_SET_BASEPTR, ROOT * PAGE_SIZE), OK);
    const s = e.v.satp;
    assert.deepEqual(e.v.shadow.fill(va(0, 3), ACCESS_STORE, KIND_S, false, s), { kind: "mapped" });
    assert.deepEqual(e.v.shadow.fill(va(0, 4), ACCESS_LOAD, KIND_S, false, s), { kind: "mapped" });
    assert.deepEqual(e.update([[at(L0A, 3), pte(DATA + 9, PTE_V | PTE_R | PTE_A)]]), {
      error: SBI_SUCCESS,
      value: 1,
    });
    assert.equal(e.hw(va(0, 4), ACCESS_LOAD), hostPhysOf(e.hostFrame(DATA + 4)), "L0A[4] untouched");
    assert.equal(e.hw(va(0, 3), ACCESS_LOAD), hostPhysOf(e.hostFrame(DATA + 9)), "remapped at once");
    assert.ok(e.hw(va(0, 3), ACCESS_STORE) < 0, "and read-only, as the new entry says");
    assert.deepEqual(e.update([[at(L0A, 3), pte(DATA + 5, PTE_V | PTE_R)]]), {
      error: SBI_SUCCESS,
      value: 1,
    });
    assert.ok(e.hw(va(0, 3), ACCESS_LOAD) < 0, "without A the page waits for a fill, which sets A");
    assert.deepEqual(e.v.shadow.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, e.v.satp), { kind: "mapped" });
    assert.equal(e.get(L0A, 3) & PTE_A, PTE_A);
  });
});

describe("PV_UNPIN_TABLE", () => {
  let e: Env;
  beforeEach(() => {
    e = new Env(2);
    e.standardTables();
  });

  it("refuses a frame that is not pinned, or an unaligned address", () => {
    assert.deepEqual(e.unpin(DATA), err(SBI_ERR_INVALID_PARAM));
    assert.deepEqual(e.call(PV_UNPIN_TABLE, L0A * PAGE_SIZE + 8), err(SBI_ERR_INVALID_PARAM));
    assert.equal(e.pv.pinned.get(L0A), 0);
  });

  it("refuses the current base pointer of any started vCPU, not the stale one of a stopped vCPU", () => {
    const other = e.d.vcpus[1];
    other.satp = (SATP_MODE_SV32 | ROOT) >>> 0;
    other.power = "started";
    assert.deepEqual(e.unpin(ROOT), err(SBI_ERR_DENIED));
    other.power = "stopped"; // hart_stop: it has no address space, and hart_start begins with paging off
    assert.deepEqual(e.unpin(ROOT), OK);
    assert.equal(e.pv.pinned.has(ROOT), false);
  });

  it("refuses a level-0 table a pinned root still points at", () => {
    assert.deepEqual(e.unpin(L0A), err(SBI_ERR_DENIED));
    assert.deepEqual(e.update([[at(ROOT, 0), 0]]), { error: SBI_SUCCESS, value: 1 });
    assert.deepEqual(e.unpin(L0A), OK);
  });

  it("unpinning a leaf table forgets its writable leaves", () => {
    assert.deepEqual(e.update([[at(L0A, 3), pte(DATA, PTE_V | PTE_R | PTE_W)]]), {
      error: SBI_SUCCESS,
      value: 1,
    });
    assert.deepEqual(e.pin(DATA, 0), err(SBI_ERR_DENIED));
    assert.deepEqual(e.update([[at(ROOT, 0), 0]]), { error: SBI_SUCCESS, value: 1 });
    assert.deepEqual(e.unpin(L0A), OK);
    assert.equal(e.pv.writable.has(DATA), false);
    assert.deepEqual(e.pin(DATA, 0), OK);
  });

  it("unpinning a root drops its shadows", () => {
    assert.deepEqual(e.call(PV_SET_BASEPTR, ROOT * PAGE_SIZE), OK);
    e.v.shadow.fill(va(0, 0), ACCESS_LOAD, KIND_S, false, e.v.satp); // a guest fault: no leaf, no L0
    e.v.satp = 0;
    e.v.shadow.select(0);
    const inUse = e.pool.inUse;
    assert.deepEqual(e.unpin(ROOT), OK);
    assert.equal(e.pool.inUse, inUse - 3, "the root's three shadow roots went back to the pool");
  });
});

describe("PV_SET_BASEPTR", () => {
  it("switches to a pinned root only", () => {
    const e = new Env();
    e.standardTables();
    assert.deepEqual(e.call(PV_SET_BASEPTR, ROOT * PAGE_SIZE + 4), err(SBI_ERR_INVALID_PARAM));
    assert.deepEqual(e.call(PV_SET_BASEPTR, L0A * PAGE_SIZE), err(SBI_ERR_DENIED));
    assert.deepEqual(e.call(PV_SET_BASEPTR, ROOT2 * PAGE_SIZE), err(SBI_ERR_DENIED));
    assert.equal(e.v.satp, 0);
    assert.equal(e.host.loads, 0);
    assert.deepEqual(e.call(PV_SET_BASEPTR, ROOT * PAGE_SIZE), OK);
    assert.equal(e.v.satp, (SATP_MODE_SV32 | ROOT) >>> 0);
    assert.equal(e.v.shadow.stats.setSwitches, 1);
    assert.equal(e.host.loads, 1);
    assert.equal(e.h.satp, e.v.shadow.hostSatp(KIND_S));
  });
});
