import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  buildGuestVariant,
  guestProgramElf,
  guestProgramMode,
  listGuestPrograms,
  qemuAvailable,
  shimElf,
} from "./guest-build.js";
import { type QemuOptions, qemuArgs, runQemu } from "./qemu.js";

/**
 * What each guest program must do on QEMU: its exit code and lines its output must contain, in order.
 * rvisor's own guest-program tests hold the same programs to the same output.
 */
interface Expectation {
  harts?: number;
  stdin?: string;
  exitCode: number;
  lines: (string | RegExp)[];
}

const expectations: Record<string, Expectation> = {
  hello: {
    exitCode: 0,
    lines: ["Hello from rvisor's guest SDK!", "hart 0 (mhartid 0) running in M-mode", "isa: rv32acimsu"],
  },
  "coremark-lite": {
    exitCode: 0,
    lines: [/^coremark-lite: \d+ iterations$/, /^seed crc {3}0x([0-9a-f]{4}) \(expected 0x\1\)$/, "VALID"],
  },
  "sbi-hello": {
    exitCode: 0,
    lines: [
      "Hello from S-mode, through SBI DBCN!",
      "hart 0: SBI spec 2.0",
      "probe DBCN: yes",
      "probe none (0x12345678): no",
      "supervisor timer interrupt taken: 1",
      "PASS; shutting down through SRST",
    ],
  },
  "sbi-harts": { harts: 2, exitCode: 0, lines: ["start hart 1 again: -6", "sbi-harts: PASS"] },
  "libc-selftest": { exitCode: 0, lines: [/^libc-selftest: \d+ checks, 0 failed$/] },
  timer: { exitCode: 0, lines: ["timer: 5 interrupts taken", "timer: mtime monotonic: yes"] },
  echo: { stdin: "Hello, guest 42\n", exitCode: 0, lines: ["HELLO, GUEST 42", "echo: 15 characters"] },
  "uart-irq": {
    stdin: "first line\nsecond\nquit\n",
    exitCode: 0,
    lines: ["FIRST LINE", "SECOND", "uart-irq: 2 lines, interrupts taken: yes, bytes dropped: 0"],
  },
  memstream: {
    exitCode: 0,
    lines: [/^memstream: \d+ words x 3 arrays \(\d+ KiB\), \d+ passes$/, /^reductions [0-9a-f]{8}$/, "VALID"],
  },
  branchy: {
    exitCode: 0,
    lines: [/^branchy: \d+ rounds$/, /^found \d+ of \d+ keys$/, /^checksum [0-9a-f]{8}$/, "VALID"],
  },
  uscall: {
    exitCode: 0,
    lines: [
      "uscall: hello from U-mode",
      /^uscall: \d+ system calls from U-mode$/,
      /^count \d+ add \d+ mix \d+ sum \d+ write 1 exit 1$/,
      "VALID",
    ],
  },
  multihart: {
    harts: 2,
    exitCode: 0,
    lines: [
      "multihart: amoadd total 20000 (expected 20000)",
      "multihart: lr/sc total 20000 (expected 20000)",
    ],
  },
};

/** Runs a program the way it is meant to run: S-mode programs on top of the boot shim. */
function optionsFor(name: string, extra: QemuOptions = {}): QemuOptions {
  const bios = guestProgramMode(name) === "s" ? shimElf : "none";
  return { bios, timeoutMs: 20_000, ...extra };
}

function assertLinesInOrder(stdout: string, wanted: (string | RegExp)[], program: string): void {
  const lines = stdout.split("\n");
  let at = 0;
  for (const want of wanted) {
    const found = lines.findIndex(
      (l, i) => i >= at && (typeof want === "string" ? l === want : want.test(l)),
    );
    assert.ok(found >= 0, `${program}: no line ${String(want)} (after line ${at}) in output:\n${stdout}`);
    at = found + 1;
  }
}

describe("the QEMU command line", () => {
  it("starts an M-mode ELF on virt with no firmware and the console on stdio", () => {
    const args = qemuArgs("prog.elf");
    assert.deepEqual(args.slice(0, 8), [
      "-machine",
      "virt",
      "-cpu",
      "rv32,f=false,d=false,h=false",
      "-bios",
      "none",
      "-kernel",
      "prog.elf",
    ]);
    for (const flag of ["-display none", "-serial stdio", "-monitor none"])
      assert.ok(args.join(" ").includes(flag), flag);
    assert.ok(args.includes("-no-reboot"));
  });

  it("passes harts, memory, firmware and icount through", () => {
    const args = qemuArgs("k.elf", {
      machine: "spike",
      bios: "shim.elf",
      harts: 4,
      memoryMiB: 64,
      icount: true,
    }).join(" ");
    assert.match(args, /-machine spike/);
    assert.match(args, /-bios shim\.elf -kernel k\.elf/);
    assert.match(args, /-smp 4/);
    assert.match(args, /-m 64M/);
    assert.match(args, /-icount shift=3,sleep=off/);
  });

  it("refuses a hart count below one", () => {
    assert.throws(() => qemuArgs("k.elf", { harts: 0 }), /harts must be >= 1/);
  });
});

describe("guest programs on QEMU", {
  skip: qemuAvailable() ? false : "qemu-system-riscv32 is not installed",
}, () => {
  const programs = listGuestPrograms();

  it("finds the built guest programs, each with an expectation here", () => {
    assert.ok(programs.length > 0, "no ELFs in build/guest/programs: run 'npm run build:guest'");
    for (const name of programs)
      assert.ok(name in expectations, `guest program ${name} has no expectation in qemu.test.ts`);
    for (const name of Object.keys(expectations))
      assert.ok(programs.includes(name), `guest program ${name} was not built`);
  });

  for (const [name, want] of Object.entries(expectations)) {
    it(`${name} exits with ${want.exitCode} and prints what it should`, async () => {
      const r = await runQemu(
        guestProgramElf(name),
        optionsFor(name, { harts: want.harts, stdin: want.stdin }),
      );
      assert.equal(r.timedOut, false, `${name} timed out; output:\n${r.stdout}${r.stderr}`);
      assert.equal(r.exitCode, want.exitCode, `${name} exit code; output:\n${r.stdout}${r.stderr}`);
      assertLinesInOrder(r.stdout, want.lines, name);
    });
  }

  it("prints the same output on every run of a single-hart program (determinism)", async () => {
    const a = await runQemu(guestProgramElf("coremark-lite"), optionsFor("coremark-lite"));
    const b = await runQemu(guestProgramElf("coremark-lite"), optionsFor("coremark-lite", { icount: true }));
    assert.equal(a.stdout, b.stdout);
  });

  it("coremark-lite validates a run with a small ITERATIONS set at build time", async () => {
    const r = await runQemu(
      buildGuestVariant("coremark-lite", { ITERATIONS: 3 }),
      optionsFor("coremark-lite"),
    );
    assert.equal(r.exitCode, 0, r.stdout);
    assertLinesInOrder(r.stdout, ["coremark-lite: 3 iterations", "VALID"], "coremark-lite");
  });

  it("coremark-lite reports INVALID and exits 1 when its seed CRC does not match", async () => {
    const r = await runQemu(
      buildGuestVariant("coremark-lite", { SEED_CRC: "0x1234u" }),
      optionsFor("coremark-lite"),
    );
    assert.equal(r.exitCode, 1, r.stdout);
    assertLinesInOrder(r.stdout, ["mismatch in seed crc at iteration 0", "INVALID"], "coremark-lite");
  });

  it("an S-mode program's SRST shutdown with reason 'system failure' ends QEMU with exit status 1", async () => {
    const r = await runQemu(buildGuestVariant("sbi-hello", { SHUTDOWN_REASON: 1 }), optionsFor("sbi-hello"));
    assert.equal(r.exitCode, 1, r.stdout);
  });

  it("multihart reports the missing hart and exits 2 when run on one hart", async () => {
    const r = await runQemu(guestProgramElf("multihart"), optionsFor("multihart", { harts: 1 }));
    assert.equal(r.exitCode, 2, r.stdout);
    assertLinesInOrder(r.stdout, ["multihart: only 1 of 2 harts arrived"], "multihart");
  });

  it("kills QEMU and reports a timeout when the guest never finishes", async () => {
    const started = Date.now();
    const r = await runQemu(
      guestProgramElf("echo"),
      optionsFor("echo", { stdin: "no newline", timeoutMs: 1500 }),
    );
    assert.equal(r.timedOut, true);
    assert.ok(Date.now() - started < 5000, "runQemu returned long after its timeout");
    assertLinesInOrder(r.stdout, ["echo: type a line"], "echo");
  });
});
