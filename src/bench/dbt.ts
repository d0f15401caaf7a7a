/**
 * The `dbt` suite: every workload (workloads.ts) on rvisor's interpreter, rvisor's translator and
 * QEMU's TCG in the same run (engines.ts), with MIPS, the three ratios and the translation cache's
 * figures after each translator run.
 *
 *   1. QEMU start-up, once for M-mode programs (hello.elf) and once behind the boot shim (sbi-hello.elf)
 *   2. per workload: calibrate its size on QEMU to --qemu-seconds (0.5 s by default: the interpreter
 *      then needs ~10 s a run), or take --iterations; build; interp ×n, dbt ×n, QEMU ×n
 *   3. figures named <workload>.<figure>; a summary table, one row per workload
 *
 * The targets (translator ≥ 0.5× QEMU, interpreter ≥ 0.08× QEMU) are set for a CoreMark-like
 * workload, so they are the goals of coremark-lite's ratios only; the other workloads are reported.
 */
import Table from "cli-table3";
import { guestProgramMode } from "../testing/guest-build.js";
import { DEFAULT_QEMU_CPU } from "../testing/qemu.js";
import {
  COMPARISON_NOTES,
  type Comparison,
  compareEngines,
  comparisonFigures,
  NO_GOALS,
  rates,
  TARGETS,
} from "./engines.js";
import { qemuStartup } from "./measure.js";
import type { Figure, SuiteResult } from "./results.js";
import { COREMARK, findWorkload, WORKLOADS } from "./workloads.js";

export interface DbtOptions {
  runs: number;
  /** Fixed size of every workload (its iterations, passes, rounds or calls) instead of calibrating. */
  iterations?: number;
  qemuSeconds: number;
  /** Workload names; all of them when absent. */
  workloads?: string[];
  log: (line: string) => void;
}

/** One row per workload: what a reader compares first. */
export function summaryTable(comparisons: readonly Comparison[]): string {
  const table = new Table({
    head: [
      "workload",
      "size",
      "Minsn",
      "interp",
      "dbt",
      "QEMU",
      "dbt/QEMU",
      "interp/QEMU",
      "dbt/interp",
      "blocks",
      "code KiB",
    ],
    style: { head: [], border: [] },
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  });
  for (const c of comparisons) {
    const r = rates(c);
    table.push([
      c.workload.name,
      `${c.workload.size}=${c.size}`,
      (c.instructions / 1e6).toFixed(1),
      r.interp.toFixed(1),
      r.dbt.toFixed(1),
      r.qemu.toFixed(0),
      (r.dbt / r.qemu).toFixed(3),
      (r.interp / r.qemu).toFixed(3),
      (r.dbt / r.interp).toFixed(2),
      String(c.cache.blocks),
      (c.cache.sourceChars / 1024).toFixed(0),
    ]);
  }
  return `MIPS (QEMU's derived from rvisor's instruction count over its net time)\n${table.toString()}`;
}

/** The suite's figures: each comparison's under its workload's name, and QEMU's start-up times. */
export function dbtFigures(
  comparisons: readonly Comparison[],
  startup: { m: number; s: number },
): Record<string, Figure> {
  const figures: Record<string, Figure> = {};
  for (const c of comparisons) {
    const goals = c.workload === COREMARK ? TARGETS : NO_GOALS;
    for (const [name, f] of Object.entries(comparisonFigures(c, goals)))
      figures[`${c.workload.name}.${name}`] = f;
  }
  figures["qemu.startup_seconds"] = { value: startup.m, unit: "s", goal: null, better: "lower" };
  figures["qemu.startup_seconds_shim"] = { value: startup.s, unit: "s", goal: null, better: "lower" };
  return figures;
}

export async function dbtSuite(opts: DbtOptions): Promise<SuiteResult> {
  const log = opts.log;
  const workloads = opts.workloads?.map(findWorkload) ?? WORKLOADS;
  const startup = { m: await qemuStartup(false), s: await qemuStartup(true) };
  log(`qemu start-up: ${startup.m.toFixed(3)} s (M-mode), ${startup.s.toFixed(3)} s (behind the boot shim)`);
  const comparisons: Comparison[] = [];
  for (const w of workloads) {
    const sMode = guestProgramMode(w.program) === "s";
    comparisons.push(
      await compareEngines(w, {
        runs: opts.runs,
        size: opts.iterations,
        qemuSeconds: opts.qemuSeconds,
        qemuStartup: sMode ? startup.s : startup.m,
        log,
      }),
    );
  }
  const context: Record<string, string | number> = {
    runs: opts.runs,
    qemuSeconds: opts.qemuSeconds,
    qemuCpu: DEFAULT_QEMU_CPU,
    node: process.version,
  };
  for (const c of comparisons) {
    context[`${c.workload.name}.${c.workload.size.toLowerCase()}`] = c.size;
    for (const [k, v] of Object.entries(c.workload.fixed))
      context[`${c.workload.name}.${k.toLowerCase()}`] = v;
    context[`${c.workload.name}.instructions`] = c.instructions;
  }
  return {
    suite: "dbt",
    figures: dbtFigures(comparisons, startup),
    notes: [
      `median of ${opts.runs} runs per engine; runs are sequential, never beside one another`,
      ...COMPARISON_NOTES,
      `goals: the issue's targets for a CoreMark-like workload (dbt ≥ ${TARGETS.dbtOverQemu}× QEMU, ` +
        `interp ≥ ${TARGETS.interpOverQemu}× QEMU) on coremark-lite; the other workloads have none`,
      ...comparisons.map((c) => `${c.workload.name}: ${c.workload.what}`),
    ],
    context,
    summary: summaryTable(comparisons),
  };
}
