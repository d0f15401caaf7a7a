/**
 * Disks end to end: the guest kernel's virtio-blk driver in a domain of every mode writes sectors that
 * the image file on the host holds afterwards, reads what the host put there, and passes its `blk` test;
 * a read-only disk refuses writes with an I/O error the guest reports; an image that cannot be opened
 * stops the domain from being created, naming the file and the domain, before it takes any memory.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BufferConsole } from "../../machine/devices/console.js";
import { kernelElf, kernelPvElf } from "../../testing/kernel.js";
import { DOMAIN_MODES, type Domain, type DomainMode } from "../domain.js";
import { DomainConfigError, type DomainDisk, Hypervisor } from "../hypervisor.js";
import { VirtioBlk } from "./blk.js";

const MAX_INSNS = 200_000_000;
const SECTORS = 256;

const dir = mkdtempSync(join(tmpdir(), "rvisor-disks-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An image of SECTORS sectors whose sector 3 starts with `text`. */
function image(name: string, text: string): string {
  const path = join(dir, name);
  const b = Buffer.alloc(SECTORS * 512);
  b.write(text, 3 * 512, "latin1");
  writeFileSync(path, b);
  return path;
}

/** The virtio-blk model behind a domain's slot. */
function blkOf(domain: Domain, slot = 0): VirtioBlk {
  const t = domain.devices?.virtio[slot];
  assert.ok(t !== undefined && t.device instanceof VirtioBlk, `no virtio-blk in slot ${slot}`);
  assert.equal(t.lastError, undefined);
  return t.device;
}

/** Boots the shell kernel with `disks`, types `commands`, and returns the console and the domain. */
function session(mode: DomainMode, disks: DomainDisk[], commands: string[]) {
  const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 48 });
  const console = new BufferConsole(`${[...commands, "shutdown"].join("\n")}\n`);
  const kernel = mode === "pv" ? kernelPvElf() : kernelElf();
  const domain = hv.createDomain({ mode, kernel, console, memoryMiB: 16, disks });
  const exit = hv.runSync({ maxInsns: MAX_INSNS });
  assert.equal(exit.kind, "poweroff", `${mode}: ${exit.message}\n${console.text()}`);
  return { hv, domain, out: console.text() };
}

describe("a domain's virtio disk", () => {
  for (const mode of DOMAIN_MODES) {
    it(`is written and read by the guest kernel in ${mode} mode, and the image file holds the writes`, () => {
      const path = image(`${mode}.img`, `put there by the host for ${mode}`);
      const { hv, domain, out } = session(
        mode,
        [{ path, vdev: "xvda" }],
        ["blk read 3", `blk write 9 written by the ${mode} guest`, "blk test", "test blk"],
      );
      assert.match(out, /^blk0: virtio-blk, 256 sectors \(128 KiB\)$/m, out);
      assert.match(out, /^0000 .*\|put there by the\|$/m, out);
      assert.match(out, /^blk: wrote sector 9$/m);
      assert.match(out, /^blk test: sectors 0\.\.31 written, read back, compared and restored: ok$/m);
      assert.match(out, /^PASS blk$/m);
      const file = readFileSync(path);
      assert.equal(
        file
          .subarray(9 * 512, 9 * 512 + 64)
          .toString("latin1")
          .replace(/\0+$/, ""),
        `written by the ${mode} guest`,
      );
      assert.equal(
        file
          .subarray(3 * 512, 3 * 512 + 32)
          .toString("latin1")
          .replace(/\0+$/, ""),
        `put there by the host for ${mode}`,
      );
      const blk = blkOf(domain);
      assert.ok(blk.stats.writes >= 1 + 2 * 16, `writes: ${JSON.stringify(blk.stats)}`);
      assert.equal(blk.stats.errors, 0);
      hv.destroyDomain(domain.id);
    });
  }

  it("refuses writes to a read-only disk with an I/O error the guest reports, and the image is unchanged", () => {
    const path = image("ro.img", "read-only contents");
    const before = readFileSync(path);
    const { out, domain } = session(
      "trap",
      [{ path, readOnly: true }],
      ["blk info", "blk write 3 overwritten", "blk read 3", "blk test", "test blk"],
    );
    assert.match(out, /^blk0: virtio-blk, 256 sectors \(128 KiB\), read-only$/m);
    assert.match(
      out,
      /^blk0: virtio-blk at 10001000 irq 1, 256 sectors \(128 KiB\), read-only, serial 'xvda'/m,
    );
    assert.match(out, /^blk: write of sector 3 failed: I\/O error$/m);
    assert.match(out, /\|read-only conten\|$/m);
    assert.match(
      out,
      /^blk test: sectors 0\.\.31 of a read-only disk: writes refused with an I\/O error, contents unchanged: ok$/m,
    );
    assert.match(out, /^PASS blk$/m);
    assert.deepEqual(readFileSync(path), before);
    assert.ok(blkOf(domain).stats.errors >= 1);
  });

  it("gives the guest two disks in slot order, and `test blk` checks both", () => {
    const a = image("two-a.img", "first");
    const b = image("two-b.img", "second");
    const { out } = session("pv", [{ path: a }, { path: b, readOnly: true }], ["blk info", "test blk"]);
    assert.match(out, /^blk0: virtio-blk at 10001000 irq 1, .*read-write, serial 'xvda'/m);
    assert.match(out, /^blk1: virtio-blk at 10002000 irq 2, .*read-only, serial 'xvdb'/m);
    assert.match(out, /^PASS blk$/m);
  });

  it("keeps the suite's output without disks and runs `blk` only with one (test lists it only then)", () => {
    const { out } = session("trap", [], ["test", "blk info", "blk read 0"]);
    assert.doesNotMatch(out, /^blk0:/m);
    assert.match(
      out,
      /^tests: fdt kalloc vm copy sum spawn exit-status preempt sleep sbrk fork syscalls bad-args faults proc-table$/m,
    );
    assert.match(out, /^\$ blk info\nblk: no disks\n\$ blk read 0\nblk: no disks$/m);
  });

  it("is not created when an image is missing: the error names the domain and the file, and no memory is taken", () => {
    const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 48 });
    const free = hv.allocator.freeCount;
    const ok = image("ok.img", "");
    const missing = join(dir, "nope.img");
    assert.throws(
      () =>
        hv.createDomain({
          mode: "trap",
          kernel: kernelElf(),
          name: "web",
          disks: [{ path: ok }, { path: missing }],
        }),
      (e: Error) =>
        e instanceof DomainConfigError && e.message === `web: disk image ${missing}: no such file`,
    );
    assert.equal(hv.allocator.freeCount, free);
    assert.equal(hv.domains.size, 0);
    // The first image was closed again: it can be attached read-write now.
    const d = hv.createDomain({ mode: "trap", kernel: kernelElf(), name: "web", disks: [{ path: ok }] });
    assert.throws(
      () => hv.createDomain({ mode: "trap", kernel: kernelElf(), name: "db", disks: [{ path: ok }] }),
      /db: disk image .*ok\.img: already attached read-write to another domain/,
    );
    hv.destroyDomain(d.id);
    hv.destroyDomain(
      hv.createDomain({ mode: "trap", kernel: kernelElf(), name: "db", disks: [{ path: ok }] }).id,
    );
  });
});
