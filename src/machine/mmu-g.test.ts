import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Bus } from "./bus.js";
import {
  CAUSE_INSN_GUEST_PAGE_FAULT,
  CAUSE_INSN_PAGE_FAULT,
  CAUSE_LOAD_GUEST_PAGE_FAULT,
  CAUSE_LOAD_PAGE_FAULT,
  CAUSE_STORE_GUEST_PAGE_FAULT,
  CAUSE_STORE_PAGE_FAULT,
  HGATP_MODE_SV32X4,
  PRIV_S,
  PRIV_U,
  SATP_MODE_SV32,
} from "./isa/csr-defs.js";
import { DRAM_BASE } from "./memory-map.js";
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
} from "./mmu.js";
import { twoStageContext, walkG, walkTwoStage } from "./mmu-g.js";
import { Ram } from "./ram.js";

/*
 * The world of these tests: 64 guest-physical pages, 32 low ones (gpn 0..31) and 32 above 4 GiB
 * (gpn 0x100000..0x10001f, reachable only through Sv32x4's wider root index), page k backed by host
 * frame FRAMES + k·4096. The VS-stage root is guest page 1; its entry for VPN[1] = 0x100 points to a
 * level-0 table in guest page 0x100002 (above 4 GiB). So every guest virtual address 0x4000_0000 +
 * i·4096 (i < 64) walks through two guest pages whose G-stage mappings are themselves random.
 */
const G_ROOT = DRAM_BASE + 0x10000; // 16 KiB-aligned, 16 KiB
const G_L0_LOW = DRAM_BASE + 0x14000;
const G_L0_HIGH = DRAM_BASE + 0x15000;
const FRAMES = DRAM_BASE + 0x100000;
const HIGH = 0x100000; // first gpn above 4 GiB
const VS_ROOT_GPN = 1;
const VS_L0_GPN = HIGH + 2;
const VA_BASE = 0x4000_0000;
const HGATP = HGATP_MODE_SV32X4 | (G_ROOT / 4096);
const VSATP = SATP_MODE_SV32 | VS_ROOT_GPN;

const gpnOf = (k: number): number => (k < 32 ? k : HIGH + k - 32);
const indexOf = (gpn: number): number =>
  gpn < 32 ? gpn : gpn >= HIGH && gpn < HIGH + 32 ? gpn - HIGH + 32 : -1;
const GPF = [CAUSE_INSN_GUEST_PAGE_FAULT, CAUSE_LOAD_GUEST_PAGE_FAULT, CAUSE_STORE_GUEST_PAGE_FAULT];
const PF = [CAUSE_INSN_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT];

interface World {
  /** G-stage flags (V R W X U bits) of guest page k. */
  g: number[];
  /** VS-stage leaf i (for va VA_BASE + i·4096): flags and target gpn. */
  vs: { flags: number; gpn: number }[];
}

function build(w: World): Bus {
  const bus = new Bus(new Ram(DRAM_BASE, 2 << 20));
  bus.write(G_ROOT, 4, ((G_L0_LOW / 4096) << 10) | PTE_V);
  bus.write(G_ROOT + 0x400 * 4, 4, ((G_L0_HIGH / 4096) << 10) | PTE_V);
  for (let k = 0; k < 64; k++) {
    const gpn = gpnOf(k);
    const table = gpn < HIGH ? G_L0_LOW : G_L0_HIGH;
    bus.write(table + (gpn & 0x3ff) * 4, 4, (((FRAMES + k * 4096) / 4096) << 10) | w.g[k] | PTE_A | PTE_D);
  }
  const frame = (gpn: number): number => FRAMES + indexOf(gpn) * 4096;
  bus.write(frame(VS_ROOT_GPN) + 0x100 * 4, 4, (VS_L0_GPN << 10) | PTE_V);
  w.vs.forEach((e, i) => {
    bus.write(frame(VS_L0_GPN) + i * 4, 4, (e.gpn << 10) | e.flags | PTE_A | PTE_D);
  });
  return bus;
}

interface Query {
  i: number;
  off: number;
  access: Access;
  priv: number;
  sum: boolean;
  mxr: boolean;
  gmxr: boolean;
  hlvx: boolean;
}

type Outcome = { pa: number } | { cause: number; gpa?: number; implicit?: boolean };

/** The spec's rules applied to the model directly (no page-table memory): G-stage, then the composition. */
function refG(w: World, gpa: number, access: Access, faultAccess: Access, q: Query): Outcome {
  const k = indexOf(Math.floor(gpa / 4096));
  const f = k < 0 ? 0 : w.g[k];
  const gpf = { cause: GPF[faultAccess], gpa };
  if ((f & PTE_V) === 0 || ((f & PTE_R) === 0 && (f & PTE_W) !== 0) || (f & (PTE_R | PTE_X)) === 0)
    return gpf;
  if ((f & PTE_U) === 0) return gpf;
  const ok =
    access === ACCESS_FETCH
      ? (f & PTE_X) !== 0
      : access === ACCESS_STORE
        ? (f & PTE_W) !== 0
        : q.hlvx
          ? (f & PTE_X) !== 0
          : (f & PTE_R) !== 0 || (q.gmxr && (f & PTE_X) !== 0);
  return ok ? { pa: FRAMES + k * 4096 + (gpa % 4096) } : gpf;
}

function refTwoStage(w: World, q: Query): Outcome {
  const implicit = (gpa: number): Outcome | undefined => {
    const r = refG(w, gpa, ACCESS_LOAD, q.access, { ...q, hlvx: false });
    return "pa" in r ? undefined : { ...r, implicit: true };
  };
  const rootFault = implicit(VS_ROOT_GPN * 4096 + 0x100 * 4);
  if (rootFault !== undefined) return rootFault;
  const l0Fault = implicit(VS_L0_GPN * 4096 + q.i * 4);
  if (l0Fault !== undefined) return l0Fault;
  const e = w.vs[q.i];
  const f = e.flags;
  const pf = { cause: PF[q.access] };
  if ((f & PTE_V) === 0 || ((f & PTE_R) === 0 && (f & PTE_W) !== 0)) return pf;
  if ((f & (PTE_R | PTE_X)) === 0) return pf; // a pointer at level 0
  const user = (f & PTE_U) !== 0;
  if (q.priv === PRIV_U && !user) return pf;
  if (q.priv === PRIV_S && user && (q.access === ACCESS_FETCH || !q.sum)) return pf;
  const mxr = q.mxr || q.gmxr;
  const ok =
    q.access === ACCESS_FETCH
      ? (f & PTE_X) !== 0
      : q.access === ACCESS_STORE
        ? (f & PTE_W) !== 0
        : q.hlvx
          ? (f & PTE_X) !== 0
          : (f & PTE_R) !== 0 || (mxr && (f & PTE_X) !== 0);
  if (!ok) return pf;
  const r = refG(w, e.gpn * 4096 + q.off, q.access, q.access, q);
  return "pa" in r ? r : { ...r, implicit: false };
}

function run(bus: Bus, q: Query): Outcome {
  const ctx = twoStageContext();
  Object.assign(ctx, { vsatp: VSATP, hgatp: HGATP, priv: q.priv, sum: q.sum, mxr: q.mxr || q.gmxr });
  Object.assign(ctx, { gmxr: q.gmxr, hlvx: q.hlvx });
  const r = walkTwoStage(bus, ctx, VA_BASE + q.i * 4096 + q.off, q.access);
  if (r >= 0) return { pa: r };
  const cause = -r - 1;
  return GPF.includes(cause) ? { cause, gpa: ctx.gpa, implicit: ctx.implicit } : { cause };
}

const flags = fc.integer({ min: 0, max: 31 });
const world: fc.Arbitrary<World> = fc.record({
  g: fc.array(flags, { minLength: 64, maxLength: 64 }),
  vs: fc.array(
    fc.record({
      flags,
      gpn: fc.oneof(
        fc.integer({ min: 0, max: 63 }).map(gpnOf),
        fc.constantFrom(40, 0x200, HIGH + 0x300, 0x3fffff), // unmapped guest pages
      ),
    }),
    { minLength: 64, maxLength: 64 },
  ),
});
const query: fc.Arbitrary<Query> = fc.record({
  i: fc.integer({ min: 0, max: 63 }),
  off: fc.integer({ min: 0, max: 4095 }),
  access: fc.constantFrom<Access>(ACCESS_FETCH, ACCESS_LOAD, ACCESS_STORE),
  priv: fc.constantFrom(PRIV_U, PRIV_S),
  sum: fc.boolean(),
  mxr: fc.boolean(),
  gmxr: fc.boolean(),
  hlvx: fc.boolean(),
});

test("the two-stage walk equals the composition of the VS-stage and G-stage rules (property)", () => {
  fc.assert(
    fc.property(world, fc.array(query, { minLength: 1, maxLength: 8 }), (w, qs) => {
      const bus = build(w);
      for (const q0 of qs) {
        const q = q0.access === ACCESS_LOAD ? q0 : { ...q0, hlvx: false };
        assert.deepEqual(run(bus, q), refTwoStage(w, q));
      }
    }),
    { numRuns: 300 },
  );
  // And again with the table pages always G-mapped (so most walks reach the leaves).
  const tablesMapped = world.map((w) => {
    const g = [...w.g];
    g[indexOf(VS_ROOT_GPN)] = PTE_V | PTE_R | PTE_U;
    g[indexOf(VS_L0_GPN)] = PTE_V | PTE_R | PTE_U;
    return { ...w, g };
  });
  fc.assert(
    fc.property(tablesMapped, fc.array(query, { minLength: 1, maxLength: 8 }), (w, qs) => {
      const bus = build(w);
      for (const q0 of qs) {
        const q = q0.access === ACCESS_LOAD ? q0 : { ...q0, hlvx: false };
        assert.deepEqual(run(bus, q), refTwoStage(w, q));
      }
    }),
    { numRuns: 300 },
  );
});

function simpleWorld(): World {
  return {
    g: Array.from({ length: 64 }, () => PTE_V | PTE_R | PTE_W | PTE_X | PTE_U),
    vs: Array.from({ length: 64 }, (_, i) => ({ flags: PTE_V | PTE_R | PTE_W | PTE_X, gpn: gpnOf(i) })),
  };
}

const baseQuery: Query = {
  i: 5,
  off: 0x123,
  access: ACCESS_LOAD,
  priv: PRIV_S,
  sum: false,
  mxr: false,
  gmxr: false,
  hlvx: false,
};

test("G-stage leaves must have U = 1: a supervisor-only G-stage page is a guest-page fault with its gpa", () => {
  const w = simpleWorld();
  w.g[5] = PTE_V | PTE_R | PTE_W | PTE_X;
  const r = run(build(w), { ...baseQuery, access: ACCESS_STORE });
  assert.deepEqual(r, { cause: CAUSE_STORE_GUEST_PAGE_FAULT, gpa: 5 * 4096 + 0x123, implicit: false });
});

test("a G-stage fault on a VS-stage page-table read is reported as the original access's kind, implicit", () => {
  const w = simpleWorld();
  w.g[indexOf(VS_L0_GPN)] = 0;
  const r = run(build(w), { ...baseQuery, access: ACCESS_FETCH });
  assert.deepEqual(r, { cause: CAUSE_INSN_GUEST_PAGE_FAULT, gpa: VS_L0_GPN * 4096 + 5 * 4, implicit: true });
});

test("guest-physical addresses above 4 GiB go through Sv32x4's wide root index", () => {
  const bus = build(simpleWorld());
  assert.equal(
    walkG(bus, HGATP, HIGH * 4096 + 7 * 4096 + 8, ACCESS_LOAD, false, false),
    FRAMES + 39 * 4096 + 8,
  );
  // hgatp Bare: guest-physical = physical (below 4 GiB only)
  assert.equal(walkG(bus, 0, 0x8000_1000, ACCESS_STORE, false, false), 0x8000_1000);
});

test("A/D updates of VS-stage PTEs need G-stage write permission on the table page", () => {
  const w = simpleWorld();
  const bus = build(w);
  // Clear A/D of leaf 5 and make the table page read-only at the G-stage.
  const l0 = FRAMES + indexOf(VS_L0_GPN) * 4096 + 5 * 4;
  bus.write(l0, 4, (bus.read(l0, 4) as number) & ~(PTE_A | PTE_D));
  const gte = G_L0_HIGH + (VS_L0_GPN & 0x3ff) * 4;
  bus.write(gte, 4, ((bus.read(gte, 4) as number) & ~PTE_W) | PTE_A | PTE_D);
  const ctx = twoStageContext();
  Object.assign(ctx, { vsatp: VSATP, hgatp: HGATP, priv: PRIV_S });
  const r = walkTwoStage(bus, ctx, VA_BASE + 5 * 4096, ACCESS_LOAD);
  assert.equal(r, -(CAUSE_LOAD_GUEST_PAGE_FAULT + 1));
  assert.equal(ctx.implicit && ctx.implicitWrite, true);
  // Writable again: the walk succeeds and sets A in guest memory.
  bus.write(gte, 4, (bus.read(gte, 4) as number) | PTE_W);
  assert.equal(walkTwoStage(bus, ctx, VA_BASE + 5 * 4096, ACCESS_LOAD), FRAMES + 5 * 4096);
  assert.equal((bus.read(l0, 4) as number) & (PTE_A | PTE_D), PTE_A);
});

test("vsatp Bare: the guest virtual address is the guest-physical one", () => {
  const bus = build(simpleWorld());
  const ctx = twoStageContext();
  Object.assign(ctx, { vsatp: 0, hgatp: HGATP, priv: PRIV_U });
  assert.equal(walkTwoStage(bus, ctx, 3 * 4096 + 4, ACCESS_FETCH), FRAMES + 3 * 4096 + 4);
  assert.equal(walkTwoStage(bus, ctx, 40 * 4096, ACCESS_LOAD), -(CAUSE_LOAD_GUEST_PAGE_FAULT + 1));
  assert.equal(ctx.gpa, 40 * 4096);
});
