/**
 * The `rvisor` command as a person meets it: each test starts `node dist/cli/main.js` as a child process
 * and checks what it prints on stdout and stderr and the status it exits with.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  buildGuestVariant,
  guestProgramElf,
  isaTestElf,
  qemuAvailable,
  repoRoot,
} from "../testing/guest-build.js";
import { kernelAutotestElf, kernelElf, kernelPvElf } from "../testing/kernel.js";
import { runQemu } from "../testing/qemu.js";
import { runRvisor } from "../testing/rvisor.js";

const distDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const mainJs = join(distDir, "cli", "main.js");

interface Result {
  stdout: string;
  stderr: string;
  status: number | null;
}

/** A bound against a hung run (the demo, the longest, takes ~30 s on an idle 2-core host). */
const RUN_LIMIT_MS = 300_000;

function rvisor(args: string[], input = "", cwd = repoRoot, script = mainJs): Result {
  const r = spawnSync(process.execPath, [script, ...args], {
    input,
    cwd,
    encoding: "utf8",
    timeout: RUN_LIMIT_MS,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** Expects exit status 2 and exactly one line on stderr matching `message`, and nothing on stdout. */
function assertUsageError(r: Result, message: RegExp): void {
  assert.equal(r.status, 2, `exit status (stderr: ${r.stderr})`);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], message);
}

const hasClang = spawnSync("sh", ["-c", "command -v clang && command -v ld.lld"]).status === 0;
const noQemu = !qemuAvailable() && "qemu-system-riscv32 is not installed";
const scratch = mkdtempSync(join(tmpdir(), "rvisor-cli-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** An M-mode program whose only hart waits for an interrupt forever: nothing is enabled, no timer armed. */
function buildWfiForever(): string {
  const src = join(scratch, "wfi.S");
  const elf = join(scratch, "wfi.elf");
  const script = join(scratch, "wfi.ld");
  writeFileSync(src, ".globl _start\n_start:\n  wfi\n  j _start\n");
  writeFileSync(script, "SECTIONS { . = 0x80000000; .text : { *(.text*) } }\n");
  execFileSync("clang", [
    "--target=riscv32-unknown-elf",
    "-march=rv32imac",
    "-mabi=ilp32",
    "-nostdlib",
    "-fuse-ld=lld",
    `-Wl,-T,${script}`,
    "-o",
    elf,
    src,
  ]);
  return elf;
}

describe("rvisor run", () => {
  it("prints the guest's console output on stdout and exits with its code 0, stderr silent", () => {
    const r = rvisor(["run", guestProgramElf("hello")]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Hello from rvisor's guest SDK!\nhart 0 \(mhartid 0\) running in M-mode\n/);
    assert.equal(r.stderr, "");
  });

  it("prints what QEMU prints for the same ELF", { skip: noQemu }, async () => {
    const elf = guestProgramElf("hello");
    assert.equal(rvisor(["run", elf]).stdout, (await runQemu(elf)).stdout);
  });

  it("gives piped stdin to the guest's UART", () => {
    const r = rvisor(["run", guestProgramElf("echo")], "through the pipe\n");
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^THROUGH THE PIPE$/m);
  });

  it("exits with the guest's failure code", () => {
    const elf = buildGuestVariant("coremark-lite", { SEED_CRC: "0x1234u", ITERATIONS: 1 });
    const r = rvisor(["run", elf]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /INVALID/);
  });

  it("gives the harts the H extension with --h-extension (bare board only)", () => {
    const elf = isaTestElf("rv32hi-vm");
    assert.equal(rvisor(["run", "--h-extension", elf]).status, 0);
    assert.notEqual(rvisor(["run", elf]).status, 0); // without it, its first case fails
    assertUsageError(
      rvisor(["run", "--mode", "trap", "--h-extension", elf]),
      /--h-extension applies to the bare board/,
    );
  });

  it("boots an S-mode program on the SBI firmware with --firmware sbi", () => {
    const r = rvisor([
      "run",
      "--firmware",
      "sbi",
      "--harts",
      "2",
      "--memory",
      "64M",
      guestProgramElf("sbi-hello"),
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /PASS; shutting down through SRST/);
  });

  it("stops at --max-insns with exit code 124 and says so on stderr", () => {
    const r = rvisor(["run", "--max-insns", "5000", guestProgramElf("coremark-lite")]);
    assert.equal(r.status, 124);
    assert.match(r.stderr, /^rvisor: stopped after 5000 instructions$/m);
  });

  it("ends with 125 and a message when every hart waits and piped input has ended", {
    skip: !hasClang,
  }, () => {
    const r = rvisor(["run", buildWfiForever()]);
    assert.equal(r.status, 125);
    assert.match(r.stderr, /^rvisor: every hart waits for an interrupt.*console input has ended$/m);
  });

  it("prints the run's figures on stderr with --stats, counting the instructions runRvisor counts", async () => {
    const elf = guestProgramElf("coremark-lite");
    const r = rvisor(["run", "--stats", elf]);
    const expected = (await runRvisor(elf)).retired;
    assert.equal(r.status, 0);
    assert.match(r.stdout, /VALID/);
    assert.doesNotMatch(r.stdout, /instructions retired/);
    const retired = /^rvisor: instructions retired +([\d,]+)$/m.exec(r.stderr);
    assert.ok(retired, r.stderr);
    assert.equal(Number(retired[1].replaceAll(",", "")), expected);
    assert.match(r.stderr, /^rvisor: host time +\d+\.\d{3} s$/m);
    assert.match(r.stderr, /^rvisor: speed +\d+\.\d MIPS$/m);
    assert.match(r.stderr, /^rvisor: virtual time +\d+\.\d{3} ms \(icount clock\)$/m);
    assert.match(
      r.stderr,
      /^rvisor: translation cache +[1-9][\d,]* blocks, \d+ KiB of code \([\d,]+ translated, 0 invalidated, 0 flushes\)$/m,
    );
    assert.match(r.stderr, /^rvisor: exit +poweroff, exit code 0$/m);
    const interp = rvisor(["run", "--stats", "--engine", "interp", elf]);
    assert.doesNotMatch(interp.stderr, /translation cache/);
  });

  it("runs on the realtime clock with --clock realtime", () => {
    const r = rvisor(["run", "--clock", "realtime", "--stats", guestProgramElf("timer")]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /timer: 5 interrupts taken/);
    assert.match(r.stderr, /\(realtime clock\)/);
  });

  it("rejects an x86-64 ELF such as /bin/true, naming the file and the reason", () => {
    assertUsageError(
      rvisor(["run", "/bin/true"]),
      /^rvisor: \/bin\/true: is a 64-bit ELF .*rvisor runs RV32 programs$/,
    );
  });

  it("rejects a file that is not an ELF", () => {
    const path = join(scratch, "notes.txt");
    writeFileSync(path, "not a program\n");
    assertUsageError(rvisor(["run", path]), /^rvisor: .*notes\.txt: not an ELF file: bad magic at offset 0/);
  });

  it("says a missing file is missing", () => {
    assertUsageError(rvisor(["run", "no/such/guest.elf"]), /^rvisor: no\/such\/guest\.elf: no such file$/);
  });

  it("rejects bad numbers with the option, the allowed range and the input", () => {
    const hello = guestProgramElf("hello");
    assertUsageError(
      rvisor(["run", "--harts", "x", hello]),
      /^rvisor: --harts must be an integer 1\.\.32, got 'x'$/,
    );
    assertUsageError(
      rvisor(["run", "--harts", "0", hello]),
      /^rvisor: --harts must be an integer 1\.\.32, got '0'$/,
    );
    assertUsageError(
      rvisor(["run", "--memory", "huge", hello]),
      /^rvisor: --memory must be a size .*got 'huge'$/,
    );
    assertUsageError(
      rvisor(["run", "--max-insns", "-5", hello]),
      /^rvisor: --max-insns must be an integer >= 1/,
    );
  });

  it("rejects unknown firmware, engines and clocks, listing the known ones", () => {
    const hello = guestProgramElf("hello");
    assertUsageError(
      rvisor(["run", "--firmware", "opensbi", hello]),
      /^rvisor: --firmware must be one of none, sbi, got 'opensbi'$/,
    );
    assertUsageError(
      rvisor(["run", "--engine", "jit", hello]),
      /^rvisor: --engine must be one of dbt, interp, got 'jit'$/,
    );
    assertUsageError(
      rvisor(["run", "--clock", "wall", hello]),
      /^rvisor: --clock must be one of icount, realtime/,
    );
  });

  it("rejects unknown options and a missing ELF argument with status 2", () => {
    assertUsageError(
      rvisor(["run", "--turbo", guestProgramElf("hello")]),
      /^rvisor: unknown option '--turbo'/,
    );
    assertUsageError(rvisor(["run"]), /^rvisor: run needs an ELF \(or --domain specs\)/);
  });
});

describe("rvisor run under the hypervisor", () => {
  it("runs the unmodified kernel with --mode trap and prints its exits by cause with --stats", () => {
    const r = rvisor(["run", "--mode", "trap", "--memory", "32M", kernelAutotestElf(), "--stats"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^tests: 15 passed, 0 failed$/m);
    assert.match(r.stderr, /state\s+│ shutdown: poweroff/);
    assert.match(r.stderr, /sret\s+│ [\d,]+/);
    assert.match(r.stderr, /shadow-fill\s+│ [\d,]+/);
  });

  it("runs the kernel natively with --mode native (the SBI firmware without --firmware)", () => {
    const r = rvisor(["run", "--mode", "native", kernelAutotestElf()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^tests: 15 passed, 0 failed$/m);
  });

  it("starts several domains from --domain specs, each output line prefixed with its domain's name", () => {
    const r = rvisor([
      "run",
      "--harts",
      "2",
      "--domain",
      `mode=trap,kernel=${kernelElf()},name=web,memory=16M,bootargs=autotest`,
      "--domain",
      `mode=pv,kernel=${kernelPvElf()},name=db,memory=16M,bootargs=autotest`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    for (const name of ["web", "db"]) {
      assert.match(r.stdout, new RegExp(`^\\[${name}\\] tests: 15 passed, 0 failed$`, "m"));
      assert.match(r.stdout, new RegExp(`^\\[${name}\\] rvisor guest kernel on hart 0: 16 MiB`, "m"));
    }
    assert.ok(
      r.stdout.split("\n").every((l) => l === "" || /^\[(web|db)\] /.test(l)),
      "every line is prefixed",
    );
  });

  it("domains with a vif on one bridge talk: udpsend and ping from the first to the second's udpecho", () => {
    // The second domain serves udpecho from its boot arguments and never powers off: a budget ends it.
    const r = rvisor(
      [
        "run",
        "--harts",
        "2",
        "--max-insns",
        "2000000",
        "--domain",
        `mode=pv,kernel=${kernelPvElf()},name=a,vif=`,
        "--domain",
        `mode=trap,kernel=${kernelElf()},name=b,vif=,bootargs=udpecho`,
      ],
      "udpsend 10.0.0.2 7 hello\nping 10.0.0.2 1\nshutdown\n",
    );
    assert.equal(r.status, 124, r.stderr);
    assert.match(r.stdout, /^\[b\] udpecho: pid \d+ echoes UDP on 10\.0\.0\.2 port 7$/m);
    assert.match(r.stdout, /^\[a\] reply from 10\.0\.0\.2:7 \(5 bytes, [\d.]+ ms\): hello$/m);
    assert.match(r.stdout, /^\[a\] 1 packets transmitted, 1 received, 0% packet loss/m);
  });

  it("rejects a bad --domain spec, --firmware with a domain, and a mode without a kernel", () => {
    assertUsageError(
      rvisor(["run", "--domain", "mode=trap"]),
      /--domain 'mode=trap': mode= and kernel= are required/,
    );
    assertUsageError(
      rvisor(["run", "--domain", "mode=hvm9,kernel=x"]),
      /--domain mode must be one of trap, bt, pv, hvm, got 'hvm9'/,
    );
    assertUsageError(rvisor(["run", "--mode", "pv"]), /--mode pv needs a kernel ELF/);
    assertUsageError(
      rvisor(["run", "--mode", "trap", "--firmware", "sbi", kernelElf()]),
      /--firmware applies to the bare board only/,
    );
    assertUsageError(
      rvisor(["run", "--mode", "fast", kernelElf()]),
      /--mode must be one of native, trap, bt, pv/,
    );
  });

  it("names the kernel when it is not an RV32 ELF", () => {
    assertUsageError(rvisor(["run", "--mode", "trap", "/bin/true"]), /^rvisor: \/bin\/true: .*/);
  });
});

describe("rvisor info", () => {
  it("prints the board's memory map with the UART at QEMU virt's address", () => {
    const r = rvisor(["info"]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^isa +rv32imac_zicsr_zifencei/m);
    assert.match(r.stdout, /^ {2}0x10000000\.\.0x100000ff +uart0 +irq 10 /m);
    assert.match(r.stdout, /^ {2}0x80000000\.\.0x87ffffff +ram /m);
  });

  it("describes the board it would build for --harts and --memory, as JSON with --json", () => {
    const r = rvisor(["info", "--json", "--harts", "4", "--memory", "1G"]);
    assert.equal(r.status, 0);
    const info = JSON.parse(r.stdout);
    assert.equal(info.harts, 4);
    assert.equal(info.ramBytes, 2 ** 30);
    const ram = info.memoryMap.find((m: { name: string }) => m.name === "ram");
    assert.deepEqual([ram.base, ram.size], [0x8000_0000, 2 ** 30]);
    assert.deepEqual(Object.keys(info.engines), ["dbt", "interp"]);
  });
});

describe("rvisor demo", () => {
  it("runs hello, coremark-lite on both engines, the guest kernel, four domains and rvisord with three", () => {
    const r = rvisor(["demo"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\[1\/6\] hello\.elf \(engine dbt\)/);
    assert.match(r.stdout, /│ Hello from rvisor's guest SDK!/);
    assert.match(r.stdout, /\[2\/6\] coremark-lite\.elf \(engine interp\)/);
    assert.match(r.stdout, /\[3\/6\] coremark-lite\.elf \(engine dbt\)/);
    assert.equal((r.stdout.match(/│ VALID/g) ?? []).length, 2);
    assert.match(r.stdout, /\[4\/6\] kernel-autotest\.elf \(engine dbt, firmware sbi\)/);
    assert.match(r.stdout, /\[5\/6\] kernel-autotest\.elf \(trap, bt, hvm\)/);
    assert.match(r.stdout, /\[6\/6\] rvisord and the toolstack/);
    for (const [name, mode] of [
      ["compute", "hvm"],
      ["syscalls", "pv"],
      ["forks", "trap"],
    ])
      assert.match(r.stdout, new RegExp(`^ {4}${name} +\\d+ +32 +\\d +r----- +[\\d.]+ +${mode}$`, "m"));
    assert.match(r.stdout, /\$ rvisor top -b -d 1\n {4}rvisor top — host time/);
    assert.match(r.stdout, /\[forks\] \$ run forks 7/, "the command line's workload started");
    assert.match(r.stdout, /│ tests: \d+ passed, 0 failed/);
    const counts = [...r.stdout.matchAll(/instructions retired +([\d,]+)/g)].map((m) => m[1]);
    assert.equal(counts.length, 4);
    assert.equal(counts[1], counts[2], "both engines retire the same instructions");
  });

  it("says to run npm run build:guest when the guest programs are not built", () => {
    // A copy of the compiled CLI in a tree without build/guest.
    const tree = join(scratch, "unbuilt");
    cpSync(distDir, join(tree, "dist"), { recursive: true });
    cpSync(join(repoRoot, "package.json"), join(tree, "package.json"));
    symlinkSync(join(repoRoot, "node_modules"), join(tree, "node_modules"));
    const r = rvisor(["demo"], "", tree, join(tree, "dist", "cli", "main.js"));
    assertUsageError(
      r,
      /^rvisor: build\/guest\/programs\/hello\.elf has not been built: run npm run build:guest/,
    );
  });
});
