/**
 * A qcow2 overlay end to end: the guest kernel's virtio-blk driver, in a domain whose disk is an overlay
 * on a raw base, reads what the base holds, writes, and passes its `blk` test; afterwards the base file is
 * byte for byte what it was, and the overlay holds the writes, as QEMU reads it (`qemu-img convert` to
 * raw) and with a clean `qemu-img check`. Once over an overlay rvisor made, once over one qemu-img made
 * with small clusters and a relative backing name.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BufferConsole } from "../../machine/devices/console.js";
import { kernelElf, kernelPvElf } from "../../testing/kernel.js";
import { noQemuImg, qemuImg, qemuImgCheck } from "../../testing/qemu-img.js";
import type { DomainMode } from "../domain.js";
import { Hypervisor } from "../hypervisor.js";
import { VirtioBlk } from "./blk.js";
import { openDiskImage } from "./disk-image.js";
import { createDiskImage } from "./qcow2-create.js";

const MAX_INSNS = 200_000_000;
const SECTORS = 256;
const dir = mkdtempSync(join(tmpdir(), "rvisor-qcow2-domains-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A raw base of SECTORS sectors whose sector 3 starts with `text` and whose others hold a pattern. */
function base(path: string, text: string): Buffer {
  const b = Buffer.alloc(SECTORS * 512);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31) & 0xff;
  b.fill(0, 3 * 512, 4 * 512);
  b.write(text, 3 * 512, "latin1");
  writeFileSync(path, b);
  return b;
}

function boot(mode: DomainMode, overlay: string, commands: string[]) {
  const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 48 });
  const console = new BufferConsole(`${[...commands, "shutdown"].join("\n")}\n`);
  const kernel = mode === "pv" ? kernelPvElf() : kernelElf();
  const domain = hv.createDomain({
    mode,
    kernel,
    console,
    memoryMiB: 16,
    disks: [{ path: overlay, format: "qcow2", vdev: "xvda" }],
  });
  const exit = hv.runSync({ maxInsns: MAX_INSNS });
  const out = console.text();
  assert.equal(exit.kind, "poweroff", `${mode}: ${exit.message}\n${out}`);
  const blk = domain.devices?.virtio[0]?.device;
  assert.ok(blk instanceof VirtioBlk);
  assert.equal(blk.stats.errors, 0);
  hv.destroyDomain(domain.id);
  return out;
}

/** The overlay's contents as raw bytes: through qemu-img when there is one, else through rvisor. */
function contents(overlay: string): Buffer {
  if (noQemuImg()) {
    const d = openDiskImage(overlay, "qcow2", true);
    const b = Buffer.alloc(d.size);
    d.read(0, b);
    d.close();
    return b;
  }
  const raw = `${overlay}.raw`;
  qemuImg("convert", "-f", "qcow2", "-O", "raw", overlay, raw);
  return readFileSync(raw);
}

function sector(b: Buffer, n: number, length = 64): string {
  return b
    .subarray(n * 512, n * 512 + length)
    .toString("latin1")
    .replace(/\0+$/, "");
}

function check(mode: DomainMode, basePath: string, overlay: string, baseBytes: Buffer): void {
  const out = boot(mode, overlay, [
    "blk read 3",
    `blk write 9 written by the ${mode} guest`,
    "blk test",
    "test blk",
  ]);
  assert.match(out, /^blk0: virtio-blk, 256 sectors \(128 KiB\)$/m, out);
  assert.match(out, /^0000 .*\|from the raw bas\|$/m, out);
  assert.match(out, /^blk: wrote sector 9$/m);
  assert.match(out, /^blk test: sectors 0\.\.31 written, read back, compared and restored: ok$/m);
  assert.match(out, /^PASS blk$/m);
  assert.ok(readFileSync(basePath).equals(baseBytes), "the base is unchanged");
  const seen = contents(overlay);
  assert.equal(sector(seen, 9), `written by the ${mode} guest`);
  assert.equal(sector(seen, 3), "from the raw base");
  // Everything but sector 9 reads as the base (`blk test` restored what it wrote).
  const expected = Buffer.from(baseBytes);
  seen.copy(expected, 9 * 512, 9 * 512, 10 * 512);
  assert.ok(seen.equals(expected), "the rest of the disk is the base's");
  if (!noQemuImg()) assert.equal(qemuImgCheck(overlay).status, 0, qemuImgCheck(overlay).stdout);
}

describe("a domain's disk as a qcow2 overlay", () => {
  it("takes the guest's writes in an overlay rvisor made, leaving the raw base unchanged (pv)", () => {
    const basePath = join(dir, "base.raw");
    const baseBytes = base(basePath, "from the raw base");
    const overlay = join(dir, "overlay.qcow2");
    createDiskImage(overlay, { format: "qcow2", backingFile: "base.raw" });
    check("pv", basePath, overlay, baseBytes);
  });

  it("takes the guest's writes in an overlay qemu-img made, 4 KiB clusters, relative backing name (hvm)", {
    skip: noQemuImg(),
  }, () => {
    mkdirSync(join(dir, "images"));
    const basePath = join(dir, "base-q.raw");
    const baseBytes = base(basePath, "from the raw base");
    const overlay = join(dir, "images", "q.qcow2");
    qemuImg(
      "create",
      "-q",
      "-f",
      "qcow2",
      "-o",
      "cluster_size=4096",
      "-b",
      "../base-q.raw",
      "-F",
      "raw",
      overlay,
    );
    check("hvm", basePath, overlay, baseBytes);
  });
});
