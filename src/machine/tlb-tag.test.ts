/**
 * The TLB's banks (tlb.ts): entries tagged by translation context — V and the VMID, the privilege,
 * satp/vsatp — survive switches between contexts, and each fence flushes what the privileged spec says
 * it orders and leaves the rest. A stale entry (a page-table store not yet fenced) may be seen exactly
 * where the spec allows it; a property test checks random sequences of context switches, page-table
 * stores, fences and loads against an uncached walk of the same tables.
 *
 * Host memory (4 MiB of RAM at DRAM_BASE, offsets below):
 *
 *   0x40000, 0x44000   the two virtual machines' G-stage roots (Sv32x4, 16 KiB each), VMIDs 1 and 2
 *   0x48000, 0x49000   their level-0 tables: guest-physical pages 0..15
 *   0x60000+           VM 1's VS-stage tables (guest-physical pages 8..11), VM 2's at 0x70000+
 *   0x80000, 0x81000   HS's own Sv32 root and level-0 table (satp)
 *   0x100000+          32 data frames; word 0 of frame i holds FRAME_MARK + i
 *
 * Guest-physical pages 8, 9 hold VS roots A and B, 10 and 11 their level-0 tables; every table maps
 * virtual pages VA + n·4 KiB (n < PAGES). Every PTE has A and D set, so no walk writes memory.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { Hart } from "./hart.js";
import { setVirt } from "./hext.js";
import { run as interpret } from "./interpreter.js";
import {
  CSR,
  HCSR,
  HGATP_MODE_SV32X4,
  MSTATUS_SUM,
  PRIV_M,
  PRIV_S,
  PRIV_U,
  type Priv,
  SATP_MODE_SV32,
} from "./isa/csr-defs.js";
import { encode } from "./isa/encode.js";
import { Machine } from "./machine.js";
import { DRAM_BASE } from "./memory-map.js";
import { ACCESS_LOAD, PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, walkSv32 } from "./mmu.js";
import { twoStageContext, walkTwoStage } from "./mmu-g.js";
import { poke } from "./test-support.js";

const G_ROOT = [0, DRAM_BASE + 0x40000, DRAM_BASE + 0x44000];
const G_L0 = [0, DRAM_BASE + 0x48000, DRAM_BASE + 0x49000];
const VS_FRAMES = [0, DRAM_BASE + 0x60000, DRAM_BASE + 0x70000];
const HS_ROOT = DRAM_BASE + 0x80000;
const HS_L0 = DRAM_BASE + 0x81000;
const FRAMES = DRAM_BASE + 0x100000;
const FRAME_MARK = 0x5a00;
const NFRAMES = 32;
/** Guest virtual (and HS virtual) pages under test. */
const VA = 0x4000_0000;
const PAGES = 4;
/** Guest-physical data pages (the rest hold the VS tables). */
const GPAGES = 8;
const VS_ROOT_GPAGE = [8, 9];
const VS_L0_GPAGE = [10, 11];
const LEAF = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;

const pte = (addr: number, flags: number): number => ((addr >>> 12) << 10) | flags | 0;
const frame = (i: number): number => FRAMES + i * 4096;
const hgatp = (vm: number): number => HGATP_MODE_SV32X4 | (vm << 22) | (G_ROOT[vm] >>> 12);
const vsatp = (table: number): number => SATP_MODE_SV32 | VS_ROOT_GPAGE[table];
const HS_SATP = SATP_MODE_SV32 | (HS_ROOT >>> 12);

function hx(h: Hart) {
  assert.ok(h.hx !== undefined);
  return h.hx;
}

/** Host address of guest-physical page `gpage` of `vm` when it holds a VS table (pages 8..11). */
const vsTableHost = (vm: number, gpage: number): number => VS_FRAMES[vm] + (gpage - 8) * 4096;

/** A fresh board with both VMs' tables and HS's: VS table t maps page n to gpage (n + t) % 8, G maps gpage g to frame 8·(vm−1) + g, HS maps page n to frame 24 + n. */
function world(): Hart {
  return worldMachine().harts[0];
}

function worldMachine(): Machine {
  const m = new Machine({ ramBytes: 4 * 1024 * 1024, hExtension: true });
  const h = m.harts[0];
  h.reset(DRAM_BASE);
  const w = (addr: number, v: number) => h.bus.write(addr, 4, v);
  for (let i = 0; i < NFRAMES; i++) w(frame(i), FRAME_MARK + i);
  for (const vm of [1, 2]) {
    w(G_ROOT[vm], pte(G_L0[vm], PTE_V));
    for (let g = 0; g < GPAGES; g++) setG(h, vm, g, 8 * (vm - 1) + g);
    for (let g = 8; g < 12; g++) w(G_L0[vm] + g * 4, pte(vsTableHost(vm, g), LEAF | PTE_U));
    for (const t of [0, 1]) {
      w(vsTableHost(vm, VS_ROOT_GPAGE[t]) + (VA >>> 22) * 4, pte(VS_L0_GPAGE[t] * 4096, PTE_V));
      for (let n = 0; n < PAGES; n++) setVs(h, vm, t, n, (n + t) % GPAGES);
    }
  }
  w(HS_ROOT + (VA >>> 22) * 4, pte(HS_L0, PTE_V));
  for (let n = 0; n < PAGES; n++) setHs(h, n, 24 + n);
  return m;
}

/** G-stage leaf of `vm`: guest-physical page `gpage` → data frame `f`. */
function setG(h: Hart, vm: number, gpage: number, f: number): void {
  h.bus.write(G_L0[vm] + gpage * 4, 4, pte(frame(f), LEAF | PTE_U));
}

/** VS-stage leaf of `vm`'s table `t`: virtual page n → guest-physical page `gpage`. */
function setVs(h: Hart, vm: number, t: number, n: number, gpage: number): void {
  h.bus.write(vsTableHost(vm, VS_L0_GPAGE[t]) + n * 4, 4, pte(gpage * 4096, LEAF));
}

/** HS's leaf: virtual page n → data frame `f`. */
function setHs(h: Hart, n: number, f: number): void {
  h.bus.write(HS_L0 + n * 4, 4, pte(frame(f), LEAF));
}

/** HS-mode with satp, as a hypervisor runs (V = 0; hgatp keeps whatever VM it held). */
function toHs(h: Hart): void {
  setVirt(h, false);
  h.setPriv(PRIV_S);
  h.csrWrite(CSR.satp, HS_SATP, 0);
}

/** Into VM `vm` (VMID = vm) with VS table `t`, the way a hypervisor world switch does: CSR writes, no fence. */
function toVm(h: Hart, vm: number, t: number, priv: Priv = PRIV_S): void {
  toHs(h);
  h.csrWrite(HCSR.vsatp, 0, 0);
  h.csrWrite(HCSR.hgatp, hgatp(vm), 0);
  h.csrWrite(HCSR.vsatp, vsatp(t), 0);
  setVirt(h, true);
  h.setPriv(priv);
}

/** Which data frame a load of page n gives in the current context. */
function load(h: Hart, n: number): number {
  return h.lw(VA + n * 4096) - FRAME_MARK;
}

/** Runs `fn` in HS-mode (hgatp = VM `vm`'s) and comes back to where the hart was. */
function inHs(h: Hart, vm: number, fn: () => void): void {
  const virt = h.virt;
  const priv = h.priv;
  setVirt(h, false);
  h.setPriv(PRIV_S);
  const saved = hx(h).hgatp;
  h.csrWrite(HCSR.hgatp, hgatp(vm), 0);
  fn();
  h.csrWrite(HCSR.hgatp, saved, 0);
  setVirt(h, virt);
  h.setPriv(priv);
}

const HFENCE_VVMA = encode("hfence.vvma", {});
const HFENCE_GVMA = encode("hfence.gvma", {});
const SFENCE_VMA = encode("sfence.vma", {});

describe("TLB entries tagged by VMID", () => {
  test("two VMs with different G-stage tables alternate without a flush and each sees its own frames", () => {
    const h = world();
    let fillsAfterFirstRound = 0;
    for (let round = 0; round < 3; round++) {
      for (const vm of [1, 2]) {
        toVm(h, vm, 0);
        for (let n = 0; n < PAGES; n++) assert.equal(load(h, n), 8 * (vm - 1) + n, `vm ${vm} page ${n}`);
      }
      if (round === 0) fillsAfterFirstRound = h.tlbFills;
    }
    assert.equal(fillsAfterFirstRound, 2 * PAGES);
    assert.equal(h.tlbFills, fillsAfterFirstRound, "the later rounds hit the TLB");
  });

  test("V = 0 (HS, U) entries are apart from V = 1's for the same virtual address", () => {
    const h = world();
    for (let round = 0; round < 2; round++) {
      toHs(h);
      assert.equal(load(h, 1), 25);
      toVm(h, 1, 0);
      assert.equal(load(h, 1), 1);
      toVm(h, 1, 0, PRIV_U);
      assert.throws(() => load(h, 1)); // a supervisor page: VU takes a page fault
      h.setPriv(PRIV_S);
    }
    // HS's and VS's entries were filled once; VU's page fault walks each time (faults are not cached).
    assert.equal(h.tlbFills, 2 + 2);
  });

  test("HFENCE.GVMA with a VMID flushes that VM's entries only; x0 flushes every VM's", () => {
    const h = world();
    for (const vm of [1, 2]) {
      toVm(h, vm, 0);
      load(h, 0);
    }
    setG(h, 1, 0, 30); // both VMs' page 0 moves, no fence yet
    setG(h, 2, 0, 31);
    inHs(h, 1, () => h.hfence(1, -1, 1, HFENCE_GVMA)); // hfence.gvma x0, (rs2 = 1)
    toVm(h, 1, 0);
    assert.equal(load(h, 0), 30, "VMID 1 was fenced: its new G-stage mapping");
    toVm(h, 2, 0);
    assert.equal(load(h, 0), 8, "VMID 2 was not: its entry may stay stale, and does");
    inHs(h, 2, () => h.hfence(1, 0x1234, -1, HFENCE_GVMA)); // any gpa, every VMID
    assert.equal(load(h, 0), 31);
  });

  test("HFENCE.VVMA flushes the current VMID's entries (one page, or all), not another VM's nor HS's", () => {
    const h = world();
    toHs(h);
    load(h, 0);
    for (const vm of [1, 2]) {
      toVm(h, vm, 0);
      load(h, 0);
      load(h, 1);
    }
    for (const vm of [1, 2]) {
      setVs(h, vm, 0, 0, 5); // page 0 → gpage 5, page 1 → gpage 6, in both VMs; HS's page 0 too
      setVs(h, vm, 0, 1, 6);
    }
    setHs(h, 0, 20);
    inHs(h, 1, () => h.hfence(0, VA, -1, HFENCE_VVMA)); // hfence.vvma VA: VMID 1's page 0
    toVm(h, 1, 0);
    assert.equal(load(h, 0), 5);
    assert.equal(load(h, 1), 1, "page 1 was not named: stale");
    toVm(h, 2, 0);
    assert.equal(load(h, 0), 8, "another VMID: stale");
    toHs(h);
    assert.equal(load(h, 0), 24, "HS's entries: stale");
    inHs(h, 2, () => h.hfence(0, -1, -1, HFENCE_VVMA));
    toVm(h, 2, 0);
    assert.deepEqual([load(h, 0), load(h, 1)], [13, 14]);
  });

  test("SFENCE.VMA in VS fences its own VM; in HS, the V = 0 entries of every satp and no VM's", () => {
    const h = world();
    toHs(h);
    load(h, 2);
    for (const vm of [1, 2]) {
      toVm(h, vm, 0);
      load(h, 2);
    }
    setVs(h, 1, 0, 2, 7);
    setVs(h, 2, 0, 2, 7);
    setHs(h, 2, 21);
    toVm(h, 1, 0);
    h.sfenceVma(-1, -1, SFENCE_VMA);
    assert.equal(load(h, 2), 7);
    toVm(h, 2, 0);
    assert.equal(load(h, 2), 10, "VM 2 did not fence");
    toHs(h);
    assert.equal(load(h, 2), 26, "nor did HS");
    h.sfenceVma(VA + 2 * 4096, -1, SFENCE_VMA);
    assert.equal(load(h, 2), 21);
    toVm(h, 2, 0);
    assert.equal(load(h, 2), 10, "HS's fence leaves the VMs' entries");
  });

  test("a stale entry survives a VMID switch and back, and goes at the fence the spec requires", () => {
    const h = world();
    toVm(h, 1, 0);
    assert.equal(load(h, 3), 3);
    setVs(h, 1, 0, 3, 4); // the guest remaps page 3, no fence yet
    toVm(h, 2, 0);
    assert.equal(load(h, 3), 11);
    toVm(h, 1, 0);
    assert.equal(load(h, 3), 3, "still the cached translation: allowed until the guest fences");
    h.sfenceVma(VA + 3 * 4096, -1, SFENCE_VMA);
    assert.equal(load(h, 3), 4);
  });

  test("vsatp, hgatp and satp changes need no flush: each value has its own entries", () => {
    const h = world();
    toVm(h, 1, 0);
    assert.equal(load(h, 0), 0);
    toVm(h, 1, 1);
    assert.equal(load(h, 0), 1, "table B maps page 0 to gpage 1");
    toVm(h, 1, 0);
    assert.equal(load(h, 0), 0);
    // The same VMID over another G-stage table (a hypervisor reusing VMID 1 for VM 2's table) is never
    // served VM 1's entries, though the spec would allow that until an HFENCE.GVMA.
    toHs(h);
    h.csrWrite(HCSR.hgatp, (hgatp(2) & ~(0x7f << 22)) | (1 << 22), 0);
    h.csrWrite(HCSR.vsatp, vsatp(0), 0);
    setVirt(h, true);
    assert.equal(load(h, 0), 8);
    toHs(h);
    assert.equal(load(h, 0), 24);
    h.csrWrite(CSR.satp, 0, 0);
    assert.equal(h.lw(frame(5)) - FRAME_MARK, 5, "satp Bare: physical");
  });

  test("the instruction passes its operands: hfence.gvma x0, a0 with a0 = 2 flushes VMID 2 only", () => {
    const m = worldMachine();
    const h = m.harts[0];
    for (const vm of [1, 2]) {
      toVm(h, vm, 0);
      load(h, 0);
    }
    setG(h, 1, 0, 30);
    setG(h, 2, 0, 31);
    // One M-mode instruction at the start of RAM (its own frame, not a table).
    poke(m, DRAM_BASE, [encode("hfence.gvma", { rs1: 0, rs2: 10 })]);
    setVirt(h, false);
    h.setPriv(PRIV_M);
    h.x[10] = 2;
    h.pc = DRAM_BASE;
    interpret(h, 1);
    assert.equal(h.pc, DRAM_BASE + 4);
    toVm(h, 1, 0);
    assert.equal(load(h, 0), 0, "VMID 1: stale");
    toVm(h, 2, 0);
    assert.equal(load(h, 0), 31);
  });
});

describe("TLB entries tagged by privilege (native)", () => {
  test("U and S alternate (a system call and its return) without refilling; SUM selects its own entries", () => {
    const h = world();
    for (let n = 0; n < PAGES; n++) h.bus.write(HS_L0 + n * 4, 4, pte(frame(24 + n), LEAF | PTE_U));
    toHs(h);
    h.setPriv(PRIV_U);
    load(h, 0);
    h.setPriv(PRIV_S);
    assert.throws(() => load(h, 0), "a U page from S without SUM");
    h.mstatus |= MSTATUS_SUM;
    h.retagTlb();
    assert.equal(load(h, 0), 24);
    const fills = h.tlbFills;
    for (let i = 0; i < 3; i++) {
      h.setPriv(PRIV_U);
      assert.equal(load(h, 0), 24);
      h.setPriv(PRIV_S);
      assert.equal(load(h, 0), 24);
    }
    assert.equal(h.tlbFills, fills, "both privileges' entries stayed");
    h.mstatus &= ~MSTATUS_SUM;
    h.retagTlb();
    assert.throws(() => load(h, 0), "without SUM again: S's SUM entry is not used");
    setHs(h, 0, 20);
    h.setPriv(PRIV_U);
    assert.equal(load(h, 0), 24, "unfenced: stale");
    h.setPriv(PRIV_S);
    h.sfenceVma(-1, -1, SFENCE_VMA);
    h.setPriv(PRIV_U);
    assert.throws(() => load(h, 0), "S's sfence.vma flushed U's entries too (the new PTE has no U bit)");
  });
});

describe("fences of one address inside a megapage", () => {
  /** Virtual 4 MiB region 0x4040_0000 (vpn1 0x101), mapped by a megapage leaf of HS's root or VM 1's VS root A. */
  const MEGA_VA = 0x4040_0000;
  const at = (n: number) => MEGA_VA + 0x100000 + n * 4096; // frames 0.. of RAM's megapage, or gpages 0..

  test("SFENCE.VMA of one page of a megapage flushes every cached page of it (Sv32)", () => {
    const h = world();
    const leaf = HS_ROOT + (MEGA_VA >>> 22) * 4;
    h.bus.write(leaf, 4, pte(DRAM_BASE, LEAF));
    toHs(h);
    assert.deepEqual([h.lw(at(1)), h.lw(at(2))], [FRAME_MARK + 1, FRAME_MARK + 2]);
    h.bus.write(leaf, 4, 0);
    h.sfenceVma(at(1), -1, SFENCE_VMA);
    assert.throws(() => h.lw(at(2)), "page 2 came from the same leaf: not cached any more");
  });

  test("HFENCE.VVMA of one page of a VS-stage megapage flushes every cached page of it", () => {
    const h = world();
    const leaf = vsTableHost(1, VS_ROOT_GPAGE[0]) + (MEGA_VA >>> 22) * 4;
    h.bus.write(leaf, 4, pte(0, LEAF)); // onto guest-physical 0: gpage n is frame n
    toVm(h, 1, 0);
    const gva = (n: number) => MEGA_VA + n * 4096;
    assert.deepEqual([h.lw(gva(1)), h.lw(gva(2))], [FRAME_MARK + 1, FRAME_MARK + 2]);
    h.bus.write(leaf, 4, 0);
    inHs(h, 1, () => h.hfence(0, gva(1), -1, HFENCE_VVMA));
    assert.throws(() => h.lw(gva(2)));
  });
});

// ── property: the TLB against an uncached walk ─────────────────────────────────────────────────

type Op =
  | { op: "ctx"; vm: number; t: number } // vm 0: HS
  | { op: "vs"; vm: number; t: number; n: number; gpage: number }
  | { op: "g"; vm: number; gpage: number; f: number }
  | { op: "hs"; n: number; f: number }
  | { op: "vvma"; vm: number; n: number } // n −1: every page
  | { op: "gvma"; vmid: number } // −1: every VMID
  | { op: "sfence"; n: number }
  | { op: "load"; n: number };

const vmArb = fc.constantFrom(1, 2);
const tArb = fc.constantFrom(0, 1);
const pageArb = fc.integer({ min: 0, max: PAGES - 1 });
const pageOrAll = fc.integer({ min: -1, max: PAGES - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("ctx" as const), vm: fc.constantFrom(0, 1, 2), t: tArb }),
  },
  fc.record({
    op: fc.constant("vs" as const),
    vm: vmArb,
    t: tArb,
    n: pageArb,
    gpage: fc.integer({ min: 0, max: GPAGES - 1 }),
  }),
  fc.record({
    op: fc.constant("g" as const),
    vm: vmArb,
    gpage: fc.integer({ min: 0, max: GPAGES - 1 }),
    f: fc.integer({ min: 0, max: NFRAMES - 1 }),
  }),
  fc.record({ op: fc.constant("hs" as const), n: pageArb, f: fc.integer({ min: 0, max: NFRAMES - 1 }) }),
  fc.record({ op: fc.constant("vvma" as const), vm: vmArb, n: pageOrAll }),
  fc.record({ op: fc.constant("gvma" as const), vmid: fc.constantFrom(-1, 1, 2) }),
  fc.record({ op: fc.constant("sfence" as const), n: pageOrAll }),
  { weight: 5, arbitrary: fc.record({ op: fc.constant("load" as const), n: pageArb }) },
);

/** The frame an uncached walk of the current tables gives for page n of context (vm, t). */
function walked(h: Hart, vm: number, t: number, n: number): number {
  const va = VA + n * 4096;
  let pa: number;
  if (vm === 0)
    pa = walkSv32(h.bus, { satp: HS_SATP, priv: PRIV_S, sum: false, mxr: false }, va, ACCESS_LOAD);
  else {
    const ctx = twoStageContext();
    ctx.vsatp = vsatp(t);
    ctx.hgatp = hgatp(vm);
    pa = walkTwoStage(h.bus, ctx, va, ACCESS_LOAD);
  }
  assert.ok(pa >= 0, `walk of vm ${vm} table ${t} page ${n}: ${pa}`);
  return (h.bus.read(pa, 4) ?? 0) - FRAME_MARK;
}

/**
 * What the spec lets a load of one page of one context return: any translation the tables gave since
 * the last fence that ordered every store made to them since. A VS-stage (or HS) store is ordered by
 * SFENCE.VMA or HFENCE.VVMA, a G-stage store by HFENCE.GVMA; until both kinds are, the old translations
 * stay allowed, and then only the walk's.
 */
interface Allowed {
  frames: Set<number>;
  pendingVs: boolean;
  pendingG: boolean;
}

test("random VMID switches, page-table stores, fences and loads agree with an uncached two-stage walk", () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 20, maxLength: 100 }), (ops) => {
      const h = world();
      const model = new Map<string, Allowed>();
      const key = (vm: number, t: number, n: number) => `${vm}.${t}.${n}`;
      const contexts: [number, number][] = [
        [0, 0],
        [1, 0],
        [1, 1],
        [2, 0],
        [2, 1],
      ];
      for (const [vm, t] of contexts)
        for (let n = 0; n < PAGES; n++)
          model.set(key(vm, t, n), {
            frames: new Set([walked(h, vm, t, n)]),
            pendingVs: false,
            pendingG: false,
          });
      const entry = (vm: number, t: number, n: number) => model.get(key(vm, t, n)) as Allowed;
      const stored = (vm: number, t: number, n: number, g: boolean) => {
        const a = entry(vm, t, n);
        if (g) a.pendingG = true;
        else a.pendingVs = true;
        a.frames.add(walked(h, vm, t, n));
      };
      const fenced = (vm: number, t: number, n: number, g: boolean) => {
        const a = entry(vm, t, n);
        if (g) a.pendingG = false;
        else a.pendingVs = false;
        if (!a.pendingVs && !a.pendingG) a.frames = new Set([walked(h, vm, t, n)]);
      };
      const pages = (n: number) => (n === -1 ? [0, 1, 2, 3] : [n]);
      let cur: [number, number] = [0, 0];
      toHs(h);
      for (const o of ops) {
        switch (o.op) {
          case "ctx":
            cur = [o.vm, o.vm === 0 ? 0 : o.t];
            if (o.vm === 0) toHs(h);
            else toVm(h, o.vm, o.t);
            break;
          case "vs":
            setVs(h, o.vm, o.t, o.n, o.gpage);
            stored(o.vm, o.t, o.n, false);
            break;
          case "g":
            setG(h, o.vm, o.gpage, o.f);
            for (const t of [0, 1]) for (let n = 0; n < PAGES; n++) stored(o.vm, t, n, true);
            break;
          case "hs":
            setHs(h, o.n, o.f);
            stored(0, 0, o.n, false);
            break;
          case "vvma":
            inHs(h, o.vm, () => h.hfence(0, o.n === -1 ? -1 : VA + o.n * 4096, -1, HFENCE_VVMA));
            for (const t of [0, 1]) for (const n of pages(o.n)) fenced(o.vm, t, n, false);
            break;
          case "gvma":
            inHs(h, 1, () => h.hfence(1, -1, o.vmid, HFENCE_GVMA));
            for (const vm of o.vmid === -1 ? [1, 2] : [o.vmid])
              for (const t of [0, 1]) for (let n = 0; n < PAGES; n++) fenced(vm, t, n, true);
            break;
          case "sfence": {
            h.sfenceVma(o.n === -1 ? -1 : VA + o.n * 4096, -1, SFENCE_VMA);
            const [vm] = cur;
            for (const t of vm === 0 ? [0] : [0, 1]) for (const n of pages(o.n)) fenced(vm, t, n, false);
            break;
          }
          case "load": {
            const got = load(h, o.n);
            const a = entry(cur[0], cur[1], o.n);
            assert.ok(
              a.frames.has(got),
              `context ${cur} page ${o.n}: frame ${got}, allowed ${[...a.frames]} (walk: ${walked(h, cur[0], cur[1], o.n)})`,
            );
          }
        }
      }
    }),
    { seed: 0x7ab, numRuns: 500 },
  );
});
