/**
 * Runs a guest ELF on rvisor, in this process: the twin of runQemu (qemu.ts) for differential tests.
 * The console is a BufferConsole holding the given input, and a machine whose harts all wait with
 * nothing to wake them ends the run as a deadlock instead of hanging the test.
 *
 * Output is decoded one character per byte (latin1), as runQemu does, so the two compare byte for byte.
 */
import { DEFAULT_ENGINE, ENGINES, type EngineName, FIRMWARES, type FirmwareName } from "../cli/registry.js";
import { boot } from "../machine/boot.js";
import { BufferConsole } from "../machine/devices/console.js";
import { readElfFile } from "../machine/elf.js";
import { type ClockKind, Machine, type MachineExit } from "../machine/machine.js";

export interface RvisorOptions {
  harts?: number;
  memoryMiB?: number;
  firmware?: FirmwareName;
  /** Bytes for the guest's console input (UTF-8); without it the input is empty. */
  stdin?: string;
  /** Stop after this many instructions (exit code 124). */
  maxInsns?: number;
  /** `icount` (default): deterministic virtual time. */
  clock?: ClockKind;
  /** Execution engine (default: the translator). */
  engine?: EngineName;
  /** Give the harts the H extension (MachineOptions.hExtension). */
  hExtension?: boolean;
}

export interface RvisorResult {
  /** What the guest printed, one character per byte (latin1). */
  stdout: string;
  /** The guest's exit code; 124 for the instruction limit, 125 for a deadlock. */
  exitCode: number;
  exit: MachineExit;
  /** Instructions retired by all harts. */
  retired: number;
}

const MiB = 1024 * 1024;

export async function runRvisor(elf: string, opts: RvisorOptions = {}): Promise<RvisorResult> {
  const console = new BufferConsole(opts.stdin ?? "");
  const machine = new Machine({
    harts: opts.harts,
    ramBytes: opts.memoryMiB === undefined ? undefined : opts.memoryMiB * MiB,
    clock: opts.clock,
    engine: ENGINES[opts.engine ?? DEFAULT_ENGINE].engine,
    console,
    onIdle: "exit",
    hExtension: opts.hExtension,
  });
  boot(machine, readElfFile(elf), { firmware: FIRMWARES[opts.firmware ?? "none"].firmware });
  const exit = await machine.run({ maxInsns: opts.maxInsns });
  return { stdout: console.bytes().toString("latin1"), exitCode: exit.code, exit, retired: machine.retired };
}
