/**
 * The figures of one run, as `--stats`, the demo and the benchmark print them: how many instructions the
 * harts retired, how long that took on the host, the resulting speed, and how much virtual time passed.
 */
import { run as translate, translatorFor } from "../machine/dbt/engine.js";
import type { TranslatorStats } from "../machine/dbt/translator.js";
import type { ClockKind, Machine, MachineExit } from "../machine/machine.js";

export interface RunStats {
  retired: number;
  hostMs: number;
  /** Virtual time of the icount clock (instructions × nominal period); host time on the realtime clock. */
  virtualMs: number;
  clock: ClockKind;
  exit: MachineExit;
  /** The translation cache after the run, when the translator ran it. */
  translation?: TranslatorStats;
}

export function collectStats(machine: Machine, exit: MachineExit, hostMs: number): RunStats {
  const virtualMs = machine.clock === "icount" ? machine.virtualNs / 1e6 : hostMs;
  const translation = machine.engine === translate ? translatorFor(machine.ram).stats() : undefined;
  return { retired: machine.retired, hostMs, virtualMs, clock: machine.clock, exit, translation };
}

/** Million instructions per second of host time. */
export function mips(retired: number, hostMs: number): number {
  return hostMs > 0 ? retired / hostMs / 1000 : 0;
}

const grouped = (n: number): string => n.toLocaleString("en-US");

/** How the run ended, in words: "poweroff, exit code 0". */
export function describeExit(exit: MachineExit): string {
  const what = `${exit.kind}, exit code ${exit.code}`;
  return exit.message === undefined ? what : `${what}: ${exit.message}`;
}

/** One "label  value" line per figure. */
export function formatStats(s: RunStats): string[] {
  const lines = [
    `instructions retired  ${grouped(s.retired)}`,
    `host time             ${(s.hostMs / 1000).toFixed(3)} s`,
    `speed                 ${mips(s.retired, s.hostMs).toFixed(1)} MIPS`,
    `virtual time          ${s.virtualMs.toFixed(3)} ms (${s.clock} clock)`,
  ];
  const t = s.translation;
  if (t !== undefined) {
    lines.push(
      `translation cache     ${grouped(t.blocks)} blocks, ${Math.ceil(t.sourceChars / 1024)} KiB of code ` +
        `(${grouped(t.translations)} translated, ${grouped(t.invalidations)} invalidated, ${t.flushes} flushes)`,
    );
  }
  lines.push(`exit                  ${describeExit(s.exit)}`);
  return lines;
}
