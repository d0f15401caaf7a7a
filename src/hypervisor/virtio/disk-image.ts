/**
 * A domain's disk image by format: raw (block-backend.ts) or qcow2 (qcow2.ts), with the qcow2 backing
 * chain opened below it, and what `rvisor disk info` says about an image.
 *
 * The format is what the configuration says: "raw" serves the file's bytes as they are, whatever they
 * look like (as QEMU does with format=raw: a guest can write a qcow2 header into its raw disk, and the
 * host must not then follow a backing file name the guest chose). Only backing files without a recorded
 * format are probed, as QEMU does. A relative backing file name is resolved against the directory of the
 * overlay's path as given, as QEMU does. Backing files are opened read-only ("backing" access) and a
 * file seen twice in one chain is a loop, refused.
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { type BlockBackend, BlockBackendError, type ImageAccess, RawFile } from "./block-backend.js";
import { Qcow2Image } from "./qcow2.js";
import {
  COMPAT_LAZY_REFCOUNTS,
  hasQcowMagic,
  INCOMPAT_CORRUPT,
  INCOMPAT_DIRTY,
  parseHeader,
} from "./qcow2-format.js";

export const DISK_FORMATS = ["raw", "qcow2"] as const;
export type DiskFormat = (typeof DISK_FORMATS)[number];

export function isDiskFormat(text: string | undefined): text is DiskFormat {
  return (DISK_FORMATS as readonly (string | undefined)[]).includes(text);
}

/** Opens the image at `path` in `format`; throws BlockBackendError naming the file (and the chain) and why. */
export function openDiskImage(path: string, format: DiskFormat, readOnly: boolean): BlockBackend {
  return openInChain(path, format, readOnly ? "ro" : "rw", []);
}

/** Where an overlay's backing file name points: relative names are relative to the overlay's directory. */
export function backingPath(overlay: string, name: string): string {
  return isAbsolute(name) ? name : join(dirname(overlay), name);
}

/** The format of the file at `path` by its first bytes: qcow2's magic, or raw (also when unreadable). */
export function probeFormat(path: string): DiskFormat | "qcow" {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const head = new Uint8Array(8);
    readSync(fd, head, 0, 8, 0);
    if (!hasQcowMagic(head)) return "raw";
    return new DataView(head.buffer).getUint32(4) === 1 ? "qcow" : "qcow2";
  } catch {
    return "raw";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The disk's size as the guest sees it, in bytes (the qcow2 header's, or a raw file's); 0 if unreadable. */
export function imageVirtualSize(path: string, format: DiskFormat): number {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    if (format === "raw") return fstatSync(fd).size;
    const head = new Uint8Array(32);
    readSync(fd, head, 0, 32, 0);
    if (!hasQcowMagic(head)) return 0;
    return Number(new DataView(head.buffer).getBigUint64(24));
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** `chain`: the real paths of the overlays above this image, top first. */
function openInChain(path: string, format: DiskFormat, access: ImageAccess, chain: string[]): BlockBackend {
  if (format === "raw") return RawFile.open(path, access !== "rw", access);
  const here = [...chain, realOrResolved(path)];
  return Qcow2Image.open(path, access, (name, recorded) => {
    const file = backingPath(path, name);
    const shown = file === name ? file : `${file} ("${name}" in the image)`;
    const format = recorded ?? probeFormat(file);
    if (!isDiskFormat(format))
      throw new BlockBackendError(
        `disk image ${path}: backing file ${shown}: format "${format}" is not supported (raw or qcow2)`,
      );
    const real = realOrResolved(file);
    if (here.includes(real))
      throw new BlockBackendError(
        `disk image ${path}: backing file ${shown} makes a loop: ${[...here, real].join(" → ")}`,
      );
    try {
      return openInChain(file, format, "backing", here);
    } catch (e) {
      if (!(e instanceof BlockBackendError)) throw e;
      const inner = e.message.startsWith(`disk image ${file}: `)
        ? e.message.slice(`disk image ${file}: `.length)
        : e.message;
      throw new BlockBackendError(`disk image ${path}: backing file ${shown}: ${inner}`);
    }
  });
}

/** What `rvisor disk info` reports of one image; `backing` is the next image down the chain. */
export interface DiskInfo {
  filename: string;
  format: DiskFormat | "qcow";
  virtualSize: number;
  /** Bytes the file takes on the host's disk. */
  diskSize: number;
  clusterSize?: number;
  /** "0.10" (version 2) or "1.1" (version 3), as qemu-img names them. */
  compat?: string;
  refcountBits?: number;
  lazyRefcounts?: boolean;
  dirty?: boolean;
  corrupt?: boolean;
  snapshots?: number;
  /** Guest clusters with data in this image, and those that read as zeros. */
  allocatedClusters?: number;
  zeroClusters?: number;
  backingFile?: string;
  /** The backing file's path as rvisor resolves it. */
  fullBackingFilename?: string;
  backingFormat?: string;
  /** Why rvisor would refuse to open it (for writing, when it would open it read-only). */
  unsupported?: string;
  backing?: DiskInfo;
}

/** Describes the image at `path` (format probed when not given) and its backing chain. */
export function describeDiskImage(path: string, format?: DiskFormat, seen: string[] = []): DiskInfo {
  const fd = (() => {
    try {
      return openSync(path, "r");
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new BlockBackendError(
        `disk image ${path}: ${err.code === "ENOENT" ? "no such file" : err.message}`,
      );
    }
  })();
  const st = fstatSync(fd);
  closeSync(fd);
  const detected = format ?? probeFormat(path);
  const info: DiskInfo = {
    filename: path,
    format: detected,
    virtualSize: st.size,
    diskSize: st.blocks * 512,
  };
  if (detected !== "qcow2") return info;
  let image: Qcow2Image | undefined;
  try {
    image = Qcow2Image.open(path, "ro", () => undefined);
  } catch (e) {
    if (!(e instanceof BlockBackendError)) throw e;
    info.unsupported = e.message.replace(`disk image ${path}: `, "");
  }
  const head = new Uint8Array(Math.min(st.size, 2 * 1024 * 1024));
  const hfd = openSync(path, "r");
  readSync(hfd, head, 0, head.length, 0);
  closeSync(hfd);
  const h = parseHeader(head, path);
  Object.assign(info, {
    virtualSize: h.size,
    clusterSize: 2 ** h.clusterBits,
    compat: h.version === 2 ? "0.10" : "1.1",
    refcountBits: 2 ** h.refcountOrder,
    lazyRefcounts: (h.compatible & COMPAT_LAZY_REFCOUNTS) !== 0n,
    dirty: (h.incompatible & INCOMPAT_DIRTY) !== 0n,
    corrupt: (h.incompatible & INCOMPAT_CORRUPT) !== 0n,
    snapshots: h.nbSnapshots,
  });
  if (image !== undefined) {
    info.allocatedClusters = image.stats.allocated;
    info.zeroClusters = image.stats.zero;
    const writable = image.writeRefusal();
    image.close();
    if (writable !== undefined) info.unsupported = `for writing: ${writable}`;
  }
  if (h.backingFile !== undefined) {
    const file = backingPath(path, h.backingFile);
    Object.assign(info, { backingFile: h.backingFile, fullBackingFilename: file });
    if (h.backingFormat !== undefined) info.backingFormat = h.backingFormat;
    const real = realOrResolved(file);
    const here = [...seen, realOrResolved(path)];
    const fmt = h.backingFormat ?? probeFormat(file);
    if (here.includes(real)) info.unsupported = `backing chain loop at ${file}`;
    else if (isDiskFormat(fmt)) {
      try {
        info.backing = describeDiskImage(file, fmt, here);
      } catch (e) {
        if (!(e instanceof BlockBackendError)) throw e;
        info.unsupported = `backing file: ${e.message.replace(/^disk image /, "")}`;
      }
    }
  }
  return info;
}
