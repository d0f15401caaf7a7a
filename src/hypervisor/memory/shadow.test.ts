/**
 * Shadow Sv32 tables without a hart: real RAM, an allocator, a populated P2M and a ShadowMmu; the guest's
 * own tables are written by hand into its RAM, and what the shadow maps is checked by walking the host
 * satp with the hardware's walker (walkSv32 over a Bus), exactly as the hart running the guest would.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Bus } from "../../machine/bus.js";
import {
  CAUSE_INSN_ACCESS,
  CAUSE_INSN_PAGE_FAULT,
  CAUSE_LOAD_ACCESS,
  CAUSE_LOAD_PAGE_FAULT,
  CAUSE_STORE_ACCESS,
  CAUSE_STORE_PAGE_FAULT,
  PRIV_U,
  SATP_MODE_SV32,
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
  walkSv32,
} from "../../machine/mmu.js";
import { PAGE_SIZE } from "../../machine/params.js";
import { Ram } from "../../machine/ram.js";
import { guestFrame, guestPhys, type HostFrame, hostPhysOf } from "./addresses.js";
import { FrameAllocator, HYPERVISOR } from "./frames.js";
import { GuestMemory } from "./guest-memory.js";
import { isP2mFault, P2m } from "./p2m.js";
import {
  type FillResult,
  KIND_S,
  KIND_S_SUM,
  KIND_U,
  ShadowExhaustedError,
  type ShadowKind,
  ShadowMmu,
  type ShadowOptions,
  ShadowPool,
} from "./shadow.js";

const DOM = 1;
/** First guest frame (guest RAM starts at DRAM_BASE). */
const G = DRAM_BASE >>> 12;
/** Guest frames of the test domain (4 MiB: one megapage), the last ABSENT of them left unpopulated. */
const GUEST_FRAMES = 1024;
const ABSENT = 8;
const FIRST_ABSENT = G + GUEST_FRAMES - ABSENT;
/** Guest page-table pages. */
const ROOT = G + 0x100;
const ROOT2 = G + 0x110;
const L0 = G + 0x101;
/** Guest data pages. */
const DATA = G + 0x200;
/** A gfn neither in guest RAM nor a device. */
const OUTSIDE = 0x90000;
const MMIO_GFN = UART0_BASE >>> 12;

const ACCESSES: readonly Access[] = [ACCESS_FETCH, ACCESS_LOAD, ACCESS_STORE];
const KINDS: readonly ShadowKind[] = [KIND_U, KIND_S, KIND_S_SUM];
const PAGE_FAULT = [CAUSE_INSN_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT];
const ACCESS_FAULT = [CAUSE_INSN_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS];

const pte = (ppn: number, flags: number): number => ((ppn << 10) | flags) >>> 0;
const satpOf = (rootGfn: number): number => (SATP_MODE_SV32 | rootGfn) >>> 0;
const va = (i: number, j: number, off = 0): number => ((i << 22) | (j << 12) | off) >>> 0;
const MAPPED: FillResult = { kind: "mapped" };
const fault = (cause: number): FillResult => ({ kind: "guest-fault", cause });

interface Env {
  ram: Ram;
  bus: Bus;
  allocator: FrameAllocator;
  p2m: P2m;
  mem: GuestMemory;
  pool: ShadowPool;
  mmu: ShadowMmu;
}

function makeEnv(shadow: ShadowOptions = {}, seed = 7): Env {
  const ram = new Ram(DRAM_BASE, 1536 * PAGE_SIZE);
  const bus = new Bus(ram);
  const allocator = new FrameAllocator(ram, { reservedFrames: 16, seed });
  const p2m = new P2m(DOM, allocator, GUEST_FRAMES);
  p2m.populate(GUEST_FRAMES - ABSENT);
  p2m.mapMmio(guestPhys(UART0_BASE), PAGE_SIZE, "uart0");
  const mem = new GuestMemory(p2m, ram);
  const pool = new ShadowPool(allocator, ram);
  return { ram, bus, allocator, p2m, mem, pool, mmu: new ShadowMmu(pool, mem, shadow) };
}

/** Writes entry `index` of the guest table in frame `gfn`. */
function setPte(env: Env, gfn: number, index: number, value: number): void {
  assert.ok(env.mem.write32(gfn * PAGE_SIZE + index * 4, value), `guest table 0x${gfn.toString(16)} is RAM`);
}

function guestPte(env: Env, gfn: number, index: number): number {
  const v = env.mem.read32(gfn * PAGE_SIZE + index * 4);
  assert.ok(v !== undefined);
  return v >>> 0;
}

function hostFrameOf(env: Env, gfn: number): HostFrame {
  const r = env.p2m.lookup(guestFrame(gfn));
  if (isP2mFault(r)) throw new Error(`gfn 0x${gfn.toString(16)}: ${r.detail}`);
  return r;
}

/** What the hart running the guest (host U-mode, MXR off) gets for `access` at `va` through the shadow. */
function hw(env: Env, kind: ShadowKind, addr: number, access: Access): number {
  const ctx = { satp: env.mmu.hostSatp(kind), priv: PRIV_U, sum: false, mxr: false };
  return walkSv32(env.bus, ctx, addr >>> 0, access);
}

/** The shadow leaf for `va` in `kind` (0 when there is none), read from host RAM. */
function shadowLeaf(env: Env, kind: ShadowKind, addr: number): number {
  const root = (env.mmu.hostSatp(kind) & SATP_PPN_MASK) * PAGE_SIZE;
  const r = env.bus.read(root + (addr >>> 22) * 4, 4);
  assert.ok(r !== undefined, "shadow root is in host RAM");
  if ((r & PTE_V) === 0) return 0;
  const l = env.bus.read((r >>> 10) * PAGE_SIZE + ((addr >>> 12) & 1023) * 4, 4);
  assert.ok(l !== undefined, "shadow L0 is in host RAM");
  return l >>> 0;
}

const permsOf = (leaf: number): number => leaf & (PTE_R | PTE_W | PTE_X);

/**
 * The guest table used by most tests (root ROOT):
 *   root[0] → L0:  [0] invalid  [1] W without R  [2] user RWX  [3] kernel RWX  [4] kernel R
 *                  [5] kernel RW (no X)  [6] → outside guest RAM  [7] → the MMIO page  [8] non-leaf
 *                  [9] → an absent guest frame  [10] kernel RW, D = 0  [11] kernel X only  [12] kernel RW, D = 1
 *   root[1] misaligned megapage      root[2] → an L0 outside guest RAM   root[3] → an absent L0
 *   root[4] megapage over all of guest RAM (RWX, kernel)
 */
function writeStandardTables(env: Env): void {
  setPte(env, ROOT, 0, pte(L0, PTE_V));
  setPte(env, L0, 1, pte(DATA + 1, PTE_V | PTE_W));
  setPte(env, L0, 2, pte(DATA + 2, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U));
  setPte(env, L0, 3, pte(DATA + 3, PTE_V | PTE_R | PTE_W | PTE_X));
  setPte(env, L0, 4, pte(DATA + 4, PTE_V | PTE_R));
  setPte(env, L0, 5, pte(DATA + 5, PTE_V | PTE_R | PTE_W));
  setPte(env, L0, 6, pte(OUTSIDE, PTE_V | PTE_R | PTE_W | PTE_X));
  setPte(env, L0, 7, pte(MMIO_GFN, PTE_V | PTE_R | PTE_W));
  setPte(env, L0, 8, pte(DATA + 8, PTE_V));
  setPte(env, L0, 9, pte(FIRST_ABSENT, PTE_V | PTE_R | PTE_W | PTE_X));
  setPte(env, L0, 10, pte(DATA + 10, PTE_V | PTE_R | PTE_W));
  setPte(env, L0, 11, pte(DATA + 11, PTE_V | PTE_X));
  setPte(env, L0, 12, pte(DATA + 12, PTE_V | PTE_R | PTE_W | PTE_D));
  setPte(env, ROOT, 1, pte(G + 1, PTE_V | PTE_R | PTE_W | PTE_X));
  setPte(env, ROOT, 2, pte(OUTSIDE, PTE_V));
  setPte(env, ROOT, 3, pte(FIRST_ABSENT + 1, PTE_V));
  setPte(env, ROOT, 4, pte(G, PTE_V | PTE_R | PTE_W | PTE_X));
}

function standard(shadow: ShadowOptions = {}): Env {
  const env = makeEnv(shadow);
  writeStandardTables(env);
  return env;
}

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

// ── property: every fill agrees with a reference guest walk composed with the P2M ──────────────────

type Ref = { readonly gpa: number; readonly pteAddr: number } | { readonly cause: number };

/** The guest's translation, from the privileged spec, with no side effects (A/D are not written). */
function refWalk(
  mem: GuestMemory,
  gsatp: number,
  addr: number,
  access: Access,
  kind: ShadowKind,
  mxr: boolean,
): Ref {
  if (gsatp >>> 31 === 0) return { gpa: addr, pteAddr: -1 };
  let table = (gsatp & SATP_PPN_MASK) * PAGE_SIZE;
  for (let level = 1; level >= 0; level--) {
    const a = table + (level === 1 ? addr >>> 22 : (addr >>> 12) & 1023) * 4;
    const raw = a < 2 ** 32 ? mem.read32(a) : undefined;
    if (raw === undefined) return { cause: ACCESS_FAULT[access] };
    const p = raw >>> 0;
    if ((p & PTE_V) === 0 || ((p & PTE_R) === 0 && (p & PTE_W) !== 0)) return { cause: PAGE_FAULT[access] };
    if ((p & (PTE_R | PTE_X)) === 0) {
      if (level === 0) return { cause: PAGE_FAULT[access] };
      table = (p >>> 10) * PAGE_SIZE;
      continue;
    }
    const user = (p & PTE_U) !== 0;
    if (kind === KIND_U && !user) return { cause: PAGE_FAULT[access] };
    if (kind !== KIND_U && user && (access === ACCESS_FETCH || kind === KIND_S))
      return { cause: PAGE_FAULT[access] };
    const allowed =
      access === ACCESS_FETCH
        ? (p & PTE_X) !== 0
        : access === ACCESS_STORE
          ? (p & PTE_W) !== 0
          : (p & PTE_R) !== 0 || (mxr && (p & PTE_X) !== 0);
    if (!allowed) return { cause: PAGE_FAULT[access] };
    const ppn = p >>> 10;
    if (level === 1 && (ppn & 1023) !== 0) return { cause: PAGE_FAULT[access] };
    const gpa = level === 1 ? ppn * PAGE_SIZE + (addr & 0x3f_ffff) : ppn * PAGE_SIZE + (addr & 0xfff);
    if (gpa >= 2 ** 32) return { cause: ACCESS_FAULT[access] };
    return { gpa, pteAddr: a };
  }
  return { cause: PAGE_FAULT[access] };
}

/** What fill must answer: the reference walk composed with the P2M. */
function expected(env: Env, ref: Ref, access: Access): FillResult {
  if ("cause" in ref) return fault(ref.cause);
  const e = env.p2m.entry(guestFrame(Math.floor(ref.gpa / PAGE_SIZE)));
  if (e.type === "ram") return MAPPED;
  if (e.type === "mmio-trap") return { kind: "mmio", gpa: ref.gpa };
  return fault(ACCESS_FAULT[access]);
}

/**
 * Every entry of every shadow table: pointers to hypervisor frames, leaves to the domain's frames with
 * U set, and no leaf grants an access the guest's own translation (at that kind, with that MXR) refuses.
 */
function checkAllShadows(env: Env, gsatp: number, mxr: boolean): void {
  for (const kind of KINDS) {
    const root = env.mmu.hostSatp(kind) & SATP_PPN_MASK;
    assert.equal(env.allocator.ownerOf(root as HostFrame), HYPERVISOR);
    for (let i = 0; i < 1024; i++) {
      const r = env.bus.read(root * PAGE_SIZE + i * 4, 4)!;
      if ((r & PTE_V) === 0) continue;
      assert.equal(r & (PTE_R | PTE_W | PTE_X), 0, "shadow roots hold only pointers");
      const l0 = r >>> 10;
      assert.equal(
        env.allocator.ownerOf(l0 as HostFrame),
        HYPERVISOR,
        "shadow L0 tables are the hypervisor's",
      );
      for (let j = 0; j < 1024; j++) {
        const leaf = env.bus.read(l0 * PAGE_SIZE + j * 4, 4)! >>> 0;
        if ((leaf & PTE_V) === 0) continue;
        const addr = va(i, j);
        assert.equal(
          env.allocator.ownerOf((leaf >>> 10) as HostFrame),
          DOM,
          `leaf for 0x${addr.toString(16)}`,
        );
        assert.equal(leaf & PTE_U, PTE_U);
        for (const access of ACCESSES) {
          if (hw(env, kind, addr, access) < 0) continue;
          const ref = refWalk(env.mem, gsatp, addr, access, kind, mxr);
          assert.ok(
            "gpa" in ref,
            `kind ${kind} access ${access} at 0x${addr.toString(16)}: the guest refuses it`,
          );
          assert.equal(hostFrameOf(env, Math.floor(ref.gpa / PAGE_SIZE)), leaf >>> 10);
          if (access === ACCESS_STORE && ref.pteAddr >= 0) {
            const gp = env.mem.read32(ref.pteAddr)! >>> 0;
            assert.equal(gp & PTE_D, PTE_D, "W in the shadow only once the guest PTE is dirty");
          }
        }
      }
    }
  }
}

describe("shadow MMU: property", () => {
  const ROOT_IDX = [0, 1, 0x200, 0x3ff] as const;
  const LEAF_IDX = [0, 1, 2, 3, GUEST_FRAMES - 3] as const;
  const L0S = [G + 0x101, G + 0x102, G + 0x103] as const;
  const flagsArb = fc.integer({ min: 0, max: 255 });
  const ppnArb = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: G, max: G + GUEST_FRAMES - 1 }) },
    { weight: 2, arbitrary: fc.constantFrom(MMIO_GFN, MMIO_GFN + 1, OUTSIDE, ROOT, ...L0S, FIRST_ABSENT) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: SATP_PPN_MASK }) },
  );
  const leafArb = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(ppnArb, flagsArb).map(([p, f]) => pte(p, f | PTE_V)) },
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) },
  );
  const rootArb = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...L0S, L0S[0], ROOT, OUTSIDE, FIRST_ABSENT + 2), flagsArb)
        .map(([p, f]) => pte(p, PTE_V | (f & (PTE_U | PTE_A | PTE_D)))),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(G, G, G + 1, MMIO_GFN, G + GUEST_FRAMES, 0x3ffc00), flagsArb)
        .map(([p, f]) => pte(p, f | PTE_V)),
    },
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) },
  );
  const accessArb = fc.record({
    ri: fc.integer({ min: 0, max: ROOT_IDX.length - 1 }),
    li: fc.integer({ min: 0, max: LEAF_IDX.length - 1 }),
    off: fc.integer({ min: 0, max: 4095 }),
    bareGfn: fc.integer({ min: G - 2, max: G + GUEST_FRAMES + 2 }),
    access: fc.constantFrom(...ACCESSES),
    kind: fc.constantFrom(...KINDS),
  });
  const scenario = fc.record({
    roots: fc.array(rootArb, { minLength: ROOT_IDX.length, maxLength: ROOT_IDX.length }),
    leaves: fc.array(leafArb, {
      minLength: L0S.length * LEAF_IDX.length,
      maxLength: L0S.length * LEAF_IDX.length,
    }),
    bare: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
    mxr: fc.boolean(),
    seed: fc.integer({ min: 1, max: 0x7fff_ffff }),
    accesses: fc.array(accessArb, { minLength: 1, maxLength: 24 }),
  });

  it("every fill equals the guest's walk composed with the P2M, and maps only the domain's frames", () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const env = makeEnv({}, sc.seed);
        for (const [k, i] of ROOT_IDX.entries()) setPte(env, ROOT, i, sc.roots[k]);
        for (const [a, t] of L0S.entries())
          for (const [b, j] of LEAF_IDX.entries()) setPte(env, t, j, sc.leaves[a * LEAF_IDX.length + b]);
        const gsatp = sc.bare ? 0 : satpOf(ROOT);
        env.mmu.select(gsatp);
        for (const x of sc.accesses) {
          const addr = sc.bare
            ? (x.bareGfn * PAGE_SIZE + x.off) >>> 0
            : va(ROOT_IDX[x.ri], LEAF_IDX[x.li], x.off);
          const ref = refWalk(env.mem, gsatp, addr, x.access, x.kind, sc.mxr);
          const want = expected(env, ref, x.access);
          const got = env.mmu.fill(addr, x.access, x.kind, sc.mxr, gsatp);
          assert.deepEqual(got, want, `fill(0x${addr.toString(16)}, access ${x.access}, kind ${x.kind})`);
          if (got.kind !== "mapped" || !("gpa" in ref)) continue;
          const hf = hostFrameOf(env, Math.floor(ref.gpa / PAGE_SIZE));
          assert.equal(hw(env, x.kind, addr, x.access), hostPhysOf(hf, ref.gpa & 0xfff));
          if (ref.pteAddr >= 0) {
            const gp = env.mem.read32(ref.pteAddr)! >>> 0;
            assert.equal(gp & PTE_A, PTE_A, "A set by the fill");
            if (x.access === ACCESS_STORE) assert.equal(gp & PTE_D, PTE_D, "D set by a store fill");
          }
        }
        checkAllShadows(env, gsatp, sc.mxr);
      }),
      { numRuns: 150 },
    );
  });
});
