/**
 * `rvisor demo` (also `npm start`): guest programs on the emulated host, each introduced by what it
 * shows, its console output framed, and the figures of the run after it: hello, the CPU benchmark on
 * both engines (same output, same instruction count, different speed), and rvisor's guest kernel running
 * its test suite in S-mode on the SBI firmware, then the same kernel as two hypervisor domains (trap and
 * pv) on two pCPUs with their exits counted by cause, and finally rvisord with three domains created by
 * the CLI from examples/*.cfg (demo-toolstack.ts). The programs come from `npm run build:guest` (a clear
 * message says so when they are missing); the benchmark's longer variant is built on first use.
 */
import { existsSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { Hypervisor } from "../hypervisor/hypervisor.js";
import { boot } from "../machine/boot.js";
import { BufferConsole } from "../machine/devices/console.js";
import { readElfFile } from "../machine/elf.js";
import { Machine } from "../machine/machine.js";
import { DRAM_BASE } from "../machine/memory-map.js";
import { DEFAULT_RAM_BYTES, ICOUNT_NS_PER_INSN } from "../machine/params.js";
import { buildGuestVariant, guestBuildDir } from "../testing/guest-build.js";
import { TOOLSTACK_EXPLANATION, toolstackStep } from "./demo-toolstack.js";
import { formatDomainStats } from "./hv-run.js";
import { formatBytes, UsageError } from "./options.js";
import { DEFAULT_ENGINE, ENGINES, type EngineName, FIRMWARES, type FirmwareName } from "./registry.js";
import { collectStats, formatStats } from "./stats.js";

interface DemoStep {
  /** Path under build/guest, without .elf. */
  program: string;
  explanation: string[];
  engine?: EngineName;
  firmware?: FirmwareName;
  /** Built as a variant with these -D definitions (needs clang). */
  defines?: Record<string, number>;
}

/** Long enough for the translator's speed to show past its translation cost. */
const DEMO_ITERATIONS = 300;

const STEPS: DemoStep[] = [
  {
    program: "programs/hello",
    explanation: [
      "A C program built with clang for rv32imac. It starts in M-mode at the ELF entry, prints through the",
      "16550 UART at 0x10000000, reads misa to show the ISA, and powers the board off through sifive_test.",
    ],
  },
  {
    program: "programs/coremark-lite",
    defines: { ITERATIONS: DEMO_ITERATIONS },
    engine: "interp",
    explanation: [
      "A CPU-bound benchmark: linked-list sorting, a matrix product, a lexer and CRC-16, each result checked",
      "a second, independent way and against a seed checksum fixed on QEMU. It prints VALID only if every",
      "instruction did what the ISA says. First on the interpreter: fetch, decode, execute, one at a time.",
    ],
  },
  {
    program: "programs/coremark-lite",
    defines: { ITERATIONS: DEMO_ITERATIONS },
    engine: "dbt",
    explanation: [
      "The same program on the binary translator: guest blocks compiled to JavaScript functions, generated",
      "from the same instruction table. Same output, the same instruction count to the last one, faster.",
    ],
  },
  {
    program: "kernel/kernel-autotest",
    firmware: "sbi",
    explanation: [
      "rvisor's own guest kernel, booted in S-mode on the SBI firmware written in TypeScript: Sv32 page",
      "tables per process, user programs in U-mode preempted by the timer, system calls. It runs its test",
      "suite and shuts down through SBI SRST. This is the kernel the hypervisor modes run next.",
    ],
  },
];

const HYPERVISOR_EXPLANATION = [
  "The same kernel as four domains of the hypervisor, side by side on a host with two pCPUs under the",
  "Credit scheduler, one per technique. `trap`: the unmodified kernel runs deprivileged in U-mode; each",
  "privileged instruction traps and the interpreter emulates it; shadow page tables map its addresses",
  "to the scattered host frames it owns. `bt`: the same kernel, but the translated code calls the",
  "emulation directly instead of trapping. `pv`: the kernel built with PARAVIRT asks the hypervisor",
  "instead (batched page-table updates, IRET, an interrupt mask in shared memory). `hvm`: the unmodified",
  "kernel in VS-mode on the CPU's H extension, memory behind G-stage tables. Same results, other exits:",
];

const INTRO = [
  "rvisor demo: RV32 guest programs on the emulated host",
  "",
  `The host is an emulated RV32IMAC machine with QEMU virt's board: one hart, ${formatBytes(DEFAULT_RAM_BYTES)} of RAM`,
  `at 0x${DRAM_BASE.toString(16)}, CLINT, PLIC, UART. The guest ELFs below are the same files that run on`,
  "qemu-system-riscv32 -machine virt -bios none, run in this Node process by an interpreter or by the binary",
  `translator; time is the icount clock (${ICOUNT_NS_PER_INSN} ns of virtual time per instruction), so runs are deterministic.`,
];

const OUTRO = [
  "rvisor daemon runs rvisord yourself; then rvisor create examples/compute.cfg -c, rvisor list, rvisor top,",
  "rvisor console <dom> (Ctrl-] leaves), rvisor sched-credit -d <dom> -w 1024, rvisor store ls /local/domain.",
  "Next: rvisor run <elf> [--stats] runs any guest (try build/guest/programs/echo.elf); rvisor run --mode",
  "trap|bt|hvm build/guest/kernel/kernel.elf gives you the kernel's shell inside a domain, --domain specs start",
  "several; rvisor info shows the host and board, npm test runs the test suite (with differential tests against",
  "QEMU), npm run bench compares speed with QEMU.",
];

/** The ELF of a built guest program, or a UsageError saying how to build it. */
function builtProgram(name: string): string {
  const path = join(guestBuildDir, `${name}.elf`);
  if (!existsSync(path)) {
    throw new UsageError(
      `${relative(process.cwd(), path) || path} has not been built: run npm run build:guest (needs clang and lld)`,
    );
  }
  return path;
}

/** The step's ELF: the built program, or its variant, built now if needed. */
function stepElf(step: DemoStep): string {
  const path = builtProgram(step.program);
  if (step.defines === undefined) return path;
  try {
    return buildGuestVariant(basename(step.program), step.defines);
  } catch (e) {
    throw new UsageError(`cannot build the demo's variant of ${step.program}: ${(e as Error).message}`);
  }
}

export async function demoCommand(): Promise<number> {
  const elfs = STEPS.map(stepElf);
  const out = (line = ""): void => {
    process.stdout.write(`${line}\n`);
  };
  for (const line of INTRO) out(line);
  let status = 0;
  const total = STEPS.length + 2;
  for (const [i, step] of STEPS.entries()) {
    out();
    const engine = step.engine ?? DEFAULT_ENGINE;
    const how = [`engine ${engine}`, ...(step.firmware ? [`firmware ${step.firmware}`] : [])].join(", ");
    out(`[${i + 1}/${total}] ${basename(step.program)}.elf (${how})`);
    for (const line of step.explanation) out(`  ${line}`);
    const console = new BufferConsole();
    const machine = new Machine({ console, onIdle: "exit", engine: ENGINES[engine].engine });
    boot(machine, readElfFile(elfs[i]), { firmware: FIRMWARES[step.firmware ?? "none"].firmware });
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
  out(
    `[${STEPS.length + 1}/${total}] kernel-autotest.elf (trap, bt, hvm) and kernel-pv-autotest.elf (pv), 2 pCPUs`,
  );
  for (const line of HYPERVISOR_EXPLANATION) out(`  ${line}`);
  if ((await hypervisorStep(out)) !== 0) status = 1;
  out();
  out(`[${total}/${total}] rvisord and the toolstack: three domains from examples/*.cfg on 4 pCPUs`);
  for (const line of TOOLSTACK_EXPLANATION) out(`  ${line}`);
  if ((await toolstackStep(out)) !== 0) status = 1;
  out();
  for (const line of OUTRO) out(line);
  return status;
}

async function hypervisorStep(out: (line?: string) => void): Promise<number> {
  const hv = new Hypervisor({ pcpus: 2, hostMemoryMiB: 192 });
  const guests = [
    { mode: "trap" as const, elf: builtProgram("kernel/kernel-autotest"), name: "trapped" },
    { mode: "bt" as const, elf: builtProgram("kernel/kernel-autotest"), name: "translated" },
    { mode: "pv" as const, elf: builtProgram("kernel/kernel-pv-autotest"), name: "paravirt" },
    { mode: "hvm" as const, elf: builtProgram("kernel/kernel-autotest"), name: "hardware" },
  ].map((g) => {
    const console = new BufferConsole();
    const domain = hv.createDomain({ mode: g.mode, kernel: g.elf, name: g.name, memoryMiB: 32, console });
    return { domain, console };
  });
  const start = performance.now();
  const exit = await hv.run();
  const hostMs = performance.now() - start;
  out("  ┌─ guest consoles (each suite's summary, and any failure)");
  for (const { domain, console } of guests)
    for (const line of console
      .text()
      .split("\n")
      .filter((l) => /^(FAIL|tests:)/.test(l)))
      out(`  │ [${domain.name}] ${line}`);
  out("  └─");
  for (const line of formatDomainStats(
    guests.map((g) => g.domain),
    hostMs,
  ).split("\n"))
    out(`  ${line}`);
  return exit.kind === "poweroff" ? exit.code : 1;
}
