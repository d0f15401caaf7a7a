/**
 * Where a virtio-blk device's sectors live on the host. `RawFile` is a raw disk image read and written
 * with synchronous positioned I/O on one file descriptor (deterministic: a request completes within the
 * exit that submitted it); flush is fsync. `MemoryDisk` is the same interface over a buffer, for tests.
 *
 * A raw image is opened read-write by at most one domain of this process at a time (as xl refuses to
 * attach a writable disk twice): two writers would corrupt it. Read-only opens may share it.
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

/** Real paths of images open read-write in this process. */
const writers = new Set<string>();

export class RawFile implements BlockBackend {
  private fd: number | undefined;

  private constructor(
    readonly description: string,
    private readonly realPath: string,
    fd: number,
    readonly size: number,
    readonly readOnly: boolean,
  ) {
    this.fd = fd;
  }

  /** Opens `path`; throws BlockBackendError naming the file when it is missing, unreadable or busy. */
  static open(path: string, readOnly: boolean): RawFile {
    let real: string;
    let fd: number;
    try {
      real = realpathSync(path);
      fd = openSync(real, readOnly ? "r" : "r+");
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why =
        err.code === "ENOENT"
          ? "no such file"
          : err.code === "EACCES" || err.code === "EPERM"
            ? `permission denied (${readOnly ? "read" : "read-write"} access)`
            : err.code === "EISDIR"
              ? "is a directory"
              : err.message;
      throw new BlockBackendError(`disk image ${path}: ${why}`);
    }
    const st = fstatSync(fd);
    if (!st.isFile() && !st.isBlockDevice()) {
      closeSync(fd);
      throw new BlockBackendError(`disk image ${path}: not a regular file`);
    }
    if (!readOnly) {
      if (writers.has(real)) {
        closeSync(fd);
        throw new BlockBackendError(`disk image ${path}: already attached read-write to another domain`);
      }
      writers.add(real);
    }
    return new RawFile(path, real, fd, st.size, readOnly);
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
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    if (!this.readOnly) writers.delete(this.realPath);
  }

  private handle(): number {
    if (this.fd === undefined) throw new BlockBackendError(`disk image ${this.description} is closed`);
    return this.fd;
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
