/**
 * A split virtqueue (virtio 1.2 §2.7) in a domain's guest-physical memory, read and written only
 * through its GuestMemory — so through the domain's P2M, never outside the domain's RAM.
 *
 *   descriptor table (16-aligned)   size × { addr: le64, len: le32, flags: le16, next: le16 }
 *   available ring (2-aligned)      flags: le16 | idx: le16 | ring[size]: le16 | used_event: le16
 *   used ring (4-aligned)           flags: le16 | idx: le16 | ring[size]: { id: le32, len: le32 } | avail_event
 *
 *   flags: NEXT (1) the chain goes on at `next`; WRITE (2) device-writable; INDIRECT (4) `addr` holds a
 *   table of len/16 descriptors that is the whole chain (VIRTIO_F_INDIRECT_DESC).
 *
 * The driver owns the descriptor table and the available ring; the device reads them and owns the used
 * ring. `pop` takes the next available chain and checks it as a hostile driver could break it: the
 * ring index moving by more than the queue size, a head or `next` out of range, a loop (more
 * descriptors than the table holds), an indirect table nested, combined with NEXT, misaligned or not in
 * RAM, a readable descriptor after a writable one. Any of those is a VirtioError (the transport sets
 * DEVICE_NEEDS_RESET). Buffer addresses are not checked here: a Chain's read/write fail cleanly
 * (undefined / false) on bytes that are not the domain's RAM, and the device completes that request
 * with an error status.
 */
import type { GuestMemory } from "../memory/guest-memory.js";
import { VirtioError } from "./device.js";

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
/** Avail flags: the driver does not want used-buffer interrupts (advisory). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** The largest queue size of a split virtqueue. */
export const VIRTQ_MAX_SIZE = 32768;
const DESC_SIZE = 16;

/** One buffer of a chain: `addr` is -1 when the descriptor's address is beyond 32 bits (never RAM). */
export interface Segment {
  readonly addr: number;
  readonly len: number;
}

/** A descriptor chain the driver made available: device-readable segments, then device-writable. */
export class Chain {
  /** Bytes in the readable and in the writable segments. */
  readonly readableLength: number;
  readonly writableLength: number;

  constructor(
    private readonly mem: GuestMemory,
    /** The head descriptor's index: what `Virtqueue.push` returns to the driver. */
    readonly head: number,
    readonly readable: readonly Segment[],
    readonly writable: readonly Segment[],
  ) {
    this.readableLength = readable.reduce((n, s) => n + s.len, 0);
    this.writableLength = writable.reduce((n, s) => n + s.len, 0);
  }

  /** `n` bytes of the readable part from `offset`; undefined if beyond it or not all the domain's RAM. */
  read(offset: number, n: number): Uint8Array | undefined {
    if (offset < 0 || n < 0 || offset + n > this.readableLength) return undefined;
    const out = new Uint8Array(n);
    let done = 0;
    for (const [at, s, skip] of this.span(this.readable, offset, n)) {
      const part = s.addr < 0 ? undefined : this.mem.read(s.addr + skip, at);
      if (part === undefined) return undefined;
      out.set(part, done);
      done += at;
    }
    return out;
  }

  /** Copies `bytes` into the writable part at `offset`; false if beyond it or any byte is not RAM. */
  write(offset: number, bytes: Uint8Array): boolean {
    if (offset < 0 || offset + bytes.length > this.writableLength) return false;
    const pieces = [...this.span(this.writable, offset, bytes.length)];
    // Check every piece first, so a failing request writes nothing.
    for (const [at, s, skip] of pieces) if (s.addr < 0 || !this.mem.contains(s.addr + skip, at)) return false;
    let done = 0;
    for (const [at, s, skip] of pieces) {
      this.mem.write(s.addr + skip, bytes.subarray(done, done + at));
      done += at;
    }
    return true;
  }

  /** The (length, segment, offset within it) pieces covering [offset, offset + n) of `segs`. */
  private *span(segs: readonly Segment[], offset: number, n: number): Generator<[number, Segment, number]> {
    let skip = offset;
    let left = n;
    for (const s of segs) {
      if (left === 0) return;
      if (skip >= s.len) {
        skip -= s.len;
        continue;
      }
      const at = Math.min(s.len - skip, left);
      yield [at, s, skip];
      left -= at;
      skip = 0;
    }
  }
}

/** Why a queue's configuration is unusable, or undefined when it is fine (checked at QueueReady). */
export function checkQueueSetup(
  mem: GuestMemory,
  size: number,
  maxSize: number,
  desc: number,
  avail: number,
  used: number,
): string | undefined {
  if (size === 0 || size > maxSize || (size & (size - 1)) !== 0)
    return `queue size ${size} is not a power of 2 in 1..${maxSize}`;
  if (desc % 16 !== 0 || avail % 2 !== 0 || used % 4 !== 0)
    return "ring addresses misaligned (descriptors 16, available 2, used 4)";
  if (!mem.contains(desc, DESC_SIZE * size)) return `descriptor table at 0x${hex(desc)} is not in RAM`;
  if (!mem.contains(avail, 6 + 2 * size)) return `available ring at 0x${hex(avail)} is not in RAM`;
  if (!mem.contains(used, 6 + 8 * size)) return `used ring at 0x${hex(used)} is not in RAM`;
  return undefined;
}

/** Where the device is in a queue's rings (save/restore): both free-running 16-bit indices. */
export interface VirtqueueCursor {
  lastAvail: number;
  usedIdx: number;
}

export class Virtqueue {
  /** The next available-ring entry the device will take (free-running 16-bit). */
  private lastAvail = 0;
  /** The used ring's idx as the device last wrote it (free-running 16-bit). */
  private usedIdx = 0;

  constructor(
    private readonly mem: GuestMemory,
    readonly index: number,
    readonly size: number,
    readonly desc: number,
    readonly avail: number,
    readonly used: number,
    /** Whether VIRTIO_F_INDIRECT_DESC was negotiated. */
    private readonly indirect: boolean,
  ) {}

  /** The device's indices, for a save. */
  get cursor(): VirtqueueCursor {
    return { lastAvail: this.lastAvail, usedIdx: this.usedIdx };
  }

  /** Puts saved indices back (a restored queue goes on where it was; values checked by the caller). */
  set cursor(c: VirtqueueCursor) {
    this.lastAvail = c.lastAvail & 0xffff;
    this.usedIdx = c.usedIdx & 0xffff;
  }

  /**
   * The chain at `head` again, as pop returned it once (a device held it across a save: its
   * descriptors are the driver's until they are used). Throws VirtioError if malformed.
   */
  chainAt(head: number): Chain {
    if (!Number.isInteger(head) || head < 0 || head >= this.size)
      throw this.error(`held chain ${head} is beyond the table`);
    return this.walk(head);
  }

  /** Whether the driver has made a chain available that the device has not taken yet. */
  get pending(): boolean {
    return this.availIdx() !== this.lastAvail;
  }

  /** Whether the driver wants an interrupt when buffers are used (it may ask not to be, §2.7.7). */
  get wantsInterrupt(): boolean {
    return (this.word(this.avail) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  /** Takes the next available chain, or undefined when there is none. Throws VirtioError if malformed. */
  pop(): Chain | undefined {
    const idx = this.availIdx();
    if (idx === this.lastAvail) return undefined;
    const ahead = (idx - this.lastAvail) & 0xffff;
    if (ahead > this.size)
      throw this.error(
        `available idx ${idx} is ${ahead} entries ahead of ${this.lastAvail} (size ${this.size})`,
      );
    const slot = this.avail + 4 + 2 * (this.lastAvail % this.size);
    const head = this.half(slot);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    if (head >= this.size) throw this.error(`available head ${head} is beyond the table`);
    return this.walk(head);
  }

  /** Returns chain `head` to the driver with `written` bytes written into its writable part. */
  push(head: number, written: number): void {
    const at = this.used + 4 + 8 * (this.usedIdx % this.size);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    // flags (0: the device always wants notifications) and idx share the ring's first word.
    if (
      !this.mem.write32(at, head) ||
      !this.mem.write32(at + 4, written) ||
      !this.mem.write32(this.used, this.usedIdx << 16)
    )
      throw this.error("the used ring is no longer in RAM");
  }

  private walk(head: number): Chain {
    const readable: Segment[] = [];
    const writable: Segment[] = [];
    let table = this.desc;
    let entries = this.size;
    let i = head;
    let d = this.descriptor(table, i);
    if ((d.flags & VIRTQ_DESC_F_INDIRECT) !== 0) {
      if (!this.indirect) throw this.error(`descriptor ${i}: INDIRECT was not negotiated`);
      if ((d.flags & VIRTQ_DESC_F_NEXT) !== 0) throw this.error(`descriptor ${i}: INDIRECT with NEXT`);
      if (d.len === 0 || d.len % DESC_SIZE !== 0 || d.len / DESC_SIZE > VIRTQ_MAX_SIZE)
        throw this.error(`descriptor ${i}: indirect table of ${d.len} bytes`);
      if (d.addr < 0 || d.addr % DESC_SIZE !== 0 || !this.mem.contains(d.addr, d.len))
        throw this.error(`descriptor ${i}: indirect table at 0x${hex(d.addr)} is not aligned RAM`);
      table = d.addr;
      entries = d.len / DESC_SIZE;
      i = 0;
      d = this.descriptor(table, i);
    }
    for (let count = 1; ; count++) {
      if ((d.flags & VIRTQ_DESC_F_INDIRECT) !== 0)
        throw this.error(`descriptor ${i}: INDIRECT inside a chain or an indirect table`);
      const seg = { addr: d.addr, len: d.len };
      if ((d.flags & VIRTQ_DESC_F_WRITE) !== 0) writable.push(seg);
      else if (writable.length > 0)
        throw this.error(`descriptor ${i}: device-readable after device-writable`);
      else readable.push(seg);
      if ((d.flags & VIRTQ_DESC_F_NEXT) === 0) break;
      if (count >= entries) throw this.error(`chain from ${head} is longer than its table (a loop)`);
      i = d.next;
      if (i >= entries) throw this.error(`descriptor next ${i} is beyond the table of ${entries}`);
      d = this.descriptor(table, i);
    }
    return new Chain(this.mem, head, readable, writable);
  }

  private descriptor(table: number, i: number): { addr: number; len: number; flags: number; next: number } {
    const at = table + DESC_SIZE * i;
    const lo = this.mem.read32(at);
    const hi = this.mem.read32(at + 4);
    const len = this.mem.read32(at + 8);
    const fn = this.mem.read32(at + 12);
    if (lo === undefined || hi === undefined || len === undefined || fn === undefined)
      throw this.error(`descriptor table at 0x${hex(table)} is no longer in RAM`);
    return { addr: hi === 0 ? lo >>> 0 : -1, len: len >>> 0, flags: fn & 0xffff, next: fn >>> 16 };
  }

  private availIdx(): number {
    return this.word(this.avail) >>> 16;
  }

  /** The aligned little-endian word at `gpa`. */
  private word(gpa: number): number {
    const w = this.mem.read32(gpa);
    if (w === undefined) throw this.error("the available ring is no longer in RAM");
    return w;
  }

  /** The 16-bit value at 2-aligned `gpa`. */
  private half(gpa: number): number {
    return (this.word(gpa) >>> ((gpa & 2) * 8)) & 0xffff;
  }

  private error(why: string): VirtioError {
    return new VirtioError(`queue ${this.index}: ${why}`);
  }
}

const hex = (n: number): string => (n >>> 0).toString(16);
