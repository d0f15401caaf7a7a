/**
 * One workload on rvisor's interpreter, rvisor's translator and QEMU's TCG, in the same run, and the
 * figures that compare them.
 *
 *   size       --iterations, or calibrated so that one QEMU run takes about --qemu-seconds
 *   interp ×n, dbt ×n, QEMU ×n   one after another; medians count
 *   count      rvisor's retired instructions, the same on every run and on both engines
 *
 * QEMU does not count instructions, so its MIPS is rvisor's count for the same ELF divided by QEMU's
 * net time: wall time from spawn to exit minus QEMU's start-up (a trivial program's spawn-to-exit time,
 * with the same firmware). The program is the same file and deterministic, so the count is the same.
 */
import { MAX_BLOCKS, type TranslatorStats } from "../machine/dbt/translator.js";
import { buildGuestVariant } from "../testing/guest-build.js";
import { calibrate, checkAgreement, medianSeconds, runOnQemu, runOnRvisor, sequential } from "./measure.js";
import type { Figure } from "./results.js";
import type { Workload } from "./workloads.js";

export interface CompareOptions {
  /** Runs per engine; the median counts. */
  runs: number;
  /** Fixed size (the workload's `size` definition) instead of calibrating on QEMU. */
  size?: number;
  /** Seconds one run should take on QEMU when calibrating. */
  qemuSeconds: number;
  /** QEMU's start-up with this workload's firmware (see qemuStartup). */
  qemuStartup: number;
  log: (line: string) => void;
}

export interface Comparison {
  workload: Workload;
  /** The value of the workload's size definition. */
  size: number;
  /** Instructions retired by one run. */
  instructions: number;
  /** Median host seconds of a run on each. */
  interpSeconds: number;
  dbtSeconds: number;
  qemuSeconds: number;
  qemuStartup: number;
  /** The translation cache after a run on the translator (each counter's largest value over the runs). */
  cache: TranslatorStats;
}

/** QEMU's net time is never taken below this, so a tiny run cannot give an infinite or negative rate. */
export const MIN_NET_SECONDS = 1e-3;

/** The goals a comparison is judged by; null where the issue sets none. */
export interface RatioGoals {
  dbtOverQemu: number | null;
  interpOverQemu: number | null;
}

export const NO_GOALS: RatioGoals = { dbtOverQemu: null, interpOverQemu: null };

/** The issue's targets for a CoreMark-like -O2 workload: translator ≥ 0.5× QEMU TCG, interpreter ≥ 0.08×. */
export const TARGETS = { dbtOverQemu: 0.5, interpOverQemu: 0.08 } satisfies RatioGoals;

export async function compareEngines(w: Workload, opts: CompareOptions): Promise<Comparison> {
  const log = opts.log;
  const base = { program: w.program, defines: w.fixed };
  const size = opts.size ?? (await calibrate(base, w.size, w.probe, opts.qemuSeconds, opts.qemuStartup, log));
  const elf = buildGuestVariant(w.program, { ...w.fixed, [w.size]: size });
  log(`${w.name}, ${w.size}=${size}: ${elf}`);

  const interp = await sequential(opts.runs, () => {
    const r = runOnRvisor(w.program, elf, "interp");
    log(`${w.name} interp: ${r.seconds.toFixed(3)} s, ${r.retired} instructions`);
    return r;
  });
  const dbt = await sequential(opts.runs, () => {
    const r = runOnRvisor(w.program, elf, "dbt");
    log(`${w.name} dbt:    ${r.seconds.toFixed(3)} s, ${r.cache?.blocks} blocks`);
    return r;
  });
  // QEMU gets 20× its calibrated time and at least a minute before it counts as hung.
  const timeout = Math.max(60_000, 20_000 * opts.qemuSeconds);
  const qemu = await sequential(opts.runs, async () => {
    const r = await runOnQemu(w.program, elf, timeout);
    log(`${w.name} qemu:   ${r.seconds.toFixed(3)} s`);
    return r;
  });
  const instructions = checkAgreement(w.name, [...interp, ...dbt], qemu);
  return {
    workload: w,
    size,
    instructions,
    interpSeconds: medianSeconds(interp),
    dbtSeconds: medianSeconds(dbt),
    qemuSeconds: medianSeconds(qemu),
    qemuStartup: opts.qemuStartup,
    cache: largestCounters(dbt.map((r) => r.cache).filter((c) => c !== undefined)),
  };
}

/** Each counter's largest value over the runs. */
export function largestCounters(all: readonly TranslatorStats[]): TranslatorStats {
  if (all.length === 0) throw new Error("no translator statistics: no run on the translator");
  const out: Record<string, number> = {};
  for (const s of all) {
    for (const [k, v] of Object.entries(s)) if (typeof v === "number") out[k] = Math.max(out[k] ?? v, v);
  }
  return out as unknown as TranslatorStats;
}

/** The rates of a comparison, in MIPS, with QEMU's derived from rvisor's count over its net time. */
export function rates(c: Comparison): { interp: number; dbt: number; qemu: number; qemuNet: number } {
  const qemuNet = Math.max(c.qemuSeconds - c.qemuStartup, MIN_NET_SECONDS);
  return {
    interp: c.instructions / c.interpSeconds / 1e6,
    dbt: c.instructions / c.dbtSeconds / 1e6,
    qemu: c.instructions / qemuNet / 1e6,
    qemuNet,
  };
}

const higher = (value: number, unit: string, goal: number | null = null): Figure => ({
  value,
  unit,
  goal,
  better: "higher",
});
const lower = (value: number, unit: string, goal: number | null = null): Figure => ({
  value,
  unit,
  goal,
  better: "lower",
});

/** Units of the translator's counters; a counter not named here is a plain count. */
const CACHE_UNITS: Record<string, string> = {
  blocks: "blocks",
  translations: "blocks",
  sourceChars: "chars",
};

/**
 * A comparison's figures, named relative to the workload (the suite adds a prefix): MIPS on each,
 * the three ratios, median seconds, and the translator's cache after a run, whose block count is
 * judged against the cache's bound.
 */
export function comparisonFigures(c: Comparison, goals: RatioGoals): Record<string, Figure> {
  const r = rates(c);
  const figures: Record<string, Figure> = {
    "interp.mips": higher(r.interp, "MIPS"),
    "dbt.mips": higher(r.dbt, "MIPS"),
    "qemu.mips_derived": higher(r.qemu, "MIPS"),
    "ratio.dbt_over_qemu": higher(r.dbt / r.qemu, "×", goals.dbtOverQemu),
    "ratio.interp_over_qemu": higher(r.interp / r.qemu, "×", goals.interpOverQemu),
    "ratio.dbt_over_interp": higher(r.dbt / r.interp, "×"),
    "interp.seconds": lower(c.interpSeconds, "s"),
    "dbt.seconds": lower(c.dbtSeconds, "s"),
    "qemu.seconds": lower(c.qemuSeconds, "s"),
    "qemu.net_seconds": lower(r.qemuNet, "s"),
  };
  for (const [k, v] of Object.entries(c.cache)) {
    const name = `dbt.cache.${k.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`)}`;
    figures[name] = lower(v, CACHE_UNITS[k] ?? "count", k === "blocks" ? MAX_BLOCKS : null);
  }
  return figures;
}

/** How the figures were obtained, for a suite's notes. */
export const COMPARISON_NOTES: readonly string[] = [
  "interp, dbt: rvisor's interpreter and translator, icount clock, in process; host time of the run only " +
    "(ELF loading and boot excluded); S-mode workloads on rvisor's SBI firmware",
  "qemu: qemu-system-riscv32 -machine virt, wall time from spawn to exit; S-mode workloads behind the boot shim",
  "qemu.mips_derived: rvisor's instruction count for the same ELF divided by QEMU's net time " +
    "(qemu.net_seconds = wall time minus QEMU's start-up, measured as a trivial program's spawn-to-exit " +
    `time with the same firmware, never below ${MIN_NET_SECONDS} s); QEMU does not count instructions, ` +
    "and the program is deterministic, so the count is the same",
  "ratios: MIPS over MIPS (dbt_over_qemu is equally QEMU's net time over the translator's time)",
  `dbt.cache.*: the translation cache after a run (largest over the runs); blocks are bounded by ${MAX_BLOCKS} ` +
    "(the cache is flushed whole past it, counted in flushes); source_chars is the generated JavaScript held",
];
