/**
 * The memory balloon with the guest kernel's driver, per mode: inflating gives the host frames back
 * (and a second domain is built in them), the guest's suite still passes, deflating waits for frames
 * when the host has none and completes when they come back, and the limits say what is wrong.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BufferConsole } from "../../machine/devices/console.js";
import { kernelElf, kernelPvElf, testResultLines } from "../../testing/kernel.js";
import type { Domain, DomainMode } from "../domain.js";
import { Hypervisor } from "../hypervisor.js";
import { HYPERVISOR } from "../memory/frames.js";
import { balloonHost, memoryInfo, ResizeError, setMaxMemory, setMemoryTarget } from "../resize.js";
import { ALL_PASS } from "../testing/kernel-domains.js";
import { PROMPT_READY, ShellSession } from "../testing/session.js";

const kernelOf = (mode: DomainMode): string => (mode === "pv" ? kernelPvElf() : kernelElf());
const MIB_PAGES = 256;

function start(hv: Hypervisor, mode: DomainMode, name: string, memoryMiB: number, maxMemoryMiB = memoryMiB) {
  const console = new BufferConsole();
  const d = hv.createDomain({
    mode,
    kernel: kernelOf(mode),
    name,
    memoryMiB,
    maxMemoryMiB,
    balloon: true,
    console,
  });
  return new ShellSession(hv, d, console);
}

/** Frames free, the domain's, and the hypervisor's own (shadow tables): they always add up. */
function frames(hv: Hypervisor, d: Domain) {
  return {
    free: hv.allocator.freeCount,
    domain: hv.allocator.countOf(d.id),
    hypervisor: hv.allocator.countOf(HYPERVISOR),
  };
}

describe("virtio-balloon", () => {
  for (const mode of ["trap", "pv", "hvm"] as const) {
    it(`gives 16 MiB of a 32 MiB ${mode} domain to a second domain, and takes it back when it is gone`, () => {
      const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 40 });
      const a = start(hv, mode, "a", 32);
      a.until(() => a.output.includes(PROMPT_READY));
      assert.match(a.output, /^balloon: virtio-balloon, 8192 pages of RAM, statistics$/m);
      assert.throws(
        () => hv.createDomain({ mode, kernel: kernelOf(mode), name: "b", memoryMiB: 12 }),
        { name: "OutOfFramesError" },
        "no room for a second domain before the balloon inflates",
      );

      const before = frames(hv, a.domain);
      setMemoryTarget(a.domain, 16 * 1024);
      assert.equal(memoryInfo(a.domain).targetKiB, 16 * 1024);
      a.until(() => a.domain.balloon?.actual === 16 * MIB_PAGES);
      const after = frames(hv, a.domain);
      assert.equal(before.domain - after.domain, 16 * MIB_PAGES, "the domain owns 16 MiB less");
      assert.equal(
        after.free - before.free,
        16 * MIB_PAGES - (after.hypervisor - before.hypervisor),
        "the host's free frames rose by what was ballooned (less what shadows took meanwhile)",
      );
      assert.equal(memoryInfo(a.domain).currentKiB, 16 * 1024);
      assert.match(a.type("mem"), /^balloon: 4096 pages held, target 4096$/m);

      const b = start(hv, mode, "b", 12);
      b.until(() => b.output.includes(PROMPT_READY));
      assert.equal(testResultLines(a.type("test all")).at(-1), ALL_PASS, a.output);

      // Back to 32 MiB: the host has too few frames while b lives, so the deflate waits, safely.
      setMemoryTarget(a.domain, 32 * 1024);
      a.until(() => (a.domain.balloon?.heldPages ?? 0) < 16 * MIB_PAGES && hv.allocator.freeCount < 256);
      assert.ok(a.domain.balloon!.heldPages > 0, "not everything fits while b lives");
      assert.equal(a.domain.state, "running");
      hv.destroyDomain(b.domain.id);
      a.until(() => a.domain.balloon?.actual === 0);
      assert.equal(memoryInfo(a.domain).currentKiB, 32 * 1024);
      assert.equal(a.domain.balloon?.heldPages, 0);
      assert.equal(testResultLines(a.type("test all")).at(-1), ALL_PASS, a.output);

      // The guest's statistics came in with the figures the spec names.
      const stats = memoryInfo(a.domain).balloon!;
      assert.ok(stats.guestUpdates >= 1);
      for (const k of ["swap-in", "swap-out", "free", "total", "available"]) assert.ok(k in stats.guest, k);
      assert.equal(stats.refused, 0);
    });
  }

  it("stops short of a target the guest cannot reach, says so, and keeps running", () => {
    const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 32 });
    const a = start(hv, "trap", "a", 8);
    a.until(() => a.output.includes(PROMPT_READY));
    setMemoryTarget(a.domain, 1024);
    a.until(() => a.output.includes("balloon: memory is short"));
    assert.match(a.output, /balloon: memory is short: holding \d+ pages, \d+ short of the target 1792$/m);
    assert.match(a.type("mem"), /^balloon: \d+ pages held, target 1792 \(memory is short\)$/m);
    assert.match(a.type("run work 2 2"), /^work: 2 x 2 rounds, all correct$/m);
    assert.equal(a.domain.state, "running");
    setMemoryTarget(a.domain, 8 * 1024);
    a.until(() => a.domain.balloon?.actual === 0);
    assert.equal(memoryInfo(a.domain).currentKiB, 8 * 1024);
    assert.match(a.type("run work 2 2"), /all correct/);
  });

  it("never lets the balloon take the store ring, a pinned PV page table, or what is not the domain's RAM", () => {
    const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 64 });
    const d = hv.createDomain({
      mode: "pv",
      kernel: kernelPvElf(),
      memoryMiB: 8,
      maxMemoryMiB: 12,
      storeRing: true,
      balloon: true,
    });
    const host = balloonHost(d);
    const base = 0x8_0000;
    assert.equal(host.check(base + 100), undefined);
    assert.equal(host.check(d.storeRing!.page.gpa / 4096), "the store ring");
    d.pv!.pinned.set(base + 200, 1);
    assert.equal(host.check(base + 200), "a pinned page table");
    assert.equal(host.check(base - 1), "not the domain's RAM");
    assert.equal(
      host.check(base + 8 * MIB_PAGES),
      "not the domain's RAM",
      "maxmem's span past the RAM it booted with",
    );
    host.remove([base + 100]);
    assert.equal(host.check(base + 100), "not backed");
    assert.ok(host.absent(base + 100));
    assert.equal(host.room(), 4 * MIB_PAGES + 1, "up to maxmem");
    host.addBack([base + 100]);
    assert.equal(d.p2m.populated, 8 * MIB_PAGES);
  });

  it("refuses targets above maxmem or the RAM the guest booted with, and a maxmem below the target", () => {
    const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 64 });
    const a = start(hv, "trap", "a", 16, 24);
    assert.throws(() => setMemoryTarget(a.domain, 25 * 1024), /more than its maxmem \(24576 KiB\)/);
    assert.throws(
      () => setMemoryTarget(a.domain, 20 * 1024),
      /more than the RAM it booted with \(16384 KiB\)/,
    );
    assert.throws(() => setMemoryTarget(a.domain, 512), /below the least, 1024 KiB/);
    setMemoryTarget(a.domain, 8 * 1024);
    assert.throws(
      () => setMaxMemory(a.domain, 4 * 1024),
      /maxmem 4096 KiB is below its memory target \(8192 KiB\)/,
    );
    assert.throws(() => setMaxMemory(a.domain, 32 * 1024), /more than it was built with \(24576 KiB\)/);
    setMaxMemory(a.domain, 12 * 1024);
    assert.equal(memoryInfo(a.domain).maxKiB, 12 * 1024);
    assert.throws(() => setMemoryTarget(a.domain, 13 * 1024), ResizeError);
    const plain = hv.createDomain({ mode: "trap", kernel: kernelElf(), name: "plain", memoryMiB: 4 });
    assert.throws(() => setMemoryTarget(plain, 2048), /has no balloon/);
  });
});
