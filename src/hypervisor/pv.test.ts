/**
 * The PV extension's hypervisor side (docs/pv-abi.md), driven through pvCall on a domain built by hand:
 * real RAM, P2M and shadows, a Hart holding the argument registers, and a fake host recording what the
 * calls ask of the hypervisor. Each "Page tables" rule of the ABI is checked to refuse with its error
 * and to change nothing; what is accepted must reach the guest's table and the shadows.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { Bus } from "../machine/bus.js";
import { BufferConsole } from "../machine/devices/console.js";
import {
  NO_RETURN,
  SBI_ERR_DENIED,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_SUCCESS,
  type SbiRet,
} from "../machine/firmware/sbi-defs.js";
import { Hart } from "../machine/hart.js";
import {
  MSTATUS_SPIE,
  MSTATUS_SPP,
  PRIV_S,
  PRIV_U,
  SATP_MODE_SV32,
  SATP_PPN_MASK,
} from "../machine/isa/csr-defs.js";
import { DRAM_BASE, UART0_BASE } from "../machine/memory-map.js";
import {
  ACCESS_LOAD,
  ACCESS_STORE,
  type Access,
  PTE_A,
  PTE_D,
  PTE_R,
  PTE_V,
  PTE_W,
  PTE_X,
  walkSv32,
} from "../machine/mmu.js";
import { PAGE_SIZE } from "../machine/params.js";
import { Ram } from "../machine/ram.js";
import { Domain } from "./domain.js";
import type { HypercallHost } from "./hypercalls.js";
import { guestFrame, guestPhys, type HostFrame, hostPhysOf } from "./memory/addresses.js";
import { FrameAllocator } from "./memory/frames.js";
import { GuestMemory } from "./memory/guest-memory.js";
import { isP2mFault, P2m } from "./memory/p2m.js";
import { KIND_S, type ShadowKind, ShadowMmu, ShadowPool } from "./memory/shadow.js";
import { hashDomain } from "./memory/test-support.js";
import {
  PV_BLOCK,
  PV_EVENT_CHECK,
  PV_IRET,
  PV_MMU_BATCH_MAX,
  PV_MMU_UPDATE,
  PV_MULTICALL,
  PV_MULTICALL_MAX,
  PV_PIN_TABLE,
  PV_REGISTER_SHARED,
  PV_SET_BASEPTR,
  PV_SET_TRAP_HANDLER,
  PV_UNPIN_TABLE,
  PV_USER_ACCESS,
  PvState,
  pvCall,
  SH_MASK,
  SH_PENDING,
} from "./pv.js";
import { Vcpu } from "./vcpu.js";

const DOM = 3;
const G = DRAM_BASE >>> 12;
const GUEST_FRAMES = 1024; // 4 MiB: exactly one megapage of guest RAM
const REQS = DRAM_BASE + 0x2_0000;
const FRAME = DRAM_BASE + 0x3_0000;
const SHARED = DRAM_BASE + 0x4_0000;
const LIST = DRAM_BASE + 0x5_0000;
const REQS2 = DRAM_BASE + 0x5_1000;
const RESULT_MARK = 0xa5a5_a5a5;
const ROOT = G + 0x100;
const ROOT2 = G + 0x110;
const L0A = G + 0x101;
const L0B = G + 0x102;
const DATA = G + 0x200;
const OUTSIDE = 0x90000;
const MMIO_GFN = UART0_BASE >>> 12;

const pte = (ppn: number, flags: number): number => ((ppn << 10) | flags) >>> 0;
const at = (gfn: number, index: number): number => gfn * PAGE_SIZE + index * 4;
const va = (i: number, j: number, off = 0): number => ((i << 22) | (j << 12) | off) >>> 0;
const OK: SbiRet = { error: SBI_SUCCESS, value: 0 };
const err = (error: number, value = 0): SbiRet => ({ error, value });

class FakeHost implements HypercallHost {
  readonly calls: string[] = [];
  readonly blocked: Vcpu[] = [];
  loads = 0;
  flushes = 0;
  setTimer(): void {
    this.calls.push("setTimer");
  }
  raiseVirq(): void {
    this.calls.push("raiseVirq");
  }
  clearVirq(): void {
    this.calls.push("clearVirq");
  }
  shutdown(): void {
    this.calls.push("shutdown");
  }
  startVcpu(): void {
    this.calls.push("startVcpu");
  }
  stopVcpu(): void {
    this.calls.push("stopVcpu");
  }
  block(v: Vcpu): void {
    this.blocked.push(v);
  }
  loadShadow(v: Vcpu, h: Hart): void {
    this.loads++;
    h.satp = v.shadow.hostSatp(KIND_S);
  }
  flushTlbs(): void {
    this.flushes++;
  }
}

class Env {
  readonly ram = new Ram(DRAM_BASE, 1536 * PAGE_SIZE);
  readonly bus = new Bus(this.ram);
  readonly allocator = new FrameAllocator(this.ram, { reservedFrames: 16, seed: 11 });
  readonly p2m = new P2m(DOM, this.allocator, GUEST_FRAMES);
  readonly mem = new GuestMemory(this.p2m, this.ram);
  readonly pool = new ShadowPool(this.allocator, this.ram);
  readonly d: Domain;
  readonly pv = new PvState();
  readonly v: Vcpu;
  readonly h: Hart;
  readonly host = new FakeHost();

  constructor(vcpus = 1) {
    this.p2m.populate(GUEST_FRAMES);
    this.p2m.mapMmio(guestPhys(UART0_BASE), PAGE_SIZE, "uart0");
    this.d = new Domain(DOM, "pv", "pv", this.p2m, this.mem, new BufferConsole());
    this.d.pv = this.pv;
    for (let i = 0; i < vcpus; i++) {
      const pv = this.pv;
      const shadow = new ShadowMmu(this.pool, this.mem, {
        maxSets: 8,
        readOnly: (gfn) => pv.pinned.has(gfn),
        track: true,
        eager: true, // as the hypervisor makes them for pv domains
      });
      this.d.vcpus.push(new Vcpu(i, i, this.d, shadow));
    }
    this.v = this.d.vcpus[0];
    this.h = new Hart(0, this.bus);
    this.h.pc = DRAM_BASE;
  }

  call(fid: number, a0 = 0, a1 = 0): SbiRet | typeof NO_RETURN {
    this.h.x[10] = a0 | 0;
    this.h.x[11] = a1 | 0;
    return pvCall(this.host, this.v, this.h, fid);
  }

  pin(gfn: number, level: number): SbiRet | typeof NO_RETURN {
    return this.call(PV_PIN_TABLE, gfn * PAGE_SIZE, level);
  }

  unpin(gfn: number): SbiRet | typeof NO_RETURN {
    return this.call(PV_UNPIN_TABLE, gfn * PAGE_SIZE);
  }

  /** PV_MMU_UPDATE with `reqs` ({ptr, val} pairs) written at REQS. */
  update(reqs: readonly (readonly [number, number])[]): SbiRet | typeof NO_RETURN {
    reqs.forEach(([ptr, val], k) => {
      this.mem.write32(REQS + 8 * k, ptr);
      this.mem.write32(REQS + 8 * k + 4, val);
    });
    return this.call(PV_MMU_UPDATE, REQS, reqs.length);
  }

  /** PV_MULTICALL with `entries` ([fid, arg0, arg1]) written at LIST, results cleared to a marker. */
  multicall(entries: readonly (readonly [number, number, number])[]): SbiRet | typeof NO_RETURN {
    entries.forEach(([fid, a0, a1], k) => {
      for (const [i, w] of [fid, a0, a1, RESULT_MARK].entries()) this.mem.write32(LIST + 16 * k + 4 * i, w);
    });
    return this.call(PV_MULTICALL, LIST, entries.length);
  }

  /** The result word the hypervisor wrote into multicall entry `k` (RESULT_MARK: not run). */
  result(k: number): number {
    return this.mem.read32(LIST + 16 * k + 12)! >>> 0;
  }

  /** `reqs` written as PV_MMU_UPDATE requests at `at`, for a multicall entry. */
  requests(addr: number, reqs: readonly (readonly [number, number])[]): [number, number, number] {
    reqs.forEach(([ptr, val], k) => {
      this.mem.write32(addr + 8 * k, ptr);
      this.mem.write32(addr + 8 * k + 4, val);
    });
    return [PV_MMU_UPDATE, addr, reqs.length];
  }

  set(gfn: number, index: number, value: number): void {
    assert.ok(this.mem.write32(at(gfn, index), value));
  }

  get(gfn: number, index: number): number {
    return this.mem.read32(at(gfn, index))! >>> 0;
  }

  hostFrame(gfn: number): HostFrame {
    const r = this.p2m.lookup(guestFrame(gfn));
    if (isP2mFault(r)) throw new Error(r.detail);
    return r;
  }

  /** What a hart running `v` gets at `addr` through its shadow (host U-mode). */
  hw(addr: number, access: Access, v: Vcpu = this.v, kind: ShadowKind = KIND_S): number {
    return walkSv32(
      this.bus,
      { satp: v.shadow.hostSatp(kind), priv: PRIV_U, sum: false, mxr: false },
      addr,
      access,
    );
  }

  shadowLeaf(addr: number, v: Vcpu = this.v): number {
    const root = (v.shadow.hostSatp(KIND_S) & SATP_PPN_MASK) * PAGE_SIZE;
    const r = this.bus.read(root + (addr >>> 22) * 4, 4)!;
    if ((r & PTE_V) === 0) return 0;
    return this.bus.read((r >>> 10) * PAGE_SIZE + ((addr >>> 12) & 1023) * 4, 4)! >>> 0;
  }

  /** The guest's memory as it sees it, except the request buffer the test itself writes. */
  snapshot(): string {
    return hashDomain(this.ram, this.p2m);
  }

  /** A standard setup: L0A pinned (empty, or with `leaves`), ROOT pinned with entry 0 → L0A. */
  standardTables(leaves: readonly (readonly [number, number])[] = []): void {
    for (const [i, val] of leaves) this.set(L0A, i, val);
    assert.deepEqual(this.pin(L0A, 0), OK);
    this.set(ROOT, 0, pte(L0A, PTE_V));
    assert.deepEqual(this.pin(ROOT, 1), OK);
  }
}

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

describe("PV_IRET", () => {
  let e: Env;
  beforeEach(() => {
    e = new Env();
    assert.deepEqual(e.call(PV_REGISTER_SHARED, SHARED), OK);
    for (let r = 0; r < 32; r++) e.mem.write32(FRAME + 4 * r, 0x1000 + r);
  });
  const frame = (epc: number, status: number): void => {
    e.mem.write32(FRAME + 32 * 4, epc);
    e.mem.write32(FRAME + 33 * 4, status);
  };

  it("loads x1..x31, pc, kernel mode and unmasked events from a frame with SPP and SPIE", () => {
    frame(DRAM_BASE + 0x4444, MSTATUS_SPP | MSTATUS_SPIE);
    e.v.vpriv = PRIV_U;
    e.mem.write32(SHARED + SH_MASK, 1);
    assert.equal(e.call(PV_IRET, FRAME), NO_RETURN);
    assert.equal(e.h.x[0], 0, "x0 is not loaded");
    for (let r = 1; r < 32; r++) assert.equal(e.h.x[r], 0x1000 + r, `x${r}`);
    assert.equal(e.h.pc, DRAM_BASE + 0x4444);
    assert.equal(e.v.vpriv, PRIV_S);
    assert.equal(e.mem.read32(SHARED + SH_MASK), 0);
    assert.equal(e.host.loads, 1);
  });

  it("returns to user mode with events masked when SPP and SPIE are clear", () => {
    frame(0x1_0000, 0);
    assert.equal(e.call(PV_IRET, FRAME), NO_RETURN);
    assert.equal(e.v.vpriv, PRIV_U);
    assert.equal(e.h.pc, 0x1_0000);
    assert.equal(e.mem.read32(SHARED + SH_MASK), 1);
  });

  it("refuses an odd epc, an unaligned frame and a frame not wholly in RAM, changing nothing", () => {
    frame(0x1_0001, MSTATUS_SPP);
    const pc = e.h.pc;
    assert.deepEqual(e.call(PV_IRET, FRAME), err(SBI_ERR_INVALID_PARAM));
    frame(0x1_0000, MSTATUS_SPP);
    assert.deepEqual(e.call(PV_IRET, FRAME + 2), err(SBI_ERR_INVALID_PARAM));
    assert.deepEqual(e.call(PV_IRET, OUTSIDE * PAGE_SIZE), err(SBI_ERR_INVALID_ADDRESS));
    assert.deepEqual(
      e.call(PV_IRET, DRAM_BASE + GUEST_FRAMES * PAGE_SIZE - 64),
      err(SBI_ERR_INVALID_ADDRESS),
    );
    assert.equal(e.h.pc, pc);
    assert.equal(e.h.x[5], 0);
    assert.equal(e.v.vpriv, PRIV_S);
    assert.equal(e.host.loads, 0);
  });
});

describe("PV_BLOCK, the shared page and the small calls", () => {
  it("PV_BLOCK unmasks events and blocks only when no PV event is pending", () => {
    const e = new Env();
    assert.deepEqual(e.call(PV_REGISTER_SHARED, SHARED), OK);
    e.mem.write32(SHARED + SH_MASK, 1);
    assert.deepEqual(e.call(PV_BLOCK), OK);
    assert.equal(e.mem.read32(SHARED + SH_MASK), 0);
    assert.deepEqual(e.host.blocked, [e.v]);
    e.mem.write32(SHARED + SH_PENDING, 1 << 5); // timer
    assert.deepEqual(e.call(PV_BLOCK), OK);
    e.mem.write32(SHARED + SH_PENDING, 1 << 1); // software
    assert.deepEqual(e.call(PV_BLOCK), OK);
    assert.equal(e.host.blocked.length, 1);
    e.mem.write32(SHARED + SH_PENDING, 1 << 7); // not a PV event (an M-level bit)
    assert.deepEqual(e.call(PV_BLOCK), OK);
    assert.equal(e.host.blocked.length, 2);
  });

  it("PV_BLOCK without a shared page sees nothing pending", () => {
    const e = new Env();
    assert.deepEqual(e.call(PV_BLOCK), OK);
    assert.equal(e.host.blocked.length, 1);
  });

  it("PV_REGISTER_SHARED takes an aligned page of the domain's RAM only", () => {
    const e = new Env();
    assert.deepEqual(e.call(PV_REGISTER_SHARED, SHARED + 4), err(SBI_ERR_INVALID_ADDRESS));
    assert.deepEqual(e.call(PV_REGISTER_SHARED, OUTSIDE * PAGE_SIZE), err(SBI_ERR_INVALID_ADDRESS));
    assert.deepEqual(e.call(PV_REGISTER_SHARED, UART0_BASE), err(SBI_ERR_INVALID_ADDRESS));
    assert.equal(e.v.sharedGpa, -1);
    assert.deepEqual(e.call(PV_REGISTER_SHARED, SHARED), OK);
    assert.equal(e.v.sharedGpa, SHARED);
    assert.deepEqual(e.pin(L0A, 0), OK);
    assert.deepEqual(e.call(PV_REGISTER_SHARED, L0A * PAGE_SIZE), err(SBI_ERR_DENIED), "not a page table");
    assert.equal(e.v.sharedGpa, SHARED);
  });

  it("PV_SET_TRAP_HANDLER refuses an odd address; PV_USER_ACCESS flips SUM and reloads the shadow", () => {
    const e = new Env();
    assert.deepEqual(e.call(PV_SET_TRAP_HANDLER, DRAM_BASE + 1), err(SBI_ERR_INVALID_PARAM));
    assert.equal(e.v.trapHandler, 0);
    assert.deepEqual(e.call(PV_SET_TRAP_HANDLER, DRAM_BASE + 0x100), OK);
    assert.equal(e.v.trapHandler, DRAM_BASE + 0x100);
    assert.deepEqual(e.call(PV_USER_ACCESS, 1), OK);
    assert.equal(e.v.userAccess, true);
    assert.deepEqual(e.call(PV_USER_ACCESS, 0), OK);
    assert.equal(e.v.userAccess, false);
    assert.equal(e.host.loads, 2);
    assert.deepEqual(e.call(PV_EVENT_CHECK), OK);
  });

  it("answers NOT_SUPPORTED to an unknown function and to a domain that is not pv", () => {
    const e = new Env();
    assert.deepEqual(e.call(11), err(SBI_ERR_NOT_SUPPORTED));
    e.d.pv = undefined;
    assert.deepEqual(e.call(PV_SET_TRAP_HANDLER, DRAM_BASE), err(SBI_ERR_NOT_SUPPORTED));
    assert.equal(e.v.trapHandler, 0);
  });
});

describe("PV_MULTICALL", () => {
  let e: Env;
  beforeEach(() => {
    e = new Env();
    assert.deepEqual(e.call(PV_REGISTER_SHARED, SHARED), OK);
  });
  const leaf = (gfn: number): number => pte(gfn, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);

  it("runs its entries in order in one call, each as if alone, and writes each one's value", () => {
    e.set(ROOT, 0, pte(L0A, PTE_V));
    const r = e.multicall([
      [PV_PIN_TABLE, L0A * PAGE_SIZE, 0],
      e.requests(REQS, [[at(L0A, 3), leaf(DATA + 3)]]),
      [PV_PIN_TABLE, ROOT * PAGE_SIZE, 1],
      e.requests(REQS2, [
        [at(L0A, 4), leaf(DATA + 4)],
        [at(ROOT, 4), pte(G, PTE_V | PTE_R | PTE_X | PTE_A)],
      ]),
      [PV_SET_BASEPTR, ROOT * PAGE_SIZE, 0],
      [PV_USER_ACCESS, 1, 0],
    ]);
    assert.deepEqual(r, { error: SBI_SUCCESS, value: 6 });
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((k) => e.result(k)),
      [0, 1, 0, 2, 0, 0],
    );
    assert.equal(e.pv.pinned.get(L0A), 0);
    assert.equal(e.pv.pinned.get(ROOT), 1);
    assert.equal(e.get(L0A, 4), leaf(DATA + 4));
    assert.equal(e.pv.updates, 3);
    assert.equal(e.v.satp, (SATP_MODE_SV32 | ROOT) >>> 0);
    assert.equal(e.v.userAccess, true);
    // The shadow was built at the switch: both pages reachable with no fill.
    assert.equal(e.hw(va(0, 3), ACCESS_STORE), hostPhysOf(e.hostFrame(DATA + 3)));
    assert.equal(e.hw(va(4, 9), ACCESS_LOAD), hostPhysOf(e.hostFrame(G + 9)));
    assert.equal(e.v.shadow.stats.fills, 0);
  });

  it("may end with PV_IRET, which does not return once the entries before it are done", () => {
    e.standardTables();
    for (let r = 0; r < 32; r++) e.mem.write32(FRAME + 4 * r, 0x2000 + r);
    e.mem.write32(FRAME + 32 * 4, 0x1_0000);
    e.mem.write32(FRAME + 33 * 4, MSTATUS_SPIE);
    const r = e.multicall([
      [PV_SET_BASEPTR, ROOT * PAGE_SIZE, 0],
      [PV_IRET, FRAME, 0],
    ]);
    assert.equal(r, NO_RETURN);
    assert.equal(e.v.satp, (SATP_MODE_SV32 | ROOT) >>> 0);
    assert.equal(e.v.vpriv, PRIV_U);
    assert.equal(e.h.pc, 0x1_0000);
    assert.equal(e.h.x[7], 0x2007);
    assert.equal(e.mem.read32(SHARED + SH_MASK), 0);
  });

  it("a refused PV_IRET at the end returns its error, the entries before it done", () => {
    e.standardTables();
    const pc = e.h.pc;
    const r = e.multicall([
      [PV_SET_BASEPTR, ROOT * PAGE_SIZE, 0],
      [PV_IRET, OUTSIDE * PAGE_SIZE, 0],
    ]);
    assert.deepEqual(r, err(SBI_ERR_INVALID_ADDRESS, 1));
    assert.equal(e.v.satp, (SATP_MODE_SV32 | ROOT) >>> 0);
    assert.equal(e.h.pc, pc);
    assert.equal(e.v.vpriv, PRIV_S);
  });

  it("may end with PV_BLOCK, which blocks the vCPU after the entries before it", () => {
    e.standardTables();
    assert.deepEqual(
      e.multicall([
        [PV_SET_BASEPTR, ROOT * PAGE_SIZE, 0],
        [PV_BLOCK, 0, 0],
      ]),
      { error: SBI_SUCCESS, value: 2 },
    );
    assert.deepEqual(e.host.blocked, [e.v]);
    assert.equal(e.v.satp, (SATP_MODE_SV32 | ROOT) >>> 0);
  });

  it("stops at the first refused entry: a0 its error, a1 its index, its value written, nothing after it run", () => {
    e.standardTables();
    const r = e.multicall([
      e.requests(REQS, [[at(L0A, 1), leaf(DATA + 1)]]),
      e.requests(REQS2, [
        [at(L0A, 2), leaf(DATA + 2)],
        [at(L0A, 3), pte(OUTSIDE, PTE_V | PTE_R)],
        [at(L0A, 4), leaf(DATA + 4)],
      ]),
      [PV_PIN_TABLE, L0B * PAGE_SIZE, 0],
    ]);
    assert.deepEqual(r, err(SBI_ERR_DENIED, 1));
    assert.deepEqual([e.result(0), e.result(1), e.result(2)], [1, 1, RESULT_MARK]);
    assert.equal(e.get(L0A, 1), leaf(DATA + 1));
    assert.equal(
      e.get(L0A, 2),
      leaf(DATA + 2),
      "the refused entry's requests before the refused one are done",
    );
    assert.equal(e.get(L0A, 3), 0);
    assert.equal(e.get(L0A, 4), 0);
    assert.equal(e.pv.pinned.has(L0B), false, "the entry after it did not run");
  });

  it("refuses in a batch exactly what each call refuses alone, and changes nothing", () => {
    const cases: [string, [number, number, number]][] = [
      ["an update of an unpinned page", [PV_MMU_UPDATE, REQS, 1]],
      ["a pin of a table mapping outside RAM", [PV_PIN_TABLE, (G + 0x120) * PAGE_SIZE, 0]],
      ["a pin of a misaligned frame", [PV_PIN_TABLE, L0B * PAGE_SIZE + 4, 0]],
      ["an unpin of a frame that is not pinned", [PV_UNPIN_TABLE, DATA * PAGE_SIZE, 0]],
      ["an unpin of the current root", [PV_UNPIN_TABLE, ROOT * PAGE_SIZE, 0]],
      ["a switch to an unpinned root", [PV_SET_BASEPTR, ROOT2 * PAGE_SIZE, 0]],
      ["a batch of requests too long", [PV_MMU_UPDATE, REQS, PV_MMU_BATCH_MAX + 1]],
    ];
    for (const [what, call] of cases) {
      const alone = new Env();
      const inBatch = new Env();
      for (const x of [alone, inBatch]) {
        x.standardTables();
        x.v.power = "started";
        assert.deepEqual(x.call(PV_SET_BASEPTR, ROOT * PAGE_SIZE), OK);
        x.set(G + 0x120, 5, pte(OUTSIDE, PTE_V | PTE_R));
        x.mem.write32(REQS, at(DATA, 0));
        x.mem.write32(REQS + 4, leaf(DATA));
      }
      const want = alone.call(...call);
      assert.notEqual(want, NO_RETURN);
      assert.notEqual((want as SbiRet).error, SBI_SUCCESS, what);
      // The list, with the results the two entries run will get: anything else changing shows.
      const list = [
        PV_USER_ACCESS,
        0,
        0,
        0,
        ...call,
        (want as SbiRet).value,
        PV_USER_ACCESS,
        1,
        0,
        RESULT_MARK,
      ];
      for (const [i, w] of list.entries()) inBatch.mem.write32(LIST + 4 * i, w);
      const before = inBatch.snapshot();
      const got = inBatch.call(PV_MULTICALL, LIST, 3);
      assert.deepEqual(got, err((want as SbiRet).error, 1), what);
      assert.equal(inBatch.v.userAccess, false, `${what}: nothing after it`);
      assert.equal(inBatch.snapshot(), before, `${what}: nothing changed (the results aside)`);
    }
  });

  it("refuses entries a batch may not hold, and IRET or BLOCK anywhere but last", () => {
    e.standardTables();
    const cases: [number, number][] = [
      [PV_REGISTER_SHARED, SBI_ERR_NOT_SUPPORTED],
      [PV_SET_TRAP_HANDLER, SBI_ERR_NOT_SUPPORTED],
      [PV_EVENT_CHECK, SBI_ERR_NOT_SUPPORTED],
      [PV_MULTICALL, SBI_ERR_NOT_SUPPORTED],
      [99, SBI_ERR_NOT_SUPPORTED],
      [PV_IRET, SBI_ERR_INVALID_PARAM],
      [PV_BLOCK, SBI_ERR_INVALID_PARAM],
    ];
    for (const [fid, error] of cases) {
      const r = e.multicall([
        [PV_USER_ACCESS, 1, 0],
        [fid, LIST, 1],
        [PV_USER_ACCESS, 0, 0],
      ]);
      assert.deepEqual(r, err(error, 1), `fid ${fid}`);
      assert.equal(e.v.userAccess, true, `fid ${fid}: the entry after it did not run`);
    }
    assert.equal(e.v.sharedGpa, SHARED);
    assert.deepEqual(e.host.blocked, []);
  });

  it("refuses a batch it cannot read or may not write into, running none of it", () => {
    e.standardTables();
    e.mem.write32(L0B * PAGE_SIZE, PV_USER_ACCESS); // [PV_USER_ACCESS, 0, 0, 0]: an invalid entry, pinnable
    const before = e.snapshot();
    assert.deepEqual(e.pin(L0B, 0), OK);
    e.v.userAccess = true;
    assert.deepEqual(e.call(PV_MULTICALL, LIST, PV_MULTICALL_MAX + 1), err(SBI_ERR_INVALID_PARAM));
    assert.deepEqual(e.call(PV_MULTICALL, LIST, -1), err(SBI_ERR_INVALID_PARAM));
    assert.deepEqual(e.call(PV_MULTICALL, LIST + 2, 1), err(SBI_ERR_INVALID_ADDRESS));
    assert.deepEqual(e.call(PV_MULTICALL, OUTSIDE * PAGE_SIZE, 1), err(SBI_ERR_INVALID_ADDRESS));
    assert.deepEqual(
      e.call(PV_MULTICALL, DRAM_BASE + GUEST_FRAMES * PAGE_SIZE - 16, 2),
      err(SBI_ERR_INVALID_ADDRESS),
    );
    assert.deepEqual(e.call(PV_MULTICALL, L0B * PAGE_SIZE, 1), err(SBI_ERR_DENIED), "in a pinned table");
    assert.equal(e.v.userAccess, true, "none of it ran");
    assert.deepEqual(e.unpin(L0B), OK);
    assert.equal(e.snapshot(), before);
    assert.deepEqual(e.call(PV_MULTICALL, LIST, 0), { error: SBI_SUCCESS, value: 0 });
  });

  it("refuses to pin the page the batch is in (the hypervisor writes the results there)", () => {
    const r = e.multicall([
      [PV_USER_ACCESS, 1, 0],
      [PV_PIN_TABLE, LIST, 0],
    ]);
    assert.deepEqual(r, err(SBI_ERR_DENIED, 1));
    assert.equal(e.pv.pinned.size, 0);
    assert.equal(e.result(1), 0);
  });
});
