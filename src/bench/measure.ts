/**
 * How the benchmark suites time one guest program on rvisor's engines and on QEMU's TCG.
 *
 *   QEMU start-up    a trivial program (hello.elf, or sbi-hello.elf behind the boot shim for S-mode
 *                    workloads) timed from spawn to exit, median of three
 *   calibrate        a probe build timed on QEMU; the size that would take the asked time (minus
 *                    start-up), rounded to two significant digits; then the same again from that size,
 *                    since QEMU's time per unit falls as a run grows (translation is paid once)
 *   rvisor runs      in this process: Machine with the named engine, icount clock, runSync; host time of
 *                    the run alone (ELF loading and boot excluded); the translator's cache figures after
 *                    the run
 *   QEMU runs        qemu-system-riscv32 -machine virt, wall time from spawn to exit
 *
 * Every run must print VALID and exit 0, and every run of one program must print the same bytes and, on
 * rvisor, retire the same number of instructions: a fast wrong answer measures nothing.
 */
import { ENGINES, type EngineName, FIRMWARES } from "../cli/registry.js";
import { boot } from "../machine/boot.js";
import { translatorFor } from "../machine/dbt/engine.js";
import type { TranslatorStats } from "../machine/dbt/translator.js";
import { BufferConsole } from "../machine/devices/console.js";
import { readElfFile } from "../machine/elf.js";
import { Machine } from "../machine/machine.js";
import { buildGuestVariant, guestProgramElf, guestProgramMode, shimElf } from "../testing/guest-build.js";
import { runQemu } from "../testing/qemu.js";
import { median, roundSignificant } from "./results.js";

export interface Run {
  seconds: number;
  stdout: string;
  /** Instructions retired (rvisor only; NaN for QEMU, which does not count them). */
  retired: number;
  /** The translation cache after the run (rvisor's dbt engine only). */
  cache?: TranslatorStats;
}

/** What one program is run as: its guest program name and the -D definitions of the variant. */
export interface Variant {
  program: string;
  defines: Record<string, number>;
}

export function checkValid(machine: string, elf: string, stdout: string, exitCode: number): void {
  if (exitCode !== 0 || !/^VALID$/m.test(stdout)) {
    throw new Error(`${machine}: ${elf} did not validate (exit code ${exitCode}):\n${stdout}`);
  }
}

/** S-mode programs run on rvisor's SBI firmware, and on QEMU behind the boot shim. */
const isSMode = (program: string): boolean => guestProgramMode(program) === "s";

/** One run on rvisor, in process, with the named engine. */
export function runOnRvisor(program: string, elf: string, engine: EngineName): Run {
  const console = new BufferConsole();
  const machine = new Machine({ console, clock: "icount", onIdle: "exit", engine: ENGINES[engine].engine });
  const firmware = FIRMWARES[isSMode(program) ? "sbi" : "none"].firmware;
  boot(machine, readElfFile(elf), { firmware });
  const start = performance.now();
  const exit = machine.runSync();
  const seconds = (performance.now() - start) / 1000;
  const stdout = console.text();
  checkValid(`rvisor (${engine})`, elf, stdout, exit.code);
  const cache = engine === "dbt" ? translatorFor(machine.ram).stats() : undefined;
  return { seconds, stdout, retired: machine.retired, cache };
}

/** One run on QEMU, timed from spawn to exit; it must exit 0 and, if `validate`, print VALID. */
export async function runOnQemu(
  program: string,
  elf: string,
  timeoutMs: number,
  validate = true,
): Promise<Run> {
  const bios = isSMode(program) ? shimElf : "none";
  const start = performance.now();
  const r = await runQemu(elf, { bios, timeoutMs });
  const seconds = (performance.now() - start) / 1000;
  if (r.timedOut) throw new Error(`qemu: ${elf} did not finish within ${timeoutMs / 1000} s`);
  if (validate) checkValid("qemu", elf, r.stdout, r.exitCode);
  else if (r.exitCode !== 0)
    throw new Error(`qemu: ${elf} exited with ${r.exitCode}:\n${r.stdout}${r.stderr}`);
  return { seconds, stdout: r.stdout, retired: Number.NaN };
}

/** Runs `fn` n times one after another (never in parallel: runs must not compete for the host). */
export async function sequential(n: number, fn: (i: number) => Run | Promise<Run>): Promise<Run[]> {
  const runs: Run[] = [];
  for (let i = 0; i < n; i++) runs.push(await fn(i));
  return runs;
}

export const medianSeconds = (runs: readonly Run[]): number => median(runs.map((r) => r.seconds));

/**
 * QEMU's start-up: spawn to exit of a program that does next to nothing, with the same firmware as
 * the program to be measured (the boot shim's own start is part of what is subtracted).
 */
export async function qemuStartup(sMode: boolean): Promise<number> {
  const program = sMode ? "sbi-hello" : "hello";
  const elf = guestProgramElf(program);
  return medianSeconds(await sequential(3, () => runOnQemu(program, elf, 10_000, false)));
}

/** Probes of the calibration: the first from the probe size, the second from the first's estimate. */
const CALIBRATION_STEPS = 2;

/**
 * The value of `define` that makes `base` take about `seconds` on QEMU beyond its start-up, starting
 * from `probe`. Two significant digits, so the same host mostly builds the same variant next time.
 */
export async function calibrate(
  base: Variant,
  define: string,
  probe: number,
  seconds: number,
  startup: number,
  log: (line: string) => void,
): Promise<number> {
  let size = probe;
  for (let step = 0; step < CALIBRATION_STEPS; step++) {
    const elf = buildGuestVariant(base.program, { ...base.defines, [define]: size });
    const probeSeconds = (await runOnQemu(base.program, elf, 60_000)).seconds;
    const estimate = (seconds * size) / Math.max(probeSeconds - startup, 1e-3);
    const next = Math.max(1, Math.round(roundSignificant(estimate, 2))); // a count: a whole number
    log(
      `calibration: ${base.program} ${define}=${size} takes ${probeSeconds.toFixed(3)} s on QEMU → ${next}`,
    );
    size = next;
  }
  return size;
}

/** The same program's runs must agree: one output, and on rvisor one instruction count. */
export function checkAgreement(program: string, rvisor: readonly Run[], qemu: readonly Run[]): number {
  const retired = rvisor[0].retired;
  if (rvisor.some((r) => r.retired !== retired)) {
    const counts = rvisor.map((r) => r.retired).join(", ");
    throw new Error(`rvisor: runs of ${program} retired different instruction counts: ${counts}`);
  }
  const stdout = rvisor[0].stdout;
  for (const r of [...rvisor, ...qemu]) {
    if (r.stdout !== stdout) {
      throw new Error(`${program}: runs printed different results:\n${stdout}\n---\n${r.stdout}`);
    }
  }
  return retired;
}
