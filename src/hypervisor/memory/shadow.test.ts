/**
 * Shadow Sv32 tables filled on demand (shadow-test-support.ts builds the host, the guest and its
 * tables): a guest with paging off, the faults that stay the guest's, A and D bits set as hardware would
 * before a leaf is made writable, megapages and MXR, flushes and address-space switches, and a bounded
 * pool of host frames for the shadows. Every mapping is checked by walking the host satp as the hart
 * running the guest would. PV's write protection and eager shadows: shadow-pv.test.ts; the property
 * that every fill agrees with a reference walk: shadow-property.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CAUSE_INSN_ACCESS,
  CAUSE_INSN_PAGE_FAULT,
  CAUSE_LOAD_ACCESS,
  CAUSE_LOAD_PAGE_FAULT,
  CAUSE_STORE_ACCESS,
  CAUSE_STORE_PAGE_FAULT,
  SATP_PPN_MASK,
} from "../../machine/isa/csr-defs.js";
import { DRAM_BASE, UART0_BASE } from "../../machine/memory-map.js";
import {
  ACCESS_FETCH,
  ACCESS_LOAD,
  ACCESS_STORE,
  type Access,
  PTE_A,
  PTE_D,
  PTE_R,
  PTE_U,
  PTE_V,
  PTE_W,
  PTE_X,
} from "../../machine/mmu.js";
import { PAGE_SIZE } from "../../machine/params.js";
import { hostPhysOf } from "./addresses.js";
import {
  type FillResult,
  KIND_S,
  KIND_S_SUM,
  KIND_U,
  ShadowExhaustedError,
  type ShadowKind,
  ShadowMmu,
} from "./shadow.js";
import {
  DATA,
  FIRST_ABSENT,
  fault,
  G,
  GUEST_FRAMES,
  guestPte,
  hostFrameOf,
  hw,
  KINDS,
  L0,
  MAPPED,
  makeEnv,
  OUTSIDE,
  permsOf,
  pte,
  ROOT,
  ROOT2,
  satpOf,
  setPte,
  shadowLeaf,
  standard,
  va,
} from "./shadow-test-support.js";

describe("shadow MMU: a guest with paging off", () => {
  it("maps a bare guest-physical address to the P2M's host frame, RWX, with U set for the hart", () => {
    const env = makeEnv();
    const addr = DRAM_BASE + 0x5123;
    for (const kind of [KIND_S, KIND_U] as const) {
      assert.deepEqual(env.mmu.fill(addr, ACCESS_LOAD, kind, false, 0), MAPPED);
      const hf = hostFrameOf(env, G + 5);
      assert.equal(hw(env, kind, addr, ACCESS_LOAD), hostPhysOf(hf, 0x123));
      assert.equal(hw(env, kind, addr, ACCESS_STORE), hostPhysOf(hf, 0x123));
      assert.equal(hw(env, kind, addr, ACCESS_FETCH), hostPhysOf(hf, 0x123));
      const leaf = shadowLeaf(env, kind, addr);
      assert.equal(leaf >>> 10, hf);
      assert.equal(leaf & PTE_U, PTE_U);
    }
    assert.equal(env.mmu.stats.fills, 2);
  });

  it("fills the rest of the faulting 4 MiB of the identity map ahead, each page to its own frame", () => {
    const env = makeEnv();
    assert.deepEqual(env.mmu.fill(DRAM_BASE + 0x5123, ACCESS_STORE, KIND_S, false, 0), MAPPED);
    for (let j = 0; j < GUEST_FRAMES; j++) {
      const addr = DRAM_BASE + j * PAGE_SIZE;
      if (G + j >= FIRST_ABSENT) {
        assert.equal(shadowLeaf(env, KIND_S, addr), 0, `absent gfn 0x${(G + j).toString(16)} stays unmapped`);
        continue;
      }
      assert.equal(hw(env, KIND_S, addr + 8, ACCESS_STORE), hostPhysOf(hostFrameOf(env, G + j), 8));
    }
    assert.equal(shadowLeaf(env, KIND_U, DRAM_BASE + 0x6000), 0, "only in the kind that faulted");
    assert.equal(shadowLeaf(env, KIND_S, DRAM_BASE + 0x40_0000), 0, "only in that 4 MiB");
  });

  it("reports an access fault outside guest RAM and an MMIO exit for a device page", () => {
    const env = makeEnv();
    assert.deepEqual(
      env.mmu.fill(OUTSIDE * PAGE_SIZE, ACCESS_LOAD, KIND_S, false, 0),
      fault(CAUSE_LOAD_ACCESS),
    );
    assert.deepEqual(
      env.mmu.fill(FIRST_ABSENT * PAGE_SIZE, ACCESS_STORE, KIND_S, false, 0),
      fault(CAUSE_STORE_ACCESS),
    );
    assert.deepEqual(env.mmu.fill(0x1000, ACCESS_FETCH, KIND_S, false, 0), fault(CAUSE_INSN_ACCESS));
    assert.deepEqual(env.mmu.fill(UART0_BASE + 5, ACCESS_STORE, KIND_S, false, 0), {
      kind: "mmio",
      gpa: UART0_BASE + 5,
    });
    assert.equal(shadowLeaf(env, KIND_S, UART0_BASE), 0);
    assert.equal(env.mmu.stats.guestFaults, 3);
  });
});

describe("shadow MMU: guest faults", () => {
  const S = satpOf(ROOT);
  const cases: [string, number, Access, ShadowKind, FillResult][] = [
    ["invalid PTE (load)", va(0, 0), ACCESS_LOAD, KIND_S, fault(CAUSE_LOAD_PAGE_FAULT)],
    ["invalid PTE (store)", va(0, 0), ACCESS_STORE, KIND_S, fault(CAUSE_STORE_PAGE_FAULT)],
    ["invalid PTE (fetch)", va(0, 0), ACCESS_FETCH, KIND_U, fault(CAUSE_INSN_PAGE_FAULT)],
    ["W without R", va(0, 1), ACCESS_LOAD, KIND_S, fault(CAUSE_LOAD_PAGE_FAULT)],
    ["U page from KIND_S (no SUM)", va(0, 2), ACCESS_LOAD, KIND_S, fault(CAUSE_LOAD_PAGE_FAULT)],
    ["kernel page from KIND_U", va(0, 3), ACCESS_LOAD, KIND_U, fault(CAUSE_LOAD_PAGE_FAULT)],
    ["kernel page fetched from KIND_U", va(0, 3), ACCESS_FETCH, KIND_U, fault(CAUSE_INSN_PAGE_FAULT)],
    ["user page fetch from KIND_S_SUM", va(0, 2), ACCESS_FETCH, KIND_S_SUM, fault(CAUSE_INSN_PAGE_FAULT)],
    ["store to a read-only page", va(0, 4), ACCESS_STORE, KIND_S, fault(CAUSE_STORE_PAGE_FAULT)],
    ["fetch from a page without X", va(0, 5), ACCESS_FETCH, KIND_S, fault(CAUSE_INSN_PAGE_FAULT)],
    ["load from an X-only page without MXR", va(0, 11), ACCESS_LOAD, KIND_S, fault(CAUSE_LOAD_PAGE_FAULT)],
    ["non-leaf at level 0", va(0, 8), ACCESS_LOAD, KIND_S, fault(CAUSE_LOAD_PAGE_FAULT)],
    ["misaligned megapage", va(1, 7), ACCESS_LOAD, KIND_S, fault(CAUSE_LOAD_PAGE_FAULT)],
    ["leaf outside guest RAM (load)", va(0, 6), ACCESS_LOAD, KIND_S, fault(CAUSE_LOAD_ACCESS)],
    ["leaf outside guest RAM (store)", va(0, 6), ACCESS_STORE, KIND_S, fault(CAUSE_STORE_ACCESS)],
    ["leaf outside guest RAM (fetch)", va(0, 6), ACCESS_FETCH, KIND_S, fault(CAUSE_INSN_ACCESS)],
    ["leaf on an absent guest frame", va(0, 9), ACCESS_LOAD, KIND_S, fault(CAUSE_LOAD_ACCESS)],
    ["L0 table outside guest RAM (load)", va(2, 0), ACCESS_LOAD, KIND_S, fault(CAUSE_LOAD_ACCESS)],
    ["L0 table outside guest RAM (store)", va(2, 0), ACCESS_STORE, KIND_S, fault(CAUSE_STORE_ACCESS)],
    ["L0 table on an absent guest frame", va(3, 0), ACCESS_FETCH, KIND_S, fault(CAUSE_INSN_ACCESS)],
    [
      "megapage part on an absent frame",
      va(4, GUEST_FRAMES - 1),
      ACCESS_LOAD,
      KIND_S,
      fault(CAUSE_LOAD_ACCESS),
    ],
    ["leaf on a device page", va(0, 7, 0x10), ACCESS_LOAD, KIND_S, { kind: "mmio", gpa: UART0_BASE + 0x10 }],
  ];
  for (const [what, addr, access, kind, want] of cases) {
    it(`${what}: ${JSON.stringify(want)}, and nothing mapped`, () => {
      const env = standard();
      env.mmu.select(S);
      assert.deepEqual(env.mmu.fill(addr, access, kind, false, S), want);
      for (const k of KINDS) assert.equal(shadowLeaf(env, k, addr), 0);
      assert.equal(env.mmu.stats.fills, 0);
    });
  }

  it("the same pages are mapped for the kinds and accesses the guest allows", () => {
    const env = standard();
    env.mmu.select(S);
    assert.deepEqual(env.mmu.fill(va(0, 2), ACCESS_LOAD, KIND_S_SUM, false, S), MAPPED);
    assert.deepEqual(env.mmu.fill(va(0, 2), ACCESS_FETCH, KIND_U, false, S), MAPPED);
    assert.deepEqual(env.mmu.fill(va(0, 3), ACCESS_FETCH, KIND_S, false, S), MAPPED);
    assert.deepEqual(env.mmu.fill(va(0, 3), ACCESS_FETCH, KIND_S_SUM, false, S), MAPPED);
    assert.deepEqual(env.mmu.fill(va(0, 4), ACCESS_LOAD, KIND_S, false, S), MAPPED);
    // S-mode with SUM reads user pages but never executes them: the KIND_S_SUM leaf has no X.
    assert.equal(shadowLeaf(env, KIND_S_SUM, va(0, 2)) & PTE_X, 0);
    assert.ok(hw(env, KIND_S_SUM, va(0, 2), ACCESS_FETCH) < 0);
    assert.equal(hw(env, KIND_U, va(0, 2, 4), ACCESS_FETCH), hostPhysOf(hostFrameOf(env, DATA + 2), 4));
    assert.ok(hw(env, KIND_S, va(0, 4), ACCESS_STORE) < 0, "a read-only guest page stays read-only");
  });

  it("reports an access fault when the guest root itself lies outside guest RAM", () => {
    const env = standard();
    for (const root of [OUTSIDE, FIRST_ABSENT, SATP_PPN_MASK]) {
      const s = satpOf(root);
      env.mmu.select(s);
      assert.deepEqual(env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, s), fault(CAUSE_LOAD_ACCESS));
      assert.deepEqual(env.mmu.fill(va(0, 3), ACCESS_STORE, KIND_S, false, s), fault(CAUSE_STORE_ACCESS));
    }
  });
});

describe("shadow MMU: A and D stay the guest's", () => {
  const S = satpOf(ROOT);

  it("sets A on a load or fetch fill and leaves D alone", () => {
    const env = standard();
    env.mmu.select(S);
    assert.deepEqual(env.mmu.fill(va(0, 3), ACCESS_FETCH, KIND_S, false, S), MAPPED);
    assert.equal(guestPte(env, L0, 3) & (PTE_A | PTE_D), PTE_A);
    assert.deepEqual(env.mmu.fill(va(0, 4), ACCESS_LOAD, KIND_S, false, S), MAPPED);
    assert.equal(guestPte(env, L0, 4) & (PTE_A | PTE_D), PTE_A);
    assert.equal(guestPte(env, ROOT, 0) & PTE_A, 0, "a non-leaf entry's A is not the walker's to set");
  });

  it("maps a writable page with D = 0 read-only on a load, then writable once a store sets D", () => {
    const env = standard();
    env.mmu.select(S);
    assert.deepEqual(env.mmu.fill(va(0, 10), ACCESS_LOAD, KIND_S, false, S), MAPPED);
    assert.equal(permsOf(shadowLeaf(env, KIND_S, va(0, 10))), PTE_R);
    const hf = hostFrameOf(env, DATA + 10);
    assert.equal(hw(env, KIND_S, va(0, 10, 8), ACCESS_LOAD), hostPhysOf(hf, 8));
    assert.equal(hw(env, KIND_S, va(0, 10, 8), ACCESS_STORE), -(CAUSE_STORE_PAGE_FAULT + 1));
    assert.deepEqual(env.mmu.fill(va(0, 10, 8), ACCESS_STORE, KIND_S, false, S), MAPPED);
    assert.equal(guestPte(env, L0, 10) & (PTE_A | PTE_D), PTE_A | PTE_D);
    assert.equal(permsOf(shadowLeaf(env, KIND_S, va(0, 10))), PTE_R | PTE_W);
    assert.equal(hw(env, KIND_S, va(0, 10, 8), ACCESS_STORE), hostPhysOf(hf, 8));
  });

  it("maps a page whose D is already set writable on a load fill", () => {
    const env = standard();
    env.mmu.select(S);
    assert.deepEqual(env.mmu.fill(va(0, 12), ACCESS_LOAD, KIND_S, false, S), MAPPED);
    assert.equal(permsOf(shadowLeaf(env, KIND_S, va(0, 12))), PTE_R | PTE_W);
  });

  it("sets A and D of a megapage leaf on a store", () => {
    const env = standard();
    env.mmu.select(S);
    assert.deepEqual(env.mmu.fill(va(4, 0x20), ACCESS_STORE, KIND_S, false, S), MAPPED);
    assert.equal(guestPte(env, ROOT, 4) & (PTE_A | PTE_D), PTE_A | PTE_D);
  });
});

describe("shadow MMU: megapages, MXR", () => {
  const S = satpOf(ROOT);

  it("maps a guest megapage 4 KiB at a time, each page to its own P2M host frame, all at the first fill", () => {
    const env = standard();
    env.mmu.select(S);
    assert.deepEqual(env.mmu.fill(va(4, 0x12, 0x345), ACCESS_LOAD, KIND_S, false, S), MAPPED);
    assert.equal(
      hw(env, KIND_S, va(4, 0x12, 0x345), ACCESS_LOAD),
      hostPhysOf(hostFrameOf(env, G + 0x12), 0x345),
    );
    // Fault-ahead: one guest PTE (and one A/D pair) covers the 1024 pages, so they are all mapped now.
    for (let j = 0; j < GUEST_FRAMES; j++) {
      const leaf = shadowLeaf(env, KIND_S, va(4, j));
      if (G + j >= FIRST_ABSENT) {
        assert.equal(leaf, 0, `absent gfn 0x${(G + j).toString(16)} stays unmapped`);
        continue;
      }
      assert.equal(leaf >>> 10, hostFrameOf(env, G + j), `page ${j}`);
      assert.equal(permsOf(leaf), PTE_R | PTE_X, "read-only until the guest's D is set");
    }
    assert.notEqual(shadowLeaf(env, KIND_S, va(4, 0x12)) >>> 10, shadowLeaf(env, KIND_S, va(4, 0x13)) >>> 10);
    assert.equal(hw(env, KIND_S, va(4, 0x13, 4), ACCESS_STORE), -(CAUSE_STORE_PAGE_FAULT + 1));
    assert.deepEqual(env.mmu.fill(va(4, 0x13, 4), ACCESS_STORE, KIND_S, false, S), MAPPED);
    assert.equal(hw(env, KIND_S, va(4, 0x13, 4), ACCESS_STORE), hostPhysOf(hostFrameOf(env, G + 0x13), 4));
    assert.equal(guestPte(env, ROOT, 4) & (PTE_A | PTE_D), PTE_A | PTE_D);
    assert.deepEqual(env.mmu.fill(va(4, 0x12), ACCESS_LOAD, KIND_U, false, S), fault(CAUSE_LOAD_PAGE_FAULT));
    assert.equal(shadowLeaf(env, KIND_U, va(4, 0x40)), 0);
  });

  it("makes X-only pages readable under MXR (and only then)", () => {
    const env = standard();
    env.mmu.select(S);
    assert.deepEqual(env.mmu.fill(va(0, 11), ACCESS_LOAD, KIND_S, false, S), fault(CAUSE_LOAD_PAGE_FAULT));
    assert.deepEqual(env.mmu.fill(va(0, 11), ACCESS_LOAD, KIND_S, true, S), MAPPED);
    assert.equal(permsOf(shadowLeaf(env, KIND_S, va(0, 11))), PTE_R | PTE_X);
    assert.equal(
      hw(env, KIND_S, va(0, 11, 0x10), ACCESS_LOAD),
      hostPhysOf(hostFrameOf(env, DATA + 11), 0x10),
    );
    assert.ok(hw(env, KIND_S, va(0, 11), ACCESS_STORE) < 0);
  });
});

describe("shadow MMU: flushes and address-space switches", () => {
  const S = satpOf(ROOT);

  it("flushVa removes one page's leaves in every kind and keeps the others", () => {
    const env = standard();
    env.mmu.select(S);
    for (const [addr, kind] of [
      [va(0, 3), KIND_S],
      [va(0, 3), KIND_S_SUM],
      [va(0, 4), KIND_S],
      [va(0, 2), KIND_U],
    ] as const)
      assert.deepEqual(env.mmu.fill(addr, ACCESS_LOAD, kind, false, S), MAPPED);
    env.mmu.flushVa(va(0, 3, 0x7ff));
    assert.equal(shadowLeaf(env, KIND_S, va(0, 3)), 0);
    assert.equal(shadowLeaf(env, KIND_S_SUM, va(0, 3)), 0);
    assert.notEqual(shadowLeaf(env, KIND_S, va(0, 4)), 0);
    assert.notEqual(shadowLeaf(env, KIND_U, va(0, 2)), 0);
    env.mmu.flushVa(va(0, 2));
    assert.equal(shadowLeaf(env, KIND_U, va(0, 2)), 0);
  });

  it("flushVa of an address in a guest megapage forgets every page filled from that megapage", () => {
    const env = standard();
    env.mmu.select(S);
    assert.deepEqual(env.mmu.fill(va(4, 0x12), ACCESS_STORE, KIND_S, false, S), MAPPED);
    setPte(env, ROOT, 4, 0); // the guest unmaps its megapage...
    env.mmu.flushVa(va(4, 0)); // ...and fences one address in it
    for (const j of [0, 1, 0x12, 0x200]) assert.equal(shadowLeaf(env, KIND_S, va(4, j)), 0, `page ${j}`);
  });

  it("flushAll removes every entry and gives the L0 frames back to the pool", () => {
    const env = standard({ maxSets: 2 });
    assert.equal(env.pool.inUse, 3, "a set is three shadow roots");
    env.mmu.select(S);
    assert.equal(env.pool.inUse, 6);
    env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, S);
    env.mmu.fill(va(4, 3), ACCESS_LOAD, KIND_S, false, S);
    env.mmu.fill(va(0, 2), ACCESS_LOAD, KIND_U, false, S);
    assert.equal(env.pool.inUse, 9);
    const flushes = env.mmu.stats.flushes;
    env.mmu.flushAll();
    assert.equal(env.mmu.stats.flushes, flushes + 1);
    assert.equal(env.pool.inUse, 3, "the other set is dropped, the current one keeps only its roots");
    for (const kind of KINDS)
      for (const addr of [va(0, 3), va(4, 3), va(0, 2)]) assert.equal(shadowLeaf(env, kind, addr), 0);
    assert.equal(env.pool.held, 9, "frames are recycled by the pool, not freed");
    env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, S);
    assert.equal(env.pool.held, 9);
    assert.equal(env.pool.inUse, 4);
  });

  it("select switches to a set per guest root, keeps maxSets of them and evicts the least recently used", () => {
    const env = standard({ maxSets: 2 });
    setPte(env, ROOT2, 0, pte(L0, PTE_V));
    const bare = env.mmu.hostSatp(KIND_S);
    env.mmu.select(S);
    const a = env.mmu.hostSatp(KIND_S);
    assert.notEqual(a, bare);
    assert.equal(env.mmu.stats.setSwitches, 1);
    env.mmu.select((S | (5 << 22)) >>> 0); // same root, another ASID: the same set
    assert.equal(env.mmu.stats.setSwitches, 1);
    env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, S);
    const leafA = shadowLeaf(env, KIND_S, va(0, 3));
    env.mmu.select(satpOf(ROOT2)); // evicts the bare set (least recently used)
    assert.equal(shadowLeaf(env, KIND_S, va(0, 3)), 0, "ROOT2's shadow starts empty");
    env.mmu.select(S);
    assert.equal(env.mmu.hostSatp(KIND_S), a, "the ROOT set survived the switch");
    assert.equal(shadowLeaf(env, KIND_S, va(0, 3)), leafA);
    env.mmu.select(0); // evicts ROOT2, the least recently used now
    assert.equal(env.pool.inUse, 3 + 3 + 1);
    env.mmu.select(S);
    assert.equal(shadowLeaf(env, KIND_S, va(0, 3)), leafA, "ROOT's set is still cached");
    env.mmu.select(satpOf(ROOT2)); // evicts the bare set
    env.mmu.select(S);
    assert.equal(shadowLeaf(env, KIND_S, va(0, 3)), leafA);
    assert.equal(env.mmu.stats.setSwitches, 7);
  });

  it("with one set (trap mode) a switch forgets the previous address space", () => {
    const env = standard();
    env.mmu.select(S);
    env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, S);
    env.mmu.select(satpOf(ROOT2));
    env.mmu.select(S);
    assert.equal(shadowLeaf(env, KIND_S, va(0, 3)), 0);
    assert.equal(env.pool.inUse, 3);
  });

  it("release gives every frame back to the pool", () => {
    const env = standard({ maxSets: 3 });
    env.mmu.select(S);
    env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, S);
    env.mmu.release();
    assert.equal(env.pool.inUse, 0);
  });
});

describe("shadow MMU: bounded host memory", () => {
  const S = satpOf(ROOT);
  const kernelMega = pte(G, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);

  it("a vCPU's shadows hold at most frameLimit frames: reaching it flushes them, as a TLB flush would", () => {
    const env = makeEnv({ frameLimit: 0 }); // raised to the floor: 3 roots per set + 16 leaf tables
    for (let i = 0; i < 17; i++) setPte(env, ROOT, i, kernelMega);
    env.mmu.select(S);
    for (let i = 0; i < 16; i++)
      assert.deepEqual(env.mmu.fill(va(i, 1), ACCESS_LOAD, KIND_S, false, S), MAPPED);
    assert.equal(env.mmu.held, 19);
    assert.equal(env.mmu.stats.flushes, 0);
    assert.deepEqual(env.mmu.fill(va(16, 1), ACCESS_LOAD, KIND_S, false, S), MAPPED);
    assert.equal(env.mmu.stats.flushes, 1);
    assert.equal(env.mmu.held, 4);
    assert.equal(env.pool.inUse, 4);
    assert.equal(shadowLeaf(env, KIND_S, va(0, 1)), 0, "the older entries were flushed");
    assert.equal(hw(env, KIND_S, va(16, 1), ACCESS_LOAD), hostPhysOf(hostFrameOf(env, G + 1)));
  });

  it("when the host is out of frames, a fill first gives back the vCPU's own shadow tables", () => {
    const env = standard();
    env.mmu.select(S);
    env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, S);
    env.mmu.fill(va(4, 3), ACCESS_LOAD, KIND_S, false, S);
    env.allocator.alloc(env.allocator.freeCount, 2); // another domain takes every free frame
    assert.deepEqual(env.mmu.fill(va(0, 2), ACCESS_LOAD, KIND_U, false, S), MAPPED);
    assert.equal(env.mmu.stats.flushes, 1);
    assert.equal(shadowLeaf(env, KIND_S, va(0, 3)), 0);
    assert.equal(hw(env, KIND_U, va(0, 2), ACCESS_LOAD), hostPhysOf(hostFrameOf(env, DATA + 2)));
  });

  it("and with nothing to give back, says so with a ShadowExhaustedError", () => {
    const env = standard();
    env.mmu.select(S);
    env.allocator.alloc(env.allocator.freeCount, 2);
    assert.throws(() => env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, S), ShadowExhaustedError);
  });

  it("a ShadowMmu made on a host without frames for its roots fails with ShadowExhaustedError", () => {
    const env = makeEnv();
    env.allocator.alloc(env.allocator.freeCount - 1, 2);
    assert.throws(() => new ShadowMmu(env.pool, env.mem), ShadowExhaustedError);
  });

  it("a switch that runs out of frames for the new set's roots keeps none of them", () => {
    const env = standard({ maxSets: 2 });
    env.allocator.alloc(env.allocator.freeCount - 1, 2); // room for one root of three
    assert.throws(() => env.mmu.select(S), ShadowExhaustedError);
    env.mmu.release();
    assert.equal(env.pool.inUse, 0);
  });
});
