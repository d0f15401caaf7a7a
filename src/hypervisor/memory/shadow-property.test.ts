/**
 * The shadow MMU's property (the environment: shadow-test-support.ts): over random guest tables, every
 * fill answers what a reference guest walk, written from the privileged spec and composed with the P2M,
 * says it must; and afterwards every entry of every shadow table is a hypervisor-owned pointer or a leaf
 * to the domain's own frame that grants nothing the guest's translation refuses (W only once the guest
 * PTE is dirty).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SATP_PPN_MASK } from "../../machine/isa/csr-defs.js";
import {
  ACCESS_FETCH,
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
import { guestFrame, type HostFrame, hostPhysOf } from "./addresses.js";
import { HYPERVISOR } from "./frames.js";
import type { GuestMemory } from "./guest-memory.js";
import { type FillResult, KIND_S, KIND_U, type ShadowKind } from "./shadow.js";
import {
  ACCESS_FAULT,
  ACCESSES,
  DOM,
  type Env,
  FIRST_ABSENT,
  fault,
  G,
  GUEST_FRAMES,
  hostFrameOf,
  hw,
  KINDS,
  MAPPED,
  MMIO_GFN,
  makeEnv,
  OUTSIDE,
  PAGE_FAULT,
  pte,
  ROOT,
  satpOf,
  setPte,
  va,
} from "./shadow-test-support.js";

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
