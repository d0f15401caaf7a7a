/**
 * A qcow2 image's host cluster allocator: the refcount table and blocks (qcow2-format.ts draws them).
 *
 * Clusters are only ever allocated, at the end of the file (rvisor frees nothing but an outgrown refcount
 * table), so the allocator is a cursor: the first cluster at or past the end whose refcount is 0. Every
 * change is written through to the file at once, in an order that leaves a consistent image after each
 * step, or at worst a leaked cluster (refcount 1, used by nothing; `qemu-img check` repairs that):
 *
 *   allocate:  refcount 1 written ──► (the caller) data written ──► (the caller) L2/L1 entry written
 *   new block: the block, counting itself, written ──► its refcount table entry written
 *   new table: blocks and the table written ──► the header switched to it ──► the old table freed
 *
 * Refcount entries are 2^refcount_order bits wide (1..64); sub-byte entries pack from the least
 * significant bit of each byte, as QEMU reads them.
 */
import { fsyncSync, readSync, writeSync } from "node:fs";
import { imageError, putU64, u64 } from "./qcow2-format.js";

/** Positioned I/O on an image's descriptor: short reads past the end read zeros. */
export class ImageIo {
  constructor(
    readonly fd: number,
    readonly path: string,
  ) {}

  read(pos: number, into: Uint8Array): void {
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.fd, into, done, into.length - done, pos + done);
      if (n === 0) break;
      done += n;
    }
    into.fill(0, done);
  }

  bytes(pos: number, length: number): Uint8Array {
    const b = new Uint8Array(length);
    this.read(pos, b);
    return b;
  }

  write(pos: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, pos + done);
  }

  sync(): void {
    fsyncSync(this.fd);
  }
}

/** A bounded map: cleared when full (tables are re-read from the file, which always holds them). */
export class TableCache {
  private readonly map = new Map<number, Uint8Array>();
  constructor(private readonly limit: number) {}
  get(offset: number): Uint8Array | undefined {
    return this.map.get(offset);
  }
  set(offset: number, table: Uint8Array): void {
    if (this.map.size >= this.limit) this.map.clear();
    this.map.set(offset, table);
  }
}

export interface RefcountLayout {
  clusterBits: number;
  refcountOrder: number;
  tableOffset: number;
  tableClusters: number;
  /** The file's size in bytes: allocation starts at the first cluster past it. */
  fileSize: number;
}

export class Refcounts {
  private readonly cs: number;
  private readonly bits: number;
  /** Refcount entries per block. */
  private readonly perBlock: number;
  /** Block offsets by table index; 0 = no block (every refcount it would hold is 0). */
  private table: number[] = [];
  private tableOffset: number;
  private tableClusters: number;
  private readonly blocks = new TableCache(1024);
  /** The next cluster index to try. */
  private end: number;

  constructor(
    private readonly io: ImageIo,
    layout: RefcountLayout,
  ) {
    this.cs = 2 ** layout.clusterBits;
    this.bits = 2 ** layout.refcountOrder;
    this.perBlock = (this.cs * 8) / this.bits;
    this.tableOffset = layout.tableOffset;
    this.tableClusters = layout.tableClusters;
    this.end = Math.ceil(layout.fileSize / this.cs);
    const raw = io.bytes(layout.tableOffset, layout.tableClusters * this.cs);
    const v = new DataView(raw.buffer);
    for (let i = 0; i < raw.length / 8; i++) {
      const off = u64(v, i * 8, io.path, "a refcount table entry");
      if (off % this.cs !== 0) throw imageError(io.path, `refcount block ${i} at ${off} is not aligned`);
      this.table.push(off);
    }
  }

  /** The refcount of the host cluster at index `cluster`. */
  get(cluster: number): number {
    const off = this.table[Math.floor(cluster / this.perBlock)] ?? 0;
    return off === 0 ? 0 : this.entry(this.block(off), cluster % this.perBlock);
  }

  /** A new host cluster with refcount 1 (already on disk); returns its byte offset. */
  allocate(): number {
    for (;;) {
      const c = this.end;
      const ti = Math.floor(c / this.perBlock);
      if (ti >= this.table.length) this.growTable();
      else if (this.table[ti] === 0) this.newBlock(ti, c);
      else if (this.get(c) !== 0) this.end++;
      else {
        this.set(c, 1);
        this.end = c + 1;
        return c * this.cs;
      }
    }
  }

  /** Sets one refcount, writing the bytes that hold it. The cluster's block must exist. */
  private set(cluster: number, value: number): void {
    const off = this.table[Math.floor(cluster / this.perBlock)]!;
    const block = this.block(off);
    const [at, len] = this.putEntry(block, cluster % this.perBlock, value);
    this.io.write(off + at, block.subarray(at, at + len));
  }

  /** Makes cluster `c` the refcount block for table index `ti`, counting itself (c is in its range). */
  private newBlock(ti: number, c: number): void {
    const block = new Uint8Array(this.cs);
    this.putEntry(block, c % this.perBlock, 1);
    this.io.write(c * this.cs, block);
    const e = new Uint8Array(8);
    putU64(new DataView(e.buffer), 0, c * this.cs);
    this.io.write(this.tableOffset + ti * 8, e);
    this.blocks.set(c * this.cs, block);
    this.table[ti] = c * this.cs;
    this.end = c + 1;
  }

  /**
   * Moves the refcount table to a larger one at the end of the file: the new table's clusters, then the
   * blocks that count them (and themselves) where no block exists yet, are laid out; blocks, counts and
   * the table are written; the header is switched (one write of both fields); the old table is freed.
   */
  private growTable(): void {
    const perTableCluster = this.cs / 8;
    const start = this.end;
    let n = Math.max(this.tableClusters * 2, 1);
    let fresh: number[] = []; // table indexes that get a new block, in order
    for (;;) {
      fresh = [];
      let stop = start + n; // one past the last cluster laid out
      for (let c = start; c < stop; c++) {
        const ti = Math.floor(c / this.perBlock);
        if ((this.table[ti] ?? 0) === 0 && !fresh.includes(ti)) {
          fresh.push(ti);
          stop++;
        }
      }
      if (n * perTableCluster > Math.floor((stop - 1) / this.perBlock)) {
        const table = [...this.table];
        while (table.length < n * perTableCluster) table.push(0);
        fresh.forEach((ti, k) => {
          table[ti] = (start + n + k) * this.cs;
        });
        this.switchTable(table, start, n, stop);
        return;
      }
      n *= 2;
    }
  }

  private switchTable(table: number[], start: number, n: number, stop: number): void {
    const old = { offset: this.tableOffset, clusters: this.tableClusters };
    const fresh = new Set<number>();
    for (let ti = 0; ti < table.length; ti++)
      if (table[ti] !== 0 && table[ti] !== this.table[ti]) {
        fresh.add(ti);
        this.blocks.set(table[ti]!, new Uint8Array(this.cs));
      }
    // Count the new clusters: in the fresh blocks (in memory until written), or in existing ones.
    for (let c = start; c < stop; c++) {
      const ti = Math.floor(c / this.perBlock);
      if (fresh.has(ti)) this.putEntry(this.block(table[ti]!), c % this.perBlock, 1);
      else this.set(c, 1);
    }
    for (const ti of fresh) this.io.write(table[ti]!, this.block(table[ti]!));
    const bytes = new Uint8Array(n * this.cs);
    const v = new DataView(bytes.buffer);
    table.forEach((off, i) => {
      putU64(v, i * 8, off);
    });
    this.io.write(start * this.cs, bytes);
    const header = new Uint8Array(12);
    const hv = new DataView(header.buffer);
    putU64(hv, 0, start * this.cs);
    hv.setUint32(8, n);
    this.io.write(48, header);
    this.table = table;
    this.tableOffset = start * this.cs;
    this.tableClusters = n;
    this.end = stop;
    for (let k = 0; k < old.clusters; k++) this.set(old.offset / this.cs + k, 0);
  }

  private block(off: number): Uint8Array {
    let b = this.blocks.get(off);
    if (b === undefined) {
      b = this.io.bytes(off, this.cs);
      this.blocks.set(off, b);
    }
    return b;
  }

  private entry(block: Uint8Array, i: number): number {
    const w = this.bits;
    if (w < 8) return (block[Math.floor((i * w) / 8)]! >> ((i * w) % 8)) & ((1 << w) - 1);
    let v = 0;
    for (let k = 0; k < w / 8; k++) v = v * 256 + block[(i * w) / 8 + k]!;
    return v;
  }

  /** Writes entry `i` into `block`; returns the byte range that changed. */
  private putEntry(block: Uint8Array, i: number, value: number): [number, number] {
    const w = this.bits;
    if (w < 8) {
      const at = Math.floor((i * w) / 8);
      const shift = (i * w) % 8;
      const mask = ((1 << w) - 1) << shift;
      block[at] = (block[at]! & ~mask) | ((value << shift) & mask);
      return [at, 1];
    }
    const at = (i * w) / 8;
    for (let k = w / 8 - 1; k >= 0; k--) {
      block[at + k] = value % 256;
      value = Math.floor(value / 256);
    }
    return [at, w / 8];
  }
}
