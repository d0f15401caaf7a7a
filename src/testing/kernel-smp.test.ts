/**
 * The guest kernel on several harts without a hypervisor: on rvisor's board behind its SBI firmware, and
 * on QEMU behind our boot shim. Several harts interleave differently on the two machines (and from run
 * to run on QEMU, whose harts are host threads), so these tests check facts — the suite passes, a CPU
 * taken offline is stopped in the firmware and runs nothing, the work is done right — never whole
 * outputs. One hart is kernel.test.ts's business: there both machines print the same bytes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { boot } from "../machine/boot.js";
import { BufferConsole } from "../machine/devices/console.js";
import { readElfFile } from "../machine/elf.js";
import { sbiFirmware } from "../machine/firmware/sbi.js";
import { Machine } from "../machine/machine.js";
import { qemuAvailable, shimElf } from "./guest-build.js";
import {
  FORKJOIN_SESSION,
  FORKJOIN_SPLIT_MAX,
  forkjoinTimes,
  kernelAutotestElf,
  kernelElf,
  testSummary,
} from "./kernel.js";
import { runQemu } from "./qemu.js";
import { runRvisor } from "./rvisor.js";

const noQemu = !qemuAvailable() && "qemu-system-riscv32 is not installed";
const MAX_INSNS = 400_000_000;
const QEMU_TIMEOUT_MS = 60_000;
/** The suite with more than one CPU: the 15 tests of one CPU and `smp`. */
const SMP_SUITE = { passed: 16, failed: 0, failures: [] };

/** Takes CPU 1 offline, runs work, brings it back: what `cpus` and the programs print is checked. */
const SESSION = [
  "online 1 0",
  "cpus",
  "run cpu 8000 -q",
  "run forks 4",
  "online 1 1",
  "cpus",
  "run forks 4",
  "shutdown",
  "",
].join("\n");

function checkSession(out: string): void {
  const [before, after] = out.split("$ online 1 1\n");
  assert.ok(after !== undefined, out);
  assert.match(before, /^\s+1\s+offline\s+stopped\s+\d+\s+-$/m, "cpu 1 offline, its hart stopped");
  assert.match(before, /^\[cpu: pid \d+ exited with status 1007\]$/m);
  assert.match(before, /^forks: 4 forked and 4 spawned children exited as expected$/m);
  assert.match(after, /^\s+1\s+online\s+started\s+\d+\s+(idle|\S+ \(pid \d+\))$/m, "cpu 1 back");
  assert.match(after, /^forks: 4 forked and 4 spawned children exited as expected$/m);
  assert.match(out, /\$ shutdown\nshutting down\n$/);
}

describe("the guest kernel on several harts of the bare board", () => {
  for (const harts of [2, 4]) {
    it(`passes its whole suite, smp test included, on ${harts} harts`, async () => {
      const r = await runRvisor(kernelAutotestElf(), { firmware: "sbi", harts, maxInsns: MAX_INSNS });
      assert.match(r.stdout, new RegExp(`^smp: ${harts} of ${harts} CPUs online$`, "m"));
      assert.deepEqual(testSummary(r.stdout), SMP_SUITE, r.stdout);
      assert.equal(r.exitCode, 0);
    });
  }

  it("stops a hart the kernel takes offline (SBI HSM), which then runs nothing while the others work", () => {
    const console = new BufferConsole();
    const m = new Machine({ harts: 2, console, onIdle: "exit" });
    boot(m, readElfFile(kernelElf()), { firmware: sbiFirmware });
    const runUntil = (text: string, from: number): void => {
      const limit = m.retired + MAX_INSNS;
      while (console.text().indexOf(text, from) < 0) {
        if (m.exit?.kind === "limit") m.exit = undefined;
        const exit = m.runSync({ maxInsns: Math.min(limit, m.retired + 500_000) });
        if (exit.kind !== "limit" || m.retired >= limit) assert.fail(`${exit.message}\n${console.text()}`);
      }
    };
    const type = (line: string): void => {
      const from = console.text().length;
      console.feed(`${line}\n`);
      runUntil("\n$ ", from + line.length);
    };
    const hart1 = m.harts[1];
    runUntil("type help for the commands\n$ ", 0);
    assert.equal(hart1.stopped, false);
    type("online 1 0");
    assert.equal(hart1.stopped, true, "hart_stop reached the firmware");
    const retired = hart1.retired;
    type("run forks 4");
    type("run cpu 8000 -q");
    assert.equal(hart1.retired, retired, "a stopped hart runs no instruction");
    type("online 1 1");
    assert.equal(hart1.stopped, false);
    type("run forks 4");
    assert.ok(hart1.retired > retired, "the hart runs again");
    assert.match(console.text(), /^\[cpu: pid \d+ exited with status 1007\]$/m);
    assert.equal(console.text().match(/exited as expected/g)?.length, 2);
  });

  it("answers a session that takes CPU 1 offline and back", async () => {
    const r = await runRvisor(kernelElf(), {
      firmware: "sbi",
      harts: 2,
      stdin: SESSION,
      maxInsns: MAX_INSNS,
    });
    checkSession(r.stdout);
    assert.equal(r.exitCode, 0);
  });

  it("wakes an idle CPU with an IPI when work appears for it, not at its next tick", async () => {
    const r = await runRvisor(kernelElf(), {
      firmware: "sbi",
      harts: 2,
      stdin: FORKJOIN_SESSION,
      maxInsns: MAX_INSNS,
    });
    const t = forkjoinTimes(r.stdout);
    assert.ok(t !== undefined && !t.wrong, r.stdout);
    assert.ok(t.splitMs < t.aloneMs * FORKJOIN_SPLIT_MAX, `split ${t.splitMs} ms, alone ${t.aloneMs} ms`);
    assert.equal(r.exitCode, 0);
  });
});

describe("the guest kernel on several harts of QEMU", () => {
  it("passes its whole suite, smp test included, on 2 and 4 harts", { skip: noQemu }, async () => {
    for (const harts of [2, 4]) {
      const r = await runQemu(kernelAutotestElf(), { bios: shimElf, harts, timeoutMs: QEMU_TIMEOUT_MS });
      assert.match(r.stdout, new RegExp(`^smp: ${harts} of ${harts} CPUs online$`, "m"));
      assert.deepEqual(testSummary(r.stdout), SMP_SUITE, r.stdout);
      assert.equal(r.exitCode, 0);
    }
  });

  it("answers the same session as rvisor's board, in facts", { skip: noQemu }, async () => {
    const r = await runQemu(kernelElf(), {
      bios: shimElf,
      harts: 2,
      stdin: SESSION,
      timeoutMs: QEMU_TIMEOUT_MS,
    });
    checkSession(r.stdout);
    assert.equal(r.exitCode, 0);
  });

  it("runs the fork-join workload right, its IPIs through the boot shim (times are QEMU's own)", {
    skip: noQemu,
  }, async () => {
    const r = await runQemu(kernelElf(), {
      bios: shimElf,
      harts: 2,
      stdin: FORKJOIN_SESSION,
      timeoutMs: QEMU_TIMEOUT_MS,
    });
    const t = forkjoinTimes(r.stdout);
    assert.ok(t !== undefined && !t.wrong, r.stdout);
    assert.equal(r.exitCode, 0);
  });
});
