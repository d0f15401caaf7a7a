/**
 * rvisor's qcow2 against QEMU's own tools. Images that qemu-img made and qemu-io filled with clusters of
 * every kind (data, zero with and without a preallocated cluster, unallocated over a backing file) read
 * the same through rvisor as through `qemu-img convert`; after rvisor writes into them, `qemu-img check`
 * finds no error or leak (after every request) and `qemu-img compare` finds them equal to a raw
 * reference that got the same writes; the backing files are unchanged. Images rvisor creates are
 * accepted by qemu-img as the same thing (info, check, compare), version 2 and 3, any cluster size and
 * refcount width, through a refcount table that has to grow. A request cut short at any of its writes
 * (the process dying) leaves at worst leaked clusters, never a corrupt image.
 */
import assert from "node:assert/strict";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { noQemuImg, qemuImg, qemuImgCheck, qemuImgInfo, qemuImgRun, qemuIo } from "../../testing/qemu-img.js";
import type { BlockBackend } from "./block-backend.js";
import { openDiskImage } from "./disk-image.js";
import { Qcow2Image } from "./qcow2.js";
import { createDiskImage } from "./qcow2-create.js";
import { ImageIo } from "./qcow2-refcount.js";

const dir = mkdtempSync(join(tmpdir(), "rvisor-qcow2-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const skip = noQemuImg();
const KiB = 1024;

/** A deterministic byte pattern, different for each `seed`. */
function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function file(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** What qemu-img reads from an image, as raw bytes. */
function converted(image: string): Buffer {
  const out = join(dir, `converted-${Math.random().toString(36).slice(2)}.raw`);
  qemuImg("convert", "-O", "raw", image, out);
  const b = readFileSync(out);
  rmSync(out);
  return b;
}

function readAll(d: BlockBackend): Buffer {
  const b = Buffer.alloc(d.size);
  d.read(0, b);
  return b;
}

/** A raw file and a disk that get the same writes. */
function twin(reference: string, disk: BlockBackend) {
  const fd = openSync(reference, "r+");
  return {
    write(offset: number, data: Buffer) {
      disk.write(offset, data);
      writeSync(fd, data, 0, data.length, offset);
    },
    close() {
      disk.close();
      closeSync(fd);
    },
  };
}

/** Random writes: every size from a byte to several clusters, at any offset. */
function writes(size: number, count: number, seed: number): [number, number][] {
  const out: [number, number][] = [];
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const length = 1 + (x % (size / 8));
    x = (x * 1103515245 + 12345) >>> 0;
    out.push([x % (size - length), length]);
  }
  return out;
}

function assertClean(image: string, when: string): void {
  const r = qemuImgCheck(image);
  assert.equal(r.status, 0, `qemu-img check ${when}:\n${r.stdout}${r.stderr}`);
}

function assertSame(image: string, reference: string): void {
  const r = qemuImgRun("compare", "-f", "qcow2", "-F", "raw", image, reference);
  assert.equal(r.status, 0, `qemu-img compare:\n${r.stdout}${r.stderr}`);
}

describe("qcow2 against qemu-img", { skip }, () => {
  it("reads a qemu-img overlay filled by qemu-io as qemu-img convert reads it, every kind of cluster", () => {
    const base = file("kinds-base.raw", pattern(1024 * KiB, 1));
    const overlay = join(dir, "kinds.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", overlay, "1536K");
    qemuIo(overlay, "qcow2", [
      "write -P 0xaa 0 64k", // data
      "write -z 0 64k", // zero, keeping its preallocated cluster
      "write -z 64k 64k", // zero over the backing file, no cluster
      "write -P 0x55 200k 3k", // partial: copy-on-write of the backing file
      "write -P 0x11 1000k 100k", // across the backing file's end
      "write -P 0x22 1400k 64k", // beyond the backing file
    ]);
    const d = openDiskImage(overlay, "qcow2", true);
    assert.ok(d instanceof Qcow2Image);
    assert.deepEqual(d.stats, { allocated: 6, zero: 2, compressed: 0 }); // 200k: 1, 1000k+100k: 3, 1400k+64k: 2
    assert.ok(readAll(d).equals(converted(overlay)));
    d.close();
  });

  it("writes into a qemu-img overlay: check is clean after every request, compare equals a raw twin, the base is unchanged", () => {
    const baseBytes = pattern(512 * KiB, 2);
    const base = file("w-base.raw", baseBytes);
    const overlay = join(dir, "w.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-b", "w-base.raw", "-F", "raw", overlay, "640K");
    qemuIo(overlay, "qcow2", ["write -P 0xaa 0 64k", "write -z 0 32k", "write -z 128k 64k"]);
    const reference = file("w-ref.raw", converted(overlay));
    const t = twin(reference, openDiskImage(overlay, "qcow2", false));
    writes(640 * KiB, 40, 7).forEach(([offset, length], i) => {
      t.write(offset, pattern(length, 100 + i));
      assertClean(overlay, `after write ${i} (${length} bytes at ${offset})`);
    });
    t.close();
    assertClean(overlay, "at the end");
    assertSame(overlay, reference);
    assert.ok(readFileSync(base).equals(baseBytes));
  });

  it("follows a chain of version 2 and 3 overlays with relative names, and writes only the top", () => {
    mkdirSync(join(dir, "chain", "top"), { recursive: true });
    const baseBytes = pattern(256 * KiB, 3);
    const base = file("chain/base.raw", baseBytes);
    const mid = join(dir, "chain", "mid.qcow2");
    const top = join(dir, "chain", "top", "top.qcow2");
    qemuImg(
      "create",
      "-q",
      "-f",
      "qcow2",
      "-o",
      "compat=0.10,cluster_size=4096",
      "-b",
      "base.raw",
      "-F",
      "raw",
      mid,
    );
    qemuIo(mid, "qcow2", ["write -P 0x33 4k 10k", "write -P 0x44 250k 6k"]);
    const midBytes = readFileSync(mid);
    qemuImg(
      "create",
      "-q",
      "-f",
      "qcow2",
      "-o",
      "cluster_size=512",
      "-b",
      "../mid.qcow2",
      "-F",
      "qcow2",
      top,
      "300K",
    );
    qemuIo(top, "qcow2", ["write -P 0x66 9k 1k"]);
    const d = openDiskImage(top, "qcow2", false);
    assert.ok(readAll(d).equals(converted(top)));
    const reference = file("chain/ref.raw", converted(top));
    const t = twin(reference, d);
    for (const [offset, length] of writes(300 * KiB, 30, 11)) t.write(offset, pattern(length, offset));
    t.close();
    assertClean(top, "after the writes");
    assertSame(top, reference);
    assert.ok(readFileSync(base).equals(baseBytes));
    assert.ok(readFileSync(mid).equals(midBytes));
  });

  for (const [what, o] of [
    ["version 3, 64 KiB clusters", {}],
    ["version 2", { compat: "0.10" as const }],
    [
      "512-byte clusters and 64-bit refcounts (the refcount table grows)",
      { clusterSize: 512, refcountBits: 64 },
    ],
    ["4 KiB clusters and 1-bit refcounts", { clusterSize: 4096, refcountBits: 1 }],
  ] as const) {
    it(`creates images qemu-img accepts: ${what}`, () => {
      const name = `made-${what.replace(/\W+/g, "-")}`;
      const path = join(dir, `${name}.qcow2`);
      createDiskImage(path, { format: "qcow2", size: 3 * 1024 * KiB, ...o });
      const info = qemuImgInfo(path) as {
        format: string;
        "virtual-size": number;
        "cluster-size": number;
        "format-specific": { data: { compat: string; "refcount-bits": number } };
      };
      assert.equal(info.format, "qcow2");
      assert.equal(info["virtual-size"], 3 * 1024 * KiB);
      assert.equal(info["cluster-size"], o.clusterSize ?? 65536);
      assert.equal(info["format-specific"].data.compat, o.compat ?? "1.1");
      assert.equal(info["format-specific"].data["refcount-bits"], o.refcountBits ?? 16);
      assertClean(path, "when new");
      const reference = file(`${name}.raw`, Buffer.alloc(3 * 1024 * KiB));
      const t = twin(reference, openDiskImage(path, "qcow2", false));
      for (const [offset, length] of writes(3 * 1024 * KiB, 60, 5)) t.write(offset, pattern(length, length));
      t.close();
      assertClean(path, "after the writes");
      assertSame(path, reference);
    });
  }

  it("creates overlays qemu-img follows: relative and absolute backing names, raw and qcow2 backing files", () => {
    const baseBytes = pattern(192 * KiB, 4);
    const base = file("cb-base.raw", baseBytes);
    const mid = join(dir, "cb-mid.qcow2");
    const top = join(dir, "cb-top.qcow2");
    const made = createDiskImage(mid, { format: "qcow2", backingFile: "cb-base.raw" });
    assert.deepEqual([made.size, made.backingFormat], [192 * KiB, "raw"]); // size and format from the base
    const d = openDiskImage(mid, "qcow2", false);
    d.write(70 * KiB, pattern(5000, 9));
    d.close();
    createDiskImage(top, { format: "qcow2", backingFile: mid, backingFormat: "qcow2", size: 256 * KiB });
    const chain = JSON.parse(qemuImg("info", "--backing-chain", "--output=json", top)) as Record<
      string,
      unknown
    >[];
    assert.deepEqual(
      chain.map((i) => [i.filename, i.format, i["backing-filename"], i["backing-filename-format"]]),
      [
        [top, "qcow2", mid, "qcow2"],
        [mid, "qcow2", "cb-base.raw", "raw"],
        [base, "raw", undefined, undefined],
      ],
    );
    const t = openDiskImage(top, "qcow2", false);
    t.write(100, pattern(100, 1));
    assert.ok(readAll(t).equals(converted(top)));
    t.close();
    assertClean(top, "after a write");
    assertClean(mid, "under an overlay");
    assert.ok(readFileSync(base).equals(baseBytes));
  });

  it("leaves at worst leaked clusters when a request stops at any of its writes (new L2 tables, blocks, a new refcount table)", () => {
    // An image whose refcount table (one 512-byte cluster: 64 blocks of 64 clusters) is nearly full: the
    // request below needs new L2 tables, new refcount blocks and a new refcount table (~160 writes).
    const start = join(dir, "cut-start.qcow2");
    createDiskImage(start, { format: "qcow2", size: 4096 * KiB, clusterSize: 512, refcountBits: 64 });
    const d = openDiskImage(start, "qcow2", false);
    d.write(0, pattern(1970 * KiB, 1));
    d.close();
    const startBytes = readFileSync(start);
    const request = (image: string) => {
      const disk = openDiskImage(image, "qcow2", false);
      try {
        disk.write(2100 * KiB + 100, pattern(24 * KiB, 2));
      } finally {
        disk.close();
      }
    };
    const write = ImageIo.prototype.write;
    let count = 0;
    ImageIo.prototype.write = function (this: ImageIo, pos: number, data: Uint8Array) {
      count++;
      return write.call(this, pos, data);
    };
    const image = join(dir, "cut.qcow2");
    try {
      writeFileSync(image, startBytes);
      request(image);
      const total = count;
      assert.ok(total > 100, `${total} writes`);
      assert.notEqual(
        readFileSync(image).readBigUInt64BE(48),
        startBytes.readBigUInt64BE(48),
        "the table moved",
      );
      for (let stop = 1; stop <= total; stop++) {
        writeFileSync(image, startBytes);
        count = 0;
        ImageIo.prototype.write = function (this: ImageIo, pos: number, data: Uint8Array) {
          if (++count === stop) throw new Error("the process dies");
          return write.call(this, pos, data);
        };
        assert.throws(() => request(image), /the process dies/);
        const r = qemuImgCheck(image);
        assert.ok(
          r.status === 0 || r.status === 3,
          `stopped at write ${stop} of ${total}: status ${r.status}\n${r.stdout}${r.stderr}`,
        );
        assert.doesNotMatch(r.stdout, /^ERROR|corruptions/m, `stopped at write ${stop}`);
      }
    } finally {
      ImageIo.prototype.write = write;
    }
  });
});
