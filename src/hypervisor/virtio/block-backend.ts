/**
 * Where a virtio-blk device's sectors live on the host. `RawFile` is a raw disk image read and written
 * with synchronous positioned I/O on one file descriptor (deterministic: a request completes within the
 * exit that submitted it); flush is fsync. `MemoryDisk` is the same interface over a buffer, for tests.
 *
 * A raw image is opened read-write by at most one domain of this process at a time (as xl refuses to
 * attach a writable disk twice): two writers would corrupt it. Read-only opens may share it; a file under
 * a copy-on-write overlay (qcow2.ts) may not be written while the overlay uses it.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, realpathSync, writeSync } from "node:fs";

export interface BlockBackend {
  /** What to call it in messages: the image's path. */
  readonly description: string;
  /** Bytes; the device offers floor(size / 512) sectors. */
  readonly size: number;
  readonly readOnly: boolean;
  /** Fills `into` from byte `offset`; throws on a host I/O error. */
  read(offset: number, into: Uint8Array): void;
  /** Writes `data` at byte `offset`; throws on a host I/O error (or when read-only). */
  write(offset: number, data: Uint8Array): void;
  /** Makes every completed write durable (fsync). */
  flush(): void;
  close(): void;
}

/** An image that cannot be used: the message names the file and why. */
export class BlockBackendError extends Error {
  override name = "BlockBackendError";
}

/**
 * How an image file is opened: "rw" and "ro" for a domain's disk, "backing" for a file under a
 * copy-on-write overlay (read-only, and it must not change while the overlay uses it).
 */
export type ImageAccess = "rw" | "ro" | "backing";

/** Real paths of images open read-write in this process, and of backing files with their users. */
const writers = new Set<string>();
const backingUsers = new Map<string, number>();

/** An image file open on one descriptor; `release` closes it and drops its claim. */
export interface ImageFile {
  readonly fd: number;
  readonly realPath: string;
  readonly size: number;
  release(): void;
}

/**
 * Opens `path` for `access`; throws BlockBackendError naming the file when it is missing, unreadable,
 * not a file, or claimed in a way that conflicts: a writer excludes other writers and backing users (xl
 * refuses to attach a writable disk twice, QEMU's image locking a write under a running overlay).
 */
export function openImageFile(path: string, access: ImageAccess): ImageFile {
  let real: string;
  let fd: number;
  try {
    real = realpathSync(path);
    fd = openSync(real, access === "rw" ? "r+" : "r");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === "ENOENT"
        ? "no such file"
        : err.code === "EACCES" || err.code === "EPERM"
          ? `permission denied (${access === "rw" ? "read-write" : "read"} access)`
          : err.code === "EISDIR"
            ? "is a directory"
            : err.message;
    throw new BlockBackendError(`disk image ${path}: ${why}`);
  }
  const fail = (why: string): never => {
    closeSync(fd);
    throw new BlockBackendError(`disk image ${path}: ${why}`);
  };
  const st = fstatSync(fd);
  if (!st.isFile() && !st.isBlockDevice()) fail("not a regular file");
  if (access === "rw" && writers.has(real)) fail("already attached read-write to another domain");
  if (access === "rw" && backingUsers.has(real)) fail("is the backing file of an overlay in use");
  if (access === "backing" && writers.has(real))
    fail("is attached read-write to a domain, so it cannot be a backing file now");
  if (access === "rw") writers.add(real);
  if (access === "backing") backingUsers.set(real, (backingUsers.get(real) ?? 0) + 1);
  let open = true;
  return {
    fd,
    realPath: real,
    size: st.size,
    release() {
      if (!open) return;
      open = false;
      closeSync(fd);
      if (access === "rw") writers.delete(real);
      if (access === "backing") {
        const n = (backingUsers.get(real) ?? 1) - 1;
        if (n === 0) backingUsers.delete(real);
        else backingUsers.set(real, n);
      }
    },
  };
}

export class RawFile implements BlockBackend {
  private file: ImageFile | undefined;
  readonly size: number;
  readonly readOnly: boolean;

  private constructor(
    readonly description: string,
    file: ImageFile,
    access: ImageAccess,
  ) {
    this.file = file;
    this.size = file.size;
    this.readOnly = access !== "rw";
  }

  /** Opens `path`; throws BlockBackendError naming the file when it is missing, unreadable or busy. */
  static open(path: string, readOnly: boolean, access: ImageAccess = readOnly ? "ro" : "rw"): RawFile {
    return new RawFile(path, openImageFile(path, access), access);
  }

  read(offset: number, into: Uint8Array): void {
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.handle(), into, done, into.length - done, offset + done);
      if (n === 0) break; // past the end (the file shrank under us): zeros
      done += n;
    }
    into.fill(0, done);
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockBackendError(`disk image ${this.description} is read-only`);
    let done = 0;
    while (done < data.length)
      done += writeSync(this.handle(), data, done, data.length - done, offset + done);
  }

  flush(): void {
    if (!this.readOnly) fsyncSync(this.handle());
  }

  close(): void {
    this.file?.release();
    this.file = undefined;
  }

  private handle(): number {
    if (this.file === undefined) throw new BlockBackendError(`disk image ${this.description} is closed`);
    return this.file.fd;
  }
}

/** A disk in memory (tests): `bytes` is the image. */
export class MemoryDisk implements BlockBackend {
  readonly description = "memory";
  flushes = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly readOnly = false,
  ) {}

  get size(): number {
    return this.bytes.length;
  }

  read(offset: number, into: Uint8Array): void {
    into.set(this.bytes.subarray(offset, offset + into.length));
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockBackendError("memory disk is read-only");
    this.bytes.set(data, offset);
  }

  flush(): void {
    this.flushes++;
  }

  close(): void {}
}
