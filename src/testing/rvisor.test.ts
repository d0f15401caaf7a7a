import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildGuestVariant, guestProgramElf, qemuAvailable, shimElf } from "./guest-build.js";
import { runQemu } from "./qemu.js";
import { runRvisor } from "./rvisor.js";

const noQemu = !qemuAvailable() && "qemu-system-riscv32 is not installed";

describe("runRvisor", () => {
  it("prints hello's console output byte for byte as QEMU does, with the same exit code", {
    skip: noQemu,
  }, async () => {
    const elf = guestProgramElf("hello");
    const qemu = await runQemu(elf); // first: beside a busy rvisor, QEMU's UART drops output
    const ours = await runRvisor(elf);
    assert.equal(ours.stdout, qemu.stdout);
    assert.equal(ours.exitCode, qemu.exitCode);
    assert.equal(ours.exit.kind, "poweroff");
    assert.ok(ours.retired > 0);
  });

  it("runs an S-mode program on the SBI firmware as QEMU runs it on the boot shim", {
    skip: noQemu,
  }, async () => {
    const elf = guestProgramElf("sbi-hello");
    const qemu = await runQemu(elf, { bios: shimElf });
    const ours = await runRvisor(elf, { firmware: "sbi" });
    assert.equal(ours.stdout, qemu.stdout);
    assert.equal(ours.exitCode, 0);
    assert.equal(qemu.exitCode, 0);
  });

  it("reports a guest's failure exit code as QEMU does", { skip: noQemu }, async () => {
    // The seed checksum overridden to a wrong value: the program prints INVALID and exits 1.
    const elf = buildGuestVariant("coremark-lite", { SEED_CRC: "0x1234u", ITERATIONS: 1 });
    const qemu = await runQemu(elf); // first: beside a busy rvisor, QEMU's UART drops output
    const ours = await runRvisor(elf);
    assert.match(ours.stdout, /INVALID/);
    assert.equal(ours.exitCode, 1);
    assert.equal(ours.exitCode, qemu.exitCode);
    assert.equal(ours.stdout, qemu.stdout);
  });

  it("feeds the stdin option to the guest's console input", async () => {
    const r = await runRvisor(guestProgramElf("echo"), { stdin: "rvisor reads this\n" });
    assert.match(r.stdout, /^RVISOR READS THIS$/m);
    assert.equal(r.exitCode, 0);
  });

  it("stops at exactly maxInsns instructions with exit code 124", async () => {
    const r = await runRvisor(guestProgramElf("coremark-lite"), { maxInsns: 12_345 });
    assert.equal(r.exit.kind, "limit");
    assert.equal(r.exitCode, 124);
    assert.equal(r.retired, 12_345);
  });

  it("retires the same number of instructions on every run of the same program (icount)", async () => {
    const elf = guestProgramElf("timer");
    const [a, b] = await Promise.all([runRvisor(elf), runRvisor(elf)]);
    assert.equal(a.retired, b.retired);
    assert.equal(a.stdout, b.stdout);
  });

  it("runs several harts when asked", async () => {
    const r = await runRvisor(guestProgramElf("multihart"), { harts: 2 });
    assert.match(r.stdout, /multihart: amoadd total 20000 \(expected 20000\)/);
    assert.equal(r.exitCode, 0);
  });

  it("rejects memory too small for the program with an error naming the file", async () => {
    const elf = guestProgramElf("hello");
    await assert.rejects(runRvisor(elf, { memoryMiB: 1 }), (e: Error) => e.message.includes(elf));
  });
});
