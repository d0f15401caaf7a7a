/**
 * New disk images, as `qemu-img create` makes them: a sparse raw file, or an empty qcow2 image (version 3
 * by default, "compat 1.1"; version 2 on request), optionally an overlay over a backing file.
 *
 * A new qcow2 image is laid out in whole clusters, every one of them counted once:
 *
 *   cluster 0            header, extensions (backing format, feature names), backing file name
 *   1 .. rt              the refcount table
 *   rt+1 .. rb           refcount blocks covering every cluster of the file
 *   rb+1 .. end          the L1 table, all zeros (no L2 table yet: every guest cluster unallocated)
 *
 * The backing file is opened (read-only, its whole chain) before anything is written, so a missing,
 * unsupported or looping chain is refused as a domain would refuse it; its virtual size is the default.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, realpathSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import { BlockBackendError } from "./block-backend.js";
import { backingPath, type DiskFormat, isDiskFormat, openDiskImage, probeFormat } from "./disk-image.js";
import {
  EXT_BACKING_FORMAT,
  EXT_FEATURE_NAMES,
  FEATURE_NAMES,
  MAX_BACKING_NAME,
  MAX_CLUSTER_BITS,
  MIN_CLUSTER_BITS,
  putU64,
  QCOW2_MAGIC,
} from "./qcow2-format.js";

export const DEFAULT_CLUSTER_SIZE = 65536;

export interface CreateOptions {
  format: DiskFormat;
  /** Bytes; default: the backing file's virtual size. */
  size?: number;
  /** The backing file's name as it is stored (a relative name is relative to the new image's directory). */
  backingFile?: string;
  /** Default: probed from the backing file, and recorded. */
  backingFormat?: DiskFormat;
  clusterSize?: number;
  /** "1.1" (version 3, the default) or "0.10" (version 2). */
  compat?: "0.10" | "1.1";
  refcountBits?: number;
}

/** What was made, for the report. */
export interface Created {
  filename: string;
  format: DiskFormat;
  size: number;
  clusterSize?: number;
  compat?: "0.10" | "1.1";
  refcountBits?: number;
  backingFile?: string;
  backingFormat?: DiskFormat;
}

function refuse(path: string, why: string): never {
  throw new BlockBackendError(`disk image ${path}: ${why}`);
}

/** Creates (or, as qemu-img does, overwrites) the image at `path`. */
export function createDiskImage(path: string, o: CreateOptions): Created {
  let size = o.size;
  let backingFormat = o.backingFormat;
  if (o.format === "raw") {
    if (o.backingFile !== undefined) refuse(path, "a raw image has no backing file (use -f qcow2)");
    if (size === undefined) refuse(path, "a size is needed");
    writeImage(path, (fd) => ftruncateSync(fd, size));
    return { filename: path, format: "raw", size };
  }
  if (o.backingFile !== undefined) {
    const file = backingPath(path, o.backingFile);
    if (realOrResolved(file) === realOrResolved(path))
      refuse(path, "the backing file cannot be the image itself");
    const probed = probeFormat(file);
    backingFormat ??= probed === "qcow" ? refuse(path, `backing file ${file} is qcow version 1`) : probed;
    if (!isDiskFormat(backingFormat)) refuse(path, `backing format "${backingFormat}" is not raw or qcow2`);
    const backing = (() => {
      try {
        return openDiskImage(file, backingFormat, true);
      } catch (e) {
        if (!(e instanceof BlockBackendError)) throw e;
        refuse(path, `backing file ${e.message.replace(/^disk image /, "")}`);
      }
    })();
    size ??= backing.size;
    backing.close();
  }
  if (size === undefined) refuse(path, "a size is needed (or a backing file to take it from)");
  const bytes = qcow2Image(path, { ...o, size, backingFormat });
  writeImage(path, (fd) => writeSync(fd, bytes));
  return {
    filename: path,
    format: "qcow2",
    size,
    clusterSize: o.clusterSize ?? DEFAULT_CLUSTER_SIZE,
    compat: o.compat ?? "1.1",
    refcountBits: o.refcountBits ?? 16,
    ...(o.backingFile === undefined ? {} : { backingFile: o.backingFile, backingFormat }),
  };
}

/** Creates or truncates the file, lets `fill` write it, and makes it durable; host errors name the file. */
function writeImage(path: string, fill: (fd: number) => void): void {
  let fd: number;
  try {
    fd = openSync(path, "w");
  } catch (e) {
    refuse(path, (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such directory" : (e as Error).message);
  }
  try {
    fill(fd);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** The bytes of a new, empty qcow2 image. */
export function qcow2Image(path: string, o: CreateOptions & { size: number }): Uint8Array {
  const cs = o.clusterSize ?? DEFAULT_CLUSTER_SIZE;
  const clusterBits = Math.log2(cs);
  if (!Number.isInteger(clusterBits) || clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS)
    refuse(path, `cluster size ${cs} must be a power of two from 512 to 2M`);
  const version = o.compat === "0.10" ? 2 : 3;
  const refcountBits = o.refcountBits ?? 16;
  const refcountOrder = Math.log2(refcountBits);
  if (!Number.isInteger(refcountOrder) || refcountOrder < 0 || refcountOrder > 6)
    refuse(path, `refcount_bits ${refcountBits} must be a power of two from 1 to 64`);
  if (version === 2 && refcountBits !== 16) refuse(path, "refcount_bits other than 16 need compat 1.1");
  if (!Number.isSafeInteger(o.size) || o.size < 0 || o.size % 512 !== 0)
    refuse(path, `size ${o.size} must be a multiple of 512 bytes`);

  const l2Entries = cs / 8;
  const l1Size = Math.ceil(o.size / (cs * l2Entries));
  const l1Clusters = Math.ceil((l1Size * 8) / cs);
  const perBlock = (cs * 8) / refcountBits;
  let rt = 1;
  let rb = 1;
  for (;;) {
    const total = 1 + rt + rb + l1Clusters;
    const needRb = Math.ceil(total / perBlock);
    const needRt = Math.ceil((needRb * 8) / cs);
    if (needRb === rb && needRt === rt) break;
    rb = Math.max(rb, needRb);
    rt = Math.max(rt, needRt);
  }
  const total = 1 + rt + rb + l1Clusters;
  const image = new Uint8Array(total * cs);
  const v = new DataView(image.buffer);

  // Refcount table and blocks: every cluster of the file counted once.
  for (let k = 0; k < rb; k++) putU64(v, cs + k * 8, (1 + rt + k) * cs);
  for (let c = 0; c < total; c++) {
    const bit = c * refcountBits;
    const at = (1 + rt) * cs + Math.floor(bit / 8);
    if (refcountBits < 8) image[at] = image[at]! | (1 << (bit % 8));
    else image[at + refcountBits / 8 - 1] = 1;
  }

  const headerLength = version === 2 ? 72 : 112;
  v.setUint32(0, QCOW2_MAGIC);
  v.setUint32(4, version);
  v.setUint32(20, clusterBits);
  putU64(v, 24, o.size);
  v.setUint32(36, l1Size);
  putU64(v, 40, (1 + rt + rb) * cs);
  putU64(v, 48, cs);
  v.setUint32(56, rt);
  if (version === 3) {
    v.setUint32(96, refcountOrder);
    v.setUint32(100, headerLength);
  }
  const name = o.backingFile === undefined ? undefined : new TextEncoder().encode(o.backingFile);
  if (name !== undefined && name.length > MAX_BACKING_NAME)
    refuse(path, `backing file name longer than ${MAX_BACKING_NAME} bytes`);
  const extensions: [number, Uint8Array][] = [];
  if (o.backingFormat !== undefined && name !== undefined)
    extensions.push([EXT_BACKING_FORMAT, new TextEncoder().encode(o.backingFormat)]);
  const features = new Uint8Array(FEATURE_NAMES.length * 48);
  FEATURE_NAMES.forEach(([kind, bit, text], i) => {
    features[i * 48] = kind;
    features[i * 48 + 1] = bit;
    features.set(new TextEncoder().encode(text), i * 48 + 2);
  });
  const room = (exts: [number, Uint8Array][]) =>
    headerLength +
    exts.reduce((n, [, d]) => n + 8 + Math.ceil(d.length / 8) * 8, 0) +
    8 +
    (name?.length ?? 0);
  // The feature name table is optional: left out when a small cluster has no room for it.
  if (version === 3 && room([...extensions, [EXT_FEATURE_NAMES, features]]) <= cs)
    extensions.push([EXT_FEATURE_NAMES, features]);
  if (room(extensions) > cs)
    refuse(path, `the backing file name does not fit in a ${cs}-byte header cluster`);
  let at = headerLength;
  for (const [type, data] of extensions) {
    v.setUint32(at, type);
    v.setUint32(at + 4, data.length);
    image.set(data, at + 8);
    at += 8 + Math.ceil(data.length / 8) * 8;
  }
  at += 8; // the end-of-extensions marker: type 0, length 0
  if (name !== undefined) {
    putU64(v, 8, at);
    v.setUint32(16, name.length);
    image.set(name, at);
  }
  return image;
}
