/**
 * A qcow2 image as a BlockBackend: a copy-on-write overlay over a backing file (raw or qcow2, opened
 * read-only by the caller's `openBacking`), or a standalone sparse image.
 *
 *   read:   each guest cluster → its L2 entry → host data | zeros (the v3 zero flag) | the backing file
 *           (zeros past its end, or without one)
 *   write:  an allocated cluster (COPIED) is written in place; otherwise a whole cluster is built (the
 *           backing's data, or zeros for a zero cluster, with the new bytes over it), written to a new
 *           cluster (qcow2-refcount.ts allocates it with refcount 1), and only then is the L2 entry set.
 *           A missing L2 table is allocated, zeroed and written before its L1 entry points at it.
 *   flush:  fsync of the image (the backing file is never written).
 *
 * So after every completed request the file is consistent (what `qemu-img check` verifies); a process
 * that dies in the middle of one leaves at most leaked clusters. Requests are synchronous, like RawFile's.
 *
 * Opening checks everything up front, naming the file and the reason: the header (qcow2-format.ts), the
 * features rvisor does not implement (encryption, external data files, extended L2 entries, unknown
 * incompatible bits; for writing also the dirty and corrupt bits and internal snapshots), and every L1
 * and L2 entry (compressed clusters are refused; a reserved bit or an unaligned offset is corruption;
 * for writing, an allocated entry must be COPIED). Unknown autoclear bits are cleared before writing, as
 * the format demands of a writer that does not maintain what they stand for (images with bitmaps are
 * refused for writing instead, qcow2-format.ts says why).
 */
import { type BlockBackend, BlockBackendError, type ImageAccess, openImageFile } from "./block-backend.js";
import {
  HI_COMPRESSED,
  HI_COPIED,
  HI_OFFSET,
  imageError,
  L1_RESERVED_HI,
  L1_RESERVED_LO,
  L2_RESERVED_HI,
  L2_RESERVED_LO,
  LO_OFFSET,
  LO_ZERO,
  MAX_CLUSTER_BITS,
  MIN_CLUSTER_BITS,
  parseHeader,
  type Qcow2Header,
  refusal,
} from "./qcow2-format.js";
import { ImageIo, Refcounts, TableCache } from "./qcow2-refcount.js";

/** Opens the backing file named in an overlay (already resolved against its directory), read-only. */
export type OpenBacking = (path: string, format: string | undefined) => BlockBackend | undefined;

/** What a scan of the L1/L2 tables found. */
export interface MappingStats {
  /** Guest clusters with data in this image. */
  allocated: number;
  /** Guest clusters that read as zeros (v3 zero flag). */
  zero: number;
  /** Guest clusters stored compressed. */
  compressed: number;
}

interface L2Entry {
  /** Host offset of the data (0 = none). */
  host: number;
  zero: boolean;
  compressed: boolean;
  copied: boolean;
}

const UNALLOCATED: L2Entry = { host: 0, zero: false, compressed: false, copied: false };

export class Qcow2Image implements BlockBackend {
  readonly size: number;
  readonly readOnly: boolean;
  readonly stats: MappingStats;
  private readonly cs: number;
  private readonly l2Entries: number;
  private readonly l1: number[];
  /** L1 indexes whose L2 table is shared (no COPIED flag): an internal snapshot's, or an inconsistency. */
  private readonly sharedL2 = new Set<number>();
  private readonly l2Cache = new TableCache(4096);
  private refcounts: Refcounts | undefined;
  private closed = false;

  private constructor(
    readonly description: string,
    readonly header: Qcow2Header,
    private readonly io: ImageIo,
    private readonly release: () => void,
    readonly backing: BlockBackend | undefined,
    access: ImageAccess,
  ) {
    this.size = header.size;
    this.readOnly = access !== "rw";
    this.cs = 2 ** header.clusterBits;
    this.l2Entries = this.cs / 8;
    this.l1 = readL1(io, header, this.sharedL2);
    this.stats = this.scan(!this.readOnly);
  }

  /**
   * Opens the qcow2 image at `path` for `access` ("backing" when it is itself a backing file); its own
   * backing file, if it names one, is opened through `openBacking`. Throws BlockBackendError naming the
   * file and what is wrong or unsupported; nothing stays open then.
   */
  static open(path: string, access: ImageAccess, openBacking: OpenBacking): Qcow2Image {
    const file = openImageFile(path, access);
    const io = new ImageIo(file.fd, path);
    let backing: BlockBackend | undefined;
    try {
      const header = parseHeader(io.bytes(0, headerClusterSize(io, file.size)), path);
      const why = refusal(header, access === "rw");
      if (why !== undefined) throw imageError(path, why);
      if (header.backingFile !== undefined) backing = openBacking(header.backingFile, header.backingFormat);
      const image = new Qcow2Image(path, header, io, () => file.release(), backing, access);
      if (access === "rw") {
        image.refcounts = new Refcounts(io, {
          clusterBits: header.clusterBits,
          refcountOrder: header.refcountOrder,
          tableOffset: header.refcountTableOffset,
          tableClusters: header.refcountTableClusters,
          fileSize: file.size,
        });
        if (header.autoclear !== 0n) io.write(88, new Uint8Array(8));
      }
      return image;
    } catch (e) {
      backing?.close();
      file.release();
      throw e;
    }
  }

  read(offset: number, into: Uint8Array): void {
    this.check(offset, into.length);
    this.eachCluster(offset, into.length, (gc, at, from, length) => {
      const part = into.subarray(from, from + length);
      const e = this.entry(gc);
      if (e.host !== 0 && !e.zero) this.io.read(e.host + at, part);
      else if (e.zero) part.fill(0);
      else this.readBacking(gc * this.cs + at, part);
    });
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockBackendError(`disk image ${this.description} is read-only`);
    this.check(offset, data.length);
    this.eachCluster(offset, data.length, (gc, at, from, length) =>
      this.writeCluster(gc, at, data.subarray(from, from + length)),
    );
  }

  flush(): void {
    if (!this.readOnly && !this.closed) this.io.sync();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    this.backing?.close();
  }

  /** Why this image (open read-only) could not be opened for writing, or undefined. */
  writeRefusal(): string | undefined {
    const why = refusal(this.header, true);
    if (why !== undefined) return why;
    try {
      this.scan(true);
      return undefined;
    } catch (e) {
      if (!(e instanceof BlockBackendError)) throw e;
      return e.message.replace(`disk image ${this.description}: `, "");
    }
  }

  /** The L2 entry of guest cluster `gc` (unallocated when its L2 table is). */
  private entry(gc: number): L2Entry {
    const l2 = this.l1[Math.floor(gc / this.l2Entries)] ?? 0;
    return l2 === 0 ? UNALLOCATED : decodeL2(this.l2Table(l2), gc % this.l2Entries);
  }

  private writeCluster(gc: number, at: number, data: Uint8Array): void {
    const l1i = Math.floor(gc / this.l2Entries);
    const l2i = gc % this.l2Entries;
    let l2Offset = this.l1[l1i]!;
    if (l2Offset === 0) l2Offset = this.newL2(l1i);
    const table = this.l2Table(l2Offset);
    const e = decodeL2(table, l2i);
    if (e.host !== 0 && !e.zero) {
      this.io.write(e.host + at, data);
      return;
    }
    // Copy on write: the whole cluster, from the backing file (or zeros), under the new bytes.
    const cluster = new Uint8Array(this.cs);
    if (!e.zero && data.length < this.cs) this.readBacking(gc * this.cs, cluster);
    cluster.set(data, at);
    // A zero cluster with a preallocated host cluster of its own keeps it; otherwise a new one.
    const host = e.host !== 0 ? e.host : this.refcounts!.allocate();
    this.io.write(host, cluster);
    const entry = new Uint8Array(8);
    const v = new DataView(entry.buffer);
    v.setUint32(0, (HI_COPIED | Math.floor(host / 2 ** 32)) >>> 0);
    v.setUint32(4, host >>> 0);
    this.io.write(l2Offset + l2i * 8, entry);
    table.set(entry, l2i * 8); // the cache follows the file: a failed write leaves both as they were
  }

  /** Allocates a zeroed L2 table for L1 index `l1i`, then points the L1 entry at it. */
  private newL2(l1i: number): number {
    const offset = this.refcounts!.allocate();
    const table = new Uint8Array(this.cs);
    this.io.write(offset, table);
    this.l2Cache.set(offset, table);
    const entry = new Uint8Array(8);
    const v = new DataView(entry.buffer);
    v.setUint32(0, (HI_COPIED | Math.floor(offset / 2 ** 32)) >>> 0);
    v.setUint32(4, offset >>> 0);
    this.io.write(this.header.l1TableOffset + l1i * 8, entry);
    this.l1[l1i] = offset;
    return offset;
  }

  /** Fills `into` with the backing file's bytes from guest offset `pos`: zeros past its end or without one. */
  private readBacking(pos: number, into: Uint8Array): void {
    const b = this.backing;
    const n = b === undefined ? 0 : Math.max(0, Math.min(into.length, b.size - pos));
    if (n > 0) b!.read(pos, into.subarray(0, n));
    into.fill(0, n);
  }

  private l2Table(offset: number): Uint8Array {
    let t = this.l2Cache.get(offset);
    if (t === undefined) {
      t = this.io.bytes(offset, this.cs);
      this.l2Cache.set(offset, t);
    }
    return t;
  }

  /** Calls `fn(guest cluster, offset in it, offset in the request, length)` for each cluster touched. */
  private eachCluster(
    offset: number,
    length: number,
    fn: (gc: number, at: number, from: number, length: number) => void,
  ): void {
    for (let done = 0; done < length; ) {
      const pos = offset + done;
      const at = pos % this.cs;
      const n = Math.min(this.cs - at, length - done);
      fn(Math.floor(pos / this.cs), at, done, n);
      done += n;
    }
  }

  private check(offset: number, length: number): void {
    if (this.closed) throw new BlockBackendError(`disk image ${this.description} is closed`);
    if (offset < 0 || offset + length > this.size)
      throw new BlockBackendError(`disk image ${this.description}: access beyond the end`);
  }

  /** Reads and checks every L2 table the L1 table points at; counts what the clusters hold. */
  private scan(writable: boolean): MappingStats {
    const stats = { allocated: 0, zero: 0, compressed: 0 };
    const guestClusters = Math.ceil(this.size / this.cs);
    const bad = (why: string) => imageError(this.description, why);
    for (let l1i = 0; l1i < this.l1.length; l1i++) {
      const l2 = this.l1[l1i]!;
      if (l2 === 0) continue;
      if (writable && this.sharedL2.has(l1i))
        throw bad(`L2 table ${l1i} is shared (no COPIED flag): rvisor does not copy shared tables`);
      const table = this.l2Table(l2);
      for (let l2i = 0; l2i < this.l2Entries; l2i++) {
        const gc = l1i * this.l2Entries + l2i;
        const e = decodeL2(table, l2i);
        const guest = `guest offset ${gc * this.cs}`;
        if (e.compressed) {
          throw bad(
            `compressed cluster at ${guest}: not supported (qemu-img convert -O qcow2 without -c writes it uncompressed)`,
          );
        }
        const v = new DataView(table.buffer, table.byteOffset + l2i * 8, 8);
        if ((v.getUint32(0) & L2_RESERVED_HI) !== 0 || (v.getUint32(4) & L2_RESERVED_LO) !== 0)
          throw bad(`corrupt L2 entry for ${guest}: reserved bits set`);
        if (e.zero && this.header.version === 2)
          throw bad(`corrupt L2 entry for ${guest}: zero flag in version 2`);
        if (e.host % this.cs !== 0)
          throw bad(`corrupt L2 entry for ${guest}: host offset ${e.host} unaligned`);
        if (e.host === 0 && !e.zero) continue;
        if (gc >= guestClusters) throw bad(`corrupt L2 entry: ${guest} is beyond the virtual size`);
        if (writable && e.host !== 0 && !e.copied)
          throw bad(
            `cluster at ${guest} is shared (refcount > 1, no COPIED flag): rvisor does not copy shared clusters`,
          );
        if (e.zero) stats.zero++;
        else stats.allocated++;
      }
    }
    return stats;
  }
}

/** How much of the file to read as its first cluster: the cluster size its header gives (if sane). */
function headerClusterSize(io: ImageIo, fileSize: number): number {
  const bits = new DataView(io.bytes(0, 24).buffer).getUint32(20);
  return Math.min(fileSize, 2 ** Math.min(Math.max(bits, MIN_CLUSTER_BITS), MAX_CLUSTER_BITS));
}

/** The active L1 table: L2 table offsets (0 = none), checked. */
function readL1(io: ImageIo, h: Qcow2Header, shared: Set<number>): number[] {
  const cs = 2 ** h.clusterBits;
  const raw = io.bytes(h.l1TableOffset, h.l1Size * 8);
  const v = new DataView(raw.buffer);
  const l1: number[] = [];
  for (let i = 0; i < h.l1Size; i++) {
    const hi = v.getUint32(i * 8);
    const lo = v.getUint32(i * 8 + 4);
    const off = (hi & HI_OFFSET) * 2 ** 32 + ((lo & LO_OFFSET) >>> 0);
    if ((hi & L1_RESERVED_HI) !== 0 || (lo & L1_RESERVED_LO) !== 0 || off % cs !== 0)
      throw imageError(io.path, `corrupt L1 entry ${i}: reserved bits set or offset unaligned`);
    if (off !== 0 && (hi & HI_COPIED) === 0) shared.add(i);
    l1.push(off);
  }
  return l1;
}

function decodeL2(table: Uint8Array, i: number): L2Entry {
  const v = new DataView(table.buffer, table.byteOffset + i * 8, 8);
  const hi = v.getUint32(0);
  const lo = v.getUint32(4);
  return {
    host: (hi & HI_OFFSET) * 2 ** 32 + ((lo & LO_OFFSET) >>> 0),
    zero: (lo & LO_ZERO) !== 0,
    compressed: (hi & HI_COMPRESSED) !== 0,
    copied: (hi & HI_COPIED) !== 0,
  };
}
