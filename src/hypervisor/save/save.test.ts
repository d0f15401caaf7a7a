/**
 * Save and restore end to end: the guest kernel's test suite, in every mode, stopped part way, saved,
 * restored into another Hypervisor (another shape of host, so other host frames), where it finishes with
 * the output an uninterrupted run gives; the memory hash is the saved one; a checkpoint goes on running;
 * a restore that is refused changes nothing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BufferConsole, type ConsoleBackend } from "../../machine/devices/console.js";
import { guestProgramElf } from "../../testing/guest-build.js";
import { testResultLines } from "../../testing/kernel.js";
import { DOMAIN_MODES, type DomainMode } from "../domain.js";
import { DomainConfigError, Hypervisor } from "../hypervisor.js";
import { ALL_PASS, ALL_PASS_SMP, boot, kernelFor, MAX_INSNS } from "../testing/kernel-domains.js";
import type { VirtioDevice } from "../virtio/device.js";
import { restoreDomain, saveDomain } from "./domain.js";
import { decodeDomainImage, encodeDomainImage } from "./domain-image.js";
import { memoryHash, memoryStateHash } from "./memory.js";
import { CountingConsole } from "./test-support.js";

/** One pCPU: the run's instruction count is the domain's own. */
function uninterrupted(mode: DomainMode): { text: string; retired: number } {
  const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 64 });
  const [g] = boot(hv, [{ mode, memoryMiB: 32 }]);
  const exit = hv.runSync({ maxInsns: MAX_INSNS });
  assert.equal(exit.kind, "poweroff", exit.message);
  assert.equal(testResultLines(g.console.text()).at(-1), ALL_PASS);
  return { text: g.console.text(), retired: g.domain.retired };
}

function toBytes(chunks: Uint8Array[]): Buffer {
  return Buffer.concat(chunks);
}

describe("save and restore", () => {
  for (const mode of DOMAIN_MODES) {
    it(`${mode}: a domain saved half way through its suite finishes it on another hypervisor with the same output`, () => {
      const full = uninterrupted(mode);
      const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 64 });
      const [g] = boot(hv, [{ mode, memoryMiB: 32, name: `s-${mode}` }]);
      const stop = hv.runSync({ maxInsns: Math.floor(full.retired / 2) });
      assert.equal(stop.kind, "limit");
      const before = g.console.text();
      assert.ok(testResultLines(before).length >= 3, `part way already:\n${before}`);
      assert.ok(!before.includes("tests: "), "but not done");

      const state = saveDomain(hv, g.domain.id);
      assert.equal(g.domain.state, "paused");
      const hash = memoryHash(g.domain);
      assert.equal(memoryStateHash(state.memory), hash);
      const oldFrames = new Set(g.domain.p2m.hostFrames());
      const bytes = toBytes(encodeDomainImage(state, "test"));
      hv.destroyDomain(g.domain.id);

      const image = decodeDomainImage(bytes);
      const hv2 = new Hypervisor({ pcpus: 2, hostMemoryMiB: 96 });
      const console = new BufferConsole();
      const d = restoreDomain(hv2, image.state, { console });
      assert.equal(memoryHash(d), hash, "the restored memory is the saved memory");
      const moved = d.p2m.hostFrames().filter((f) => !oldFrames.has(f)).length;
      assert.ok(moved > d.p2m.populated / 2, `other host frames back it (${moved} moved)`);
      assert.equal(d.state, "running");
      assert.equal(d.name, `s-${mode}`);

      const exit = hv2.runSync({ maxInsns: MAX_INSNS });
      assert.equal(exit.kind, "poweroff", `${exit.message}\n${console.text()}`);
      assert.deepEqual(d.end, { state: "shutdown", code: 0, reason: "poweroff" });
      // The guest cannot tell: its clock went on from the saved time, so it prints the same bytes and
      // retires the same instructions as the run that was never stopped.
      assert.equal(before + console.text(), full.text);
      assert.equal(d.retired, full.retired);
    });
  }

  it("hvm: the SMP kernel on two vCPUs, saved half way, finishes its suite (smp test included) after a restore", () => {
    const run = (hv: Hypervisor) => boot(hv, [{ mode: "hvm", memoryMiB: 32, vcpus: 2, name: "smp" }])[0];
    const ref = new Hypervisor({ pcpus: 2, hostMemoryMiB: 64 });
    const whole = run(ref);
    assert.equal(ref.runSync({ maxInsns: MAX_INSNS }).kind, "poweroff");
    assert.equal(testResultLines(whole.console.text()).at(-1), ALL_PASS_SMP);

    const hv = new Hypervisor({ pcpus: 2, hostMemoryMiB: 64 });
    const g = run(hv);
    hv.runSync({ maxInsns: Math.floor(ref.machine.retired / 2) });
    const state = saveDomain(hv, g.domain.id);
    assert.deepEqual(
      state.vcpus.map((v) => v.power),
      ["started", "started"],
      "both CPUs were online when saved",
    );
    const hv2 = new Hypervisor({ pcpus: 2, hostMemoryMiB: 64 });
    const console = new BufferConsole();
    const d = restoreDomain(hv2, decodeDomainImage(toBytes(encodeDomainImage(state, "test"))).state, {
      console,
    });
    assert.equal(hv2.runSync({ maxInsns: MAX_INSNS }).kind, "poweroff");
    assert.equal(d.end?.code, 0);
    // Two vCPUs interleave by the scheduler's decisions, which a new host makes afresh: the results are
    // the same, the instruction counts need not be.
    assert.deepEqual(
      testResultLines(g.console.text() + console.text()),
      testResultLines(whole.console.text()),
    );
  });

  it("restores two-vCPU and device-driven guests saved at every eighth of their run: the same output", () => {
    const input = "first line\nsecond\nquit\n";
    const programs = [
      { program: "sbi-harts", vcpus: 2, input: "" }, // HSM start/stop, IPIs, remote fences
      { program: "uart-irq", vcpus: 1, input }, // the virtual UART's receive interrupts through the PLIC
    ];
    for (const mode of ["trap", "bt", "hvm"] as const)
      for (const { program, vcpus, input: text } of programs) {
        const start = (console: ConsoleBackend) => {
          const hv = new Hypervisor({ pcpus: 2, hostMemoryMiB: 48 });
          const kernel = guestProgramElf(program);
          return { hv, d: hv.createDomain({ mode, kernel, vcpus, memoryMiB: 8, console }) };
        };
        const whole = new CountingConsole(text);
        const ref = start(whole);
        assert.equal(ref.hv.runSync({ maxInsns: 50_000_000 }).kind, "poweroff");
        const total = ref.hv.machine.retired;
        for (let k = 1; k < 8; k++) {
          const what = `${mode} ${program} saved at ${k}/8`;
          const first = new CountingConsole(text);
          const { hv, d } = start(first);
          hv.runSync({ maxInsns: Math.floor((total * k) / 8) });
          assert.ok(d.alive, what);
          const image = decodeDomainImage(toBytes(encodeDomainImage(saveDomain(hv, d.id), "test")));
          const hv2 = new Hypervisor({ pcpus: 2, hostMemoryMiB: 40 });
          const rest = new CountingConsole(text.slice(first.taken));
          const d2 = restoreDomain(hv2, image.state, { console: rest });
          assert.equal(hv2.runSync({ maxInsns: 50_000_000 }).kind, "poweroff", what);
          assert.equal(d2.end?.code, 0, what);
          assert.equal(first.buffer.text() + rest.buffer.text(), whole.buffer.text(), what);
        }
      }
  });

  it("bt: a restored domain saved again and restored on a third hypervisor still finishes exactly", () => {
    const full = uninterrupted("bt");
    let hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 64 });
    const [g] = boot(hv, [{ mode: "bt", memoryMiB: 32, name: "hop" }]);
    hv.runSync({ maxInsns: Math.floor(full.retired / 3) });
    let text = g.console.text();
    let d = g.domain;
    for (const [hop, until] of [
      [1, (2 * full.retired) / 3],
      [2, MAX_INSNS],
    ] as const) {
      const image = decodeDomainImage(toBytes(encodeDomainImage(saveDomain(hv, d.id), "test")));
      hv.destroyDomain(d.id);
      // Each host's clock starts again from 0: the domain's time offset carries its own time across.
      hv = new Hypervisor({ pcpus: hop, hostMemoryMiB: 64 + 32 * hop });
      const console = new BufferConsole();
      d = restoreDomain(hv, image.state, { console });
      assert.ok(d.timeOffset > 0);
      hv.runSync({ maxInsns: Math.floor(until - d.retired + hv.machine.retired) });
      text += console.text();
    }
    assert.equal(d.end?.reason, "poweroff");
    assert.ok((d.exits.get("time") ?? 0) > 0, "reads of the offset clock trapped");
    assert.equal(text, full.text);
    assert.equal(d.retired, full.retired);
  });

  it("hvm: a checkpoint leaves the domain paused to go on; its image, restored paused, runs when unpaused", () => {
    const full = uninterrupted("hvm");
    const hv = new Hypervisor({ pcpus: 2, hostMemoryMiB: 64 });
    const [g] = boot(hv, [{ mode: "hvm", memoryMiB: 32, name: "cp" }]);
    hv.runSync({ maxInsns: Math.floor(full.retired / 2) });
    const before = g.console.text();
    const bytes = toBytes(encodeDomainImage(saveDomain(hv, g.domain.id), "test"));

    hv.unpauseDomain(g.domain.id);
    assert.equal(hv.runSync({ maxInsns: MAX_INSNS }).kind, "poweroff");
    assert.equal(g.console.text(), full.text, "the checkpointed domain went on as if nothing happened");

    const hv2 = new Hypervisor({ pcpus: 1, hostMemoryMiB: 48 });
    const console = new BufferConsole();
    const d = restoreDomain(hv2, decodeDomainImage(bytes).state, { console, paused: true });
    assert.equal(d.state, "paused");
    assert.ok(d.vcpus.every((v) => v.blocked && v.pcpu === null));
    hv2.unpauseDomain(d.id);
    assert.equal(hv2.runSync({ maxInsns: MAX_INSNS }).kind, "poweroff");
    assert.equal(before + console.text(), full.text);
  });

  it("keeps the scheduler parameters, and refuses a restore that cannot fit without changing the host", () => {
    const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 64 });
    const d = hv.createDomain({
      mode: "pv",
      kernel: kernelFor("pv"),
      name: "w",
      memoryMiB: 16,
      weight: 512,
      cap: 50,
    });
    const state = saveDomain(hv, d.id);
    assert.deepEqual([state.domain.weight, state.domain.cap], [512, 50]);

    // A domain with a virtio device that cannot save its state: refused before it is even paused.
    const hvc = hv.createDomain({
      mode: "trap",
      kernel: kernelFor("trap"),
      name: "hvc",
      memoryMiB: 8,
      virtioConsole: new BufferConsole(),
    });
    const opaque: VirtioDevice = {
      deviceId: 42,
      name: "virtio-opaque",
      features: 0n,
      queueSizes: [8],
      readConfig: () => 0,
      writeConfig: () => {},
      activate: () => {},
      notify: () => {},
      reset: () => {},
    };
    hvc.devices?.addVirtio(opaque, hvc.mem);
    assert.throws(
      () => saveDomain(hv, hvc.id),
      (e) =>
        e instanceof DomainConfigError &&
        /^domain \d+ \(hvc\) has virtio devices whose state cannot be saved \(virtio1 \(virtio-opaque\)\)$/.test(
          e.message,
        ),
    );
    assert.equal(hvc.state, "running");
    hv.destroyDomain(hvc.id);

    // The name is taken while the original lives.
    const free = hv.allocator.freeCount;
    assert.throws(
      () => restoreDomain(hv, state),
      (e) => e instanceof DomainConfigError && /named w already exists/.test(e.message),
    );
    assert.equal(hv.allocator.freeCount, free);
    assert.equal(hv.domains.size, 1);

    // Too little memory on the other host.
    const small = new Hypervisor({ pcpus: 1, hostMemoryMiB: 16 });
    const smallFree = small.allocator.freeCount;
    assert.throws(
      () => restoreDomain(small, state),
      (e) => (e as Error).name === "OutOfFramesError",
    );
    assert.equal(small.allocator.freeCount, smallFree);
    assert.equal(small.domains.size, 0);

    const big = new Hypervisor({ pcpus: 1, hostMemoryMiB: 32 });
    const r = restoreDomain(big, state, { paused: true });
    const params = big.scheduler.stats(big.nowNs).domains.find((x) => x.dom === r.id);
    assert.deepEqual([params?.weight, params?.cap], [512, 50]);
  });
});
