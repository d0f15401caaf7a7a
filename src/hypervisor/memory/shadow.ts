/**
 * Shadow page tables: real Sv32 tables in host memory that map guest-virtual addresses straight to host
 * frames, so the emulated MMU walks them as it walks any page table. The guest's own tables (GVA → GPA)
 * are only read, by the walker here; the P2M supplies GPA → HPA; the shadow caches the composition.
 *
 *   guest satp ──▶ guest root ──▶ guest L0 ──▶ gfn ──P2M──▶ host frame
 *                                                               ▲
 *   host satp  ──▶ shadow root ─▶ shadow L0 ─────────────────────┘   (what the hart really walks)
 *
 * Filling is lazy: a shadow starts empty; the hart's page fault reaches the hypervisor, `fill` walks the
 * guest's table with the guest's privilege and permissions, and either maps the page (the access is
 * retried) or names the fault to inject into the guest.
 *
 * Ring compression: the guest kernel and its user programs both run in the host's U-mode, so every shadow
 * leaf has U = 1 and the hardware cannot tell them apart. Instead each guest address space has three
 * shadows, and the host satp points at the one for the vCPU's virtual privilege:
 *
 *   KIND_U       virtual U-mode: only guest pages with U = 1
 *   KIND_S       virtual S-mode, SUM = 0: only guest pages with U = 0
 *   KIND_S_SUM   virtual S-mode, SUM = 1: both; user pages without X (S-mode never executes them)
 *
 * A/D bits stay the guest's: a fill sets A in the guest PTE, and D on a store; a page whose guest PTE
 * has D = 0 is mapped without W, so the first store faults here and sets D.
 *
 * Sync: a cache of shadow sets per guest root. RISC-V lets a TLB keep stale translations until
 * sfence.vma, so trap mode needs no write-protection of guest tables: `flushAll` / `flushVa` follow the
 * guest's sfence.vma. PV mode keeps shadows across base-pointer switches and invalidates exactly the
 * entries its validated updates change (`invalidateRootEntry`, `invalidateLeafEntry`), and keeps pinned
 * page-table frames read-only (`writeProtect`).
 */
import {
  CAUSE_INSN_ACCESS,
  CAUSE_INSN_PAGE_FAULT,
  CAUSE_LOAD_ACCESS,
  CAUSE_LOAD_PAGE_FAULT,
  CAUSE_STORE_ACCESS,
  CAUSE_STORE_PAGE_FAULT,
  SATP_MODE_SV32,
  SATP_PPN_MASK,
} from "../../machine/isa/csr-defs.js";
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
import { PAGE_SHIFT } from "../../machine/params.js";
import type { Ram } from "../../machine/ram.js";
import { guestFrame, type HostFrame } from "./addresses.js";
import { type FrameAllocator, HYPERVISOR } from "./frames.js";
import type { GuestMemory } from "./guest-memory.js";

export const KIND_U = 0;
export const KIND_S = 1;
export const KIND_S_SUM = 2;
export type ShadowKind = 0 | 1 | 2;
const KINDS = 3;

/** The guest satp of a set whose guest has paging off (guest-virtual = guest-physical). */
const BARE = -1;

const PAGE_FAULT = [CAUSE_INSN_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT] as const;
const ACCESS_FAULT = [CAUSE_INSN_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS] as const;

/** What a fill found. */
export type FillResult =
  | { readonly kind: "mapped" }
  /** The guest's own translation fails: inject `cause` with tval = the address. */
  | { readonly kind: "guest-fault"; readonly cause: number }
  /** The guest translation ends outside RAM, in a registered device range. */
  | { readonly kind: "mmio"; readonly gpa: number };

const MAPPED: FillResult = { kind: "mapped" };

/** Host frames for shadow tables, owned by the hypervisor, recycled (zeroed) rather than freed. */
export class ShadowPool {
  private readonly free: HostFrame[] = [];
  /** Frames in use as shadow tables now. */
  inUse = 0;
  /** Frames the pool holds from the allocator (in use + free). */
  held = 0;

  constructor(
    private readonly allocator: FrameAllocator,
    private readonly ram: Ram,
  ) {}

  alloc(): HostFrame {
    let f = this.free.pop();
    if (f === undefined) {
      [f] = this.allocator.alloc(1, HYPERVISOR); // zeroed by the allocator
      this.held++;
    } else {
      const off = ((f << PAGE_SHIFT) - this.ram.base) >>> 2;
      this.ram.i32.fill(0, off, off + 1024);
    }
    this.inUse++;
    return f;
  }

  release(f: HostFrame): void {
    this.free.push(f);
    this.inUse--;
  }
}

interface ShadowSet {
  readonly id: number;
  /** Guest root frame number (satp.PPN), or BARE. */
  readonly groot: number;
  /** Host frame of each kind's shadow root. */
  readonly roots: HostFrame[];
  /** Host frame of the shadow L0 table under root entry i of kind k, at k * 1024 + i (0: none). */
  readonly l0: Int32Array;
  /** 1 where that shadow L0 table holds pages filled from a guest megapage (or the bare map). */
  readonly mega: Uint8Array;
}

/** The host has no frame left for a shadow table, even after this vCPU's shadows were flushed. */
export class ShadowExhaustedError extends Error {
  override name = "ShadowExhaustedError";
}

/** Shadow frames one vCPU may hold (roots and leaf tables) before its shadows are flushed: 2 MiB. */
export const DEFAULT_SHADOW_FRAME_LIMIT = 512;

export interface ShadowStats {
  fills: number;
  /** Guest page-table entries the hypervisor read walking the guest's tables in software. */
  guestPteReads: number;
  guestFaults: number;
  flushes: number;
  setSwitches: number;
}

export interface ShadowOptions {
  /** Shadow sets kept per vCPU (guest address spaces whose shadows survive a switch). */
  maxSets?: number;
  /** PV: frames that must never be writable through the shadow (pinned page tables). */
  readOnly?: (gfn: number) => boolean;
  /** PV: remember which shadow entries each guest table feeds, for exact invalidation. */
  track?: boolean;
  /**
   * Frames this vCPU's shadows may hold; reaching it flushes them (as a full TLB flush would), so no
   * guest can make the hypervisor spend unbounded host memory on its page tables.
   */
  frameLimit?: number;
}

/** One vCPU's shadows. */
export class ShadowMmu {
  readonly stats: ShadowStats = { fills: 0, guestPteReads: 0, guestFaults: 0, flushes: 0, setSwitches: 0 };
  private sets: ShadowSet[] = [];
  private current: ShadowSet;
  private nextId = 1;
  private readonly maxSets: number;
  private readonly readOnly: ((gfn: number) => boolean) | undefined;
  private readonly track: boolean;
  /** PV: guest L0 table gfn → set id * 1024 + root index of the shadow entries filled through it. */
  private readonly l0Users = new Map<number, Set<number>>();
  /** PV: gfn → RAM word indexes of shadow leaves that map it writable. */
  private readonly writers = new Map<number, number[]>();
  private readonly i32: Int32Array;
  private readonly frameLimit: number;
  /** Frames held now (roots of every set, and leaf tables). */
  held = 0;

  constructor(
    private readonly pool: ShadowPool,
    private readonly mem: GuestMemory,
    opts: ShadowOptions = {},
  ) {
    this.maxSets = opts.maxSets ?? 1;
    this.readOnly = opts.readOnly;
    this.track = opts.track ?? false;
    this.frameLimit = Math.max(3 * this.maxSets + 16, opts.frameLimit ?? DEFAULT_SHADOW_FRAME_LIMIT);
    this.i32 = mem.ram.i32;
    this.current = this.newSet(BARE);
  }

  /** The host satp value for the current address space seen at `kind`. */
  hostSatp(kind: ShadowKind): number {
    return (SATP_MODE_SV32 | this.current.roots[kind]) >>> 0;
  }

  /** Switches to the shadows of guest satp `gsatp` (bare or Sv32), creating them if needed. */
  select(gsatp: number): void {
    const groot = gsatp >>> 31 === 0 ? BARE : gsatp & SATP_PPN_MASK;
    if (groot === this.current.groot) return;
    this.stats.setSwitches++;
    const i = this.sets.findIndex((s) => s.groot === groot);
    if (i >= 0) {
      const [s] = this.sets.splice(i, 1);
      this.sets.push(s);
      this.current = s;
      return;
    }
    if (this.sets.length >= this.maxSets) this.dropSet(this.sets[0]);
    this.current = this.newSet(groot);
  }

  /** Forgets every shadow entry (sfence.vma with no address). */
  flushAll(): void {
    this.stats.flushes++;
    for (const s of [...this.sets]) if (s !== this.current) this.dropSet(s);
    this.clearSet(this.current);
    this.l0Users.clear();
    this.writers.clear();
  }

  /**
   * Forgets the shadow entries for one guest-virtual address in every set (sfence.vma with an address).
   * If the address lies in a guest megapage, its translation covers all 4 MiB, so every page filled
   * from it goes.
   */
  flushVa(va: number): void {
    const i = va >>> 22;
    for (const s of this.sets)
      for (let k = 0; k < KINDS; k++) {
        if (s.mega[k * 1024 + i] !== 0) this.clearL0(s, k, i);
        else this.clearLeaf(s, k, i, (va >>> 12) & 1023);
      }
  }

  /** PV: root entry `index` of guest root `rootGfn` changed. */
  invalidateRootEntry(rootGfn: number, index: number): void {
    for (const s of this.sets) {
      if (s.groot !== rootGfn) continue;
      for (let k = 0; k < KINDS; k++) this.clearL0(s, k, index);
    }
  }

  /** PV: entry `index` of guest L0 table `l0Gfn` changed. */
  invalidateLeafEntry(l0Gfn: number, index: number): void {
    const users = this.l0Users.get(l0Gfn);
    if (users === undefined) return;
    for (const u of users) {
      const s = this.sets.find((x) => x.id === Math.floor(u / 1024));
      if (s === undefined) continue;
      for (let k = 0; k < KINDS; k++) this.clearLeaf(s, k, u % 1024, index);
    }
  }

  /** PV: the set of guest root `rootGfn` goes away (the root was unpinned). */
  dropRoot(rootGfn: number): void {
    const s = this.sets.find((x) => x.groot === rootGfn);
    if (s === undefined) return;
    if (s === this.current) this.clearSet(s);
    else this.dropSet(s);
  }

  /** PV: removes W from every shadow leaf mapping guest frame `gfn` (it became a page table). */
  writeProtect(gfn: number): void {
    const list = this.writers.get(gfn);
    if (list === undefined) return;
    const hfn = this.mem.p2m.lookup(guestFrame(gfn));
    if (typeof hfn !== "number") return;
    for (const idx of list) {
      const pte = this.i32[idx];
      if ((pte & PTE_V) !== 0 && pte >>> 10 === hfn) this.i32[idx] = pte & ~PTE_W;
    }
    this.writers.delete(gfn);
  }

  /** Frees every shadow frame (the vCPU goes away). */
  release(): void {
    for (const s of this.sets) this.freeSet(s);
    this.sets = [];
  }

  /**
   * Makes the access that faulted at `va` possible if the guest's own translation allows it: walks the
   * guest table (A/D updated as hardware would) and maps the page in the `kind` shadow.
   */
  fill(va: number, access: Access, kind: ShadowKind, mxr: boolean, gsatp: number): FillResult {
    va >>>= 0;
    let gpa: number;
    let perms: number; // R W X of the mapping the guest allows, W only once D is set
    let user: boolean;
    let l0Gfn = -1;
    let mega = true; // a 4 MiB mapping (a megapage, or bare): its other pages are filled with this one
    if (gsatp >>> 31 === 0) {
      gpa = va;
      perms = PTE_R | PTE_W | PTE_X;
      user = kind === KIND_U; // bare: no U bit; U-mode and S-mode both reach everything
    } else {
      let table = (gsatp & SATP_PPN_MASK) * 4096;
      let level = 1;
      let pteAddr = 0;
      let pte = 0;
      for (;;) {
        if (table >= 2 ** 32) return this.guestFault(ACCESS_FAULT[access]);
        pteAddr = table + ((level === 1 ? va >>> 22 : (va >>> 12) & 1023) << 2);
        this.stats.guestPteReads++;
        const v = this.mem.read32(pteAddr);
        if (v === undefined) return this.guestFault(ACCESS_FAULT[access]);
        pte = v;
        if ((pte & PTE_V) === 0 || ((pte & PTE_R) === 0 && (pte & PTE_W) !== 0))
          return this.guestFault(PAGE_FAULT[access]);
        if ((pte & (PTE_R | PTE_X)) !== 0) break;
        if (level === 0) return this.guestFault(PAGE_FAULT[access]);
        level = 0;
        mega = false;
        table = (pte >>> 10) * 4096;
        l0Gfn = pte >>> 10; // the guest leaf table this translation is built from
      }
      user = (pte & PTE_U) !== 0;
      if (kind === KIND_U && !user) return this.guestFault(PAGE_FAULT[access]);
      if (kind === KIND_S && user) return this.guestFault(PAGE_FAULT[access]);
      if (kind === KIND_S_SUM && user && access === ACCESS_FETCH) return this.guestFault(PAGE_FAULT[access]);
      const readable = (pte & PTE_R) !== 0 || (mxr && (pte & PTE_X) !== 0);
      if (
        access === ACCESS_FETCH
          ? (pte & PTE_X) === 0
          : access === ACCESS_STORE
            ? (pte & PTE_W) === 0
            : !readable
      )
        return this.guestFault(PAGE_FAULT[access]);
      const ppn = pte >>> 10;
      if (level === 1 && (ppn & 1023) !== 0) return this.guestFault(PAGE_FAULT[access]); // misaligned megapage
      // Hardware A/D: set A, and D on a store, in the guest's own PTE.
      const want = pte | PTE_A | (access === ACCESS_STORE ? PTE_D : 0);
      if (want !== pte) {
        this.mem.write32(pteAddr, want);
        pte = want;
      }
      perms = (readable ? PTE_R : 0) | ((pte & PTE_D) !== 0 ? pte & PTE_W : 0) | (pte & PTE_X);
      gpa = level === 1 ? ppn * 4096 + (va & 0x3f_ffff) : ppn * 4096 + (va & 0xfff);
    }
    if (kind !== KIND_U && user) perms &= ~PTE_X;
    if (gpa >= 2 ** 32) return this.guestFault(ACCESS_FAULT[access]);
    const gfn = Math.floor(gpa / 4096);
    const e = this.mem.p2m.entry(guestFrame(gfn));
    if (e.type !== "ram") {
      if (e.type === "mmio-trap") return { kind: "mmio", gpa };
      return this.guestFault(ACCESS_FAULT[access]);
    }
    const guestPerms = perms;
    // What the P2M withholds is an access fault (the guest's own tables allowed it).
    const p2mBit = access === ACCESS_STORE ? PTE_W : access === ACCESS_FETCH ? PTE_X : PTE_R;
    if ((e.perms & p2mBit) === 0) return this.guestFault(ACCESS_FAULT[access]);
    perms &= e.perms;
    if (this.readOnly?.(gfn)) perms &= ~PTE_W;
    if (access === ACCESS_STORE && (perms & PTE_W) === 0) return this.guestFault(PAGE_FAULT[access]);
    if (access === ACCESS_FETCH && (perms & PTE_X) === 0) return this.guestFault(PAGE_FAULT[access]);
    this.mapLeaf(kind, va, gfn, e.frame, perms, l0Gfn);
    if (mega) {
      this.current.mega[kind * 1024 + (va >>> 22)] = 1;
      this.faultAhead(kind, va, gfn, guestPerms);
    }
    this.stats.fills++;
    return MAPPED;
  }

  /** Writes the shadow leaf for `va` in `kind`, remembering (PV) what it was built from. */
  private mapLeaf(
    kind: ShadowKind,
    va: number,
    gfn: number,
    frame: number,
    perms: number,
    l0Gfn: number,
  ): number {
    const idx = this.leafIndex(this.current, kind, va);
    this.i32[idx] = (frame << 10) | perms | PTE_V | PTE_U | PTE_A | PTE_D;
    if (this.track) {
      if (l0Gfn >= 0) {
        let users = this.l0Users.get(l0Gfn);
        if (users === undefined) {
          users = new Set();
          this.l0Users.set(l0Gfn, users);
        }
        users.add(this.current.id * 1024 + (va >>> 22));
      }
      if ((perms & PTE_W) !== 0) {
        let w = this.writers.get(gfn);
        if (w === undefined) {
          w = [];
          this.writers.set(gfn, w);
        }
        w.push(idx);
      }
    }
    return idx;
  }

  /**
   * Fault-ahead: one guest megapage (or the bare identity map) covers 1024 pages with one PTE and one
   * A/D pair, so the fill that just set them maps every other page of it at once, with the same
   * permissions (each still limited by its P2M entry and by PV's read-only page tables). Pages already
   * mapped are left alone. Without this a kernel's identity map costs an exit per page it touches.
   */
  private faultAhead(kind: ShadowKind, va: number, gfn: number, guestPerms: number): void {
    const first = gfn - ((va >>> 12) & 1023);
    const base = (va & ~0x3f_ffff) >>> 0;
    for (let j = 0; j < 1024; j++) {
      const g = first + j;
      const page = (base + j * 4096) >>> 0;
      const idx = this.leafIndex(this.current, kind, page);
      if (this.i32[idx] !== 0) continue;
      const e = this.mem.p2m.entry(guestFrame(g));
      if (e.type !== "ram") continue;
      let perms = guestPerms & e.perms;
      if (this.readOnly?.(g)) perms &= ~PTE_W;
      this.mapLeaf(kind, page, g, e.frame, perms, -1);
    }
  }

  private guestFault(cause: number): FillResult {
    this.stats.guestFaults++;
    return { kind: "guest-fault", cause };
  }

  /** RAM word index of the shadow leaf for `va` in `kind`, making its L0 table if needed. */
  private leafIndex(s: ShadowSet, kind: number, va: number): number {
    const i = va >>> 22;
    let l0 = s.l0[kind * 1024 + i];
    if (l0 === 0) {
      if (this.held >= this.frameLimit) this.flushAll();
      l0 = this.allocFrame();
      s.l0[kind * 1024 + i] = l0;
      this.i32[this.wordOf(s.roots[kind], i)] = (l0 << 10) | PTE_V;
    }
    return this.wordOf(l0, (va >>> 12) & 1023);
  }

  private wordOf(frame: number, index: number): number {
    return (((frame << PAGE_SHIFT) >>> 0) - this.mem.ram.base + index * 4) >>> 2;
  }

  private clearLeaf(s: ShadowSet, kind: number, i: number, j: number): void {
    const l0 = s.l0[kind * 1024 + i];
    if (l0 !== 0) this.i32[this.wordOf(l0, j)] = 0;
  }

  private clearL0(s: ShadowSet, kind: number, i: number): void {
    const l0 = s.l0[kind * 1024 + i];
    if (l0 === 0) return;
    this.i32[this.wordOf(s.roots[kind], i)] = 0;
    s.l0[kind * 1024 + i] = 0;
    s.mega[kind * 1024 + i] = 0;
    this.pool.release(l0 as HostFrame);
    this.held--;
  }

  /** A frame from the pool; when the host has none, this vCPU's other shadows are given back first. */
  private allocFrame(): HostFrame {
    try {
      const f = this.pool.alloc();
      this.held++;
      return f;
    } catch {
      if (this.sets.length > 0) this.flushAll(); // none yet while the constructor makes the first set
      try {
        const f = this.pool.alloc();
        this.held++;
        return f;
      } catch (e) {
        throw new ShadowExhaustedError(`no host frame left for a shadow page table: ${(e as Error).message}`);
      }
    }
  }

  private newSet(groot: number): ShadowSet {
    const roots: HostFrame[] = [];
    try {
      for (let k = 0; k < KINDS; k++) roots.push(this.allocFrame());
    } catch (e) {
      for (const r of roots) this.pool.release(r); // a set is all three roots or nothing
      this.held -= roots.length;
      throw e;
    }
    const s: ShadowSet = {
      id: this.nextId++,
      groot,
      roots,
      l0: new Int32Array(KINDS * 1024),
      mega: new Uint8Array(KINDS * 1024),
    };
    this.sets.push(s);
    return s;
  }

  private clearSet(s: ShadowSet): void {
    for (let k = 0; k < KINDS; k++) for (let i = 0; i < 1024; i++) this.clearL0(s, k, i);
  }

  private freeSet(s: ShadowSet): void {
    this.clearSet(s);
    for (const r of s.roots) this.pool.release(r);
    this.held -= s.roots.length;
  }

  private dropSet(s: ShadowSet): void {
    this.freeSet(s);
    this.sets.splice(this.sets.indexOf(s), 1);
  }
}
