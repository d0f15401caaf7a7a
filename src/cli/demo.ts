/**
 * `rvisor demo` (also `npm start`): two guest programs on the emulated host, each introduced by what it
 * shows, its console output framed, and the figures of the run after it. Builds nothing: the programs
 * come from `npm run build:guest`, and a clear message says so when they are missing.
 */
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { boot } from "../machine/boot.js";
import { BufferConsole } from "../machine/devices/console.js";
import { readElfFile } from "../machine/elf.js";
import { Machine } from "../machine/machine.js";
import { DRAM_BASE } from "../machine/memory-map.js";
import { DEFAULT_RAM_BYTES, ICOUNT_NS_PER_INSN } from "../machine/params.js";
import { guestBuildDir } from "../testing/guest-build.js";
import { formatBytes, UsageError } from "./options.js";
import { collectStats, formatStats } from "./stats.js";

interface DemoStep {
  program: string;
  explanation: string[];
}

const STEPS: DemoStep[] = [
  {
    program: "hello",
    explanation: [
      "A C program built with clang for rv32imac. It starts in M-mode at the ELF entry, prints through the",
      "16550 UART at 0x10000000, reads misa to show the ISA, and powers the board off through sifive_test.",
    ],
  },
  {
    program: "coremark-lite",
    explanation: [
      "A CPU-bound benchmark: linked-list sorting, a matrix product, a lexer and CRC-16, each result checked",
      "a second, independent way and against a seed checksum fixed on QEMU. It prints VALID only if every",
      "instruction did what the ISA says.",
    ],
  },
];

const INTRO = [
  "rvisor demo: RV32 guest programs on the emulated host",
  "",
  `The host is an emulated RV32IMAC machine with QEMU virt's board: one hart, ${formatBytes(DEFAULT_RAM_BYTES)} of RAM`,
  `at 0x${DRAM_BASE.toString(16)}, CLINT, PLIC, UART. The guest ELFs below are the same files that run on`,
  "qemu-system-riscv32 -machine virt -bios none. rvisor interprets every instruction in this Node process;",
  `time is the icount clock (${ICOUNT_NS_PER_INSN} ns of virtual time per instruction), so runs are deterministic.`,
];

const OUTRO = [
  "Next: rvisor run <elf> [--stats] runs any guest (try build/guest/programs/echo.elf), rvisor info shows",
  "the board, npm test runs the test suite (with differential tests against QEMU), npm run bench compares",
  "speed with QEMU.",
];

/** The ELF of a built guest program, or a UsageError saying how to build it. */
function builtProgram(name: string): string {
  const path = join(guestBuildDir, "programs", `${name}.elf`);
  if (!existsSync(path)) {
    throw new UsageError(
      `${relative(process.cwd(), path) || path} has not been built: run npm run build:guest (needs clang and lld)`,
    );
  }
  return path;
}

export async function demoCommand(): Promise<number> {
  const elfs = STEPS.map((s) => builtProgram(s.program));
  const out = (line = ""): void => {
    process.stdout.write(`${line}\n`);
  };
  for (const line of INTRO) out(line);
  let status = 0;
  for (const [i, step] of STEPS.entries()) {
    out();
    out(`[${i + 1}/${STEPS.length}] ${step.program}.elf`);
    for (const line of step.explanation) out(`  ${line}`);
    const console = new BufferConsole();
    const machine = new Machine({ console, onIdle: "exit" });
    boot(machine, readElfFile(elfs[i]));
    const start = performance.now();
    const exit = await machine.run();
    const hostMs = performance.now() - start;
    out("  ┌─ guest console");
    for (const line of console.text().replace(/\n$/, "").split("\n")) out(`  │ ${line}`);
    out("  └─");
    for (const line of formatStats(collectStats(machine, exit, hostMs))) out(`  ${line}`);
    if (exit.code !== 0) status = 1;
  }
  out();
  for (const line of OUTRO) out(line);
  return status;
}
