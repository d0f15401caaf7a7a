/**
 * `rvisor run <elf>`: boots one guest ELF on the board with the process's stdio as its console, and
 * exits with the guest's exit code.
 *
 *   stdin  ──► StdioConsole ──► UART / HTIF ──► guest ──► UART / HTIF ──► StdioConsole ──► stdout
 *   exit status: the guest's (sifive_test poweroff or HTIF tohost), 124 at --max-insns, 125 on a deadlock
 *   stderr: rvisor's own messages and --stats, never guest output
 *
 * When every hart waits for an interrupt that nothing can raise, what happens depends on stdin. A
 * terminal can always send another key, so the machine waits (onIdle "wait"). A pipe or a file can
 * end: until it does, input may still arrive and wake a hart, afterwards nothing will, and the run ends
 * as a deadlock (watchForDeadlock below).
 */
import { existsSync, statSync } from "node:fs";
import { DOMAIN_MODES } from "../hypervisor/domain.js";
import { QUIRKS } from "../hypervisor/hypervisor.js";
import { DEFAULT_SCHEDULER } from "../hypervisor/scheduler/registry.js";
import { boot } from "../machine/boot.js";
import { StdioConsole } from "../machine/devices/console.js";
import { type ElfImage, readElfFile } from "../machine/elf.js";
import { type ClockKind, Machine, type MachineExit } from "../machine/machine.js";
import { parseDomainSpec, parseScheduler, runHypervisorCommand } from "./hv-run.js";
import {
  CLOCK_NAMES,
  parseChoice,
  parseHarts,
  parseInsnCount,
  parseMemorySize,
  UsageError,
} from "./options.js";
import {
  DEFAULT_ENGINE,
  ENGINE_NAMES,
  ENGINES,
  type EngineName,
  FIRMWARE_NAMES,
  FIRMWARES,
  type FirmwareName,
} from "./registry.js";
import { collectStats, formatStats } from "./stats.js";

/** The options as commander hands them over: the text the person typed. */
export interface RawRunOptions {
  harts?: string;
  memory?: string;
  firmware?: string;
  maxInsns?: string;
  clock?: string;
  engine?: string;
  stats?: boolean;
  bootargs?: string;
  mode?: string;
  domain?: string[];
  scheduler?: string;
  schedTrace?: string;
  quirk?: string;
  hExtension?: boolean;
}

/** `--mode`: native is the bare board with the SBI firmware; trap and pv make the kernel a domain. */
export const RUN_MODES = ["native", ...DOMAIN_MODES] as const;
export type RunMode = (typeof RUN_MODES)[number];

/** Dispatches `rvisor run` to the bare board or to the hypervisor. */
export function runAny(elf: string | undefined, raw: RawRunOptions): Promise<number> {
  const mode = raw.mode === undefined ? undefined : parseChoice(raw.mode, "--mode", RUN_MODES);
  const specs = raw.domain ?? [];
  if (specs.length > 0 || (mode !== undefined && mode !== "native")) {
    if (specs.length > 0 && (elf !== undefined || mode !== undefined))
      throw new UsageError("give either --domain specs or --mode with one ELF, not both");
    if (raw.firmware !== undefined) throw new UsageError("--firmware applies to the bare board only");
    const domains = specs.map(parseDomainSpec);
    if (elf !== undefined && mode !== undefined && mode !== "native") {
      domains.push({
        mode,
        kernel: elf,
        memoryBytes: parseMemorySize(raw.memory ?? "128M"),
        vcpus: 1,
        name: undefined,
        bootargs: raw.bootargs,
        weight: undefined,
        cap: undefined,
        disks: [],
      });
    }
    if (domains.length === 0) throw new UsageError(`--mode ${mode} needs a kernel ELF`);
    if (raw.hExtension === true) throw new UsageError("--h-extension applies to the bare board only");
    return runHypervisorCommand({
      domains,
      pcpus: parseHarts(raw.harts ?? "1"),
      maxInsns: raw.maxInsns === undefined ? undefined : parseInsnCount(raw.maxInsns),
      clock: parseChoice(raw.clock ?? "icount", "--clock", CLOCK_NAMES),
      engine: parseChoice(raw.engine ?? DEFAULT_ENGINE, "--engine", ENGINE_NAMES),
      scheduler: parseScheduler(raw.scheduler ?? DEFAULT_SCHEDULER),
      stats: raw.stats === true,
      schedTrace: raw.schedTrace,
      quirks: raw.quirk === undefined ? [] : [parseChoice(raw.quirk, "--quirk", QUIRKS)],
    });
  }
  if (raw.quirk !== undefined)
    throw new UsageError("--quirk applies to hypervisor runs (--mode trap|bt|pv) only");
  if (raw.schedTrace !== undefined)
    throw new UsageError(
      `--sched-trace applies to hypervisor runs (--mode ${DOMAIN_MODES.join("|")} or --domain) only`,
    );
  if (elf === undefined) throw new UsageError("run needs an ELF (or --domain specs)");
  const firmware = raw.firmware ?? (mode === "native" ? "sbi" : "none");
  return runCommand(parseRunOptions(elf, { ...raw, firmware }));
}

export interface RunSettings {
  elf: string;
  harts: number;
  ramBytes: number;
  firmware: FirmwareName;
  maxInsns: number | undefined;
  clock: ClockKind;
  engine: EngineName;
  stats: boolean;
  bootargs: string | undefined;
  /** The harts have the H extension (MachineOptions.hExtension). */
  hExtension: boolean;
}

export function parseRunOptions(elf: string, raw: RawRunOptions): RunSettings {
  return {
    elf,
    harts: parseHarts(raw.harts ?? "1"),
    ramBytes: parseMemorySize(raw.memory ?? "128M"),
    firmware: parseChoice(raw.firmware ?? "none", "--firmware", FIRMWARE_NAMES),
    maxInsns: raw.maxInsns === undefined ? undefined : parseInsnCount(raw.maxInsns),
    clock: parseChoice(raw.clock ?? "icount", "--clock", CLOCK_NAMES),
    engine: parseChoice(raw.engine ?? DEFAULT_ENGINE, "--engine", ENGINE_NAMES),
    stats: raw.stats === true,
    bootargs: raw.bootargs,
    hExtension: raw.hExtension === true,
  };
}

/** Reads the ELF, failing with a UsageError that names the file when it is missing or not a file. */
export function loadGuest(path: string): ElfImage {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file`);
  if (!statSync(path).isFile()) throw new UsageError(`${path}: not a file`);
  return readElfFile(path);
}

/** Runs the guest to its end; returns the process exit status. */
export async function runCommand(s: RunSettings): Promise<number> {
  const image = loadGuest(s.elf);
  const interactive = process.stdin.isTTY === true;
  const console = new StdioConsole();
  try {
    const machine = new Machine({
      harts: s.harts,
      ramBytes: s.ramBytes,
      clock: s.clock,
      console,
      engine: ENGINES[s.engine].engine,
      onIdle: "wait",
      hExtension: s.hExtension,
    });
    try {
      boot(machine, image, { firmware: FIRMWARES[s.firmware].firmware, bootargs: s.bootargs });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const stopWatching = interactive ? () => {} : watchForDeadlock(machine);
    const start = performance.now();
    let exit: MachineExit;
    try {
      exit = await machine.run({ maxInsns: s.maxInsns });
    } finally {
      stopWatching();
    }
    const hostMs = performance.now() - start;
    console.close();
    if (
      (exit.kind === "limit" || exit.kind === "deadlock" || exit.code !== 0) &&
      exit.message !== undefined
    ) {
      process.stderr.write(`rvisor: ${exit.message}\n`);
    }
    if (s.stats) {
      for (const line of formatStats(collectStats(machine, exit, hostMs)))
        process.stderr.write(`rvisor: ${line}\n`);
    }
    return exit.code;
  } finally {
    console.close();
  }
}

/** How often a non-interactive run looks for a machine that can no longer make progress. */
const DEADLOCK_CHECK_MS = 20;

/**
 * Once stdin has ended, ends the run as a deadlock when every hart is stopped or waits with no enabled
 * interrupt pending and no timer is armed. The check runs between the machine's rounds (it sleeps while
 * idle), so it sees a consistent state. Returns the function that stops watching.
 */
export function watchForDeadlock(machine: Machine): () => void {
  let inputEnded = false;
  const onEnd = (): void => {
    inputEnded = true;
  };
  process.stdin.once("end", onEnd);
  const timer = setInterval(() => {
    if (!inputEnded || machine.clint.nextDeadline() !== Number.POSITIVE_INFINITY) return;
    const idle = machine.harts.every((h) => h.stopped || (h.waiting && (h.mip & h.mie) === 0));
    if (idle) {
      machine.requestExit({
        kind: "deadlock",
        code: 125,
        message: "every hart waits for an interrupt, no timer is armed and console input has ended",
      });
    }
  }, DEADLOCK_CHECK_MS);
  return () => {
    clearInterval(timer);
    process.stdin.off("end", onEnd);
  };
}
