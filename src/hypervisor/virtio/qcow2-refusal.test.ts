/**
 * What rvisor's qcow2 does not implement is refused when the image is opened, by a message that names
 * the file and the reason, and nothing stays open: encryption, external data files, extended L2
 * entries, unknown incompatible features (named from the image's own feature table), compressed
 * clusters; for writing, the dirty and corrupt bits and internal snapshots (read-only use works); a
 * backing chain that loops or whose file is missing or of another format; a qcow2 disk that is not
 * qcow2. What the format lets a reader ignore is ignored (lazy refcounts), and autoclear bits are
 * cleared before writing. A backing file is never written while an overlay uses it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { noQemuImg, qemuImg, qemuImgCheck, qemuIo } from "../../testing/qemu-img.js";
import { BlockBackendError, RawFile } from "./block-backend.js";
import { openDiskImage } from "./disk-image.js";
import { createDiskImage } from "./qcow2-create.js";
import { EXT_FEATURE_NAMES } from "./qcow2-format.js";

const dir = mkdtempSync(join(tmpdir(), "rvisor-qcow2-refuse-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);

/** A new empty qcow2 image, then `patch` applied to its bytes. */
function crafted(name: string, patch: (b: Buffer) => void = () => {}): string {
  const path = at(name);
  createDiskImage(path, { format: "qcow2", size: 1024 * 1024 });
  const b = readFileSync(path);
  patch(b);
  writeFileSync(path, b);
  return path;
}

function refused(path: string, readOnly: boolean, why: RegExp): void {
  assert.throws(
    () => openDiskImage(path, "qcow2", readOnly),
    (e: Error) =>
      e instanceof BlockBackendError && e.message.startsWith(`disk image ${path}: `) && why.test(e.message),
  );
  // Nothing stays open: the image can be opened read-write by someone else now (or it is refused again).
  try {
    openDiskImage(path, "raw", false).close();
  } catch (e) {
    assert.fail(`still claimed after the refusal: ${(e as Error).message}`);
  }
}

const opens = (path: string, readOnly: boolean) => openDiskImage(path, "qcow2", readOnly).close();

const setIncompatible = (bit: number) => (b: Buffer) =>
  b.writeBigUInt64BE(b.readBigUInt64BE(72) | (1n << BigInt(bit)), 72);

describe("qcow2 refusals", () => {
  it("refuses encryption, external data files, extended L2 entries and unknown incompatible features", () => {
    refused(
      crafted("aes.qcow2", (b) => b.writeUInt32BE(1, 32)),
      true,
      /encrypted \(crypt_method 1, AES\): not supported/,
    );
    refused(
      crafted("luks.qcow2", (b) => b.writeUInt32BE(2, 32)),
      true,
      /encrypted \(crypt_method 2, LUKS\)/,
    );
    refused(crafted("data.qcow2", setIncompatible(2)), true, /uses an external data file/);
    refused(crafted("extl2.qcow2", setIncompatible(4)), true, /uses extended L2 entries/);
    refused(crafted("bit5.qcow2", setIncompatible(5)), true, /unknown incompatible features: bit 5$/);
    // The name comes from the image's feature name table: rename its first entry to bit 9.
    const named = crafted("bit9.qcow2", (b) => {
      setIncompatible(9)(b);
      let p = 112;
      while (b.readUInt32BE(p) !== EXT_FEATURE_NAMES) p += 8 + Math.ceil(b.readUInt32BE(p + 4) / 8) * 8;
      b[p + 8 + 1] = 9;
      b.fill(0, p + 10, p + 56).write("frobnication", p + 10);
    });
    refused(named, true, /unknown incompatible features: bit 9 \(frobnication\)$/);
  });

  it("refuses a version 1 image, and a qcow2 disk that is not qcow2, saying what to do", () => {
    refused(
      crafted("v1.qcow2", (b) => b.writeUInt32BE(1, 4)),
      true,
      /qcow2 version 1 is not supported/,
    );
    const raw = at("plain.raw");
    writeFileSync(raw, Buffer.alloc(4096));
    refused(raw, false, /not a qcow2 image \(it does not start with QFI\\xfb\)/);
    refused(
      crafted("bits.qcow2", (b) => b.writeUInt32BE(22, 20)),
      true,
      /cluster_bits 22 out of range/,
    );
  });

  it("clears autoclear bits it does not know before writing", () => {
    const path = crafted("autoclear.qcow2", (b) => b.writeBigUInt64BE(1n << 5n, 88));
    const d = openDiskImage(path, "qcow2", false);
    d.write(0, Buffer.alloc(512, 1));
    d.close();
    assert.equal(readFileSync(path).readBigUInt64BE(88), 0n);
  });

  it("opens dirty and corrupt images and ones with internal snapshots read-only, refuses to write them", () => {
    const dirty = crafted("dirty.qcow2", setIncompatible(0));
    opens(dirty, true);
    refused(dirty, false, /marked dirty .*'qemu-img check -r all'/);
    const corrupt = crafted("corrupt.qcow2", setIncompatible(1));
    opens(corrupt, true);
    refused(corrupt, false, /marked corrupt/);
  });

  it("refuses a chain that loops, a missing backing file, and a backing format it does not read", () => {
    const a = at("loop-a.qcow2");
    const b = at("loop-b.qcow2");
    createDiskImage(b, { format: "qcow2", size: 65536 });
    createDiskImage(a, { format: "qcow2", backingFile: "loop-b.qcow2" });
    createDiskImage(b, { format: "qcow2", backingFile: "loop-a.qcow2", backingFormat: "qcow2", size: 65536 });
    refused(
      a,
      false,
      /backing file .*loop-a\.qcow2.* makes a loop: .*loop-a\.qcow2 → .*loop-b\.qcow2 → .*loop-a\.qcow2$/,
    );
    // And through the refusal, the middle image was let go too.
    RawFile.open(b, false).close();

    const base = at("gone.raw");
    writeFileSync(base, Buffer.alloc(65536));
    const overlay = at("orphan.qcow2");
    createDiskImage(overlay, { format: "qcow2", backingFile: "gone.raw" });
    rmSync(base);
    refused(overlay, true, new RegExp(`backing file ${base} \\("gone.raw" in the image\\): no such file$`));

    const vmdk = crafted("vmdk.qcow2", (x) => {
      // Name a backing file whose recorded format is vmdk (the extension is rewritten in place).
      x.writeUInt32BE(0xe2792aca, 112);
      x.writeUInt32BE(4, 116);
      x.write("vmdk", 120);
      x.fill(0, 124, 128 + 8);
      x.writeBigUInt64BE(512n, 8);
      x.writeUInt32BE(6, 16);
      x.write("x.vmdk", 512);
    });
    refused(vmdk, true, /backing file .*x\.vmdk.*: format "vmdk" is not supported \(raw or qcow2\)$/);
  });

  it("never writes a backing file while an overlay uses it, nor uses one being written", () => {
    const base = at("locked.raw");
    writeFileSync(base, Buffer.alloc(65536));
    const overlay = at("locked.qcow2");
    createDiskImage(overlay, { format: "qcow2", backingFile: "locked.raw" });
    const d = openDiskImage(overlay, "qcow2", false);
    assert.throws(() => RawFile.open(base, false), /locked\.raw: is the backing file of an overlay in use/);
    RawFile.open(base, true).close(); // reading it is fine
    d.close();
    const writer = RawFile.open(base, false);
    assert.throws(
      () => openDiskImage(overlay, "qcow2", true),
      /locked\.qcow2: backing file .*is attached read-write/,
    );
    writer.close();
    opens(overlay, false);
  });

  describe("on images QEMU made", { skip: noQemuImg() }, () => {
    it("refuses compressed clusters, naming where they are, in the image and in its backing file", () => {
      const packed = at("packed.qcow2");
      qemuImg("create", "-q", "-f", "qcow2", packed, "1M");
      qemuIo(packed, "qcow2", ["write -c -P 0x42 128k 64k"]);
      refused(packed, true, /compressed cluster at guest offset 131072: not supported/);
      const over = at("over-packed.qcow2");
      qemuImg("create", "-q", "-f", "qcow2", "-b", "packed.qcow2", "-F", "qcow2", over);
      refused(over, false, /backing file .*packed\.qcow2.*: compressed cluster at guest offset 131072/);
    });

    it("refuses what qemu-img makes with data_file, extended_l2, or -f qcow", () => {
      const ext = at("q-data.qcow2");
      qemuImg("create", "-q", "-f", "qcow2", "-o", `data_file=${at("q-data.raw")}`, ext, "1M");
      refused(ext, true, /external data file/);
      const xl2 = at("q-extl2.qcow2");
      qemuImg("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", xl2, "1M");
      refused(xl2, true, /extended L2 entries/);
      const v1 = at("q-v1.qcow");
      qemuImg("create", "-q", "-f", "qcow", v1, "1M");
      refused(v1, true, /qcow2 version 1 is not supported/);
    });

    it("reads an image with an internal snapshot but will not write it", () => {
      const snap = at("snap.qcow2");
      qemuImg("create", "-q", "-f", "qcow2", snap, "1M");
      qemuIo(snap, "qcow2", ["write -P 0x17 0 4k"]);
      qemuImg("snapshot", "-c", "before", snap);
      const d = openDiskImage(snap, "qcow2", true);
      const b = Buffer.alloc(4096);
      d.read(0, b);
      d.close();
      assert.ok(b.equals(Buffer.alloc(4096, 0x17)));
      refused(snap, false, /has 1 internal snapshot\(s\)/);
    });

    it("writes lazy-refcount images eagerly (clean), and will not write over persistent bitmaps", () => {
      const lazy = at("lazy.qcow2");
      qemuImg("create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on", lazy, "1M");
      const d = openDiskImage(lazy, "qcow2", false);
      d.write(5000, Buffer.alloc(70000, 1));
      d.close();
      assert.equal(qemuImgCheck(lazy).status, 0);
      const marked = at("bitmap.qcow2");
      qemuImg("create", "-q", "-f", "qcow2", marked, "1M");
      qemuImg("bitmap", "--add", marked, "b0");
      opens(marked, true);
      refused(marked, false, /has persistent bitmaps.*'qemu-img bitmap --remove'/);
      assert.equal(qemuImgCheck(marked).status, 0);
    });
  });
});
