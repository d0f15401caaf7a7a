/**
 * A virtio driver written in TypeScript, for the device tests: it plays the guest against a
 * VirtioMmio, with its rings and buffers in a real domain's guest memory (a P2M over scattered host
 * frames), and can also break every rule a hostile driver might (raw descriptors, ring indexes).
 *
 *   const env = makeVirtioEnv();                       // two domains: `mem` and an `other` bystander
 *   const t = new VirtioMmio("t", env.mem, device, (l) => (line = l));
 *   const drv = new TestDriver(t, env.mem);
 *   drv.init();  const q = drv.setupQueue(0, 8);  drv.driverOk();
 *   const { head, inAddrs } = drv.submit(q, [header], [512, 1]);  drv.notify(q);
 *   drv.used(q)  →  [{ id: head, len: 513 }]
 */
import { createHash } from "node:crypto";
import { DRAM_BASE } from "../../machine/memory-map.js";
import { PAGE_SIZE } from "../../machine/params.js";
import { hostPhysOf } from "../memory/addresses.js";
import { GuestMemory } from "../memory/guest-memory.js";
import { P2m } from "../memory/p2m.js";
import { makeHost, type TestHost } from "../memory/test-support.js";
import { featureBits, VIRTIO_F_VERSION_1 } from "../virtio/device.js";
import {
  REG_DRIVER_FEATURES,
  REG_DRIVER_FEATURES_SEL,
  REG_QUEUE_DESC_HIGH,
  REG_QUEUE_DESC_LOW,
  REG_QUEUE_DEVICE_HIGH,
  REG_QUEUE_DEVICE_LOW,
  REG_QUEUE_DRIVER_HIGH,
  REG_QUEUE_DRIVER_LOW,
  REG_QUEUE_NOTIFY,
  REG_QUEUE_NUM,
  REG_QUEUE_READY,
  REG_QUEUE_SEL,
  REG_STATUS,
  STATUS_ACKNOWLEDGE,
  STATUS_DRIVER,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
  type VirtioMmio,
} from "../virtio/mmio.js";
import { VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from "../virtio/queue.js";

export interface VirtioEnv {
  host: TestHost;
  /** The domain under test (guest RAM of `frames` pages at 0x8000_0000). */
  p2m: P2m;
  mem: GuestMemory;
  /** Another domain on the same host, which nothing may touch. */
  other: GuestMemory;
  /** SHA-256 of every host frame the domain under test does not own. */
  outsideHash(): string;
}

export function makeVirtioEnv(frames = 64): VirtioEnv {
  const host = makeHost(4 * frames + 32, 8);
  const p2m = new P2m(1, host.frames, frames);
  p2m.populate(frames);
  const p2 = new P2m(2, host.frames, frames);
  p2.populate(frames);
  const other = new GuestMemory(p2, host.ram);
  const pattern = new Uint32Array((frames * PAGE_SIZE) / 4).map((_, i) => Math.imul(i, 2654435761));
  other.write(DRAM_BASE, new Uint8Array(pattern.buffer));
  const mine = new Set<number>();
  p2m.forEach((_gfn, hf) => {
    mine.add(hostPhysOf(hf) - host.ram.base);
  });
  const outsideHash = () => {
    const h = createHash("sha256");
    for (let off = 0; off < host.ram.size; off += PAGE_SIZE)
      if (!mine.has(off)) h.update(host.ram.u8.subarray(off, off + PAGE_SIZE));
    return h.digest("hex");
  };
  return { host, p2m, mem: new GuestMemory(p2m, host.ram), other, outsideHash };
}

export interface TestQueue {
  index: number;
  size: number;
  desc: number;
  avail: number;
  used: number;
  /** The next free descriptor (the driver hands them out in order, wrapping). */
  nextDesc: number;
  /** The available idx the driver last published. */
  availIdx: number;
  /** The used idx the driver has consumed up to. */
  usedSeen: number;
}

export class TestDriver {
  /** Allocation cursor for rings and buffers in guest RAM. */
  private cursor: number;

  constructor(
    readonly t: VirtioMmio,
    readonly mem: GuestMemory,
    base = DRAM_BASE + 0x1_0000,
  ) {
    this.cursor = base;
  }

  reg(offset: number): number {
    return this.t.read(offset, 4);
  }

  set(offset: number, value: number): void {
    this.t.write(offset, 4, value >>> 0);
  }

  /** Guest memory for the driver's own use, zeroed. */
  alloc(bytes: number, align = 16): number {
    this.cursor = Math.ceil(this.cursor / align) * align;
    const at = this.cursor;
    this.cursor += bytes;
    this.mem.write(at, new Uint8Array(bytes));
    return at;
  }

  /** Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns whether FEATURES_OK stuck. */
  init(features = featureBits(VIRTIO_F_VERSION_1)): boolean {
    this.set(REG_STATUS, 0);
    this.set(REG_STATUS, STATUS_ACKNOWLEDGE);
    this.set(REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    this.set(REG_DRIVER_FEATURES_SEL, 0);
    this.set(REG_DRIVER_FEATURES, Number(features & 0xffff_ffffn));
    this.set(REG_DRIVER_FEATURES_SEL, 1);
    this.set(REG_DRIVER_FEATURES, Number((features >> 32n) & 0xffff_ffffn));
    this.set(REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    return (this.reg(REG_STATUS) & STATUS_FEATURES_OK) !== 0;
  }

  /** Lays out queue `index` with `size` entries in fresh memory and sets it ready. */
  setupQueue(index: number, size: number): TestQueue {
    const q: TestQueue = {
      index,
      size,
      desc: this.alloc(16 * size, 16),
      avail: this.alloc(6 + 2 * size, 2),
      used: this.alloc(6 + 8 * size, 4),
      nextDesc: 0,
      availIdx: 0,
      usedSeen: 0,
    };
    this.set(REG_QUEUE_SEL, index);
    this.set(REG_QUEUE_NUM, size);
    this.set(REG_QUEUE_DESC_LOW, q.desc);
    this.set(REG_QUEUE_DESC_HIGH, 0);
    this.set(REG_QUEUE_DRIVER_LOW, q.avail);
    this.set(REG_QUEUE_DRIVER_HIGH, 0);
    this.set(REG_QUEUE_DEVICE_LOW, q.used);
    this.set(REG_QUEUE_DEVICE_HIGH, 0);
    this.set(REG_QUEUE_READY, 1);
    return q;
  }

  driverOk(): void {
    this.set(REG_STATUS, this.reg(REG_STATUS) | STATUS_DRIVER_OK);
  }

  /** Writes descriptor `i` of a table at `table` as given (addr may be any 64-bit value as [lo, hi]). */
  writeDesc(
    table: number,
    i: number,
    addr: number | [number, number],
    len: number,
    flags: number,
    next = 0,
  ): void {
    const [lo, hi] = typeof addr === "number" ? [addr, 0] : addr;
    const at = table + 16 * i;
    this.mem.write32(at, lo);
    this.mem.write32(at + 4, hi);
    this.mem.write32(at + 8, len);
    this.mem.write32(at + 12, (flags & 0xffff) | (next << 16));
  }

  /** Puts `head` in the available ring and moves idx on (by `step`, 1 for a well-behaved driver). */
  publish(q: TestQueue, head: number, step = 1): void {
    const slot = q.avail + 4 + 2 * (q.availIdx % q.size);
    const w = this.mem.read32(slot & ~3) ?? 0;
    const shift = (slot & 2) * 8;
    this.mem.write32(slot & ~3, (w & ~(0xffff << shift)) | (head << shift));
    q.availIdx = (q.availIdx + step) & 0xffff;
    const flags = (this.mem.read32(q.avail) ?? 0) & 0xffff;
    this.mem.write32(q.avail, flags | (q.availIdx << 16));
  }

  /** Sets the available ring's flags (VIRTQ_AVAIL_F_NO_INTERRUPT). */
  availFlags(q: TestQueue, flags: number): void {
    const w = this.mem.read32(q.avail) ?? 0;
    this.mem.write32(q.avail, (w & ~0xffff) | flags);
  }

  /**
   * A chain of fresh buffers: `out` are device-readable (their bytes), `inLens` device-writable (their
   * lengths), made available. Returns the head and the writable buffers' addresses.
   */
  submit(q: TestQueue, out: Uint8Array[], inLens: number[]): { head: number; inAddrs: number[] } {
    const n = out.length + inLens.length;
    const ids = Array.from({ length: n }, (_, k) => (q.nextDesc + k) % q.size);
    q.nextDesc = (q.nextDesc + n) % q.size;
    const inAddrs: number[] = [];
    for (let k = 0; k < n; k++) {
      const last = k === n - 1;
      const flags = (last ? 0 : VIRTQ_DESC_F_NEXT) | (k >= out.length ? VIRTQ_DESC_F_WRITE : 0);
      let addr: number;
      let len: number;
      if (k < out.length) {
        len = out[k].length;
        addr = this.alloc(len, 8);
        this.mem.write(addr, out[k]);
      } else {
        len = inLens[k - out.length];
        addr = this.alloc(len, 8);
        inAddrs.push(addr);
      }
      this.writeDesc(q.desc, ids[k], addr, len, flags, last ? 0 : ids[k + 1]);
    }
    this.publish(q, ids[0]);
    return { head: ids[0], inAddrs };
  }

  notify(q: TestQueue | number): void {
    this.set(REG_QUEUE_NOTIFY, typeof q === "number" ? q : q.index);
  }

  /** The used-ring entries the device added since the last call. */
  used(q: TestQueue): { id: number; len: number }[] {
    const idx = (this.mem.read32(q.used) ?? 0) >>> 16;
    const out: { id: number; len: number }[] = [];
    for (; q.usedSeen !== idx; q.usedSeen = (q.usedSeen + 1) & 0xffff) {
      const at = q.used + 4 + 8 * (q.usedSeen % q.size);
      out.push({ id: this.mem.read32(at) ?? -1, len: this.mem.read32(at + 4) ?? -1 });
    }
    return out;
  }

  read(addr: number, n: number): Uint8Array {
    const b = this.mem.read(addr, n);
    if (b === undefined) throw new Error(`test driver: 0x${addr.toString(16)} is not RAM`);
    return b;
  }
}
