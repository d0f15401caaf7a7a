/**
 * The hypervisor end to end: the guest kernel's whole test suite in every mode (native on the bare board,
 * trap with the unmodified kernel, pv with the PARAVIRT build) on both engines, several domains at once on
 * two pCPUs, and the exit counts that tell the modes apart.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BufferConsole } from "../machine/devices/console.js";
import { run as interpret } from "../machine/interpreter.js";
import type { Engine } from "../machine/machine.js";
import { guestProgramElf } from "../testing/guest-build.js";
import { kernelAutotestElf, kernelElf, kernelPvElf, testResultLines } from "../testing/kernel.js";
import { runRvisor } from "../testing/rvisor.js";
import type { DomainMode } from "./domain.js";
import { Hypervisor } from "./hypervisor.js";
import { ALL_PASS, boot, ENGINES, MAX_INSNS } from "./testing/kernel-domains.js";

describe("the guest kernel under the hypervisor", () => {
  for (const [engineName, engine] of ENGINES) {
    it(`passes its whole suite natively, in trap mode and in pv mode on the ${engineName} engine, with the same result lines`, async () => {
      const native = await runRvisor(kernelAutotestElf(), {
        firmware: "sbi",
        engine: engineName as "dbt" | "interp",
        maxInsns: MAX_INSNS,
      });
      assert.equal(native.exitCode, 0, native.stdout);
      const expected = testResultLines(native.stdout);
      assert.equal(expected.at(-1), ALL_PASS);
      for (const mode of ["trap", "pv"] as const) {
        const hv = new Hypervisor({ pcpus: 1, engine, hostMemoryMiB: 64 });
        const [g] = boot(hv, [{ mode, memoryMiB: 32 }]);
        const exit = hv.runSync({ maxInsns: MAX_INSNS });
        assert.equal(exit.kind, "poweroff", `${mode}: ${exit.message}`);
        assert.deepEqual(g.domain.end, { state: "shutdown", code: 0, reason: "poweroff" });
        assert.deepEqual(testResultLines(g.console.text()), expected, `${mode}:\n${g.console.text()}`);
      }
    });
  }

  it("runs trap, bt, pv and hvm domains at once on two pCPUs, each with its own correct output", () => {
    const hv = new Hypervisor({ pcpus: 2, hostMemoryMiB: 160 });
    const guests = boot(hv, [
      { mode: "trap", memoryMiB: 16, name: "t16" },
      { mode: "bt", memoryMiB: 20, name: "b20" },
      { mode: "pv", memoryMiB: 24, name: "p24" },
      { mode: "hvm", memoryMiB: 32, name: "h32" },
    ]);
    const exit = hv.runSync({ maxInsns: 4 * MAX_INSNS });
    assert.equal(exit.kind, "poweroff", exit.message);
    assert.equal(exit.code, 0);
    for (const { domain, console } of guests) {
      const out = console.text();
      const mib = Number(domain.name.slice(1));
      // Each console holds exactly its own domain's boot line and suite, nobody else's.
      assert.match(
        out,
        new RegExp(`^rvisor guest kernel on hart 0: ${mib} MiB RAM at 80000000`),
        domain.name,
      );
      assert.equal(out.match(/guest kernel on hart/g)?.length, 1, domain.name);
      assert.equal(testResultLines(out).at(-1), ALL_PASS, `${domain.name}:\n${out}`);
      assert.equal(domain.end?.code, 0);
      assert.ok(domain.retired > 10_000_000, `${domain.name} retired ${domain.retired}`);
      if (domain.mode === "hvm") assert.equal(domain.exits.get("csr"), undefined);
    }
    const pcpus = hv.scheduler.stats(hv.nowNs).pcpus;
    assert.ok(
      pcpus.every((p) => p.busyNs > 0),
      `both pCPUs ran guests: ${JSON.stringify(pcpus)}`,
    );
    // Every G-stage table went back when its domain was destroyed; the roots are free again.
    for (const { domain } of guests) hv.destroyDomain(domain.id);
    assert.equal(hv.gstageRoots.available, 8);
    assert.equal(hv.allocator.countOf("hypervisor") - hv.allocator.reservedFrames, hv.pool.held);
  });

  it("retires the same instructions and takes the same exits on every run (icount) and on both engines", () => {
    const runOnce = (engine: Engine | undefined) => {
      const hv = new Hypervisor({ pcpus: 2, engine, hostMemoryMiB: 96 });
      const guests = boot(hv, [{ mode: "trap" }, { mode: "pv" }]);
      hv.runSync({ maxInsns: 2 * MAX_INSNS });
      return guests.map((g) => ({ retired: g.domain.retired, exits: Object.fromEntries(g.domain.exits) }));
    };
    const a = runOnce(undefined);
    assert.deepEqual(runOnce(undefined), a);
    assert.deepEqual(runOnce(interpret), a);
  });

  it("exits for CSR accesses, sret and sfence.vma in trap mode only; pv does the same work through hypercalls", () => {
    const hv = new Hypervisor({ pcpus: 2, hostMemoryMiB: 96 });
    const [trap, pv] = boot(hv, [{ mode: "trap" }, { mode: "pv" }]);
    hv.runSync({ maxInsns: 2 * MAX_INSNS });
    const t = trap.domain.exits;
    const p = pv.domain.exits;
    for (const cause of ["csr", "sret", "sfence.vma", "wfi"]) {
      assert.ok((t.get(cause) ?? 0) > 0, `trap mode exits for ${cause}`);
      assert.equal(p.get(cause), undefined, `pv mode never exits for ${cause}`);
    }
    // The page-table calls mostly travel in multicalls, with the IRET or BLOCK they precede.
    const calls = pv.domain.pv?.calls ?? new Map<string, number>();
    for (const call of ["MMU_UPDATE", "PIN_TABLE", "UNPIN_TABLE", "SET_BASEPTR", "IRET", "BLOCK"])
      assert.ok((calls.get(call) ?? 0) > 0, `pv mode calls ${call}`);
    assert.ok((p.get("pv:MULTICALL") ?? 0) > 0, "in multicalls");
    // Both deliver the same system calls and guest faults to their kernels.
    assert.equal(t.get("syscall"), p.get("syscall"));
    assert.equal(t.get("guest-fault"), p.get("guest-fault"));
    // Every return from a trap is an sret exit in one mode and an IRET in the other, alone or ending a
    // multicall: one exit either way (the PV kernel's first entry to user mode is one IRET more).
    const srets = t.get("sret") ?? 0;
    const irets = calls.get("IRET") ?? 0;
    assert.ok(srets > 1000 && Math.abs(srets - irets) <= 2, `${srets} vs ${irets}`);
    assert.ok((p.get("pv:IRET") ?? 0) + (p.get("pv:MULTICALL") ?? 0) >= irets, "no IRET without an exit");
    assert.ok(trap.domain.totalExits > pv.domain.totalExits, "pv takes fewer exits");
  });

  it("runs the SDK's S-mode SBI programs as trap domains: two vCPUs with HSM start/stop, IPIs and remote fences", () => {
    for (const program of ["sbi-hello", "sbi-harts"]) {
      const hv = new Hypervisor({ pcpus: 2, hostMemoryMiB: 48 });
      const console = new BufferConsole();
      const d = hv.createDomain({
        mode: "trap",
        kernel: guestProgramElf(program),
        vcpus: 2,
        memoryMiB: 16,
        console,
      });
      const exit = hv.runSync({ maxInsns: 50_000_000 });
      assert.equal(exit.kind, "poweroff", exit.message);
      assert.deepEqual(d.end, { state: "shutdown", code: 0, reason: "poweroff" }, console.text());
      assert.match(console.text(), /PASS/);
    }
  });

  it("crashes a pv domain whose kernel is not paravirtualized, saying why", () => {
    const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 48 });
    const d = hv.createDomain({ mode: "pv", kernel: kernelAutotestElf(), memoryMiB: 16 });
    const exit = hv.runSync({ maxInsns: 10_000_000 });
    assert.equal(exit.code, 1);
    assert.equal(d.state, "crashed");
    assert.match(
      d.end?.reason ?? "",
      /^vCPU 0: trap cause 2 at 0x[0-9a-f]+ before a PV trap handler and shared page were registered$/,
    );
  });

  it("gives a trap domain a virtual PLIC and UART: receive interrupts, claim/complete, output as on the board", async () => {
    const input = "first line\nsecond\nquit\n";
    const native = await runRvisor(guestProgramElf("uart-irq"), { firmware: "sbi", stdin: input });
    assert.equal(native.exitCode, 0, native.stdout);
    const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 32 });
    const console = new BufferConsole(input);
    const d = hv.createDomain({ mode: "trap", kernel: guestProgramElf("uart-irq"), memoryMiB: 8, console });
    const exit = hv.runSync({ maxInsns: 50_000_000 });
    assert.equal(exit.kind, "poweroff", exit.message);
    assert.equal(console.text(), native.stdout);
    assert.match(console.text(), /^FIRST LINE\nSECOND\nuart-irq: 2 lines, interrupts taken: yes/m);
    assert.ok((d.exits.get("mmio") ?? 0) > 10, "device registers are reached through MMIO exits");
  });

  it("passes its whole suite in bt mode on both engines, with no exit for CSR operations, sret or sfence.vma", () => {
    for (const [, engine] of ENGINES) {
      const hv = new Hypervisor({ pcpus: 1, engine, hostMemoryMiB: 64 });
      const [g] = boot(hv, [{ mode: "bt", memoryMiB: 32 }]);
      hv.runSync({ maxInsns: MAX_INSNS });
      assert.equal(testResultLines(g.console.text()).at(-1), ALL_PASS, g.console.text());
      for (const cause of ["csr", "sret", "sfence.vma"])
        assert.equal(g.domain.exits.get(cause), undefined, cause);
      assert.ok((g.domain.calls.get("bt:csr") ?? 0) > 1000, "CSR operations went to the monitor directly");
      assert.ok((g.domain.calls.get("bt:sret") ?? 0) > 1000);
    }
  });

  it("shows Popek and Goldberg's condition: with a sensitive read that does not trap, trap mode fails and bt and pv do not", () => {
    const run = (mode: DomainMode) => {
      const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 64, quirks: ["sensitive-unprivileged"] });
      const [g] = boot(hv, [{ mode, memoryMiB: 32 }]);
      hv.runSync({ maxInsns: MAX_INSNS });
      return g;
    };
    // The trap vector saves sstatus with a plain csrr, which now returns the host's U-mode sstatus: the
    // kernel takes its own probe fault for a user one, and then kills the shell or, taking the big
    // kernel lock it already holds as on a trap from user mode, panics.
    const trap = run("trap");
    assert.notEqual(trap.domain.end?.code, 0);
    assert.doesNotMatch(trap.console.text(), new RegExp(ALL_PASS));
    assert.match(trap.console.text(), /killed: load page fault|FAIL sum|holds the lock already/);
    for (const mode of ["bt", "pv"] as const) {
      const g = run(mode);
      assert.equal(testResultLines(g.console.text()).at(-1), ALL_PASS, `${mode}:\n${g.console.text()}`);
      assert.equal(g.domain.end?.code, 0);
    }
  });

  it("answers a scripted shell session in every mode exactly as natively (pv: its own page counts)", async () => {
    const input = "ps\nrun hello\nrun cpu 2000\nmem\nshutdown\n";
    const native = await runRvisor(kernelElf(), { firmware: "sbi", stdin: input, memoryMiB: 32 });
    assert.equal(native.exitCode, 0, native.stdout);
    assert.match(native.stdout, /cpu: 303 primes below 2000/);
    const pages = (text: string) => text.replace(/\d+ free pages|pages: .*|kernel image \d+ KiB/g, "…");
    for (const mode of ["trap", "bt", "pv"] as const) {
      const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 64 });
      const console = new BufferConsole(input);
      const kernel = mode === "pv" ? kernelPvElf() : kernelElf();
      hv.createDomain({ mode, kernel, memoryMiB: 32, console });
      const exit = hv.runSync({ maxInsns: MAX_INSNS });
      assert.equal(exit.kind, "poweroff", `${mode}: ${exit.message}`);
      if (mode === "pv") assert.equal(pages(console.text()), pages(native.stdout), mode);
      else assert.equal(console.text(), native.stdout, mode);
    }
  });

  it("pauses a domain (its vCPUs stop running, the other domain goes on) and unpauses it to finish", () => {
    const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 96 });
    const [a, b] = boot(hv, [
      { mode: "trap", name: "a" },
      { mode: "pv", name: "b" },
    ]);
    hv.runSync({ maxInsns: 2_000_000 });
    hv.pauseDomain(a.domain.id);
    assert.equal(a.domain.state, "paused");
    assert.throws(() => hv.pauseDomain(a.domain.id), /domain 1 \(a\) is paused, not running/);
    const frozen = a.domain.retired;
    const bBefore = b.domain.retired;
    hv.machine.exit = undefined;
    hv.runSync({ maxInsns: hv.machine.retired + 5_000_000 });
    assert.equal(a.domain.retired, frozen, "a paused domain runs nothing");
    assert.ok(b.domain.retired > bBefore + 4_000_000, "the other domain had the pCPU");
    hv.unpauseDomain(a.domain.id);
    hv.machine.exit = undefined;
    const exit = hv.runSync({ maxInsns: 4 * MAX_INSNS });
    assert.equal(exit.kind, "poweroff", exit.message);
    for (const g of [a, b])
      assert.equal(testResultLines(g.console.text()).at(-1), ALL_PASS, g.console.text());
  });

  it("keeps a persistent host running with no domain, and starts a domain created while it runs", async () => {
    const hv = new Hypervisor({ pcpus: 2, hostMemoryMiB: 64, persistent: true, onIdle: "wait" });
    const ended: string[] = [];
    hv.onDomainEnd.push((d) => ended.push(`${d.name}: ${d.end?.reason}`));
    const running = hv.run();
    await new Promise((r) => setTimeout(r, 50));
    const console = new BufferConsole();
    hv.createDomain({ mode: "bt", kernel: kernelAutotestElf(), name: "late", memoryMiB: 32, console });
    const deadline = Date.now() + 60_000;
    while (ended.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(ended, ["late: poweroff"]);
    assert.equal(testResultLines(console.text()).at(-1), ALL_PASS);
    assert.equal(hv.machine.exit, undefined, "the host outlives its domains");
    hv.machine.requestExit({ kind: "poweroff", code: 0 });
    await running;
  });
});
