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
 * page-table frames read-only (`writeProtect`, and `unprotect` when they are unpinned).
 *
 * Eager shadows (PV, `eager`): a PV guest's tables are validated whole when pinned and entry by entry
 * when updated, so the hypervisor knows them as well as the guest does. A set is built in full when its
 * root is first switched to, and every validated update rebuilds the entries it changed instead of only
 * clearing them: a PV guest takes no fill fault for a page its tables map with A (and D, if writable)
 * already set — the only ones left are those whose A or D a fill must still set, as hardware would.
 * The shadow L0 table of a settled megapage (the kernel's identity map, the same in every address
 * space) is shared by every set and kind that map it with the same permissions.
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
import { guestFrame, type HostFrame } from "./addresses.js";
import type { GuestMemory } from "./guest-memory.js";
import type { ShadowPool } from "./shadow-pool.js";

export { ShadowPool } from "./shadow-pool.js";

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

interface ShadowSet {
  readonly id: number;
  /** Guest root frame number (satp.PPN), or BARE. */
  readonly groot: number;
  /** Host frame of each kind's shadow root. */
  readonly roots: HostFrame[];
  /** Host frame of the shadow L0 table under root entry i of kind k, at k * 1024 + i (0: none). */
  readonly l0: Int32Array;
  /** MEGA where that shadow L0 table holds pages filled from a guest megapage (or the bare map), SHARED
   * where it is a shared megapage table (eager shadows), 0 for a table built from a guest L0 table. */
  readonly mega: Uint8Array;
}

const MEGA = 1;
const SHARED = 2;

/** Eager shadows: one shadow L0 table for a settled guest megapage, shared by the sets that map it. */
interface SharedL0 {
  readonly key: number;
  readonly frame: HostFrame;
  /** The guest megapage's first frame, and the shadow permissions (R W X) its pages get. */
  readonly first: number;
  readonly perms: number;
  refs: number;
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
   * PV (with `track`): build a set in full from the guest's tables when it is created, and rebuild what
   * an invalidation names instead of only clearing it (the guest's tables are validated, pinned ones).
   */
  eager?: boolean;
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
  private readonly eager: boolean;
  /** Eager: shared megapage L0 tables by key (first gfn and permissions) and by host frame. */
  private readonly shared = new Map<number, SharedL0>();
  private readonly sharedByFrame = new Map<number, SharedL0>();
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
    this.eager = this.track && (opts.eager ?? false);
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
    if (this.eager && groot !== BARE) this.buildSet(this.current);
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

  /** PV: root entry `index` of guest root `rootGfn` changed (eager: its shadow is rebuilt). */
  invalidateRootEntry(rootGfn: number, index: number): void {
    for (const s of [...this.sets]) {
      if (s.groot !== rootGfn || !this.sets.includes(s)) continue;
      for (let k = 0; k < KINDS; k++) this.clearL0(s, k, index);
      if (this.eager) this.buildRootEntry(s, index, this.guestWord(rootGfn, index), this.stats.flushes);
    }
  }

  /** PV: entry `index` of guest L0 table `l0Gfn` changed (eager: its shadow leaves are rebuilt). */
  invalidateLeafEntry(l0Gfn: number, index: number): void {
    const users = this.l0Users.get(l0Gfn);
    if (users === undefined) return;
    const gen = this.stats.flushes;
    for (const u of [...users]) {
      const s = this.sets.find((x) => x.id === Math.floor(u / 1024));
      const i = u % 1024;
      // A set gone, or a root entry that no longer points here, does not use this table any more.
      if (s === undefined || !this.pointsTo(s, i, l0Gfn)) {
        users.delete(u);
        continue;
      }
      for (let k = 0; k < KINDS; k++) this.clearLeaf(s, k, i, index);
      if (this.eager) this.buildLeaf(s, i, index, this.guestWord(l0Gfn, index));
      if (this.stats.flushes !== gen) return; // the build needed a frame and flushed everything
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
    for (const t of this.shared.values()) {
      const j = gfn - t.first;
      if (j < 0 || j >= 1024 || (t.perms & PTE_W) === 0) continue;
      const idx = this.wordOf(t.frame, j);
      this.i32[idx] &= ~PTE_W;
    }
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

  /**
   * PV: guest frame `gfn` is no longer a page table: the shared megapage tables that map it give it back
   * W where the guest's megapage allows it (any other mapping regains W at its first store, by a fill).
   */
  unprotect(gfn: number): void {
    if (this.readOnly?.(gfn)) return;
    const e = this.mem.p2m.entry(guestFrame(gfn));
    if (e.type !== "ram" || (e.perms & PTE_W) === 0) return;
    for (const t of this.shared.values()) {
      const j = gfn - t.first;
      if (j < 0 || j >= 1024 || (t.perms & PTE_W) === 0) continue;
      const idx = this.wordOf(t.frame, j);
      if ((this.i32[idx] & PTE_V) !== 0) this.i32[idx] |= PTE_W;
    }
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
    const s = this.current;
    const sharedTable = s.mega[kind * 1024 + (va >>> 22)] === SHARED;
    this.mapLeaf(s, kind, va, gfn, e.frame, perms, l0Gfn);
    if (mega && !sharedTable) {
      s.mega[kind * 1024 + (va >>> 22)] = MEGA;
      this.faultAhead(kind, va, gfn, guestPerms);
    }
    this.stats.fills++;
    return MAPPED;
  }

  /** Writes the shadow leaf for `va` in `kind` of set `s`, remembering (PV) what it was built from. */
  private mapLeaf(
    s: ShadowSet,
    kind: number,
    va: number,
    gfn: number,
    frame: number,
    perms: number,
    l0Gfn: number,
  ): number {
    const idx = this.leafIndex(s, kind, va);
    if (idx < 0) return idx;
    this.i32[idx] = (frame << 10) | perms | PTE_V | PTE_U | PTE_A | PTE_D;
    if (this.track) {
      if (l0Gfn >= 0) this.addL0User(l0Gfn, s, va >>> 22);
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
      this.mapLeaf(this.current, kind, page, g, e.frame, perms, -1);
    }
  }

  private addL0User(l0Gfn: number, s: ShadowSet, i: number): void {
    let users = this.l0Users.get(l0Gfn);
    if (users === undefined) {
      users = new Set();
      this.l0Users.set(l0Gfn, users);
    }
    users.add(s.id * 1024 + i);
  }

  // ── eager shadows (PV) ────────────────────────────────────────────────────────────────────────────

  /** Entry `index` of the guest table in frame `gfn` (0 when the frame is not the domain's RAM). */
  private guestWord(gfn: number, index: number): number {
    return this.mem.read32(gfn * 4096 + index * 4) ?? 0;
  }

  /** Whether root entry `i` of set `s`'s guest root points at the guest L0 table `l0Gfn`. */
  private pointsTo(s: ShadowSet, i: number, l0Gfn: number): boolean {
    if (s.groot === BARE) return false;
    const e = this.guestWord(s.groot, i);
    return (e & (PTE_V | PTE_R | PTE_W | PTE_X)) === PTE_V && e >>> 10 === l0Gfn;
  }

  /** Builds every entry of set `s` from its guest root and the L0 tables it points at. */
  private buildSet(s: ShadowSet): void {
    const gen = this.stats.flushes;
    const base = this.mem.offsetOf(s.groot * 4096);
    if (base < 0) return;
    for (let i = 0; i < 1024 && this.stats.flushes === gen; i++) {
      const e = this.i32[(base >>> 2) + i];
      if ((e & PTE_V) !== 0) this.buildRootEntry(s, i, e, gen);
    }
  }

  /**
   * Builds the shadow under root entry `i` of set `s` from guest entry `e`: every leaf of the L0 table it
   * points at, or a settled megapage's shared table. Stops if a frame allocation flushed the shadows
   * (generation `gen`): the rest is filled on demand.
   */
  private buildRootEntry(s: ShadowSet, i: number, e: number, gen: number): void {
    if ((e & PTE_V) === 0 || ((e & PTE_R) === 0 && (e & PTE_W) !== 0)) return;
    const ppn = e >>> 10;
    if ((e & (PTE_R | PTE_X)) === 0) {
      const base = this.mem.offsetOf(ppn * 4096);
      if (base < 0) return;
      this.addL0User(ppn, s, i); // even with no leaf yet: a later update of the table must reach this set
      for (let j = 0; j < 1024 && this.stats.flushes === gen; j++) {
        const l = this.i32[(base >>> 2) + j];
        if ((l & PTE_V) !== 0) this.buildLeaf(s, i, j, l);
      }
      return;
    }
    if ((ppn & 1023) !== 0 || !settled(e)) return; // misaligned: the guest's fault; unsettled: a fill's
    for (let k = 0; k < KINDS && this.stats.flushes === gen; k++) {
      const perms = kindPerms(e, k);
      if (perms === 0 || s.l0[k * 1024 + i] !== 0) continue;
      const t = this.sharedTable(ppn, perms);
      if (t === undefined || this.stats.flushes !== gen) return;
      t.refs++;
      s.l0[k * 1024 + i] = t.frame;
      s.mega[k * 1024 + i] = SHARED;
      this.i32[this.wordOf(s.roots[k], i)] = (t.frame << 10) | PTE_V;
    }
  }

  /** Maps the page of guest leaf `e` (entry `j` of the L0 table under root entry `i`) in every kind of `s`. */
  private buildLeaf(s: ShadowSet, i: number, j: number, e: number): void {
    if ((e & PTE_V) === 0 || (e & (PTE_R | PTE_X)) === 0 || !settled(e)) return;
    if ((e & PTE_R) === 0 && (e & PTE_W) !== 0) return;
    const gfn = e >>> 10;
    const p = this.mem.p2m.entry(guestFrame(gfn));
    if (p.type !== "ram") return; // a device page: its accesses exit anyway, through a fill
    const l0Gfn = s.groot === BARE ? -1 : this.guestWord(s.groot, i) >>> 10;
    const va = ((i << 22) | (j << 12)) >>> 0;
    for (let k = 0; k < KINDS; k++) {
      const perms = this.framePerms(gfn, kindPerms(e, k) & p.perms);
      if (perms !== 0) this.mapLeaf(s, k, va, gfn, p.frame, perms, l0Gfn);
    }
  }

  /** `perms` less what pinning withholds from frame `gfn`; 0 when nothing readable or executable is left. */
  private framePerms(gfn: number, perms: number): number {
    let p = perms;
    if (this.readOnly?.(gfn)) p &= ~PTE_W;
    if ((p & PTE_R) === 0) p &= ~PTE_W;
    return (p & (PTE_R | PTE_X)) === 0 ? 0 : p;
  }

  /** The shared table mapping the megapage at guest frame `first` with `perms`, made if needed. */
  private sharedTable(first: number, perms: number): SharedL0 | undefined {
    const key = first * 8 + (perms >>> 1);
    const have = this.shared.get(key);
    if (have !== undefined) return have;
    if (this.held >= this.frameLimit) this.flushAll();
    const gen = this.stats.flushes;
    const frame = this.allocFrame();
    if (this.stats.flushes !== gen) {
      // The host was out of frames: the shadows were flushed to find this one; the caller stops.
      this.pool.release(frame);
      this.held--;
      return undefined;
    }
    const t: SharedL0 = { key, frame, first, perms, refs: 0 };
    this.shared.set(key, t);
    this.sharedByFrame.set(frame, t);
    const base = this.wordOf(frame, 0);
    for (let j = 0; j < 1024; j++) {
      const p = this.mem.p2m.entry(guestFrame(first + j));
      if (p.type !== "ram") continue;
      const q = this.framePerms(first + j, perms & p.perms);
      if (q !== 0) this.i32[base + j] = (p.frame << 10) | q | PTE_V | PTE_U | PTE_A | PTE_D;
    }
    return t;
  }

  private guestFault(cause: number): FillResult {
    this.stats.guestFaults++;
    return { kind: "guest-fault", cause };
  }

  /**
   * RAM word index of the shadow leaf for `va` in `kind`, making its L0 table if needed; -1 when making
   * it flushed the shadows and set `s` with them (only the current set survives a flush, emptied).
   */
  private leafIndex(s: ShadowSet, kind: number, va: number): number {
    const i = va >>> 22;
    let l0 = s.l0[kind * 1024 + i];
    if (l0 === 0) {
      if (this.held >= this.frameLimit) this.flushAll();
      const f = this.allocFrame();
      if (s !== this.current && !this.sets.includes(s)) {
        this.pool.release(f);
        this.held--;
        return -1;
      }
      l0 = f;
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
    if (l0 === 0) return;
    if (s.mega[kind * 1024 + i] === SHARED)
      this.clearL0(s, kind, i); // not this set's alone to edit
    else this.i32[this.wordOf(l0, j)] = 0;
  }

  private clearL0(s: ShadowSet, kind: number, i: number): void {
    const l0 = s.l0[kind * 1024 + i];
    if (l0 === 0) return;
    this.i32[this.wordOf(s.roots[kind], i)] = 0;
    const shared = s.mega[kind * 1024 + i] === SHARED;
    s.l0[kind * 1024 + i] = 0;
    s.mega[kind * 1024 + i] = 0;
    if (shared) {
      const t = this.sharedByFrame.get(l0);
      if (t === undefined || --t.refs > 0) return;
      this.shared.delete(t.key);
      this.sharedByFrame.delete(l0);
    }
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

/** A guest leaf the hardware would use without writing it: A set, and D too if it is writable. */
function settled(e: number): boolean {
  return (e & PTE_A) !== 0 && ((e & PTE_W) === 0 || (e & PTE_D) !== 0);
}

/** The R W X a settled guest leaf `e` gets in shadow `kind` (ring compression; no MXR in PV), or 0. */
function kindPerms(e: number, kind: number): number {
  const user = (e & PTE_U) !== 0;
  const rwx = e & (PTE_R | PTE_W | PTE_X);
  if (kind === KIND_U) return user ? rwx : 0;
  if (kind === KIND_S) return user ? 0 : rwx;
  return user ? rwx & ~PTE_X : rwx;
}
