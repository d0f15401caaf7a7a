/**
 * Mode `hvm`: the unmodified guest kernel in VS-mode on the emulated H extension, its memory behind
 * G-stage tables the hypervisor fills from the P2M on guest-page faults. The whole suite on both engines,
 * alongside trap and pv domains on two pCPUs, the SDK's S-mode SBI programs (HSM, IPIs, remote fences,
 * the virtual PLIC/UART), and the exits that tell hvm from trap: none for CSRs, sret or sfence.vma.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BufferConsole } from "../machine/devices/console.js";
import { guestProgramElf } from "../testing/guest-build.js";
import { kernelAutotestElf, testResultLines } from "../testing/kernel.js";
import { runRvisor } from "../testing/rvisor.js";
import { GPF_AROUND } from "./dispatcher.js";
import type { Domain, DomainMode } from "./domain.js";
import { DomainConfigError, Hypervisor } from "./hypervisor.js";
import { ALL_PASS, boot, ENGINES, MAX_INSNS } from "./testing/kernel-domains.js";

const exitsText = (d: Domain): string =>
  `${[...d.exits].map(([k, n]) => `${k}=${n}`).join(" ")} (total ${d.totalExits})`;

describe("mode hvm: the guest kernel in VS-mode with G-stage translation", () => {
  for (const [engineName, engine] of ENGINES) {
    it(`passes its whole suite on the ${engineName} engine with the trap-mode result lines, exiting only for G-stage fills, SBI, timers and wfi`, (t) => {
      const run = (mode: DomainMode) => {
        const hv = new Hypervisor({ pcpus: 1, engine, hostMemoryMiB: 64 });
        const [g] = boot(hv, [{ mode, memoryMiB: 32 }]);
        const exit = hv.runSync({ maxInsns: MAX_INSNS });
        assert.equal(exit.kind, "poweroff", `${mode}: ${exit.message}`);
        assert.deepEqual(g.domain.end, { state: "shutdown", code: 0, reason: "poweroff" }, g.console.text());
        return g;
      };
      const trap = run("trap");
      const hvm = run("hvm");
      const lines = testResultLines(hvm.console.text());
      assert.equal(lines.at(-1), ALL_PASS, hvm.console.text());
      assert.deepEqual(lines, testResultLines(trap.console.text()));
      t.diagnostic(`hvm exits: ${exitsText(hvm.domain)}`);
      t.diagnostic(`trap exits: ${exitsText(trap.domain)}`);
      const e = hvm.domain.exits;
      for (const cause of ["csr", "sret", "sfence.vma", "shadow-fill", "syscall", "guest-fault"])
        assert.equal(e.get(cause), undefined, `hvm never exits for ${cause}`);
      for (const cause of ["gpf", "sbi:TIME", "sbi:DBCN", "timer", "wfi"])
        assert.ok((e.get(cause) ?? 0) > 0, `hvm exits for ${cause}`);
      // The user-mode CSR and sret probes of the fault test trap to HS as virtual instructions and are
      // reflected as the illegal instructions the kernel expects.
      assert.equal(e.get("virtual-insn"), 2);
      // The same SBI calls, timer interrupts and idle waits as trap mode.
      for (const cause of ["sbi:TIME", "sbi:DBCN", "wfi"])
        assert.equal(e.get(cause), trap.domain.exits.get(cause));
      // One G-stage fill per group of pages touched, at most once each (nothing unmaps them).
      const gpf = e.get("gpf") ?? 0;
      assert.ok(gpf <= (32 * 1024) / 4 / GPF_AROUND, `${gpf} fills`);
      assert.equal(hvm.domain.gstage?.leaves, gpf * GPF_AROUND);
      // What is left of the trap-mode exits without the page fills: hvm takes none of them.
      const trapWithoutFills = trap.domain.totalExits - (trap.domain.exits.get("shadow-fill") ?? 0);
      const hvmWithoutFills = hvm.domain.totalExits - gpf;
      assert.ok(hvmWithoutFills * 50 < trapWithoutFills, `${hvmWithoutFills} vs ${trapWithoutFills}`);
      assert.ok(hvm.domain.totalExits * 10 < trap.domain.totalExits, "hvm takes far fewer exits than trap");
      // The guest ran the same program: the retired counts differ only by the emulated instructions.
      assert.ok(hvm.domain.retired > 10_000_000);
    });
  }

  it("runs the SDK's S-mode SBI programs in hvm: two vCPUs with HSM start/stop, IPIs and remote fences", () => {
    for (const program of ["sbi-hello", "sbi-harts"]) {
      const hv = new Hypervisor({ pcpus: 2, hostMemoryMiB: 48 });
      const console = new BufferConsole();
      const d = hv.createDomain({
        mode: "hvm",
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

  it("gives an hvm domain the virtual PLIC and UART: MMIO on guest-page faults, external interrupts through hvip", async () => {
    const input = "first line\nsecond\nquit\n";
    const native = await runRvisor(guestProgramElf("uart-irq"), { firmware: "sbi", stdin: input });
    assert.equal(native.exitCode, 0, native.stdout);
    const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 32 });
    const console = new BufferConsole(input);
    const d = hv.createDomain({ mode: "hvm", kernel: guestProgramElf("uart-irq"), memoryMiB: 8, console });
    const exit = hv.runSync({ maxInsns: 50_000_000 });
    assert.equal(exit.kind, "poweroff", exit.message);
    assert.equal(console.text(), native.stdout);
    assert.ok((d.exits.get("mmio") ?? 0) > 10);
  });

  it("refuses an hvm domain when every G-stage root is in use, taking nothing", () => {
    const hv = new Hypervisor({ pcpus: 1, hostMemoryMiB: 64, hvmDomains: 1 });
    hv.createDomain({ mode: "hvm", kernel: kernelAutotestElf(), memoryMiB: 8 });
    const free = hv.allocator.freeCount;
    assert.throws(
      () => hv.createDomain({ mode: "hvm", kernel: kernelAutotestElf(), memoryMiB: 8, name: "second" }),
      DomainConfigError,
    );
    assert.equal(hv.allocator.freeCount, free);
    hv.createDomain({ mode: "trap", kernel: kernelAutotestElf(), memoryMiB: 8, name: "third" });
  });
});
