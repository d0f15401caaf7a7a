/**
 * The qcow2 image format's on-disk layout, as QEMU's docs/interop/qcow2.txt defines it (versions 2 and 3).
 * Every number is big-endian. The first cluster holds the header, its extensions and the backing file name:
 *
 *   0 magic "QFI\xfb"   4 version   8 backing_file_offset (u64)  16 backing_file_size  20 cluster_bits
 *  24 size (u64)       32 crypt_method  36 l1_size  40 l1_table_offset (u64)  48 refcount_table_offset (u64)
 *  56 refcount_table_clusters  60 nb_snapshots  64 snapshots_offset (u64)            — version 2 ends at 72
 *  72 incompatible_features  80 compatible_features  88 autoclear_features (u64 each)
 *  96 refcount_order  100 header_length  104 compression_type (u8, if header_length > 104)
 *  header_length..: extensions { type u32, length u32, data, padding to 8 } until type 0
 *
 *   guest offset ──► L1[gc / l2_entries] ──► L2 table (one cluster) [gc % l2_entries] ──► host cluster
 *   host cluster ──► refcount table[hc / rb_entries] ──► refcount block (one cluster) [hc % rb_entries]
 *
 *   L1 entry:  bit 63 COPIED (refcount 1) | bits 9..55 L2 table offset | others reserved
 *   L2 entry:  bit 63 COPIED | bit 62 COMPRESSED | bits 9..55 host offset | bit 0 reads as zeros (v3)
 *
 * This module parses and checks; qcow2.ts maps and allocates; qcow2-create.ts writes new images.
 */
import { BlockBackendError } from "./block-backend.js";

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
export const V2_HEADER_LENGTH = 72;
export const V3_HEADER_LENGTH = 104;
export const MIN_CLUSTER_BITS = 9;
/** QEMU's implementation limit: 2 MiB clusters. */
export const MAX_CLUSTER_BITS = 21;
export const MAX_BACKING_NAME = 1023;
/** QEMU's limits on the L1 table (32 MiB) and the refcount table (8 MiB). */
export const MAX_L1_BYTES = 32 * 1024 * 1024;
export const MAX_REFCOUNT_TABLE_BYTES = 8 * 1024 * 1024;

export const EXT_END = 0;
export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_FEATURE_NAMES = 0x6803f857;
export const EXT_BITMAPS = 0x23852875;
export const EXT_CRYPTO = 0x0537be77;
export const EXT_DATA_FILE = 0x44415441;

export const INCOMPAT_DIRTY = 1n << 0n;
export const INCOMPAT_CORRUPT = 1n << 1n;
export const INCOMPAT_DATA_FILE = 1n << 2n;
export const INCOMPAT_COMPRESSION = 1n << 3n;
export const INCOMPAT_EXTL2 = 1n << 4n;
const INCOMPAT_KNOWN = 0x1fn;
export const COMPAT_LAZY_REFCOUNTS = 1n << 0n;
export const AUTOCLEAR_BITMAPS = 1n << 0n;

/** Bits of an L1/L2 entry's high and low 32-bit words. */
export const HI_COPIED = 0x8000_0000;
export const HI_COMPRESSED = 0x4000_0000;
export const HI_OFFSET = 0x00ff_ffff;
export const LO_OFFSET = 0xffff_fe00;
export const LO_ZERO = 1;
/** Reserved bits: L1 entries (bits 0..8, 56..62), standard L2 entries (bits 1..8, 56..61). */
export const L1_RESERVED_HI = 0x7f00_0000;
export const L1_RESERVED_LO = 0x1ff;
export const L2_RESERVED_HI = 0x3f00_0000;
export const L2_RESERVED_LO = 0x1fe;

/** The names QEMU gives the feature bits (the feature name table qcow2-create.ts writes). */
export const FEATURE_NAMES: readonly [kind: 0 | 1 | 2, bit: number, name: string][] = [
  [0, 0, "dirty bit"],
  [0, 1, "corrupt bit"],
  [0, 2, "external data file"],
  [0, 3, "compression type"],
  [0, 4, "extended L2 entries"],
  [1, 0, "lazy refcounts"],
  [2, 0, "bitmaps"],
  [2, 1, "raw external data"],
];

export interface Qcow2Header {
  version: 2 | 3;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatible: bigint;
  compatible: bigint;
  autoclear: bigint;
  refcountOrder: number;
  headerLength: number;
  /** The backing file's name as stored (relative names are relative to the overlay's directory). */
  backingFile?: string;
  /** From the backing format extension; absent means "probe", as QEMU does. */
  backingFormat?: string;
  /** Header extension types present (each appears at most once). */
  extensions: Set<number>;
  /** "kind:bit" → name, from the image's own feature name table. */
  featureNames: Map<string, string>;
}

/** An unreadable or inconsistent image: the message names the file and what is wrong. */
export function imageError(path: string, why: string): BlockBackendError {
  return new BlockBackendError(`disk image ${path}: ${why}`);
}

/** A big-endian u64 as a number; throws past 2^53 (no qcow2 offset or size rvisor serves is that large). */
export function u64(v: DataView, at: number, path: string, what: string): number {
  const hi = v.getUint32(at);
  if (hi >= 0x20_0000) throw imageError(path, `${what} is beyond 2^53`);
  return hi * 2 ** 32 + v.getUint32(at + 4);
}

export function putU64(v: DataView, at: number, value: number): void {
  v.setUint32(at, Math.floor(value / 2 ** 32));
  v.setUint32(at + 4, value >>> 0);
}

/** Whether `bytes` starts with the qcow2 magic (any version). */
export function hasQcowMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset).getUint32(0) === QCOW2_MAGIC;
}

/**
 * Parses the header in `first` (the file's first cluster, or as much of it as the file has) and checks
 * what every reader must: magic, version, sizes and alignments, and that the tables lie in the file's
 * first 2^53 bytes. Features rvisor does not implement are left to `refusal`.
 */
export function parseHeader(first: Uint8Array, path: string): Qcow2Header {
  if (!hasQcowMagic(first)) throw imageError(path, "not a qcow2 image (it does not start with QFI\\xfb)");
  if (first.length < V2_HEADER_LENGTH) throw imageError(path, "qcow2 header truncated");
  const v = new DataView(first.buffer, first.byteOffset, first.byteLength);
  const version = v.getUint32(4);
  if (version !== 2 && version !== 3)
    throw imageError(path, `qcow2 version ${version} is not supported (versions 2 and 3 are)`);
  const clusterBits = v.getUint32(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS)
    throw imageError(
      path,
      `cluster_bits ${clusterBits} out of range (${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS})`,
    );
  const h: Qcow2Header = {
    version,
    backingFileOffset: u64(v, 8, path, "backing_file_offset"),
    backingFileSize: v.getUint32(16),
    clusterBits,
    size: u64(v, 24, path, "the virtual size"),
    cryptMethod: v.getUint32(32),
    l1Size: v.getUint32(36),
    l1TableOffset: u64(v, 40, path, "l1_table_offset"),
    refcountTableOffset: u64(v, 48, path, "refcount_table_offset"),
    refcountTableClusters: v.getUint32(56),
    nbSnapshots: v.getUint32(60),
    snapshotsOffset: u64(v, 64, path, "snapshots_offset"),
    incompatible: 0n,
    compatible: 0n,
    autoclear: 0n,
    refcountOrder: 4,
    headerLength: V2_HEADER_LENGTH,
    extensions: new Set(),
    featureNames: new Map(),
  };
  const cs = 2 ** clusterBits;
  if (version === 3) {
    if (first.length < V3_HEADER_LENGTH) throw imageError(path, "qcow2 version 3 header truncated");
    h.incompatible = v.getBigUint64(72);
    h.compatible = v.getBigUint64(80);
    h.autoclear = v.getBigUint64(88);
    h.refcountOrder = v.getUint32(96);
    h.headerLength = v.getUint32(100);
    if (h.refcountOrder > 6) throw imageError(path, `refcount_order ${h.refcountOrder} out of range (0..6)`);
    if (h.headerLength < V3_HEADER_LENGTH || h.headerLength % 8 !== 0 || h.headerLength > first.length)
      throw imageError(path, `header_length ${h.headerLength} invalid (a multiple of 8, at least 104)`);
  }
  const aligned = (off: number, what: string) => {
    if (off % cs !== 0) throw imageError(path, `${what} ${off} is not aligned to a cluster (${cs} bytes)`);
  };
  aligned(h.l1TableOffset, "l1_table_offset");
  aligned(h.refcountTableOffset, "refcount_table_offset");
  if (h.nbSnapshots > 0) aligned(h.snapshotsOffset, "snapshots_offset");
  if (h.refcountTableOffset === 0 || h.refcountTableClusters === 0)
    throw imageError(path, "no refcount table");
  if (h.refcountTableClusters * cs > MAX_REFCOUNT_TABLE_BYTES)
    throw imageError(path, `refcount table of ${h.refcountTableClusters} clusters is too large`);
  if (h.l1Size * 8 > MAX_L1_BYTES) throw imageError(path, `L1 table of ${h.l1Size} entries is too large`);
  const l2Entries = cs / 8;
  if (h.l1Size < Math.ceil(h.size / (cs * l2Entries)))
    throw imageError(path, `L1 table of ${h.l1Size} entries is too small for ${h.size} bytes`);
  if (h.l1Size > 0 && h.l1TableOffset === 0) throw imageError(path, "no L1 table");

  parseExtensions(v, h, Math.min(first.length, cs), path);
  if (h.backingFileOffset !== 0) {
    const end = h.backingFileOffset + h.backingFileSize;
    if (h.backingFileSize === 0 || h.backingFileSize > MAX_BACKING_NAME || end > Math.min(first.length, cs))
      throw imageError(path, "backing file name out of the header cluster, empty or longer than 1023 bytes");
    h.backingFile = new TextDecoder().decode(first.subarray(h.backingFileOffset, end));
  }
  return h;
}

function parseExtensions(v: DataView, h: Qcow2Header, limit: number, path: string): void {
  let at = h.headerLength;
  for (;;) {
    if (at + 8 > limit) throw imageError(path, "header extensions run past the first cluster");
    const type = v.getUint32(at);
    const length = v.getUint32(at + 4);
    if (type === EXT_END) return;
    const data = at + 8;
    if (data + length > limit) throw imageError(path, `header extension 0x${type.toString(16)} is truncated`);
    if (h.extensions.has(type))
      throw imageError(path, `header extension 0x${type.toString(16)} appears twice`);
    h.extensions.add(type);
    const bytes = new Uint8Array(v.buffer, v.byteOffset + data, length);
    if (type === EXT_BACKING_FORMAT) h.backingFormat = new TextDecoder().decode(bytes);
    if (type === EXT_FEATURE_NAMES)
      for (let e = 0; e + 48 <= length; e += 48) {
        const name = new TextDecoder().decode(bytes.subarray(e + 2, e + 48)).replace(/\0.*$/s, "");
        h.featureNames.set(`${bytes[e]}:${bytes[e + 1]}`, name);
      }
    at = data + Math.ceil(length / 8) * 8;
  }
}

/**
 * Why rvisor will not open this image (for writing, when `writable`), or undefined. Read-only opens
 * tolerate the dirty bit (only refcounts may be stale, and reads do not use them) and the corrupt bit
 * (QEMU opens such images read-only too); lazy refcounts and unknown compatible bits are ignored. Writing
 * would clear the bitmaps' autoclear bit, as the format allows, and so silently invalidate a user's
 * dirty bitmaps (incremental backups): such images are refused for writing instead; other autoclear
 * bits are cleared by the writer (qcow2.ts).
 */
export function refusal(h: Qcow2Header, writable: boolean): string | undefined {
  if (h.cryptMethod !== 0)
    return `encrypted (crypt_method ${h.cryptMethod}, ${h.cryptMethod === 1 ? "AES" : "LUKS"}): not supported`;
  if (h.incompatible & INCOMPAT_DATA_FILE || h.extensions.has(EXT_DATA_FILE))
    return "uses an external data file (incompatible feature bit 2): not supported";
  if (h.incompatible & INCOMPAT_EXTL2)
    return "uses extended L2 entries (subclusters, incompatible feature bit 4): not supported";
  const unknown = h.incompatible & ~INCOMPAT_KNOWN;
  if (unknown !== 0n) {
    const bits: string[] = [];
    for (let b = 0; b < 64; b++)
      if (unknown & (1n << BigInt(b))) {
        const name = h.featureNames.get(`0:${b}`);
        bits.push(name === undefined ? `bit ${b}` : `bit ${b} (${name})`);
      }
    return `unknown incompatible features: ${bits.join(", ")}`;
  }
  if (!writable) return undefined;
  if (h.incompatible & INCOMPAT_CORRUPT)
    return "marked corrupt; repair it with 'qemu-img check -r all' before writing (read-only use works)";
  if (h.incompatible & INCOMPAT_DIRTY)
    return "marked dirty (lazy refcounts were not written back); repair it with 'qemu-img check -r all' before writing";
  if (h.autoclear & AUTOCLEAR_BITMAPS || h.extensions.has(EXT_BITMAPS))
    return "has persistent bitmaps, which rvisor does not keep up to date; remove them ('qemu-img bitmap --remove') to write it (read-only use works)";
  if (h.autoclear & AUTOCLEAR_BITMAPS || h.extensions.has(EXT_BITMAPS))
    return "has persistent bitmaps, which rvisor does not keep up to date; remove them ('qemu-img bitmap --remove') to write it (read-only use works)";
  if (h.nbSnapshots > 0)
    return `has ${h.nbSnapshots} internal snapshot(s); rvisor writes only images without them (read-only use works)`;
  return undefined;
}
