/**
 * The qcow2 backend is a disk: any sequence of reads, writes, flushes and reopenings at any offsets and
 * lengths, through an image of any cluster size, refcount width and version, over no backing file, a raw
 * one (shorter or longer than the disk) or a qcow2 overlay of one, reads what a plain buffer that got the
 * same writes holds; the backing files never change; and qemu-img finds the result clean.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { qemuImgAvailable, qemuImgCheck } from "../../testing/qemu-img.js";
import type { BlockBackend } from "./block-backend.js";
import { openDiskImage } from "./disk-image.js";
import { createDiskImage } from "./qcow2-create.js";

const dir = mkdtempSync(join(tmpdir(), "rvisor-qcow2-prop-"));
after(() => rmSync(dir, { recursive: true, force: true }));

type Op =
  | { kind: "read"; at: number; length: number }
  | { kind: "write"; at: number; length: number; seed: number }
  | { kind: "flush" }
  | { kind: "reopen" };

function bytes(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const image = fc.record({
  clusterBits: fc.constantFrom(9, 10, 12, 16),
  version: fc.constantFrom("1.1" as const, "0.10" as const),
  refcountBits: fc.constantFrom(1, 2, 4, 8, 16, 32, 64),
  sectors: fc.integer({ min: 1, max: 512 }),
  backing: fc.constantFrom("none", "raw", "qcow2"),
  /** The backing file's size relative to the disk's, in bytes (any, not whole sectors). */
  backingSize: fc.integer({ min: 0, max: 300 * 1024 }),
  backingSeed: fc.integer(),
});

/** Offsets and lengths scaled to the disk: `at` and `length` are fractions, so every run fits. */
const op = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("write" as const),
      a: fc.double({ min: 0, max: 1, noNaN: true }),
      l: fc.double({ min: 0, max: 1, noNaN: true }),
      small: fc.boolean(),
      seed: fc.integer(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("read" as const),
      a: fc.double({ min: 0, max: 1, noNaN: true }),
      l: fc.double({ min: 0, max: 1, noNaN: true }),
      small: fc.boolean(),
      seed: fc.constant(0),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom("flush" as const, "reopen" as const) }) },
);

interface RawOp {
  kind: "write" | "read" | "flush" | "reopen";
  a?: number;
  l?: number;
  small?: boolean;
  seed?: number;
}

function concrete(raw: RawOp, size: number): Op {
  if (raw.kind === "flush" || raw.kind === "reopen") return { kind: raw.kind };
  const at = Math.min(size - 1, Math.floor(raw.a! * size));
  const max = raw.small ? Math.min(size - at, 700) : size - at;
  const length = Math.max(1, Math.floor(raw.l! * max));
  return raw.kind === "write" ? { kind: "write", at, length, seed: raw.seed! } : { kind: "read", at, length };
}

let run = 0;

describe("the qcow2 backend", () => {
  it("reads what a buffer with the same writes holds, for any image and any requests", () => {
    fc.assert(
      fc.property(image, fc.array(op, { maxLength: 24 }), (img, rawOps) => {
        const n = run++;
        const size = img.sectors * 512;
        const cs = 2 ** img.clusterBits;
        const refcountBits = img.version === "0.10" ? 16 : img.refcountBits;
        const files: string[] = [];
        const path = (name: string) => {
          const p = join(dir, `${n}-${name}`);
          files.push(p);
          return p;
        };
        const model = Buffer.alloc(size);
        const opts = { clusterSize: cs, compat: img.version, refcountBits };
        let backingFile: string | undefined;
        let baseBytes: Buffer | undefined;
        if (img.backing !== "none") {
          baseBytes = bytes(img.backingSize, img.backingSeed);
          const base = path("base.raw");
          writeFileSync(base, baseBytes);
          backingFile = base;
          baseBytes.copy(model, 0, 0, Math.min(size, baseBytes.length));
          if (img.backing === "qcow2") {
            // A middle layer (its size a whole number of sectors, as qcow2 needs) with writes of its own.
            const midSize = Math.ceil(img.backingSize / 512) * 512;
            backingFile = path("mid.qcow2");
            createDiskImage(backingFile, { format: "qcow2", size: midSize, backingFile: base, ...opts });
            const mid = openDiskImage(backingFile, "qcow2", false);
            if (midSize > 0) {
              const w = bytes(Math.min(midSize, 1500), img.backingSeed + 1);
              const at = Math.floor(midSize / 3);
              const len = Math.min(w.length, midSize - at);
              mid.write(at, w.subarray(0, len));
              if (at < size) w.copy(model, at, 0, Math.min(len, size - at));
            }
            mid.close();
          }
        }
        const top = path("top.qcow2");
        createDiskImage(top, { format: "qcow2", size, ...opts, ...(backingFile ? { backingFile } : {}) });
        const backingCopy = backingFile === undefined ? undefined : readFileSync(backingFile);

        let disk: BlockBackend = openDiskImage(top, "qcow2", false);
        try {
          for (const o of rawOps.map((r) => concrete(r, size))) {
            if (o.kind === "write") {
              const data = bytes(o.length, o.seed);
              disk.write(o.at, data);
              data.copy(model, o.at);
            } else if (o.kind === "read") {
              const got = Buffer.alloc(o.length);
              disk.read(o.at, got);
              assert.ok(got.equals(model.subarray(o.at, o.at + o.length)), `read ${o.length} at ${o.at}`);
            } else if (o.kind === "flush") disk.flush();
            else {
              disk.close();
              disk = openDiskImage(top, "qcow2", false);
            }
          }
        } finally {
          disk.close();
        }
        const ro = openDiskImage(top, "qcow2", true);
        const all = Buffer.alloc(size);
        ro.read(0, all);
        ro.close();
        assert.ok(all.equals(model), "the whole disk, reopened");
        if (backingFile !== undefined)
          assert.ok(readFileSync(backingFile).equals(backingCopy!), "backing file changed");
        if (baseBytes !== undefined && img.backing === "qcow2")
          assert.ok(readFileSync(files[0]!).equals(baseBytes), "base changed");
        if (qemuImgAvailable()) {
          const r = qemuImgCheck(top);
          assert.equal(r.status, 0, `qemu-img check: ${r.stdout}${r.stderr}`);
        }
        for (const f of files) rmSync(f, { force: true });
      }),
      { numRuns: 80 },
    );
  });
});
