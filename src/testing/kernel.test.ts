/**
 * The guest kernel on rvisor (behind its TypeScript SBI firmware) and on QEMU (behind our boot shim):
 * its whole built-in test suite passes on both and prints the same result lines, a failing test turns
 * into exit status 1, and the shell answers a scripted session byte for byte alike.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { qemuAvailable, repoRoot, shimElf } from "./guest-build.js";
import { kernelAutotestElf, kernelElf, testResultLines, testSummary } from "./kernel.js";
import { QEMU_BINARY, qemuArgs, runQemu } from "./qemu.js";
import { runRvisor } from "./rvisor.js";

const noQemu = !qemuAvailable() && "qemu-system-riscv32 is not installed";

/*
 * QEMU runs first and rvisor after it, never both at once: rvisor keeps this process's event loop
 * busy, QEMU's stdout pipe then fills, and QEMU's 16550 model drops a byte after four failed writes
 * (MAX_XMIT_RETRY in hw/char/serial.c), so a concurrent run loses QEMU output.
 */
/** The suite retires about 20 million instructions; this leaves room without letting a hang run long. */
const MAX_INSNS = 300_000_000;
const QEMU_TIMEOUT_MS = 30_000;

/** The tests `test` lists, in the order `test all` runs them. */
const TEST_NAMES = [
  "fdt",
  "kalloc",
  "vm",
  "copy",
  "sum",
  "spawn",
  "exit-status",
  "preempt",
  "sleep",
  "sbrk",
  "fork",
  "syscalls",
  "bad-args",
  "faults",
  "proc-table",
];

describe("the guest kernel's test suite", () => {
  it("passes every test on rvisor and on QEMU, which print the same result lines", {
    skip: noQemu,
  }, async () => {
    const elf = kernelAutotestElf();
    const ref = await runQemu(elf, { bios: shimElf, timeoutMs: QEMU_TIMEOUT_MS });
    const ours = await runRvisor(elf, { firmware: "sbi", maxInsns: MAX_INSNS });
    assert.deepEqual(
      testSummary(ref.stdout),
      { passed: TEST_NAMES.length, failed: 0, failures: [] },
      ref.stdout,
    );
    assert.deepEqual(
      testSummary(ours.stdout),
      { passed: TEST_NAMES.length, failed: 0, failures: [] },
      ours.stdout,
    );
    assert.deepEqual(testResultLines(ours.stdout), [
      ...TEST_NAMES.map((n) => `PASS ${n}`),
      `tests: ${TEST_NAMES.length} passed, 0 failed`,
    ]);
    assert.equal(ours.stdout, ref.stdout, "the whole output differs");
    assert.equal(ref.exitCode, 0);
    assert.equal(ours.exitCode, 0, `rvisor: ${ours.exit.kind}`);
  });

  it("runs at boot from the boot argument `autotest` of the unmodified kernel", { skip: noQemu }, () => {
    const elf = kernelElf();
    const cli = join(repoRoot, "dist", "cli", "main.js");
    const ours = spawnSync(
      process.execPath,
      [cli, "run", elf, "--firmware", "sbi", "--bootargs", "autotest"],
      {
        encoding: "latin1",
        input: "",
        timeout: 60_000,
      },
    );
    const ref = spawnSync(QEMU_BINARY, [...qemuArgs(elf, { bios: shimElf }), "-append", "autotest"], {
      encoding: "latin1",
      input: "",
      timeout: QEMU_TIMEOUT_MS,
    });
    assert.equal(testSummary(ours.stdout)?.failed, 0, ours.stdout + ours.stderr);
    assert.equal(testSummary(ours.stdout)?.passed, TEST_NAMES.length);
    assert.deepEqual(testResultLines(ours.stdout), testResultLines(ref.stdout));
    assert.equal(ours.status, 0);
    assert.equal(ref.status, 0);
  });

  it("reports a failing test and powers off with status 1 (8 MiB of RAM is less than the suite needs)", {
    skip: noQemu,
  }, async () => {
    const elf = kernelAutotestElf();
    const ref = await runQemu(elf, { bios: shimElf, memoryMiB: 8, timeoutMs: QEMU_TIMEOUT_MS });
    const ours = await runRvisor(elf, { firmware: "sbi", memoryMiB: 8, maxInsns: MAX_INSNS });
    assert.deepEqual(testSummary(ours.stdout), {
      passed: TEST_NAMES.length - 1,
      failed: 1,
      failures: ["fdt"],
    });
    assert.match(ours.stdout, /^FAIL fdt: only 8388608 bytes of RAM$/m);
    assert.deepEqual(testResultLines(ours.stdout), testResultLines(ref.stdout));
    assert.equal(ours.exitCode, 1);
    assert.equal(ref.exitCode, 1);
  });
});

describe("the guest kernel's shell", () => {
  // Nothing in this session depends on timing, so both machines must print exactly the same bytes.
  const COMMANDS = [
    "help",
    "run hello one two",
    "run echo",
    "a line for echo",
    "run cpu 1000 -q",
    "mem",
    "run no-such-program",
    "frobnicate",
    "test fork",
    "test nothing",
    "test",
    "run fault kernel-read",
    "ps",
  ];
  const SESSION = [...COMMANDS, "shutdown", ""].join("\n");
  /** The same commands, then one whose output is timing, and Ctrl-D (end of input) at the prompt. */
  const SESSION_WITH_UPTIME = `${[...COMMANDS, "uptime"].join("\n")}\n\x04`;

  it("answers a scripted session on rvisor exactly as on QEMU", { skip: noQemu }, async () => {
    const elf = kernelElf();
    const ref = await runQemu(elf, { bios: shimElf, stdin: SESSION, timeoutMs: QEMU_TIMEOUT_MS });
    const ours = await runRvisor(elf, { firmware: "sbi", stdin: SESSION, maxInsns: MAX_INSNS });
    assert.equal(ours.stdout, ref.stdout);
    assert.equal(ours.exitCode, 0, `rvisor: ${ours.exit.kind}`);
    assert.equal(ref.exitCode, 0);
  });

  it("runs programs, passes their arguments and input, survives one that faults, and stops at Ctrl-D", async () => {
    const ours = await runRvisor(kernelElf(), {
      firmware: "sbi",
      stdin: SESSION_WITH_UPTIME,
      maxInsns: MAX_INSNS,
    });
    const out = ours.stdout;
    assert.match(out, /^\$ run hello one two\nhello from pid \d+: hello one two$/m);
    assert.match(out, /^echo: type a line\nA LINE FOR ECHO$/m);
    assert.match(out, /^\[cpu: pid \d+ exited with status 168\]$/m, "cpu's exit status is the prime count");
    assert.match(out, /^pages: \d+ free, \d+ in use, \d+ total \(4 KiB each\)$/m);
    assert.match(out, /^run: cannot start 'no-such-program'/m);
    assert.match(out, /^frobnicate: unknown command \(type help\)$/m);
    assert.match(out, /^\$ test fork\nPASS fork\n\$ /m);
    assert.match(out, /^test: no test 'nothing'/m);
    assert.match(out, new RegExp(`^tests: ${TEST_NAMES.join(" ")}$`, "m"));
    assert.match(
      out,
      /^kernel: pid \d+ \(fault\) killed: load page fault at pc [0-9a-f]{8}, stval 80200000$/m,
    );
    assert.match(out, /^\s+1\s+0\s+running\s+\d+\s+shell \[kernel\]$/m, "ps lists the shell");
    assert.match(out, /^\$ uptime\nup \d+\.\d{3} s, \d+ ticks, 1 process$/m);
    assert.match(out, /\$ shutdown\nshutting down\n$/, "Ctrl-D at the prompt powers off");
    assert.equal(ours.exitCode, 0);
  });
});
