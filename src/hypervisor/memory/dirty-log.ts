/**
 * Per-domain dirty logging, for migration: which guest frames were written since the last read.
 *
 * The board has ONE dirty bitmap, Ram.dirty, indexed by host frame: harts set a frame's bit when they
 * fill a store-TLB entry for it, and the bus, devices and loaders set it on every write. Several domains
 * share it, and reading it (Ram.takeDirty) clears it for everyone. So reads are centralised:
 *
 *   harts, bus, DMA ──set──▶ Ram.dirty (host frames, shared)
 *                                │  DirtyTracker.harvest(): takeDirty() — returns, clears, flushes
 *                                │  every hart's store TLB so the next store to any frame re-marks it
 *                                ▼
 *            for each set host frame: owner = allocator.ownerOf(frame)
 *              owner is a domain whose log is enabled ──▶ gfn = its P2M's reverse map ──▶ set gfn bit
 *              free, hypervisor, or not logging       ──▶ dropped
 *                                ▼
 *           DirtyLog(dom A) accumulated gfn bitmap   DirtyLog(dom B) accumulated gfn bitmap
 *                  │ peekAndClear() = harvest(), then return and clear A's bitmap only
 *
 * Protocol (what keeps every domain's view right):
 * 1. The tracker is the only reader of Ram.takeDirty while any log is enabled. Any read distributes
 *    every bit to all enabled domains before they are cleared, so reading A's log never loses B's.
 * 2. A gfn whose P2M entry changes (populated, ballooned out, added back, permissions changed) is marked
 *    dirty in its domain's log immediately: the receiver must learn its new state (a new frame, or
 *    absent). This also covers writes to a frame harvested after the frame left the domain.
 * 3. Over-reporting is allowed, under-reporting is not: a stale bit of a freed frame that was reallocated
 *    may be credited to its new owner at the next harvest (that gfn was just populated, so rule 2 had
 *    already marked it).
 * 4. enable() starts from now: bits set before it are harvested first and not credited to the domain.
 *    disable() drops the domain's accumulated bits.
 */
import type { Ram } from "../../machine/ram.js";
import type { DomainId } from "../scheduler/interface.js";
import { type GuestFrame, guestFrame } from "./addresses.js";
import { MemoryError } from "./errors.js";
import { type FrameAllocator, HYPERVISOR } from "./frames.js";
import { GUEST_RAM_BASE_GFN, type P2m } from "./p2m.js";

/** One per RAM: owns the reads of Ram's bitmap and hands each domain its share. */
export class DirtyTracker {
  private readonly logs = new Map<DomainId, DirtyLog>();
  /** Harvests so far (each one flushes every hart's store TLB; a cost the dashboard can show). */
  harvests = 0;

  constructor(
    readonly ram: Ram,
    readonly allocator: FrameAllocator,
  ) {
    if (allocator.ram !== ram)
      throw new MemoryError("EINVAL", "dirty tracker: the allocator manages another RAM");
  }

  /** The log of a domain, created (disabled) on first use. */
  logFor(p2m: P2m): DirtyLog {
    if (p2m.allocator !== this.allocator) {
      throw new MemoryError("EINVAL", `dirty tracker: domain ${p2m.domain}'s P2M uses another allocator`);
    }
    let log = this.logs.get(p2m.domain);
    if (log === undefined) {
      log = new DirtyLog(this, p2m);
      this.logs.set(p2m.domain, log);
    } else if (log.p2m !== p2m) {
      throw new MemoryError(
        "EINVAL",
        `dirty tracker: domain ${p2m.domain} already has a log for another P2M`,
      );
    }
    return log;
  }

  /** Forgets a domain's log (domain destruction). */
  drop(domain: DomainId): void {
    this.logs.get(domain)?.disable();
    this.logs.delete(domain);
  }

  /** Reads and clears Ram's bitmap, crediting every written frame to its owner's enabled log. */
  harvest(): void {
    const bits = this.ram.takeDirty();
    this.harvests++;
    for (let w = 0; w < bits.length; w++) {
      let word = bits[w];
      while (word !== 0) {
        const bit = 31 - Math.clz32(word);
        word &= ~(1 << bit);
        const i = (w << 5) | bit;
        if (i >= this.ram.frames) continue;
        const owner = this.allocator.ownerOfIndex(i);
        if (owner === undefined || owner === HYPERVISOR) continue;
        const log = this.logs.get(owner);
        if (log === undefined || !log.enabled) continue;
        const gfn = log.p2m.gfnOf(this.allocator.frameAt(i));
        if (gfn !== undefined) log.mark(gfn);
      }
    }
  }
}

/** One domain's log: an accumulated bitmap over its guest RAM span. */
export class DirtyLog {
  private readonly bits: Uint32Array;
  private on = false;

  constructor(
    readonly tracker: DirtyTracker,
    readonly p2m: P2m,
  ) {
    this.bits = new Uint32Array((p2m.maxFrames + 31) >>> 5);
    // Rule 2: a changed entry is a dirty gfn.
    p2m.onChange((gfns) => {
      if (this.on) for (const g of gfns) this.mark(g);
    });
  }

  get enabled(): boolean {
    return this.on;
  }

  /** Starts logging: only writes from now on are reported (rule 4). */
  enable(): void {
    if (this.on) return;
    this.tracker.harvest();
    this.bits.fill(0);
    this.on = true;
  }

  /** Stops logging and forgets what was accumulated. */
  disable(): void {
    this.on = false;
    this.bits.fill(0);
  }

  /** Guest frames written (or remapped) since enable() or the previous call, ascending; then clears. */
  peekAndClear(): GuestFrame[] {
    if (!this.on) throw new MemoryError("EINVAL", `domain ${this.p2m.domain}: dirty log read while disabled`);
    this.tracker.harvest();
    const out: GuestFrame[] = [];
    const bits = this.bits;
    for (let w = 0; w < bits.length; w++) {
      let word = bits[w];
      while (word !== 0) {
        const bit = Math.clz32(word & -word) ^ 31; // lowest set bit, so the result comes out ascending
        word &= word - 1;
        out.push(guestFrame(GUEST_RAM_BASE_GFN + ((w << 5) | bit)));
      }
    }
    bits.fill(0);
    return out;
  }

  /** Credits a guest frame to this log (the tracker's distribution and P2M changes). */
  mark(gfn: GuestFrame): void {
    const s = gfn - GUEST_RAM_BASE_GFN;
    if (s < 0 || s >= this.p2m.maxFrames) return;
    this.bits[s >>> 5] |= 1 << (s & 31);
  }
}
