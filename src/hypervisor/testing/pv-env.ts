/**
 * The environment of the PV extension's tests (pv*.test.ts): a pv domain built by hand — real RAM, a
 * P2M, eager shadows that keep pinned tables read-only, as the hypervisor makes them for pv domains — a
 * Hart holding the argument registers, and a fake host recording what the calls ask of the hypervisor.
 * `Env.call` goes through pvCall exactly as a guest's ecall would; pin, update, multicall and the
 * standard tables (a root pinned over one pinned leaf table) are shorthands over it, and hw / shadowLeaf
 * read back what a hart running the vCPU would get through its shadow.
 */
import assert from "node:assert/strict";
import { Bus } from "../../machine/bus.js";
import { BufferConsole } from "../../machine/devices/console.js";
import { type NO_RETURN, SBI_SUCCESS, type SbiRet } from "../../machine/firmware/sbi-defs.js";
import { Hart } from "../../machine/hart.js";
import { PRIV_U, SATP_PPN_MASK } from "../../machine/isa/csr-defs.js";
import { DRAM_BASE, UART0_BASE } from "../../machine/memory-map.js";
import { type Access, PTE_V, walkSv32 } from "../../machine/mmu.js";
import { PAGE_SIZE } from "../../machine/params.js";
import { Ram } from "../../machine/ram.js";
import { Domain } from "../domain.js";
import type { HypercallHost } from "../hypercalls.js";
import { guestFrame, guestPhys, type HostFrame } from "../memory/addresses.js";
import { FrameAllocator } from "../memory/frames.js";
import { GuestMemory } from "../memory/guest-memory.js";
import { isP2mFault, P2m } from "../memory/p2m.js";
import { KIND_S, type ShadowKind, ShadowMmu, ShadowPool } from "../memory/shadow.js";
import { hashDomain } from "../memory/test-support.js";
import { PV_MMU_UPDATE, PV_MULTICALL, PV_PIN_TABLE, PV_UNPIN_TABLE, PvState, pvCall } from "../pv.js";
import { Vcpu } from "../vcpu.js";

const DOM = 3;
export const G = DRAM_BASE >>> 12;
export const GUEST_FRAMES = 1024; // 4 MiB: exactly one megapage of guest RAM
export const REQS = DRAM_BASE + 0x2_0000;
export const FRAME = DRAM_BASE + 0x3_0000;
export const SHARED = DRAM_BASE + 0x4_0000;
export const LIST = DRAM_BASE + 0x5_0000;
export const REQS2 = DRAM_BASE + 0x5_1000;
export const RESULT_MARK = 0xa5a5_a5a5;
export const ROOT = G + 0x100;
export const ROOT2 = G + 0x110;
export const L0A = G + 0x101;
export const L0B = G + 0x102;
export const DATA = G + 0x200;
export const OUTSIDE = 0x90000;
export const MMIO_GFN = UART0_BASE >>> 12;

export const pte = (ppn: number, flags: number): number => ((ppn << 10) | flags) >>> 0;
export const at = (gfn: number, index: number): number => gfn * PAGE_SIZE + index * 4;
export const va = (i: number, j: number, off = 0): number => ((i << 22) | (j << 12) | off) >>> 0;
export const OK: SbiRet = { error: SBI_SUCCESS, value: 0 };
export const err = (error: number, value = 0): SbiRet => ({ error, value });

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

export class Env {
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
