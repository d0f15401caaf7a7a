/**
 * The guest kernel's virtio-blk driver on QEMU (`virt`, a raw image behind virtio-blk-device on its
 * modern virtio-mmio transport) and on rvisor (the same kernel in a trap-mode domain with the same image):
 * the same shell session prints the same bytes, and leaves the two image files byte for byte alike.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Hypervisor } from "../hypervisor/hypervisor.js";
import { BufferConsole } from "../machine/devices/console.js";
import { qemuAvailable, shimElf } from "./guest-build.js";
import { kernelElf } from "./kernel.js";
import { runQemu } from "./qemu.js";

const noQemu = !qemuAvailable() && "qemu-system-riscv32 is not installed";
const MEMORY_MIB = 32;
const SECTORS = 2048;

/** Nothing here depends on timing, or on where the disk sits (`blk info` would: QEMU fills slot 7 first). */
const SESSION = [
  "blk read 3",
  "blk write 7 written by the guest",
  "blk read 7",
  "blk test",
  "blk test 2040",
  "blk read 5000",
  "test blk",
  "shutdown",
  "",
].join("\n");

const dir = mkdtempSync(join(tmpdir(), "rvisor-virtio-diff-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function image(name: string): string {
  const path = join(dir, name);
  const b = Buffer.alloc(SECTORS * 512);
  b.write("hello from the host", 3 * 512, "latin1");
  for (let s = 2040; s < SECTORS; s++) b.fill(s & 0xff, s * 512, (s + 1) * 512);
  writeFileSync(path, b);
  return path;
}

describe("virtio-blk on rvisor and on QEMU", () => {
  it("answers the same blk session with the same bytes and leaves the same image", {
    skip: noQemu,
  }, async () => {
    const qemuImage = image("qemu.img");
    const ref = await runQemu(kernelElf(), {
      bios: shimElf,
      memoryMiB: MEMORY_MIB,
      stdin: SESSION,
      timeoutMs: 30_000,
      extraArgs: [
        "-global",
        "virtio-mmio.force-legacy=false",
        "-drive",
        `file=${qemuImage},if=none,format=raw,id=d0`,
        "-device",
        "virtio-blk-device,drive=d0,serial=xvda",
      ],
    });
    assert.equal(ref.exitCode, 0, ref.stdout + ref.stderr);

    const ourImage = image("rvisor.img");
    const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: MEMORY_MIB + 16 });
    const console = new BufferConsole(SESSION);
    hv.createDomain({
      mode: "trap",
      kernel: kernelElf(),
      console,
      memoryMiB: MEMORY_MIB,
      disks: [{ path: ourImage }],
    });
    const exit = hv.runSync({ maxInsns: 300_000_000 });
    assert.equal(exit.kind, "poweroff", exit.message);

    const ours = console.text();
    assert.match(ours, /^blk test: sectors 0\.\.31 written, read back, compared and restored: ok$/m);
    assert.match(ours, /^blk test: sectors 2040\.\.2047 written, read back, compared and restored: ok$/m);
    assert.match(ours, /^blk: read of sector 5000 failed: no such disk, or sectors beyond it$/m);
    assert.match(ours, /^PASS blk$/m);
    assert.equal(ours, ref.stdout);
    assert.ok(readFileSync(ourImage).equals(readFileSync(qemuImage)), "the images differ");
  });
});
