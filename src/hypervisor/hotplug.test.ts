/**
 * The guest kernel on several vCPUs in every mode, and CPU hotplug through SBI HSM: the kernel brings a
 * CPU offline with hart_stop and back with hart_start, the hypervisor then holds that vCPU stopped, and
 * the scheduler books it no time while it is — with the work it did not run done correctly elsewhere.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BufferConsole } from "../machine/devices/console.js";
import { kernelElf, kernelPvElf, testResultLines } from "../testing/kernel.js";
import type { Domain, DomainMode } from "./domain.js";
import { Hypervisor } from "./hypervisor.js";
import { schedStats } from "./sched-control.js";
import { ALL_PASS_SMP, boot, MAX_INSNS } from "./testing/kernel-domains.js";

/** Each mode with a vCPU count (2–4) and a pCPU count, so over- and under-commit are both covered. */
const SUITES: { mode: DomainMode; vcpus: number; pcpus: number }[] = [
  { mode: "trap", vcpus: 2, pcpus: 2 },
  { mode: "bt", vcpus: 3, pcpus: 2 },
  { mode: "pv", vcpus: 4, pcpus: 2 },
  { mode: "hvm", vcpus: 2, pcpus: 1 },
];

describe("the guest kernel on several vCPUs", () => {
  for (const { mode, vcpus, pcpus } of SUITES) {
    it(`passes its whole suite, smp test included, in ${mode} mode on ${vcpus} vCPUs and ${pcpus} pCPU${pcpus > 1 ? "s" : ""}`, () => {
      const hv = new Hypervisor({ pcpus, hostMemoryMiB: 64 });
      const [g] = boot(hv, [{ mode, memoryMiB: 32, vcpus }]);
      const exit = hv.runSync({ maxInsns: MAX_INSNS });
      const out = g.console.text();
      assert.equal(exit.kind, "poweroff", `${exit.message}\n${out}`);
      assert.deepEqual(g.domain.end, { state: "shutdown", code: 0, reason: "poweroff" }, out);
      assert.match(out, new RegExp(`^smp: ${vcpus} of ${vcpus} CPUs online$`, "m"));
      assert.ok(testResultLines(out).includes("PASS smp"), out);
      assert.equal(testResultLines(out).at(-1), ALL_PASS_SMP, out);
      // Every vCPU ran guest code: the kernel started each of them through HSM.
      for (const v of schedStats(hv).domains[0].vcpus)
        assert.ok(v.cpuTimeNs > 0, `vCPU ${v.index} never ran`);
    });
  }
});

/** A shell session on a live domain: type a line, run until the output shows what the test waits for. */
class Session {
  private readonly console = new BufferConsole();
  readonly hv: Hypervisor;
  readonly domain: Domain;

  constructor(mode: DomainMode) {
    this.hv = new Hypervisor({ pcpus: 2, hostMemoryMiB: 64 });
    const kernel = mode === "pv" ? kernelPvElf() : kernelElf();
    this.domain = this.hv.createDomain({ mode, kernel, memoryMiB: 32, vcpus: 2, console: this.console });
  }

  get output(): string {
    return this.console.text();
  }

  /** Types `line`; returns what the guest printed until its next prompt. */
  type(line: string): string {
    const from = this.output.length;
    this.console.feed(`${line}\n`);
    return this.until((out) => out.indexOf("\n$ ", from + line.length) >= 0).slice(from);
  }

  /** Runs in steps until `done(output)`; fails on an end, or after MAX_INSNS more instructions. */
  until(done: (out: string) => boolean): string {
    const m = this.hv.machine;
    const limit = m.retired + MAX_INSNS;
    while (!done(this.output)) {
      if (m.exit?.kind === "limit") m.exit = undefined;
      const exit = this.hv.runSync({ maxInsns: Math.min(limit, m.retired + 500_000) });
      if (exit.kind !== "limit" || m.retired >= limit)
        assert.fail(`the run ended (${exit.kind}: ${exit.message}) before it was done:\n${this.output}`);
    }
    return this.output;
  }

  /** Powers off through the shell; the domain must end cleanly. */
  shutdown(): void {
    this.console.feed("shutdown\n");
    const m = this.hv.machine;
    if (m.exit?.kind === "limit") m.exit = undefined;
    const exit = this.hv.runSync({ maxInsns: m.retired + MAX_INSNS });
    assert.equal(exit.kind, "poweroff", `${exit.message}\n${this.output}`);
    assert.deepEqual(this.domain.end, { state: "shutdown", code: 0, reason: "poweroff" });
  }

  /** The scheduler's view of this domain's vCPU `index`. */
  vcpuStats(index: number) {
    const d = schedStats(this.hv).domains.find((x) => x.id === this.domain.id);
    const v = d?.vcpus.find((x) => x.index === index);
    assert.ok(v !== undefined);
    return v;
  }
}

describe("CPU hotplug through SBI HSM", () => {
  for (const mode of ["trap", "bt", "pv", "hvm"] as const) {
    it(`stops the vCPU and books it no time while the kernel has its CPU offline (${mode})`, () => {
      const s = new Session(mode);
      s.until((out) => out.includes("type help for the commands\n$ "));
      const v1 = s.domain.vcpus[1];
      assert.equal(v1.power, "started");

      assert.equal(s.type("online 1 0"), "online 1 0\n$ ");
      assert.match(s.type("cpus"), /^\s+1\s+offline\s+stopped\s+\d+\s+-$/m);
      assert.equal(v1.power, "stopped", "HSM: the vCPU is stopped in the hypervisor");
      assert.equal(v1.pcpu, null);
      assert.equal(s.vcpuStats(1).state, "blocked");
      const offlineTime = s.vcpuStats(1).cpuTimeNs;
      const busyBefore = s.vcpuStats(0).cpuTimeNs;

      // A workload of several processes, all on CPU 0 now, with the right answers.
      const forks = s.type("run forks 6");
      assert.match(forks, /^forks: 6 forked and 6 spawned children exited as expected$/m);
      assert.match(s.type("run cpu 8000"), /^\[cpu: pid \d+ exited with status 1007\]$/m);
      assert.ok(s.vcpuStats(0).cpuTimeNs > busyBefore + 5e6, "vCPU 0 ran the workload");
      assert.equal(s.vcpuStats(1).cpuTimeNs, offlineTime, "no CPU time for a stopped vCPU");
      assert.equal(v1.power, "stopped");

      assert.equal(s.type("online 1 1"), "online 1 1\n$ ");
      assert.equal(v1.power, "started");
      assert.match(s.type("cpus"), /^\s+1\s+online\s+started\s+\d+\s+(idle|\S+ \(pid \d+\))$/m);
      assert.match(s.type("run forks 6"), /exited as expected$/m);
      assert.ok(s.vcpuStats(1).cpuTimeNs > offlineTime, "the vCPU runs again once online");

      s.shutdown();
    });
  }
});
