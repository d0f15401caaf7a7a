/**
 * The harness of the firmware's tests: S-mode programs written in assembly, built by clang for RV32IMAC
 * at KERNEL_BASE, booted on a real Machine with the SBI firmware and run to their end.
 *
 * A program records what it saw in `results` (words) and ends with an SBI shutdown; a test reads
 * `results` and the console. Every program starts with the macros of PRELUDE.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { boot } from "../boot.js";
import { BufferConsole } from "../devices/console.js";
import { type ElfImage, readElfFile } from "../elf.js";
import { Machine, type MachineExit } from "../machine.js";
import { KERNEL_BASE } from "../memory-map.js";
import { sbiFirmware } from "./sbi.js";

export const hasClang = (() => {
  try {
    execFileSync("sh", ["-c", "command -v clang && command -v ld.lld"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/**
 * Every program starts with these macros. SBI eid, fid: an SBI call. RESULT reg, i: results[i] = reg
 * (uses t6). SHUTDOWN: SRST shutdown, no reason. WAIT_FLAG sym: spin until the word at sym is non-zero.
 */
const PRELUDE = String.raw`
  .option norvc
  .macro SBI eid, fid
    li a7, \eid
    li a6, \fid
    ecall
  .endm
  .macro RESULT reg, idx
    la t6, results
    sw \reg, (4*\idx)(t6)
  .endm
  .macro SHUTDOWN
    li a0, 0
    li a1, 0
    SBI 0x53525354, 0
  .endm
  .macro WAIT_FLAG sym
  1:
    la t6, \sym
    lw t6, 0(t6)
    beqz t6, 1b
  .endm
  .macro SET_FLAG sym
    la t6, \sym
    li t5, 1
    sw t5, 0(t6)
  .endm
  .text
  .globl _start
_start:
`;

const DATA = `
  .data
  .balign 4
  .globl results
results: .space 256
flag1: .word 0
flag2: .word 0
flag3: .word 0
`;

const images = new Map<string, ElfImage>();

/** Assembles `body` (after PRELUDE, before the DATA section) into an S-mode ELF at KERNEL_BASE. */
function assemble(body: string): ElfImage {
  const cached = images.get(body);
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(join(tmpdir(), "rvisor-sbi-"));
  try {
    const [src, out] = [join(dir, "prog.S"), join(dir, "prog.elf")];
    writeFileSync(src, `${PRELUDE}\n${body}\n${DATA}\n`);
    execFileSync("clang", [
      "--target=riscv32-unknown-elf",
      "-march=rv32imac",
      "-mabi=ilp32",
      "-nostdlib",
      "-fuse-ld=lld",
      "-Wl,-N",
      `-Wl,-Ttext=0x${KERNEL_BASE.toString(16)}`,
      "-o",
      out,
      src,
    ]);
    const image = readElfFile(out);
    images.set(body, image);
    return image;
  } finally {
    rmSync(dir, { recursive: true });
  }
}

export const RAM_BYTES = 16 * 1024 * 1024;

export interface Run {
  machine: Machine;
  exit: MachineExit;
  fdtAddr: number;
  image: ElfImage;
  /** results[i] as a signed word. */
  result(i: number): number;
  /** The console's output so far. */
  out(): string;
}

/** Boots `body` with the SBI firmware and runs it to its end. `prepare` runs after boot, before the run. */
export function run(
  body: string,
  opts: { harts?: number; input?: string; prepare?: (m: Machine) => void } = {},
): Run {
  const image = assemble(body);
  const console = new BufferConsole(opts.input ?? "");
  const machine = new Machine({ harts: opts.harts ?? 1, ramBytes: RAM_BYTES, console });
  const { fdtAddr } = boot(machine, image, { firmware: sbiFirmware });
  opts.prepare?.(machine);
  const exit = machine.runSync({ maxInsns: 5_000_000 });
  const results = image.symbols.get("results");
  assert.ok(results !== undefined, "the program has a results array");
  const base = (results - machine.ram.base) >>> 2;
  return {
    machine,
    exit,
    fdtAddr,
    image,
    result: (i) => machine.ram.i32[base + i],
    out: () => console.text(),
  };
}

export const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
const CLEAN_EXIT: MachineExit = { kind: "poweroff", code: 0 };

/** Asserts the run ended by a clean SRST shutdown, showing the exit otherwise. */
export function assertCleanExit(r: Run): void {
  assert.deepEqual(r.exit, CLEAN_EXIT, `exit: ${JSON.stringify(r.exit)}`);
}

/** Options for a suite of programs: skipped, with the reason, where clang cannot build them. */
export const NEEDS_CLANG = {
  skip: hasClang ? false : "clang and ld.lld are needed to build the test programs",
};
