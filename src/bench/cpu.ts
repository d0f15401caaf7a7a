/**
 * The `cpu` suite: coremark-lite on rvisor's interpreter, rvisor's translator and QEMU's TCG, in the
 * same run (engines.ts does the measuring).
 *
 *   1. QEMU start-up: hello.elf from spawn to exit, median of three
 *   2. calibrate: a 1000-iteration probe on QEMU, then the count it predicts, to the count that takes
 *      --qemu-seconds (2 s by default) on QEMU; or --iterations
 *   3. interp ×n, dbt ×n, QEMU ×n, one after another; medians; every run must print VALID and exit 0
 *
 * The goals are the targets for a CoreMark-like -O2 workload: the translator at least 0.5× QEMU
 * TCG's speed, the interpreter at least 0.08×. The `dbt` suite runs the same comparison on more
 * workloads.
 */
import { DEFAULT_QEMU_CPU } from "../testing/qemu.js";
import { COMPARISON_NOTES, compareEngines, comparisonFigures, rates, TARGETS } from "./engines.js";
import { qemuStartup } from "./measure.js";
import type { Figure, SuiteResult } from "./results.js";
import { COREMARK } from "./workloads.js";

export interface CpuOptions {
  /** Runs per engine; the median counts. */
  runs: number;
  /** Fixed iteration count instead of calibrating on QEMU. */
  iterations?: number;
  /** Seconds one run should take on QEMU when calibrating. */
  qemuSeconds: number;
  /** Progress lines (to stderr). */
  log: (line: string) => void;
}

export async function cpuSuite(opts: CpuOptions): Promise<SuiteResult> {
  const startup = await qemuStartup(false);
  opts.log(`qemu start-up (hello.elf, spawn to exit): ${startup.toFixed(3)} s`);
  const c = await compareEngines(COREMARK, {
    runs: opts.runs,
    size: opts.iterations,
    qemuSeconds: opts.qemuSeconds,
    qemuStartup: startup,
    log: opts.log,
  });
  const r = rates(c);
  const perSecond = (seconds: number): Figure => ({
    value: c.size / seconds,
    unit: "iter/s",
    goal: null,
    better: "higher",
  });
  return {
    suite: "cpu",
    figures: {
      ...comparisonFigures(c, TARGETS),
      "interp.iterations_per_s": perSecond(c.interpSeconds),
      "dbt.iterations_per_s": perSecond(c.dbtSeconds),
      "qemu.iterations_per_s": perSecond(r.qemuNet),
      "qemu.startup_seconds": { value: startup, unit: "s", goal: null, better: "lower" },
    },
    notes: [
      `median of ${opts.runs} runs per engine; runs are sequential, never beside one another`,
      ...COMPARISON_NOTES,
      `goals: the issue's targets for a CoreMark-like -O2 workload (dbt ≥ ${TARGETS.dbtOverQemu}× QEMU, ` +
        `interp ≥ ${TARGETS.interpOverQemu}× QEMU)`,
    ],
    context: {
      program: COREMARK.program,
      iterations: c.size,
      instructions: c.instructions,
      runs: opts.runs,
      qemuCpu: DEFAULT_QEMU_CPU,
      node: process.version,
    },
  };
}
