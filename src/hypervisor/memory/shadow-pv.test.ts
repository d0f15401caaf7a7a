/**
 * Shadow tables for PV guests (docs/pv-abi.md; the environment: shadow-test-support.ts): pinned guest
 * tables write-protected in every shadow that maps them, the exact invalidation of what a validated
 * update changes, and eager shadows — built in full at the first switch to an address space and kept
 * for several of them — so that a PV guest takes fill faults only for A and D bits.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CAUSE_STORE_PAGE_FAULT, SATP_PPN_MASK } from "../../machine/isa/csr-defs.js";
import {
  ACCESS_LOAD,
  ACCESS_STORE,
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
import { KIND_S, KIND_S_SUM, KIND_U, type ShadowKind, type ShadowOptions } from "./shadow.js";
import {
  DATA,
  type Env,
  fault,
  G,
  guestPte,
  hostFrameOf,
  hw,
  L0,
  MAPPED,
  MMIO_GFN,
  makeEnv,
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

describe("shadow MMU: PV write protection and exact invalidation", () => {
  const S = satpOf(ROOT);

  it("writeProtect removes W from every existing leaf of that guest frame, and only of it", () => {
    const env = standard({ track: true, maxSets: 4 });
    setPte(env, L0, 13, pte(DATA + 3, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)); // an alias of DATA + 3
    env.mmu.select(S);
    for (const [addr, kind] of [
      [va(0, 3), KIND_S],
      [va(0, 3), KIND_S_SUM],
      [va(0, 13), KIND_S],
      [va(0, 12), KIND_S],
      [va(4, 0x203), KIND_S], // the megapage maps DATA + 3 too
    ] as const)
      assert.deepEqual(env.mmu.fill(addr, ACCESS_STORE, kind, false, S), MAPPED);
    env.mmu.select(0); // a bare set maps DATA + 3 writable too
    assert.deepEqual(env.mmu.fill((DATA + 3) * PAGE_SIZE, ACCESS_STORE, KIND_S, false, 0), MAPPED);
    env.mmu.writeProtect(DATA + 3);
    assert.equal(permsOf(shadowLeaf(env, KIND_S, (DATA + 3) * PAGE_SIZE)), PTE_R | PTE_X);
    env.mmu.select(S);
    assert.equal(permsOf(shadowLeaf(env, KIND_S, va(0, 3))), PTE_R | PTE_X);
    assert.equal(permsOf(shadowLeaf(env, KIND_S_SUM, va(0, 3))), PTE_R | PTE_X);
    assert.equal(permsOf(shadowLeaf(env, KIND_S, va(0, 13))), PTE_R);
    assert.equal(permsOf(shadowLeaf(env, KIND_S, va(4, 0x203))), PTE_R | PTE_X);
    assert.equal(permsOf(shadowLeaf(env, KIND_S, va(0, 12))), PTE_R | PTE_W, "another frame keeps W");
    assert.ok(hw(env, KIND_S, va(0, 3), ACCESS_STORE) < 0);
    assert.equal(hw(env, KIND_S, va(0, 3), ACCESS_LOAD), hostPhysOf(hostFrameOf(env, DATA + 3)));
  });

  it("the readOnly predicate keeps W off a frame however the guest maps it", () => {
    const pinned = new Set<number>([DATA + 3, G + 0x30]);
    const env = standard({ track: true, readOnly: (gfn) => pinned.has(gfn) });
    env.mmu.select(S);
    assert.deepEqual(env.mmu.fill(va(0, 3), ACCESS_STORE, KIND_S, false, S), fault(CAUSE_STORE_PAGE_FAULT));
    assert.deepEqual(env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, S), MAPPED);
    assert.equal(permsOf(shadowLeaf(env, KIND_S, va(0, 3))), PTE_R | PTE_X);
    assert.deepEqual(
      env.mmu.fill(va(4, 0x30), ACCESS_STORE, KIND_S, false, S),
      fault(CAUSE_STORE_PAGE_FAULT),
    );
    assert.deepEqual(env.mmu.fill(va(4, 0x31), ACCESS_STORE, KIND_S, false, S), MAPPED);
    assert.equal(permsOf(shadowLeaf(env, KIND_S, va(4, 0x31))), PTE_R | PTE_W | PTE_X);
    assert.equal(permsOf(shadowLeaf(env, KIND_S, va(4, 0x30))), PTE_R | PTE_X, "fault-ahead keeps W off too");
    assert.equal(permsOf(shadowLeaf(env, KIND_S, va(4, 0x203))), PTE_R | PTE_X);
    env.mmu.select(0);
    assert.deepEqual(
      env.mmu.fill((G + 0x30) * PAGE_SIZE, ACCESS_STORE, KIND_S, false, 0),
      fault(CAUSE_STORE_PAGE_FAULT),
    );
    pinned.delete(G + 0x30);
    assert.deepEqual(env.mmu.fill((G + 0x30) * PAGE_SIZE, ACCESS_STORE, KIND_S, false, 0), MAPPED);
  });

  it("invalidateRootEntry clears exactly that root entry of that guest root's sets, in every kind", () => {
    const env = standard({ track: true, maxSets: 4 });
    setPte(env, ROOT2, 0, pte(L0, PTE_V));
    env.mmu.select(satpOf(ROOT2));
    env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, satpOf(ROOT2));
    env.mmu.select(S);
    env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, S);
    env.mmu.fill(va(0, 2), ACCESS_LOAD, KIND_S_SUM, false, S);
    env.mmu.fill(va(4, 5), ACCESS_LOAD, KIND_S, false, S);
    const inUse = env.pool.inUse;
    env.mmu.invalidateRootEntry(ROOT, 0);
    assert.equal(shadowLeaf(env, KIND_S, va(0, 3)), 0);
    assert.equal(shadowLeaf(env, KIND_S_SUM, va(0, 2)), 0);
    assert.notEqual(shadowLeaf(env, KIND_S, va(4, 5)), 0, "root entry 4 is untouched");
    assert.equal(env.pool.inUse, inUse - 2, "both kinds' L0 tables under entry 0 are back in the pool");
    env.mmu.invalidateRootEntry(ROOT, 4);
    assert.equal(shadowLeaf(env, KIND_S, va(4, 5)), 0, "a megapage's shadow L0 goes too");
    env.mmu.select(satpOf(ROOT2));
    assert.notEqual(shadowLeaf(env, KIND_S, va(0, 3)), 0, "another root's set is untouched");
    env.mmu.invalidateRootEntry(ROOT, 0); // nothing there: no harm
    assert.notEqual(shadowLeaf(env, KIND_S, va(0, 3)), 0);
  });

  it("invalidateLeafEntry clears exactly the leaves built from that entry of that guest L0 table", () => {
    const env = standard({ track: true, maxSets: 4 });
    setPte(env, ROOT2, 7, pte(L0, PTE_V)); // the same L0 table under another root, at another index
    env.mmu.select(satpOf(ROOT2));
    env.mmu.fill(va(7, 3), ACCESS_LOAD, KIND_S, false, satpOf(ROOT2));
    env.mmu.select(S);
    env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, S);
    env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S_SUM, false, S);
    env.mmu.fill(va(0, 4), ACCESS_LOAD, KIND_S, false, S);
    env.mmu.fill(va(4, 3), ACCESS_LOAD, KIND_S, false, S);
    env.mmu.invalidateLeafEntry(L0, 3);
    assert.equal(shadowLeaf(env, KIND_S, va(0, 3)), 0, "the leaf built from L0[3] is gone");
    assert.equal(shadowLeaf(env, KIND_S_SUM, va(0, 3)), 0, "in every kind");
    assert.notEqual(shadowLeaf(env, KIND_S, va(0, 4)), 0, "L0[4]'s leaf stays");
    assert.notEqual(shadowLeaf(env, KIND_S, va(4, 3)), 0, "a megapage page at the same index stays");
    env.mmu.select(satpOf(ROOT2));
    assert.equal(shadowLeaf(env, KIND_S, va(7, 3)), 0, "and in the other root's set too");
  });

  it("dropRoot forgets that root's shadows (the current set is emptied, another dropped)", () => {
    const env = standard({ track: true, maxSets: 4 });
    setPte(env, ROOT2, 0, pte(L0, PTE_V));
    env.mmu.select(satpOf(ROOT2));
    env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, satpOf(ROOT2));
    env.mmu.select(S);
    env.mmu.fill(va(0, 3), ACCESS_LOAD, KIND_S, false, S);
    const inUse = env.pool.inUse;
    env.mmu.dropRoot(ROOT2);
    assert.equal(env.pool.inUse, inUse - 4);
    env.mmu.dropRoot(ROOT);
    assert.equal(shadowLeaf(env, KIND_S, va(0, 3)), 0);
    assert.equal(env.pool.inUse, inUse - 5);
  });
});

describe("shadow MMU: eager shadows (PV)", () => {
  const S = satpOf(ROOT);
  const settledUser = PTE_V | PTE_U | PTE_A | PTE_D;
  const kernelMega = pte(G, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
  const eager = (extra: ShadowOptions = {}): Env =>
    makeEnv({ track: true, eager: true, maxSets: 4, ...extra });

  /** ROOT: [0] → L0 (user pages), [4] the kernel megapage over all guest RAM, A and D set. */
  function tables(env: Env): void {
    setPte(env, ROOT, 0, pte(L0, PTE_V));
    setPte(env, L0, 2, pte(DATA + 2, settledUser | PTE_R | PTE_W | PTE_X)); // user RWX
    setPte(env, L0, 3, pte(DATA + 3, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)); // kernel RW
    setPte(env, L0, 4, pte(DATA + 4, PTE_V | PTE_U | PTE_R)); // no A: a fill must set it
    setPte(env, L0, 5, pte(DATA + 5, PTE_V | PTE_U | PTE_R | PTE_W | PTE_A)); // writable, no D
    setPte(env, L0, 7, pte(MMIO_GFN, settledUser | PTE_R | PTE_W)); // a device: its accesses exit
    setPte(env, ROOT, 4, kernelMega);
  }

  it("builds a set in full at its first switch: every settled leaf in each kind it belongs to", () => {
    const env = eager();
    tables(env);
    env.mmu.select(S);
    const at = (kind: ShadowKind, addr: number): number => permsOf(shadowLeaf(env, kind, addr));
    assert.equal(at(KIND_U, va(0, 2)), PTE_R | PTE_W | PTE_X);
    assert.equal(at(KIND_S_SUM, va(0, 2)), PTE_R | PTE_W, "a user page is not executable in S-mode");
    assert.equal(shadowLeaf(env, KIND_S, va(0, 2)), 0, "nor reachable without SUM");
    assert.equal(at(KIND_S, va(0, 3)), PTE_R | PTE_W);
    assert.equal(shadowLeaf(env, KIND_U, va(0, 3)), 0);
    for (const j of [4, 5, 7])
      for (const k of [KIND_U, KIND_S, KIND_S_SUM] as const)
        assert.equal(shadowLeaf(env, k, va(0, j)), 0, `L0[${j}]`);
    assert.equal(at(KIND_S, va(4, 0x77)), PTE_R | PTE_W | PTE_X, "the megapage, every page of it");
    assert.equal(hw(env, KIND_S, va(4, 0x3f0), ACCESS_STORE), hostPhysOf(hostFrameOf(env, G + 0x3f0)));
    assert.equal(shadowLeaf(env, KIND_U, va(4, 0x77)), 0);
    assert.equal(env.mmu.stats.fills, 0, "built, not filled");
    // What was left out is filled on demand, A and D set as hardware would.
    assert.deepEqual(env.mmu.fill(va(0, 4), ACCESS_LOAD, KIND_U, false, S), MAPPED);
    assert.equal(guestPte(env, L0, 4) & PTE_A, PTE_A);
    assert.equal(at(KIND_U, va(0, 5)), 0);
    assert.deepEqual(env.mmu.fill(va(0, 5), ACCESS_STORE, KIND_U, false, S), MAPPED);
    assert.equal(at(KIND_U, va(0, 5)), PTE_R | PTE_W);
  });

  it("shares a settled megapage's shadow table between sets and kinds, and frees it with the last user", () => {
    const env = eager();
    tables(env);
    setPte(env, ROOT2, 4, kernelMega);
    const free = env.pool.inUse;
    env.mmu.select(S);
    const afterFirst = env.pool.inUse - free; // 3 roots, an L0 per kind under entry 0, 1 shared table
    assert.equal(afterFirst, 7);
    env.mmu.select(satpOf(ROOT2));
    assert.equal(env.pool.inUse - free, afterFirst + 3, "the second set adds only its three roots");
    const l0Of = (kind: ShadowKind): number =>
      env.bus.read((env.mmu.hostSatp(kind) & SATP_PPN_MASK) * PAGE_SIZE + 4 * 4, 4)! >>> 10;
    const shared = l0Of(KIND_S);
    assert.equal(l0Of(KIND_S_SUM), shared, "S and S_SUM map kernel pages alike");
    env.mmu.select(S);
    assert.equal(l0Of(KIND_S), shared);
    env.mmu.invalidateRootEntry(ROOT, 4); // unchanged in the guest: rebuilt onto the same table
    assert.equal(l0Of(KIND_S), shared);
    setPte(env, ROOT, 4, 0);
    env.mmu.invalidateRootEntry(ROOT, 4);
    assert.equal(shadowLeaf(env, KIND_S, va(4, 0x77)), 0);
    env.mmu.dropRoot(ROOT2);
    assert.equal(env.pool.inUse - free, 6, "the shared table went with its last user");
  });

  it("write-protects and unprotects a frame in the shared table once, for every set", () => {
    const pinned = new Set<number>([G + 0x30]);
    const env = eager({ readOnly: (gfn) => pinned.has(gfn) });
    tables(env);
    setPte(env, ROOT2, 4, kernelMega);
    env.mmu.select(S);
    assert.equal(permsOf(shadowLeaf(env, KIND_S, va(4, 0x30))), PTE_R | PTE_X, "pinned when built");
    pinned.add(G + 0x31);
    env.mmu.writeProtect(G + 0x31);
    pinned.delete(G + 0x30);
    env.mmu.unprotect(G + 0x30);
    env.mmu.select(satpOf(ROOT2));
    for (const [page, perms] of [
      [0x30, PTE_R | PTE_W | PTE_X],
      [0x31, PTE_R | PTE_X],
      [0x32, PTE_R | PTE_W | PTE_X],
    ] as const)
      for (const k of [KIND_S, KIND_S_SUM] as const)
        assert.equal(permsOf(shadowLeaf(env, k, va(4, page))), perms);
    env.mmu.unprotect(G + 0x31); // still pinned: nothing changes
    assert.equal(permsOf(shadowLeaf(env, KIND_S, va(4, 0x31))), PTE_R | PTE_X);
  });

  it("rebuilds what an update changed: a leaf in every set using the table, a root entry from its new value", () => {
    const env = eager();
    tables(env);
    setPte(env, ROOT2, 7, pte(L0, PTE_V)); // the same L0 under another root, at another index
    env.mmu.select(satpOf(ROOT2));
    env.mmu.select(S);
    setPte(env, L0, 9, pte(DATA + 9, settledUser | PTE_R));
    env.mmu.invalidateLeafEntry(L0, 9);
    assert.equal(hw(env, KIND_U, va(0, 9), ACCESS_LOAD), hostPhysOf(hostFrameOf(env, DATA + 9)));
    setPte(env, L0, 2, 0);
    env.mmu.invalidateLeafEntry(L0, 2);
    assert.equal(shadowLeaf(env, KIND_U, va(0, 2)), 0);
    // Root entry 0 of ROOT now points at another table: L0's updates no longer reach ROOT's set.
    setPte(env, ROOT, 0, pte(G + 0x120, PTE_V));
    setPte(env, G + 0x120, 9, pte(DATA + 19, settledUser | PTE_R));
    env.mmu.invalidateRootEntry(ROOT, 0);
    assert.equal(hw(env, KIND_U, va(0, 9), ACCESS_LOAD), hostPhysOf(hostFrameOf(env, DATA + 19)));
    setPte(env, L0, 9, pte(DATA + 29, settledUser | PTE_R));
    env.mmu.invalidateLeafEntry(L0, 9);
    assert.equal(hw(env, KIND_U, va(0, 9), ACCESS_LOAD), hostPhysOf(hostFrameOf(env, DATA + 19)));
    env.mmu.select(satpOf(ROOT2));
    assert.equal(hw(env, KIND_U, va(7, 9), ACCESS_LOAD), hostPhysOf(hostFrameOf(env, DATA + 29)));
    assert.equal(shadowLeaf(env, KIND_U, va(7, 2)), 0);
  });

  it("stays within frameLimit: a build that reaches it flushes and leaves the rest to fills", () => {
    const env = eager({ frameLimit: 0, maxSets: 1 }); // the floor: 3 roots + 16 tables
    for (let i = 0; i < 24; i++) {
      setPte(env, ROOT, i, pte(G + 0x140 + i, PTE_V));
      setPte(env, G + 0x140 + i, 1, pte(DATA + i, settledUser | PTE_R));
    }
    env.mmu.select(S);
    assert.ok(env.mmu.held <= 19, `${env.mmu.held} frames`);
    assert.equal(env.mmu.stats.flushes, 1);
    for (let i = 0; i < 24; i++) {
      if (shadowLeaf(env, KIND_U, va(i, 1)) === 0)
        assert.deepEqual(env.mmu.fill(va(i, 1), ACCESS_LOAD, KIND_U, false, S), MAPPED);
      assert.equal(hw(env, KIND_U, va(i, 1), ACCESS_LOAD), hostPhysOf(hostFrameOf(env, DATA + i)));
    }
  });
});
