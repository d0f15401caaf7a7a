/**
 * Save and restore of virtio devices: the guest kernel's shell, with a virtio disk and a balloon, saved
 * at several points of a session that writes, reads and tests the disk, restored on another hypervisor
 * over the same image file, finishes with the output of an uninterrupted session (the transport's
 * registers and each queue's indices came back, so the drivers go on without a reset); a state for a
 * domain built with other devices is refused, leaving the host as it was (no domain, every frame free,
 * nothing that would stop the next run).
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BufferConsole, type ConsoleBackend } from "../../machine/devices/console.js";
import { kernelElf, kernelPvElf } from "../../testing/kernel.js";
import type { DomainMode } from "../domain.js";
import { DomainConfigError, Hypervisor } from "../hypervisor.js";
import { restoreDomain, saveDomain } from "./domain.js";
import { decodeDomainImage, encodeDomainImage } from "./domain-image.js";
import { memoryHash, memoryStateHash } from "./memory.js";
import { CountingConsole } from "./test-support.js";

const dir = mkdtempSync(join(tmpdir(), "rvisor-save-virtio-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const blank = join(dir, "blank.img");
writeFileSync(blank, Buffer.alloc(256 * 512));
const INPUT = `${["blk write 9 written before or after", "blk read 9", "test blk", "shutdown"].join("\n")}\n`;

function start(mode: DomainMode, disk: string, console: ConsoleBackend) {
  const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 64 });
  const d = hv.createDomain({
    mode,
    kernel: mode === "pv" ? kernelPvElf() : kernelElf(),
    name: "vio",
    console,
    memoryMiB: 16,
    maxMemoryMiB: 24,
    disks: [{ path: disk, vdev: "xvda" }],
    balloon: true,
  });
  return { hv, d };
}

describe("save and restore of virtio devices", () => {
  for (const mode of ["trap", "pv", "hvm"] as const) {
    it(`${mode}: a shell with a disk and a balloon saved at each quarter of its session ends as if never saved`, () => {
      const refDisk = join(dir, `${mode}-ref.img`);
      copyFileSync(blank, refDisk);
      const whole = new CountingConsole(INPUT);
      const ref = start(mode, refDisk, whole);
      // Where both drivers are up (DRIVER_OK): the save points are spread from there to the end.
      const live = () => ref.d.devices?.virtio.every((t) => t !== undefined && (t.statusBits & 4) !== 0);
      while (!live())
        assert.equal(ref.hv.runSync({ maxInsns: ref.hv.machine.retired + 10_000 }).kind, "limit");
      const liveAt = ref.hv.machine.retired;
      assert.equal(ref.hv.runSync({ maxInsns: 300_000_000 }).kind, "poweroff", whole.buffer.text());
      const text = whole.buffer.text();
      assert.match(text, /^PASS blk$/m, text);
      assert.match(text, /written before or after/, text);
      const total = ref.hv.machine.retired;
      for (let k = 1; k < 4; k++) {
        const what = `${mode} saved at ${k}/4`;
        const disk = join(dir, `${mode}-${k}.img`);
        copyFileSync(blank, disk);
        const first = new CountingConsole(INPUT);
        const { hv, d } = start(mode, disk, first);
        hv.runSync({ maxInsns: Math.floor(liveAt + ((total - liveAt) * k) / 4) });
        assert.ok(d.alive, what);
        const saved = saveDomain(hv, d.id);
        assert.ok(
          saved.devices.virtio.every((v) => v !== null && (v.status & 4) !== 0),
          `${what}: both drivers were live`,
        );
        const image = decodeDomainImage(Buffer.concat(encodeDomainImage(saved, "test")));
        hv.destroyDomain(d.id); // closes its image file: the restored domain opens it again

        // Restored without the disk: the slots differ, refused, and the host is as it was — no domain,
        // every frame free again, and no power-off left pending (the restore below must run at once).
        const hv2 = new Hypervisor({ pcpus: 1, hostMemoryMiB: 48 });
        const free = hv2.allocator.freeCount;
        assert.throws(
          () => restoreDomain(hv2, image.state, { console: new BufferConsole() }),
          (e) =>
            e instanceof DomainConfigError &&
            /virtio\[0\]: the image has virtio-blk in this slot, the domain virtio-balloon/.test(e.message),
          what,
        );
        assert.equal(hv2.domains.size, 0);
        assert.equal(hv2.allocator.freeCount, free, `${what}: free frames after the refused restore`);

        const rest = new CountingConsole(INPUT.slice(first.taken));
        const d2 = restoreDomain(hv2, image.state, {
          console: rest,
          paused: true,
          devices: { disks: [{ path: disk, vdev: "xvda" }] },
        });
        assert.equal(memoryHash(d2), memoryStateHash(saved.memory), what);
        hv2.unpauseDomain(d2.id);
        assert.equal(hv2.runSync({ maxInsns: 300_000_000 }).kind, "poweroff", what);
        assert.equal(first.buffer.text() + rest.buffer.text(), text, what);
        assert.equal(d2.devices?.virtio[0]?.lastError, undefined, what);
      }
    });
  }
});
