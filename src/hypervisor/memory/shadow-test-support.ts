/**
 * The environment of the shadow-paging tests (shadow*.test.ts): a ShadowMmu without a hart, over real
 * RAM, an allocator and a populated P2M (its last frames left absent, a UART page marked MMIO). The
 * guest's own tables are written by hand into its RAM (setPte, or writeStandardTables: the table most
 * tests use, drawn below), and what the shadow maps is read back by walking the host satp with the
 * hardware's walker (walkSv32 over a Bus), exactly as the hart running the guest would (hw, shadowLeaf).
 */
import assert from "node:assert/strict";
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
import { guestFrame, guestPhys, type HostFrame } from "./addresses.js";
import { FrameAllocator } from "./frames.js";
import { GuestMemory } from "./guest-memory.js";
import { isP2mFault, P2m } from "./p2m.js";
import {
  type FillResult,
  KIND_S,
  KIND_S_SUM,
  KIND_U,
  type ShadowKind,
  ShadowMmu,
  type ShadowOptions,
  ShadowPool,
} from "./shadow.js";

export const DOM = 1;
/** First guest frame (guest RAM starts at DRAM_BASE). */
export const G = DRAM_BASE >>> 12;
/** Guest frames of the test domain (4 MiB: one megapage), the last ABSENT of them left unpopulated. */
export const GUEST_FRAMES = 1024;
const ABSENT = 8;
export const FIRST_ABSENT = G + GUEST_FRAMES - ABSENT;
/** Guest page-table pages. */
export const ROOT = G + 0x100;
export const ROOT2 = G + 0x110;
export const L0 = G + 0x101;
/** Guest data pages. */
export const DATA = G + 0x200;
/** A gfn neither in guest RAM nor a device. */
export const OUTSIDE = 0x90000;
export const MMIO_GFN = UART0_BASE >>> 12;

export const ACCESSES: readonly Access[] = [ACCESS_FETCH, ACCESS_LOAD, ACCESS_STORE];
export const KINDS: readonly ShadowKind[] = [KIND_U, KIND_S, KIND_S_SUM];
export const PAGE_FAULT = [CAUSE_INSN_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT];
export const ACCESS_FAULT = [CAUSE_INSN_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS];

export const pte = (ppn: number, flags: number): number => ((ppn << 10) | flags) >>> 0;
export const satpOf = (rootGfn: number): number => (SATP_MODE_SV32 | rootGfn) >>> 0;
export const va = (i: number, j: number, off = 0): number => ((i << 22) | (j << 12) | off) >>> 0;
export const MAPPED: FillResult = { kind: "mapped" };
export const fault = (cause: number): FillResult => ({ kind: "guest-fault", cause });

export interface Env {
  ram: Ram;
  bus: Bus;
  allocator: FrameAllocator;
  p2m: P2m;
  mem: GuestMemory;
  pool: ShadowPool;
  mmu: ShadowMmu;
}

export function makeEnv(shadow: ShadowOptions = {}, seed = 7): Env {
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
export function setPte(env: Env, gfn: number, index: number, value: number): void {
  assert.ok(env.mem.write32(gfn * PAGE_SIZE + index * 4, value), `guest table 0x${gfn.toString(16)} is RAM`);
}

export function guestPte(env: Env, gfn: number, index: number): number {
  const v = env.mem.read32(gfn * PAGE_SIZE + index * 4);
  assert.ok(v !== undefined);
  return v >>> 0;
}

export function hostFrameOf(env: Env, gfn: number): HostFrame {
  const r = env.p2m.lookup(guestFrame(gfn));
  if (isP2mFault(r)) throw new Error(`gfn 0x${gfn.toString(16)}: ${r.detail}`);
  return r;
}

/** What the hart running the guest (host U-mode, MXR off) gets for `access` at `va` through the shadow. */
export function hw(env: Env, kind: ShadowKind, addr: number, access: Access): number {
  const ctx = { satp: env.mmu.hostSatp(kind), priv: PRIV_U, sum: false, mxr: false };
  return walkSv32(env.bus, ctx, addr >>> 0, access);
}

/** The shadow leaf for `va` in `kind` (0 when there is none), read from host RAM. */
export function shadowLeaf(env: Env, kind: ShadowKind, addr: number): number {
  const root = (env.mmu.hostSatp(kind) & SATP_PPN_MASK) * PAGE_SIZE;
  const r = env.bus.read(root + (addr >>> 22) * 4, 4);
  assert.ok(r !== undefined, "shadow root is in host RAM");
  if ((r & PTE_V) === 0) return 0;
  const l = env.bus.read((r >>> 10) * PAGE_SIZE + ((addr >>> 12) & 1023) * 4, 4);
  assert.ok(l !== undefined, "shadow L0 is in host RAM");
  return l >>> 0;
}

export const permsOf = (leaf: number): number => leaf & (PTE_R | PTE_W | PTE_X);

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

export function standard(shadow: ShadowOptions = {}): Env {
  const env = makeEnv(shadow);
  writeStandardTables(env);
  return env;
}
