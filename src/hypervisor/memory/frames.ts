/**
 * The host-frame allocator: who owns each 4 KiB frame of the board's RAM.
 *
 *   RAM frame index  0 ............ reserved-1 | reserved ........................ frames-1
 *                    hypervisor (kept for itself) | the pool: free, or owned by a domain / the hypervisor
 *
 * Policy (why it is shaped this way):
 * - Frames are handed out deliberately NOT contiguous, so no guest (and no hypervisor code) can come to
 *   rely on host contiguity: the free pool is a stack shuffled from a seed (deterministic: same seed,
 *   same frames), freed frames are pushed back at a seeded random depth, and **no frame handed out is
 *   physically adjacent (±1) to the frame handed out just before it** — within one alloc call and across
 *   calls — unless every free frame left is adjacent to it. A P2M that maps gfn i, i+1 from successive
 *   frames therefore never gets host frames f, f±1.
 * - Every frame has exactly one owner: free, the hypervisor, or one domain. Freeing checks the owner, so
 *   a double free or a free of someone else's frame is an OwnershipError, not silent corruption.
 * - A frame is zeroed when handed to a new owner (nothing leaks between domains). Zeroing goes through
 *   Ram.load so the frame is marked dirty and any translated code in it is invalidated.
 * - alloc is all-or-nothing: if n frames are not free, nothing is taken and OutOfFramesError says how
 *   many were asked and how many are free.
 */

import { PAGE_SHIFT, PAGE_SIZE } from "../../machine/params.js";
import type { Ram } from "../../machine/ram.js";
import type { DomainId } from "../scheduler/interface.js";
import { type HostFrame, hex, hostFrame, hostPhysOf } from "./addresses.js";
import { MemoryError, OutOfFramesError, OwnershipError } from "./errors.js";

/** The owner of frames the hypervisor uses itself (its reserved region, shadow tables, ...). */
export const HYPERVISOR = "hypervisor" as const;
export type Owner = DomainId | typeof HYPERVISOR;

/** Encoding of owners in the per-frame table. Domain ids are >= 0. */
const FREE = -1;
const HYP = -2;

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

export interface FrameAllocatorOptions {
  /** Frames at the start of RAM the hypervisor keeps for itself (never in the pool). Default 0. */
  reservedFrames?: number;
  /** Seed of the pool's shuffle. Default 1. */
  seed?: number;
}

export const ownerName = (o: Owner): string => (o === HYPERVISOR ? "the hypervisor" : `domain ${o}`);

export class FrameAllocator {
  /** Per RAM frame index: FREE, HYP, or the owning domain id. */
  private readonly owners: Int32Array;
  /** Free RAM frame indices; alloc pops from the top (the end). */
  private readonly pool: Int32Array;
  private poolSize = 0;
  private readonly perOwner = new Map<Owner, number>();
  /** RAM frame index handed out last (-10 = none yet: adjacent to nothing). */
  private lastHanded = -10;
  private rng: number;
  /** Host frame number of RAM frame index 0. */
  readonly baseFrame: number;
  readonly reservedFrames: number;

  constructor(
    readonly ram: Ram,
    options: FrameAllocatorOptions = {},
  ) {
    const reserved = options.reservedFrames ?? 0;
    if (!Number.isInteger(reserved) || reserved < 0 || reserved > ram.frames) {
      throw new MemoryError(
        "EINVAL",
        `reserved region of ${reserved} frames does not fit ${ram.frames} frames of RAM`,
      );
    }
    this.reservedFrames = reserved;
    this.baseFrame = ram.base >>> PAGE_SHIFT;
    this.rng = (options.seed ?? 1) >>> 0 || 1;
    this.owners = new Int32Array(ram.frames).fill(FREE);
    this.owners.fill(HYP, 0, reserved);
    if (reserved > 0) this.perOwner.set(HYPERVISOR, reserved);
    this.pool = new Int32Array(ram.frames);
    for (let i = reserved; i < ram.frames; i++) this.pool[this.poolSize++] = i;
    // Fisher–Yates from the seed.
    for (let i = this.poolSize - 1; i > 0; i--) this.swap(i, this.random(i + 1));
  }

  /** Frames in the pool not owned by anyone. */
  get freeCount(): number {
    return this.poolSize;
  }

  /** Frames of RAM in all. */
  get total(): number {
    return this.ram.frames;
  }

  /** Frames owned by `owner` (the hypervisor's count includes its reserved region). */
  countOf(owner: Owner): number {
    return this.perOwner.get(owner) ?? 0;
  }

  /** Every owner holding at least one frame, with its count. */
  ownerCounts(): Map<Owner, number> {
    return new Map(this.perOwner);
  }

  /** True when the host frame lies in RAM. */
  inRam(hf: HostFrame): boolean {
    const i = hf - this.baseFrame;
    return Number.isInteger(i) && i >= 0 && i < this.ram.frames;
  }

  /** The owner of a host frame, or undefined when it is free (throws when it is not RAM). */
  ownerOf(hf: HostFrame): Owner | undefined {
    return decode(this.owners[this.index(hf, "ownerOf")]);
  }

  /** Owner of RAM frame index `i` (the dirty bitmap's numbering), or undefined when free. */
  ownerOfIndex(i: number): Owner | undefined {
    return decode(this.owners[i]);
  }

  /** True when `owner` owns host frame `hf` (false for frames outside RAM). */
  owns(owner: Owner, hf: HostFrame): boolean {
    return this.inRam(hf) && this.owners[hf - this.baseFrame] === encode(owner);
  }

  /** Throws OwnershipError unless `owner` owns `hf`; `what` names the operation for the message. */
  assertOwns(owner: Owner, hf: HostFrame, what: string): void {
    if (this.owns(owner, hf)) return;
    const actual = this.inRam(hf) ? this.ownerOf(hf) : undefined;
    const holder = !this.inRam(hf)
      ? "is not RAM"
      : actual === undefined
        ? "is free"
        : `belongs to ${ownerName(actual)}`;
    throw new OwnershipError(
      `${what}: ${ownerName(owner)} does not own host frame ${hex(hf)} (it ${holder})`,
    );
  }

  /** RAM frame index of a host frame (its bit in Ram.dirty). */
  indexOf(hf: HostFrame): number {
    return this.index(hf, "indexOf");
  }

  /** Host frame of RAM frame index `i`. */
  frameAt(i: number): HostFrame {
    return hostFrame(this.baseFrame + i);
  }

  /**
   * Takes `n` free frames for `owner`, zeroed, in the non-contiguous order described above.
   * Throws OutOfFramesError (taking nothing) when fewer than n are free.
   */
  alloc(n: number, owner: Owner): HostFrame[] {
    if (!Number.isInteger(n) || n < 0) throw new MemoryError("EINVAL", `alloc: ${n} is not a frame count`);
    checkOwner(owner);
    if (n > this.poolSize) throw new OutOfFramesError(n, this.poolSize, ownerName(owner));
    const out: HostFrame[] = [];
    const code = encode(owner);
    for (let k = 0; k < n; k++) {
      const i = this.popNotAdjacent();
      this.owners[i] = code;
      this.ram.load(this.ram.base + i * PAGE_SIZE, ZERO_PAGE);
      out.push(this.frameAt(i));
    }
    if (n > 0) this.perOwner.set(owner, this.countOf(owner) + n);
    return out;
  }

  /**
   * Gives frames back to the pool. All must be owned by `owner` and be distinct; otherwise nothing is
   * freed and an OwnershipError names the first offending frame.
   */
  free(frames: readonly HostFrame[], owner: Owner): void {
    checkOwner(owner);
    const seen = new Set<number>();
    for (const hf of frames) {
      if (seen.has(hf)) throw new OwnershipError(`free: host frame ${hex(hf)} appears twice in one free`);
      seen.add(hf);
      const i = this.index(hf, "free");
      if (i < this.reservedFrames) {
        throw new OwnershipError(`free: host frame ${hex(hf)} is in the hypervisor's reserved region`);
      }
      if (this.owners[i] === FREE)
        throw new OwnershipError(`free: host frame ${hex(hf)} is already free (double free)`);
      this.assertOwns(owner, hf, "free");
    }
    for (const hf of frames) {
      const i = hf - this.baseFrame;
      this.owners[i] = FREE;
      // Push, then swap with a seeded random slot so freed frames are not simply reused LIFO.
      this.pool[this.poolSize++] = i;
      this.swap(this.poolSize - 1, this.random(this.poolSize));
    }
    const left = this.countOf(owner) - frames.length;
    if (left === 0) this.perOwner.delete(owner);
    else this.perOwner.set(owner, left);
  }

  /** Host-physical address range [start, end) of the reserved region, for loading the hypervisor's data. */
  reservedRange(): { start: number; end: number } {
    return { start: hostPhysOf(this.frameAt(0)), end: this.ram.base + this.reservedFrames * PAGE_SIZE };
  }

  private popNotAdjacent(): number {
    // At most two free frames are adjacent to the last one handed out, so looking three deep suffices.
    const top = this.poolSize - 1;
    for (let d = 0; d < 3 && top - d >= 0; d++) {
      if (Math.abs(this.pool[top - d] - this.lastHanded) !== 1) {
        this.swap(top, top - d);
        break;
      }
    }
    const i = this.pool[top];
    this.poolSize--;
    this.lastHanded = i;
    return i;
  }

  private index(hf: HostFrame, what: string): number {
    if (!this.inRam(hf)) throw new MemoryError("EINVAL", `${what}: host frame ${hex(hf)} is not in RAM`);
    return hf - this.baseFrame;
  }

  private swap(a: number, b: number): void {
    const t = this.pool[a];
    this.pool[a] = this.pool[b];
    this.pool[b] = t;
  }

  /** xorshift32: a uniform-enough integer in [0, n). */
  private random(n: number): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng % n;
  }
}

function encode(o: Owner): number {
  return o === HYPERVISOR ? HYP : o;
}

function decode(code: number): Owner | undefined {
  if (code === FREE) return undefined;
  return code === HYP ? HYPERVISOR : code;
}

function checkOwner(o: Owner): void {
  if (o !== HYPERVISOR && !(Number.isInteger(o) && o >= 0 && o < 0x7fff_ffff)) {
    throw new MemoryError("EINVAL", `${String(o)} is not a domain id or the hypervisor`);
  }
}
