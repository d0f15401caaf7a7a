/**
 * The `cpu` suite: coremark-lite on rvisor's interpreter and on QEMU's TCG, in the same run.
 *
 *   1. calibrate   time hello.elf on QEMU for its start-up, then a 1000-iteration build, then a build
 *                  of the count that predicts; pick the count that takes ~2 s on QEMU (two significant
 *                  digits, so the same host mostly builds the same variant next time)
 *   2. build       coremark-lite -D ITERATIONS=n (buildGuestVariant)
 *   3. rvisor ×3   in this process: Machine, interpreter, icount clock, runSync; host time of the run
 *                  alone (ELF loading and boot excluded); the retired count must be the same every run
 *   4. QEMU ×3     qemu-system-riscv32 -machine virt -bios none -cpu rv32,f=false,d=false,h=false;
 *                  wall time from spawn to exit
 *   5. figures     medians; every run must print VALID and exit 0, or the suite fails
 *
 * QEMU does not count instructions, so its MIPS is rvisor's instruction count for the same ELF divided
 * by QEMU's wall time (which includes its start-up, reported alongside). The program is the same file
 * and deterministic, so the count is the same on both machines.
 */
import { boot } from "../machine/boot.js";
import { BufferConsole } from "../machine/devices/console.js";
import { readElfFile } from "../machine/elf.js";
import { Machine } from "../machine/machine.js";
import { buildGuestVariant, guestProgramElf, qemuAvailable } from "../testing/guest-build.js";
import { DEFAULT_QEMU_CPU, runQemu } from "../testing/qemu.js";
import { median, roundSignificant, type SuiteResult } from "./results.js";

export interface CpuOptions {
  /** Runs per machine; the median counts. */
  runs: number;
  /** Fixed iteration count instead of calibrating on QEMU. */
  iterations?: number;
  /** Seconds one run should take on QEMU when calibrating. */
  qemuSeconds: number;
  /** Progress lines (to stderr). */
  log: (line: string) => void;
}

/** Iterations of the first calibration build: long enough (~0.3 s on QEMU) to dwarf QEMU's start-up. */
const PROBE_ITERATIONS = 1000;
/** Probes of the calibration: the first from PROBE_ITERATIONS, the second from the first's estimate. */
const CALIBRATION_STEPS = 2;
/** Goals. The interpreter's: a reference engine that stays readable; the DBT will be measured on its own. */
const GOAL_RVISOR_MIPS = 30;
const GOAL_RATIO = 0.05;

interface Run {
  seconds: number;
  stdout: string;
  retired: number;
}

function checkValid(machine: string, elf: string, stdout: string, exitCode: number): void {
  if (exitCode !== 0 || !/^VALID$/m.test(stdout)) {
    throw new Error(`${machine}: ${elf} did not validate (exit code ${exitCode}):\n${stdout}`);
  }
}

/** One run on rvisor, in process. */
function runOnRvisor(elf: string): Run {
  const console = new BufferConsole();
  const machine = new Machine({ console, clock: "icount", onIdle: "exit" });
  boot(machine, readElfFile(elf));
  const start = performance.now();
  const exit = machine.runSync();
  const seconds = (performance.now() - start) / 1000;
  const stdout = console.text();
  checkValid("rvisor", elf, stdout, exit.code);
  return { seconds, stdout, retired: machine.retired };
}

/** One run on QEMU, timed from spawn to exit; it must end with exit code 0 and, if `validate`, print VALID. */
async function runOnQemu(elf: string, timeoutMs: number, validate = true): Promise<Run> {
  const start = performance.now();
  const r = await runQemu(elf, { timeoutMs });
  const seconds = (performance.now() - start) / 1000;
  if (r.timedOut) throw new Error(`qemu: ${elf} did not finish within ${timeoutMs / 1000} s`);
  if (validate) checkValid("qemu", elf, r.stdout, r.exitCode);
  else if (r.exitCode !== 0)
    throw new Error(`qemu: ${elf} exited with ${r.exitCode}:\n${r.stdout}${r.stderr}`);
  return { seconds, stdout: r.stdout, retired: Number.NaN };
}

const medianOf = (runs: Run[]): number => median(runs.map((r) => r.seconds));

/**
 * The iteration count that takes about `seconds` on QEMU. QEMU's time per iteration falls as a run grows
 * (translation is paid once), so one short probe underestimates it: the count from a probe is checked
 * by a second probe of that count, and rescaled from its time.
 */
async function calibrate(seconds: number, startup: number, log: (line: string) => void): Promise<number> {
  let iterations = PROBE_ITERATIONS;
  for (let step = 0; step < CALIBRATION_STEPS; step++) {
    const probe = buildGuestVariant("coremark-lite", { ITERATIONS: iterations });
    const probeSeconds = (await runOnQemu(probe, 60_000)).seconds;
    const next = roundSignificant((seconds * iterations) / Math.max(probeSeconds - startup, 1e-3), 2);
    log(`calibration: ${iterations} iterations take ${probeSeconds.toFixed(3)} s on QEMU → ${next}`);
    iterations = next;
  }
  return iterations;
}

/** Runs `fn` n times one after another (never in parallel: runs must not compete for the host). */
async function sequential(n: number, fn: () => Run | Promise<Run>): Promise<Run[]> {
  const runs: Run[] = [];
  for (let i = 0; i < n; i++) runs.push(await fn());
  return runs;
}

export async function cpuSuite(opts: CpuOptions): Promise<SuiteResult> {
  if (!qemuAvailable()) {
    throw new Error(
      "the cpu suite compares with qemu-system-riscv32: install the Debian package qemu-system-misc",
    );
  }
  const log = opts.log;
  const qemuStartup = medianOf(await sequential(3, () => runOnQemu(guestProgramElf("hello"), 10_000, false)));
  log(`qemu start-up (hello.elf, spawn to exit): ${qemuStartup.toFixed(3)} s`);
  const iterations = opts.iterations ?? (await calibrate(opts.qemuSeconds, qemuStartup, log));
  const elf = buildGuestVariant("coremark-lite", { ITERATIONS: iterations });
  log(`coremark-lite, ${iterations} iterations: ${elf}`);

  const rvisorRuns = await sequential(opts.runs, () => {
    const r = runOnRvisor(elf);
    log(`rvisor run: ${r.seconds.toFixed(3)} s, ${r.retired} instructions`);
    return r;
  });
  const retired = rvisorRuns[0].retired;
  if (rvisorRuns.some((r) => r.retired !== retired || r.stdout !== rvisorRuns[0].stdout)) {
    throw new Error(
      "rvisor: runs of the same program retired different instruction counts or printed differently",
    );
  }
  // QEMU gets 20× its calibrated time and at least a minute before it counts as hung.
  const qemuTimeout = Math.max(60_000, 20_000 * opts.qemuSeconds);
  const qemuRuns = await sequential(opts.runs, async () => {
    const r = await runOnQemu(elf, qemuTimeout);
    log(`qemu run:   ${r.seconds.toFixed(3)} s`);
    return r;
  });
  if (qemuRuns[0].stdout !== rvisorRuns[0].stdout) {
    throw new Error(
      `rvisor and QEMU printed different results:\n${rvisorRuns[0].stdout}\n---\n${qemuRuns[0].stdout}`,
    );
  }

  const rvisorSeconds = medianOf(rvisorRuns);
  const qemuSeconds = medianOf(qemuRuns);
  const rvisorMips = retired / rvisorSeconds / 1e6;
  const qemuMips = retired / qemuSeconds / 1e6;
  return {
    suite: "cpu",
    figures: {
      "rvisor.interp.mips": { value: rvisorMips, unit: "MIPS", goal: GOAL_RVISOR_MIPS, better: "higher" },
      "rvisor.interp.iterations_per_s": {
        value: iterations / rvisorSeconds,
        unit: "iter/s",
        goal: null,
        better: "higher",
      },
      "rvisor.interp.seconds": { value: rvisorSeconds, unit: "s", goal: null, better: "lower" },
      "qemu.mips_derived": { value: qemuMips, unit: "MIPS", goal: null, better: "higher" },
      "qemu.iterations_per_s": {
        value: iterations / qemuSeconds,
        unit: "iter/s",
        goal: null,
        better: "higher",
      },
      "qemu.seconds": { value: qemuSeconds, unit: "s", goal: null, better: "lower" },
      "qemu.startup_seconds": { value: qemuStartup, unit: "s", goal: null, better: "lower" },
      "ratio.rvisor_over_qemu": {
        value: rvisorMips / qemuMips,
        unit: "×",
        goal: GOAL_RATIO,
        better: "higher",
      },
    },
    notes: [
      `median of ${opts.runs} runs each; runs are sequential`,
      "rvisor: interpreter, icount clock, in process; host time of the run only (ELF loading and boot excluded)",
      "qemu: wall time from spawn to exit, start-up included (qemu.startup_seconds: hello.elf from spawn to exit)",
      "qemu.mips_derived: rvisor's instruction count for the same ELF divided by QEMU's wall time " +
        "(QEMU does not count instructions; the program is deterministic, so the count is the same)",
      "ratio.rvisor_over_qemu: rvisor MIPS / QEMU MIPS (equally, QEMU time / rvisor time)",
    ],
    context: {
      program: "coremark-lite",
      iterations,
      instructions: retired,
      runs: opts.runs,
      qemuCpu: DEFAULT_QEMU_CPU,
      node: process.version,
    },
  };
}
