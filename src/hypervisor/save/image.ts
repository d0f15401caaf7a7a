/**
 * The save file: a container of named sections with a version and a checksum. What the sections hold
 * is domain-image.ts's business; this file only frames them.
 *
 *   offset   size  field
 *   0        8     magic "RVISORSV"
 *   8        4     format version, u32 LE (IMAGE_VERSION)
 *   12       4     header length H, u32 LE
 *   16       8     image length N (the whole file, checksum included), u64 LE
 *   24       H     header: UTF-8 JSON { producer, created, sections: [{ name, length }, …] }
 *   24+H     …     the section bodies, in the header's order, back to back
 *   N−32     32    SHA-256 of bytes [0, N−32)
 *
 * Reading checks, in this order and before any section is decoded: the magic, the version, that the
 * file is as long as its preamble says (truncated, or bytes after the end), the checksum (any flipped
 * byte anywhere), then the header (valid JSON, section lengths that add up to what lies between the
 * header and the checksum). Every error is an ImageError that says what is wrong and at which offset.
 *
 * Writing goes to a temporary file beside the target, synced, then renamed over it: a crash leaves the
 * old file or the new one under the name, never half of one.
 */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ImageError } from "./fields.js";

export const IMAGE_MAGIC = "RVISORSV";
export const IMAGE_VERSION = 1;
const PREAMBLE = 24;
const CHECKSUM = 32;

export interface Section {
  name: string;
  /** The body, whole or in chunks (a domain's memory need not be copied into one buffer). */
  body: Uint8Array | readonly Uint8Array[];
}

export interface ImageHeader {
  /** What wrote it ("rvisor 0.1.0"). */
  producer: string;
  /** When, as an ISO 8601 UTC time. */
  created: string;
  sections: { name: string; length: number }[];
}

export interface DecodedImage {
  header: ImageHeader;
  /** Each section's body (views into the file's bytes), by name. */
  sections: Map<string, Uint8Array>;
  /** Where each section starts in the file, for error messages. */
  offsets: Map<string, number>;
  /** The image's SHA-256, hex. */
  sha256: string;
}

/** The image as chunks to write out in order (the last is the checksum). */
export function encodeImage(sections: readonly Section[], producer: string): Buffer[] {
  const names = new Set<string>();
  const bodies = sections.map((s) => {
    if (names.has(s.name)) throw new Error(`save image: section ${s.name} given twice`);
    names.add(s.name);
    return s.body instanceof Uint8Array ? [s.body] : s.body;
  });
  const header: ImageHeader = {
    producer,
    created: new Date().toISOString(),
    sections: sections.map((s, i) => ({ name: s.name, length: bodies[i].reduce((n, b) => n + b.length, 0) })),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
  const total = PREAMBLE + headerBytes.length + header.sections.reduce((n, s) => n + s.length, 0) + CHECKSUM;
  const pre = Buffer.alloc(PREAMBLE);
  pre.write(IMAGE_MAGIC, 0, "latin1");
  pre.writeUInt32LE(IMAGE_VERSION, 8);
  pre.writeUInt32LE(headerBytes.length, 12);
  pre.writeBigUInt64LE(BigInt(total), 16);
  const chunks = [
    pre,
    headerBytes,
    ...bodies.flat().map((b) => Buffer.from(b.buffer, b.byteOffset, b.length)),
  ];
  const hash = createHash("sha256");
  for (const c of chunks) hash.update(c);
  chunks.push(hash.digest());
  return chunks;
}

/** Checks and frames an image (see the top of this file for the order of checks). */
export function decodeImage(bytes: Uint8Array, what = "the file"): DecodedImage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const magic = buf.subarray(0, Math.min(8, buf.length));
  if (buf.length < IMAGE_MAGIC.length || magic.toString("latin1") !== IMAGE_MAGIC)
    throw new ImageError(
      `${what} is not an rvisor save image: bytes 0..7 are ${describeBytes(magic)}, not "${IMAGE_MAGIC}"`,
    );
  if (buf.length < PREAMBLE + CHECKSUM)
    throw new ImageError(
      `${what} is truncated: ${buf.length} bytes, less than the ${PREAMBLE + CHECKSUM} of an empty image`,
    );
  const version = buf.readUInt32LE(8);
  if (version !== IMAGE_VERSION)
    throw new ImageError(
      `${what}: save format version ${version} (offset 8); this rvisor reads version ${IMAGE_VERSION}`,
    );
  const headerLength = buf.readUInt32LE(12);
  const total = Number(buf.readBigUInt64LE(16));
  if (buf.length < total)
    throw new ImageError(
      `${what} is truncated: the image is ${total} bytes long (offset 16) but ${what} ends at ${buf.length}`,
    );
  if (buf.length > total)
    throw new ImageError(
      `${what} has ${buf.length - total} bytes after the image's end at offset ${total} (its length, offset 16)`,
    );
  const sumAt = total - CHECKSUM;
  const sha256 = createHash("sha256").update(buf.subarray(0, sumAt)).digest();
  if (!sha256.equals(buf.subarray(sumAt)))
    throw new ImageError(
      `${what} is corrupted: the SHA-256 of bytes 0..${sumAt - 1} is ${sha256.toString("hex")}, ` +
        `but the checksum at offset ${sumAt} is ${buf.subarray(sumAt).toString("hex")}`,
    );
  if (PREAMBLE + headerLength > sumAt)
    throw new ImageError(
      `${what}: the header's length ${headerLength} (offset 12) runs past the checksum at offset ${sumAt}`,
    );
  const header = parseHeader(buf.subarray(PREAMBLE, PREAMBLE + headerLength), what);
  const sections = new Map<string, Uint8Array>();
  const offsets = new Map<string, number>();
  let at = PREAMBLE + headerLength;
  for (const s of header.sections) {
    if (at + s.length > sumAt)
      throw new ImageError(
        `${what}: section ${s.name} (offset ${at}, ${s.length} bytes) runs past the checksum at offset ${sumAt}`,
      );
    sections.set(s.name, buf.subarray(at, at + s.length));
    offsets.set(s.name, at);
    at += s.length;
  }
  if (at !== sumAt)
    throw new ImageError(
      `${what}: ${sumAt - at} bytes at offset ${at} belong to no section (the checksum is at ${sumAt})`,
    );
  return { header, sections, offsets, sha256: sha256.toString("hex") };
}

function parseHeader(bytes: Buffer, what: string): ImageHeader {
  const where = `${what}: the header (offset ${PREAMBLE}, ${bytes.length} bytes)`;
  let h: unknown;
  try {
    h = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    throw new ImageError(`${where} is not JSON: ${(e as Error).message}`);
  }
  const o = h as Partial<ImageHeader> | null;
  if (typeof o !== "object" || o === null || !Array.isArray(o.sections))
    throw new ImageError(`${where} has no sections list`);
  const names = new Set<string>();
  for (const [i, s] of o.sections.entries()) {
    const ok =
      typeof s === "object" &&
      s !== null &&
      typeof s.name === "string" &&
      Number.isSafeInteger(s.length) &&
      s.length >= 0;
    if (!ok) throw new ImageError(`${where}: sections[${i}] is not { name, length }`);
    if (names.has(s.name)) throw new ImageError(`${where}: section ${s.name} appears twice`);
    names.add(s.name);
  }
  return {
    producer: String(o.producer ?? "unknown"),
    created: String(o.created ?? "unknown"),
    sections: o.sections,
  };
}

/** Up to 8 bytes as text if they are printable, else as hex. */
function describeBytes(b: Buffer): string {
  if (b.length === 0) return "absent (the file is empty)";
  const text = b.toString("latin1");
  return /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) : `0x${b.toString("hex")}`;
}

/**
 * Writes `chunks` to `path` through a temporary file in the same directory, synced before the rename
 * (and the directory after it), so `path` is the old file or the whole new one.
 */
export function writeImageFile(path: string, chunks: readonly Uint8Array[]): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    try {
      for (const c of chunks) {
        for (let done = 0; done < c.length; ) done += writeSync(fd, c, done, c.length - done);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed, or never made
    }
    throw e;
  }
  try {
    const d = openSync(dir, "r");
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  } catch {
    // some file systems cannot sync a directory; the rename is done either way
  }
}

/** A file's bytes, or an ImageError saying why they cannot be read. */
export function readImageFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ImageError(`${path}: cannot read the save image: ${(e as Error).message}`);
  }
}
