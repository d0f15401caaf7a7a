/**
 * A domain's P2M: guest-physical frame → host frame, with a type and permissions per entry.
 *
 * Every guest sees contiguous RAM from 0x8000_0000 (DRAM_BASE, as on the `virt` board), whatever host
 * frames back it; the allocator makes those host frames deliberately scattered.
 *
 *   guest-physical                        P2M entry                    host frame
 *   0x1000_0000 ┌─────────────┐ ─────▶  mmio-trap (a device model)     —
 *               ┆             ┆
 *   0x8000_0000 ├─────────────┤ ─────▶  ram  RWX ───────────────────▶ 0x87a13
 *   0x8000_1000 ├─────────────┤ ─────▶  ram  R-X ───────────────────▶ 0x8190e
 *   0x8000_2000 ├─────────────┤ ─────▶  absent (ballooned out)        —
 *               ┆  maxFrames  ┆
 *               └─────────────┘ ─────▶  outside: a fault
 *
 * The span [DRAM_BASE, DRAM_BASE + maxFrames·4 KiB) is the guest's maxmem; within it each gfn is `ram`
 * (backed by a host frame the domain owns) or `absent` (never populated, or given back by the balloon).
 * MMIO ranges are registered outside the span; accesses there are `mmio` faults the caller routes to a
 * device model.
 *
 * Invariants (asserted, never assumed):
 * - every `ram` entry's host frame is owned by this domain in the allocator (OwnershipError otherwise);
 * - no host frame backs two gfns (the reverse map, Xen's M2P, would be ambiguous);
 * - populated === allocator.countOf(domain) as long as only this P2M allocates for the domain.
 *
 * Consumers that cache translations (shadow tables, G-stage tables, the dirty log) register onChange
 * and are told, once per operation, every gfn whose entry changed, before an old host frame is freed
 * (a balloon batch of 256 pages is one call: a consumer that flushes everything does it once).
 */
import { DRAM_BASE } from "../../machine/memory-map.js";
import { PAGE_SHIFT } from "../../machine/params.js";
import type { DomainId } from "../scheduler/interface.js";
import {
  type GuestFrame,
  type GuestPhys,
  gfnOf,
  guestFrame,
  type HostFrame,
  type HostPhys,
  hex,
  hostFrame,
  hostPhysOf,
  pageOffset,
} from "./addresses.js";
import { MemoryError, OwnershipError } from "./errors.js";
import type { FrameAllocator } from "./frames.js";

/** Permission bits of a `ram` entry (Sv32's R/W/X positions, so they can be ANDed into a PTE). */
export const P2M_R = 1 << 1;
export const P2M_W = 1 << 2;
export const P2M_X = 1 << 3;
export const P2M_RWX = P2M_R | P2M_W | P2M_X;

/** First guest frame of guest RAM. */
export const GUEST_RAM_BASE_GFN = guestFrame(DRAM_BASE >>> PAGE_SHIFT);

export type P2mEntry =
  | { readonly type: "ram"; readonly frame: HostFrame; readonly perms: number }
  | { readonly type: "mmio-trap"; readonly device: string }
  | { readonly type: "absent" };

/** Why a guest frame has no host frame: the caller decides (inject a fault, call a device, crash). */
export interface P2mFault {
  readonly fault: "absent" | "outside" | "mmio" | "permission";
  readonly gfn: GuestFrame;
  readonly detail: string;
}

/** Told the gfns one operation changed (never empty). */
export type P2mListener = (gfns: readonly GuestFrame[]) => void;

interface MmioRange {
  first: number;
  end: number; // exclusive
  device: string;
}

const NONE = -1;

export class P2m {
  /** Per span slot: host frame number, or NONE when absent. */
  private readonly frames: Int32Array;
  private readonly perms: Uint8Array;
  /** Host frame → gfn for this domain's frames (Xen's M2P, restricted to one domain). */
  private readonly reverse = new Map<number, GuestFrame>();
  private readonly mmio: MmioRange[] = [];
  private readonly listeners: P2mListener[] = [];
  private mapped = 0;

  constructor(
    readonly domain: DomainId,
    readonly allocator: FrameAllocator,
    /** The guest's maxmem in frames: the span of guest RAM from DRAM_BASE. */
    readonly maxFrames: number,
  ) {
    if (!Number.isInteger(maxFrames) || maxFrames <= 0 || DRAM_BASE + maxFrames * 4096 > 2 ** 32) {
      throw new MemoryError(
        "EINVAL",
        `domain ${domain}: a maxmem of ${maxFrames} frames does not fit from ${hex(DRAM_BASE)}`,
      );
    }
    this.frames = new Int32Array(maxFrames).fill(NONE);
    this.perms = new Uint8Array(maxFrames);
  }

  /** Frames mapped as `ram`. */
  get populated(): number {
    return this.mapped;
  }

  /** One past the last guest frame of the span. */
  get endGfn(): GuestFrame {
    return guestFrame(GUEST_RAM_BASE_GFN + this.maxFrames);
  }

  /** Calls `fn` with the gfns each operation changes, before an old host frame goes back to the pool. */
  onChange(fn: P2mListener): void {
    this.listeners.push(fn);
  }

  /** Maps the `n` lowest absent gfns of the span to fresh zeroed frames; returns those gfns. */
  populate(n: number): GuestFrame[] {
    const gfns: GuestFrame[] = [];
    for (let s = 0; s < this.maxFrames && gfns.length < n; s++) {
      if (this.frames[s] === NONE) gfns.push(guestFrame(GUEST_RAM_BASE_GFN + s));
    }
    if (gfns.length < n) {
      throw new MemoryError(
        "EINVAL",
        `domain ${this.domain}: populate ${n} frame(s) passes maxmem (${this.maxFrames}, ${this.mapped} populated)`,
      );
    }
    this.addBack(gfns);
    return gfns;
  }

  /**
   * Maps each given absent gfn to a fresh zeroed frame (balloon deflate). All-or-nothing: every gfn must
   * be in the span and absent, and the allocator must have enough frames.
   */
  addBack(gfns: readonly GuestFrame[]): void {
    const seen = new Set<number>();
    for (const g of gfns) {
      const s = this.slot(g, "add");
      if (this.frames[s] !== NONE)
        throw new MemoryError("EINVAL", `domain ${this.domain}: add: gfn ${hex(g)} is already mapped`);
      if (seen.has(g))
        throw new MemoryError("EINVAL", `domain ${this.domain}: add: gfn ${hex(g)} appears twice`);
      seen.add(g);
    }
    const hfs = this.allocator.alloc(gfns.length, this.domain);
    for (let k = 0; k < gfns.length; k++) this.set(gfns[k], hfs[k], P2M_RWX);
    this.changed(gfns);
  }

  /**
   * Maps `gfn` to a host frame the domain already owns (e.g. one allocated for it by the toolstack).
   * Throws OwnershipError when the domain does not own it or it already backs another gfn.
   */
  mapOwned(gfn: GuestFrame, hf: HostFrame, perms = P2M_RWX): void {
    const s = this.slot(gfn, "map");
    if (this.frames[s] !== NONE)
      throw new MemoryError("EINVAL", `domain ${this.domain}: map: gfn ${hex(gfn)} is already mapped`);
    this.set(gfn, hf, perms);
    this.changed([gfn]);
  }

  /**
   * Unmaps `ram` gfns and gives their frames back to the allocator (balloon inflate). All-or-nothing:
   * each gfn must be mapped `ram`. Returns the number of frames freed.
   */
  remove(gfns: readonly GuestFrame[]): number {
    const seen = new Set<number>();
    for (const g of gfns) {
      const s = this.slot(g, "remove");
      if (this.frames[s] === NONE)
        throw new MemoryError("EINVAL", `domain ${this.domain}: remove: gfn ${hex(g)} is not mapped`);
      if (seen.has(g))
        throw new MemoryError("EINVAL", `domain ${this.domain}: remove: gfn ${hex(g)} appears twice`);
      seen.add(g);
    }
    const hfs: HostFrame[] = [];
    for (const g of gfns) {
      const s = g - GUEST_RAM_BASE_GFN;
      const hf = hostFrame(this.frames[s]);
      hfs.push(hf);
      this.frames[s] = NONE;
      this.perms[s] = 0;
      this.reverse.delete(hf);
      this.mapped--;
    }
    // Consumers drop their cached translations before the frames can be handed to anyone else.
    this.changed(gfns);
    this.allocator.free(hfs, this.domain);
    return hfs.length;
  }

  /** Sets the permissions of a `ram` gfn (e.g. read-only for a PV guest's page-table pages). */
  setPerms(gfn: GuestFrame, perms: number): void {
    const s = this.slot(gfn, "setPerms");
    if (this.frames[s] === NONE)
      throw new MemoryError("EINVAL", `domain ${this.domain}: setPerms: gfn ${hex(gfn)} is not mapped`);
    if ((perms & ~P2M_RWX) !== 0)
      throw new MemoryError("EINVAL", `domain ${this.domain}: setPerms: bad permission bits ${hex(perms)}`);
    this.perms[s] = perms;
    this.changed([gfn]);
  }

  /** Registers [gpa, gpa+size) as a device region whose accesses trap to `device`. */
  mapMmio(gpa: GuestPhys, size: number, device: string): void {
    const first = gfnOf(gpa);
    const end = (gpa + size + 4095) >>> PAGE_SHIFT;
    if (size <= 0 || pageOffset(gpa) !== 0)
      throw new MemoryError("EINVAL", `mapMmio ${device}: ${hex(gpa)}+${size} is not page aligned`);
    if (first < this.endGfn && GUEST_RAM_BASE_GFN < end) {
      throw new MemoryError("EINVAL", `mapMmio ${device}: ${hex(gpa)}+${size} overlaps guest RAM`);
    }
    for (const m of this.mmio) {
      if (first < m.end && m.first < end)
        throw new MemoryError("EINVAL", `mapMmio ${device}: overlaps ${m.device}`);
    }
    this.mmio.push({ first, end, device });
  }

  /** The full entry of a gfn (outside the span and every MMIO range it is `absent`). */
  entry(gfn: GuestFrame): P2mEntry {
    const s = gfn - GUEST_RAM_BASE_GFN;
    if (s >= 0 && s < this.maxFrames && this.frames[s] !== NONE) {
      return { type: "ram", frame: this.checked(gfn, this.frames[s]), perms: this.perms[s] };
    }
    const m = this.mmioAt(gfn);
    return m === undefined ? { type: "absent" } : { type: "mmio-trap", device: m.device };
  }

  /** Whether every gfn of [first, first + count) is `ram` (a cheap check: no entry objects). */
  isRamRange(first: number, count: number): boolean {
    const s = first - GUEST_RAM_BASE_GFN;
    if (!(s >= 0 && s + count <= this.maxFrames)) return false;
    for (let i = s; i < s + count; i++) if (this.frames[i] === NONE) return false;
    return true;
  }

  /** Whether every gfn of [first, first + count) lies in the span guest RAM may occupy (ram or absent). */
  inSpan(first: number, count: number): boolean {
    const s = first - GUEST_RAM_BASE_GFN;
    return s >= 0 && s + count <= this.maxFrames;
  }

  /**
   * Whether [first, first + count) holds device registers and no RAM: it lies wholly outside the span
   * guest RAM may occupy and meets at least one MMIO range. An access there traps to a device model (or
   * faults, between devices); it never reaches a host frame.
   */
  isDeviceRange(first: number, count: number): boolean {
    const s = first - GUEST_RAM_BASE_GFN;
    if (!(s + count <= 0 || s >= this.maxFrames)) return false;
    return this.mmio.some((m) => first < m.end && m.first < first + count);
  }

  /** The host frame backing `gfn`, or why there is none. */
  lookup(gfn: GuestFrame): HostFrame | P2mFault {
    const s = gfn - GUEST_RAM_BASE_GFN;
    if (s >= 0 && s < this.maxFrames && this.frames[s] !== NONE) return this.checked(gfn, this.frames[s]);
    return this.fault(gfn);
  }

  /**
   * Host-physical address of a guest-physical one for an access needing `need` (P2M_R, P2M_W or P2M_X;
   * 0 for no check), or why it cannot be reached.
   */
  translate(gpa: GuestPhys, need = 0): HostPhys | P2mFault {
    const gfn = gfnOf(gpa);
    const s = gfn - GUEST_RAM_BASE_GFN;
    if (s >= 0 && s < this.maxFrames && this.frames[s] !== NONE) {
      if ((this.perms[s] & need) !== need) {
        return {
          fault: "permission",
          gfn,
          detail: `domain ${this.domain}: ${hex(gpa)} lacks permission ${hex(need)}`,
        };
      }
      return hostPhysOf(this.checked(gfn, this.frames[s]), pageOffset(gpa));
    }
    return this.fault(gfn);
  }

  /** The gfn a host frame backs in this domain (the reverse map), or undefined. */
  gfnOf(hf: HostFrame): GuestFrame | undefined {
    return this.reverse.get(hf);
  }

  /** Calls fn for every `ram` entry in gfn order: what shadow and G-stage table builders iterate. */
  forEach(fn: (gfn: GuestFrame, frame: HostFrame, perms: number) => void): void {
    for (let s = 0; s < this.maxFrames; s++) {
      const f = this.frames[s];
      if (f !== NONE) {
        const gfn = guestFrame(GUEST_RAM_BASE_GFN + s);
        fn(gfn, this.checked(gfn, f), this.perms[s]);
      }
    }
  }

  /** Every host frame backing this domain's RAM (for hashing, saving, or tearing down). */
  hostFrames(): HostFrame[] {
    const out: HostFrame[] = [];
    this.forEach((_g, hf) => {
      out.push(hf);
    });
    return out;
  }

  /** Unmaps everything and frees every frame (domain destruction). */
  release(): void {
    const gfns: GuestFrame[] = [];
    this.forEach((g) => {
      gfns.push(g);
    });
    this.remove(gfns);
  }

  private set(gfn: GuestFrame, hf: HostFrame, perms: number): void {
    this.allocator.assertOwns(this.domain, hf, `domain ${this.domain}: map gfn ${hex(gfn)}`);
    const other = this.reverse.get(hf);
    if (other !== undefined) {
      throw new OwnershipError(
        `domain ${this.domain}: map gfn ${hex(gfn)}: host frame ${hex(hf)} already backs gfn ${hex(other)}`,
      );
    }
    const s = gfn - GUEST_RAM_BASE_GFN;
    this.frames[s] = hf;
    this.perms[s] = perms;
    this.reverse.set(hf, gfn);
    this.mapped++;
  }

  /** Re-asserts ownership on every read: a frame freed behind the P2M's back is a bug found here. */
  private checked(gfn: GuestFrame, f: number): HostFrame {
    const hf = hostFrame(f);
    this.allocator.assertOwns(this.domain, hf, `domain ${this.domain}: gfn ${hex(gfn)}`);
    return hf;
  }

  private fault(gfn: GuestFrame): P2mFault {
    const s = gfn - GUEST_RAM_BASE_GFN;
    if (s >= 0 && s < this.maxFrames) {
      return { fault: "absent", gfn, detail: `domain ${this.domain}: gfn ${hex(gfn)} is not populated` };
    }
    const m = this.mmioAt(gfn);
    if (m !== undefined) return { fault: "mmio", gfn, detail: m.device };
    return {
      fault: "outside",
      gfn,
      detail: `domain ${this.domain}: gfn ${hex(gfn)} is outside guest RAM and devices`,
    };
  }

  private mmioAt(gfn: GuestFrame): MmioRange | undefined {
    for (const m of this.mmio) if (gfn >= m.first && gfn < m.end) return m;
    return undefined;
  }

  private slot(gfn: GuestFrame, what: string): number {
    const s = gfn - GUEST_RAM_BASE_GFN;
    if (!Number.isInteger(s) || s < 0 || s >= this.maxFrames) {
      throw new MemoryError(
        "EINVAL",
        `domain ${this.domain}: ${what}: gfn ${hex(gfn)} is outside guest RAM (maxmem ${this.maxFrames} frames)`,
      );
    }
    return s;
  }

  private changed(gfns: readonly GuestFrame[]): void {
    if (gfns.length === 0) return;
    for (const l of this.listeners) l(gfns);
  }
}

/** True when a lookup or translate result is a fault rather than an address. */
export function isP2mFault(r: number | P2mFault): r is P2mFault {
  return typeof r !== "number";
}
