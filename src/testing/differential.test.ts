/**
 * Differential tests: every guest program of ours runs on rvisor and on QEMU (the reference), and the
 * two must print the same bytes and exit with the same code. The conformance suite (guest/isa) runs on
 * QEMU's `spike` machine, which has HTIF; the programs run on `virt`, S-mode ones behind our boot shim on
 * QEMU and behind rvisor's own SBI firmware here.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ENGINE_NAMES } from "../cli/registry.js";
import {
  buildGuestVariant,
  guestProgramElf,
  guestProgramMode,
  isaTestElf,
  listGuestPrograms,
  listIsaTests,
  qemuAvailable,
  shimElf,
} from "./guest-build.js";
import { runQemu } from "./qemu.js";
import { runRvisor } from "./rvisor.js";

const noQemu = !qemuAvailable() && "qemu-system-riscv32 is not installed";

/** Per-program settings both sides get: harts and console input. */
const SETTINGS: Record<string, { harts?: number; stdin?: string }> = {
  multihart: { harts: 2 },
  "sbi-harts": { harts: 2 },
  echo: { stdin: "Differential input, 123\n" },
  "uart-irq": { stdin: "Differential input\nline two\nquit\n" },
};

/** The H-extension programs (rv32h*) run with the extension on both sides: QEMU's h=true, rvisor's hExtension. */
const QEMU_CPU_H = "rv32,f=false,d=false,h=true";
const needsH = (name: string): boolean => name.startsWith("rv32h");

describe("conformance suite (guest/isa): rvisor and QEMU both pass every program", () => {
  for (const name of listIsaTests()) {
    it(name, { skip: noQemu }, async () => {
      const elf = isaTestElf(name);
      const hExtension = needsH(name);
      const cpu = hExtension ? QEMU_CPU_H : undefined;
      const ref = await runQemu(elf, { machine: "spike", timeoutMs: 20_000, cpu });
      assert.equal(ref.exitCode, 0, `QEMU fails ${name} at case ${ref.exitCode}`);
      const runs: number[] = [];
      for (const engine of ENGINE_NAMES) {
        const ours = await runRvisor(elf, { engine, maxInsns: 50_000_000, hExtension });
        assert.equal(
          ours.exitCode,
          0,
          `rvisor (${engine}) fails ${name} at case ${ours.exitCode} (${ours.exit.kind})`,
        );
        assert.equal(ours.stdout, ref.stdout);
        runs.push(ours.retired);
      }
      assert.ok(
        runs.every((n) => n === runs[0]),
        `engines retired different counts: ${runs.join(", ")}`,
      );
      if (!hExtension) {
        // The extension changes nothing for software that does not use it.
        const withH = await runRvisor(elf, { maxInsns: 50_000_000, hExtension: true });
        assert.equal(
          withH.exitCode,
          0,
          `rvisor with the H extension fails ${name} at case ${withH.exitCode}`,
        );
        assert.equal(withH.retired, runs[0]);
      }
    });
  }
});

describe("guest programs print the same bytes and exit codes on rvisor and QEMU", () => {
  for (const name of listGuestPrograms()) {
    it(name, { skip: noQemu }, async () => {
      const elf = guestProgramElf(name);
      const s = guestProgramMode(name) === "s";
      const set = SETTINGS[name] ?? {};
      const ref = await runQemu(elf, {
        ...set,
        machine: "virt",
        bios: s ? shimElf : "none",
        timeoutMs: 30_000,
      });
      const runs: number[] = [];
      for (const engine of ENGINE_NAMES) {
        const ours = await runRvisor(elf, {
          ...set,
          engine,
          firmware: s ? "sbi" : "none",
          maxInsns: 500_000_000,
        });
        assert.equal(ours.stdout, ref.stdout, `${name} (${engine}): output differs`);
        assert.equal(
          ours.exitCode,
          ref.exitCode,
          `${name} (${engine}): exit code differs (${ours.exit.kind})`,
        );
        runs.push(ours.retired);
      }
      assert.ok(
        runs.every((n) => n === runs[0]),
        `engines retired different counts: ${runs.join(", ")}`,
      );
    });
  }
});

describe("the -O2 CPU benchmark validates its results on rvisor exactly as on QEMU", () => {
  it("coremark-lite with 200 iterations", { skip: noQemu }, async () => {
    const elf = buildGuestVariant("coremark-lite", { ITERATIONS: 200 });
    const ref = await runQemu(elf, { machine: "virt", timeoutMs: 60_000 });
    assert.match(ref.stdout, /VALID/);
    for (const engine of ENGINE_NAMES) {
      const ours = await runRvisor(elf, { engine, maxInsns: 2_000_000_000 });
      assert.equal(ours.stdout, ref.stdout, engine);
      assert.equal(ours.exitCode, 0, engine);
    }
  });
});
