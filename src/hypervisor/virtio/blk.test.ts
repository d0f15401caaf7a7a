/**
 * virtio-blk against a driver written in TypeScript: reads and writes reach the backend, a read-only
 * disk refuses writes with IOERR, and every malformed request (beyond the disk, not whole sectors,
 * buffers outside RAM or on the wrong side) completes with IOERR and changes nothing — only a request
 * without a status byte makes the device need a reset. Then the raw-file backend on real files.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { makeVirtioEnv, TestDriver } from "../testing/virtio-driver.js";
import {
  SECTOR_SIZE,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VirtioBlk,
} from "./blk.js";
import { type BlockBackend, BlockBackendError, MemoryDisk, RawFile } from "./block-backend.js";
import { hasFeature } from "./device.js";
import {
  REG_CONFIG,
  REG_DEVICE_FEATURES,
  REG_DEVICE_FEATURES_SEL,
  REG_STATUS,
  STATUS_DEVICE_NEEDS_RESET,
  VirtioMmio,
} from "./mmio.js";
import { VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from "./queue.js";

const SECTORS = 64;

function header(type: number, sector: number): Uint8Array {
  const h = new Uint8Array(16);
  const v = new DataView(h.buffer);
  v.setUint32(0, type, true);
  v.setUint32(8, sector >>> 0, true);
  v.setUint32(12, Math.floor(sector / 2 ** 32), true);
  return h;
}

function disk(backend: BlockBackend = new MemoryDisk(new Uint8Array(SECTORS * SECTOR_SIZE))) {
  const env = makeVirtioEnv();
  const blk = new VirtioBlk(backend, "xvda");
  const t = new VirtioMmio("virtio0 (virtio-blk)", env.mem, blk, () => {});
  const drv = new TestDriver(t, env.mem);
  assert.ok(drv.init());
  const q = drv.setupQueue(0, 16);
  drv.driverOk();
  return { env, blk, t, drv, q, backend };
}

type Disk = ReturnType<typeof disk>;

/** Submits one request and returns [status, used length, the data the device wrote]. */
function request(
  s: Disk,
  type: number,
  sector: number,
  out: Uint8Array[],
  inLen: number,
): [number, number, Uint8Array] {
  const { head, inAddrs } = s.drv.submit(s.q, [header(type, sector), ...out], inLen > 0 ? [inLen, 1] : [1]);
  s.drv.notify(s.q);
  const used = s.drv.used(s.q);
  assert.equal(used.length, 1);
  assert.equal(used[0].id, head);
  const statusAddr = inAddrs.at(-1)!;
  const data = inLen > 0 ? s.drv.read(inAddrs[0], inLen) : new Uint8Array();
  return [s.drv.read(statusAddr, 1)[0], used[0].len, data];
}

const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

describe("virtio-blk", () => {
  it("offers its capacity, limits and block size in the configuration space", () => {
    const s = disk();
    assert.equal(s.drv.reg(REG_CONFIG), SECTORS);
    assert.equal(s.drv.reg(REG_CONFIG + 4), 0);
    assert.equal(s.drv.reg(REG_CONFIG + 8), 64 * 1024, "size_max");
    assert.equal(s.drv.reg(REG_CONFIG + 12), 126, "seg_max");
    assert.equal(s.drv.reg(REG_CONFIG + 20), 512, "blk_size");
    assert.equal(s.t.read(REG_CONFIG, 1), SECTORS, "byte access to the configuration space");
    s.drv.set(REG_DEVICE_FEATURES_SEL, 0);
    assert.equal(hasFeature(BigInt(s.drv.reg(REG_DEVICE_FEATURES)), VIRTIO_BLK_F_RO), false);
  });

  it("writes sectors to the backend and reads them back, in one segment or several", () => {
    const s = disk();
    const data = pattern(3 * SECTOR_SIZE, 1);
    const [st, len] = request(s, VIRTIO_BLK_T_OUT, 5, [data.subarray(0, 512), data.subarray(512)], 0);
    assert.deepEqual([st, len], [VIRTIO_BLK_S_OK, 1]);
    const image = (s.backend as MemoryDisk).bytes;
    assert.deepEqual(image.subarray(5 * 512, 8 * 512), data);
    image.set(pattern(512, 99), 40 * 512);
    const [st2, len2, got] = request(s, VIRTIO_BLK_T_IN, 40, [], 512);
    assert.deepEqual([st2, len2], [VIRTIO_BLK_S_OK, 513]);
    assert.deepEqual(got, pattern(512, 99));
    assert.deepEqual(s.blk.stats, {
      reads: 1,
      writes: 1,
      flushes: 0,
      bytesRead: 512,
      bytesWritten: 1536,
      errors: 0,
    });
  });

  it("flushes the backend and answers GET_ID with the serial, and UNSUPP for an unknown type", () => {
    const s = disk();
    assert.equal(request(s, VIRTIO_BLK_T_FLUSH, 0, [], 0)[0], VIRTIO_BLK_S_OK);
    assert.equal((s.backend as MemoryDisk).flushes, 1);
    const [st, len, id] = request(s, VIRTIO_BLK_T_GET_ID, 0, [], 20);
    assert.deepEqual([st, len], [VIRTIO_BLK_S_OK, 21]);
    assert.equal(new TextDecoder().decode(id).replace(/\0+$/, ""), "xvda");
    assert.equal(request(s, 11 /* DISCARD */, 0, [], 0)[0], VIRTIO_BLK_S_UNSUPP);
  });

  it("offers VIRTIO_BLK_F_RO for a read-only disk and refuses its writes with IOERR, writing nothing", () => {
    const image = new Uint8Array(SECTORS * SECTOR_SIZE).fill(0x5a);
    const s = disk(new MemoryDisk(image, true));
    s.drv.set(REG_DEVICE_FEATURES_SEL, 0);
    assert.ok(hasFeature(BigInt(s.drv.reg(REG_DEVICE_FEATURES)), VIRTIO_BLK_F_RO));
    assert.equal(request(s, VIRTIO_BLK_T_OUT, 0, [pattern(512, 3)], 0)[0], VIRTIO_BLK_S_IOERR);
    assert.ok(image.every((b) => b === 0x5a));
    assert.equal(request(s, VIRTIO_BLK_T_IN, 0, [], 512)[0], VIRTIO_BLK_S_OK, "reads still work");
  });

  it("completes with IOERR a request beyond the disk, of part of a sector, or with data on the wrong side", () => {
    const s = disk();
    assert.equal(request(s, VIRTIO_BLK_T_IN, SECTORS, [], 512)[0], VIRTIO_BLK_S_IOERR);
    assert.equal(request(s, VIRTIO_BLK_T_IN, SECTORS - 1, [], 1024)[0], VIRTIO_BLK_S_IOERR);
    assert.equal(request(s, VIRTIO_BLK_T_IN, 2 ** 40, [], 512)[0], VIRTIO_BLK_S_IOERR);
    assert.equal(request(s, VIRTIO_BLK_T_OUT, 0, [pattern(100, 1)], 0)[0], VIRTIO_BLK_S_IOERR);
    // A read whose data buffer is device-readable: the device must not write into it.
    assert.equal(request(s, VIRTIO_BLK_T_IN, 0, [pattern(512, 7)], 0)[0], VIRTIO_BLK_S_IOERR);
    // A write whose data is device-writable.
    assert.equal(request(s, VIRTIO_BLK_T_OUT, 0, [], 512)[0], VIRTIO_BLK_S_IOERR);
    assert.ok(
      (s.backend as MemoryDisk).bytes.every((b) => b === 0),
      "nothing was written",
    );
    assert.equal(s.blk.stats.errors, 6);
    assert.equal(
      s.drv.reg(REG_STATUS) & STATUS_DEVICE_NEEDS_RESET,
      0,
      "errors of requests, not of the device",
    );
  });

  it("completes with IOERR a request whose buffers are outside the domain's RAM, touching nothing outside", () => {
    const s = disk();
    (s.backend as MemoryDisk).bytes.fill(0xee);
    const before = s.env.outsideHash();
    const hdr = s.drv.alloc(16);
    s.drv.mem.write(hdr, header(VIRTIO_BLK_T_IN, 0));
    const status = s.drv.alloc(1);
    const cases: [number | [number, number], number][] = [
      [0x1000_1000, VIRTIO_BLK_T_IN], // a device's registers
      [0x8004_0000 - 256, VIRTIO_BLK_T_IN], // straddles the end of RAM
      [[0x8000_0000, 1], VIRTIO_BLK_T_IN], // above 4 GiB
      [0x1000_1000, VIRTIO_BLK_T_OUT],
    ];
    for (const [addr, type] of cases) {
      s.drv.mem.write(hdr, header(type, 0));
      const write = type === VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0;
      s.drv.writeDesc(s.q.desc, 0, hdr, 16, VIRTQ_DESC_F_NEXT, 1);
      s.drv.writeDesc(s.q.desc, 1, addr, 512, VIRTQ_DESC_F_NEXT | write, 2);
      s.drv.writeDesc(s.q.desc, 2, status, 1, VIRTQ_DESC_F_WRITE);
      s.drv.publish(s.q, 0);
      s.drv.notify(s.q);
      assert.deepEqual(s.drv.used(s.q), [{ id: 0, len: 1 }]);
      assert.equal(s.drv.read(status, 1)[0], VIRTIO_BLK_S_IOERR);
    }
    assert.equal(s.env.outsideHash(), before);
    assert.ok((s.backend as MemoryDisk).bytes.every((b) => b === 0xee));
  });

  it("needs a reset for a request without a status byte it can write", () => {
    const s = disk();
    const hdr = s.drv.alloc(16);
    s.drv.mem.write(hdr, header(VIRTIO_BLK_T_IN, 0));
    s.drv.writeDesc(s.q.desc, 0, hdr, 16, 0);
    s.drv.publish(s.q, 0);
    s.drv.notify(s.q);
    assert.match(s.t.lastError ?? "", /no device-writable status byte/);
    const s2 = disk();
    const h2 = s2.drv.alloc(16);
    s2.drv.mem.write(h2, header(VIRTIO_BLK_T_FLUSH, 0));
    s2.drv.writeDesc(s2.q.desc, 0, h2, 16, VIRTQ_DESC_F_NEXT, 1);
    s2.drv.writeDesc(s2.q.desc, 1, 0x1000_1000, 1, VIRTQ_DESC_F_WRITE);
    s2.drv.publish(s2.q, 0);
    s2.drv.notify(s2.q);
    assert.match(s2.t.lastError ?? "", /status byte is not in RAM/);
    assert.equal(s2.drv.reg(REG_STATUS) & STATUS_DEVICE_NEEDS_RESET, STATUS_DEVICE_NEEDS_RESET);
  });

  it("serves every request made available before one notification, in order", () => {
    const s = disk();
    const heads: number[] = [];
    for (let i = 0; i < 4; i++)
      heads.push(s.drv.submit(s.q, [header(VIRTIO_BLK_T_OUT, i), pattern(512, i)], [1]).head);
    s.drv.notify(s.q);
    assert.deepEqual(
      s.drv.used(s.q).map((u) => u.id),
      heads,
    );
    for (let i = 0; i < 4; i++)
      assert.deepEqual((s.backend as MemoryDisk).bytes.subarray(i * 512, (i + 1) * 512), pattern(512, i));
  });
});

describe("the raw image backend", () => {
  const dir = mkdtempSync(join(tmpdir(), "rvisor-blk-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads and writes the file at sector offsets, so the image holds the guest's writes", () => {
    const path = join(dir, "a.img");
    writeFileSync(path, Buffer.alloc(16 * 512, 0x11));
    const s = disk(RawFile.open(path, false));
    assert.equal(s.blk.capacity, 16);
    assert.equal(request(s, VIRTIO_BLK_T_OUT, 3, [pattern(1024, 5)], 0)[0], VIRTIO_BLK_S_OK);
    assert.equal(request(s, VIRTIO_BLK_T_FLUSH, 0, [], 0)[0], VIRTIO_BLK_S_OK);
    const file = readFileSync(path);
    assert.deepEqual(new Uint8Array(file.subarray(3 * 512, 5 * 512)), pattern(1024, 5));
    assert.ok(file.subarray(0, 3 * 512).every((b) => b === 0x11));
    assert.deepEqual(request(s, VIRTIO_BLK_T_IN, 4, [], 512)[2], pattern(1024, 5).subarray(512));
    s.blk.close();
  });

  it("rounds a size that is not whole sectors down, and reports a missing or unreadable image by name", () => {
    const odd = join(dir, "odd.img");
    writeFileSync(odd, Buffer.alloc(1000));
    const r = RawFile.open(odd, true);
    assert.equal(new VirtioBlk(r).capacity, 1);
    r.close();
    assert.throws(() => RawFile.open(join(dir, "missing.img"), false), {
      name: "BlockBackendError",
      message: `disk image ${join(dir, "missing.img")}: no such file`,
    });
    assert.throws(() => RawFile.open(dir, true), BlockBackendError);
    if (process.getuid?.() !== 0) {
      const locked = join(dir, "locked.img");
      writeFileSync(locked, Buffer.alloc(512));
      chmodSync(locked, 0o444);
      assert.throws(
        () => RawFile.open(locked, false),
        /locked\.img: permission denied \(read-write access\)/,
      );
      RawFile.open(locked, true).close();
    }
  });

  it("refuses a second read-write attachment of the same image until the first is closed", () => {
    const path = join(dir, "shared.img");
    writeFileSync(path, Buffer.alloc(512));
    const a = RawFile.open(path, false);
    assert.throws(() => RawFile.open(path, false), /already attached read-write to another domain/);
    RawFile.open(path, true).close();
    a.close();
    RawFile.open(path, false).close();
  });
});
