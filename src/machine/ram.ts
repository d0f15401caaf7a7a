/**
 * Physical RAM: one ArrayBuffer with typed-array views, plus a dirty bitmap of 4 KiB frames.
 *
 * The dirty bitmap belongs to RAM (as in TinyEMU): every path that writes RAM marks the frame — the
 * bus, DMA by devices, and harts when they fill a store-TLB entry (so fast-path stores need no check).
 * Clearing goes through takeDirty(), which also flushes the harts' store TLBs; with several domains
 * logging, hypervisor/memory/dirty-log.ts must be its only caller.
 */
import { PAGE_SHIFT } from "./params.js";

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error("rvisor needs a little-endian host: RAM is accessed through native typed arrays");
}

/** Bits of Ram.watched. */
export const WATCH_STORE = 1;
export const WATCH_CODE = 2;

export type StoreWatcher = (paddr: number, size: number, value: number) => void;

export class Ram {
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  readonly frames: number;
  /** One bit per frame, set when the frame may have been written since the last clear. */
  readonly dirty: Uint32Array;
  /** Per frame: WATCH_STORE when stores go to watchers (HTIF), WATCH_CODE when it holds translated code. */
  readonly watched: Uint8Array;
  /** Called with (offset, size) when a store touches a WATCH_CODE frame (the translator invalidates). */
  codeWriteHook: ((off: number, size: number) => void) | undefined;
  private readonly watchers = new Map<number, StoreWatcher[]>();
  /** Called when a frame becomes watched or the dirty log is cleared: harts flush their store TLBs. */
  private readonly storeTlbListeners: (() => void)[] = [];

  constructor(
    readonly base: number,
    readonly size: number,
  ) {
    if (size <= 0 || size % (1 << PAGE_SHIFT) !== 0) {
      throw new Error(`RAM size ${size} is not a positive multiple of 4 KiB`);
    }
    if (base + size > 2 ** 32) throw new Error(`RAM at 0x${base.toString(16)} + ${size} passes 4 GiB`);
    this.buffer = new ArrayBuffer(size);
    this.u8 = new Uint8Array(this.buffer);
    this.u16 = new Uint16Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.frames = size >>> PAGE_SHIFT;
    this.dirty = new Uint32Array((this.frames + 31) >>> 5);
    this.watched = new Uint8Array(this.frames);
  }

  /**
   * Reports every later store that touches the frame holding physical `paddr` to `fn`, after the store.
   * Harts never take their store fast path into a watched frame.
   */
  watch(paddr: number, fn: StoreWatcher): void {
    if (!this.contains(paddr)) throw new Error(`watch: 0x${paddr.toString(16)} is not in RAM`);
    const frame = (paddr - this.base) >>> PAGE_SHIFT;
    const list = this.watchers.get(frame) ?? [];
    list.push(fn);
    this.watchers.set(frame, list);
    this.watched[frame] |= WATCH_STORE;
    for (const l of this.storeTlbListeners) l();
  }

  /** Marks a frame as holding translated code: stores to it leave the fast path and reach codeWriteHook. */
  markCode(frame: number): void {
    if ((this.watched[frame] & WATCH_CODE) !== 0) return;
    this.watched[frame] |= WATCH_CODE;
    for (const l of this.storeTlbListeners) l();
  }

  /** The frame holds no translated code any more. */
  unmarkCode(frame: number): void {
    this.watched[frame] &= ~WATCH_CODE;
  }

  /** Reports a store into a watched frame (RAM offset `off`) to its watchers and the translator. */
  notifyStore(off: number, size: number, value: number): void {
    const w = this.watched[off >>> PAGE_SHIFT];
    if ((w & WATCH_CODE) !== 0) this.codeWriteHook?.(off, size);
    if ((w & WATCH_STORE) === 0) return;
    const list = this.watchers.get(off >>> PAGE_SHIFT);
    if (list === undefined) return;
    for (const fn of list) fn(this.base + off, size, value);
  }

  /** Registers a hart's store-TLB flush, run whenever fast-path stores must be re-checked. */
  onStoreTlbInvalidate(fn: () => void): void {
    this.storeTlbListeners.push(fn);
  }

  /** Returns the dirty bitmap and clears it; harts re-mark frames on their next store. */
  takeDirty(): Uint32Array {
    const copy = this.dirty.slice();
    this.dirty.fill(0);
    for (const l of this.storeTlbListeners) l();
    return copy;
  }

  /** True when physical `paddr` (unsigned) .. +len lies in RAM. */
  contains(paddr: number, len = 1): boolean {
    const off = paddr - this.base;
    return off >= 0 && off + len <= this.size;
  }

  /** Marks the frame holding RAM offset `off` dirty. */
  markDirty(off: number): void {
    const f = off >>> PAGE_SHIFT;
    this.dirty[f >>> 5] |= 1 << (f & 31);
  }

  isDirty(frame: number): boolean {
    return (this.dirty[frame >>> 5] & (1 << (frame & 31))) !== 0;
  }

  /** Copies `bytes` into RAM at physical `paddr`, marking frames dirty. Throws if it does not fit. */
  load(paddr: number, bytes: Uint8Array): void {
    if (!this.contains(paddr, bytes.length)) {
      throw new Error(
        `0x${bytes.length.toString(16)} bytes at 0x${paddr.toString(16)} do not fit in RAM ` +
          `0x${this.base.toString(16)}..0x${(this.base + this.size).toString(16)}`,
      );
    }
    const off = paddr - this.base;
    this.u8.set(bytes, off);
    for (let f = off >>> PAGE_SHIFT; f <= (off + bytes.length - 1) >>> PAGE_SHIFT; f++) {
      this.dirty[f >>> 5] |= 1 << (f & 31);
      if ((this.watched[f] & WATCH_CODE) !== 0) this.codeWriteHook?.(off, bytes.length);
    }
  }
}
