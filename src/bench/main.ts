#!/usr/bin/env node
/**
 * `npm run bench -- [suite] [options]`: runs a benchmark suite, prints its figures as a table and writes
 * them to bench/results/<suite>.json. Suites so far:
 *
 *   cpu   coremark-lite on rvisor's interpreter, its translator and QEMU: MIPS and ratios (cpu.ts)
 *   dbt   coremark-lite, memstream, branchy and uscall on the same three, with the translation cache's
 *         figures after each translator run (dbt.ts)
 *   sched Xen's Credit vs round-robin: fairness, cap error, wake-up latency, overhead (hypervisor/scheduler)
 *   ctr   containers: create+start(+delete) latency vs unshare and runc, live update (containers/bench.ts)
 *
 * A benchmark is not a test: it asserts nothing about speed. It fails (exit 1) only when a run does not
 * produce the program's correct result, since a fast wrong answer measures nothing.
 */
import { join } from "node:path";
import { Command } from "commander";
import { parseIntInRange, UsageError } from "../cli/options.js";
import { runContainerBench } from "../containers/bench.js";
import { runSchedBench } from "../hypervisor/scheduler/bench.js";
import { repoRoot } from "../testing/guest-build.js";
import { cpuSuite } from "./cpu.js";
import { dbtSuite } from "./dbt.js";
import { formatTable, type SuiteResult, writeResults } from "./results.js";
import { WORKLOADS } from "./workloads.js";

interface RawOptions {
  runs: string;
  iterations?: string;
  qemuSeconds?: string;
  workloads?: string;
  out?: string;
}

interface SuiteSettings {
  runs: number;
  iterations?: number;
  qemuSeconds: number;
  workloads?: string[];
  log: (line: string) => void;
}

interface Suite {
  run: (s: SuiteSettings) => Promise<SuiteResult>;
  /** How long one QEMU run should take when calibrating, unless --qemu-seconds says otherwise (0: no QEMU). */
  qemuSeconds: number;
  /** Whether --workloads means anything to it. */
  takesWorkloads: boolean;
}

const SUITES: Record<string, Suite> = {
  cpu: { run: cpuSuite, qemuSeconds: 2, takesWorkloads: false },
  // Four workloads at 0.5 s on QEMU each: a full run, the interpreter's included, takes ~2.5 minutes.
  dbt: { run: dbtSuite, qemuSeconds: 0.5, takesWorkloads: true },
  // Credit vs round-robin on simulated hosts (src/hypervisor/scheduler/bench.ts); prints its own table.
  sched: {
    run: async () => ({ summary: undefined, ...(await runSchedBench()) }),
    qemuSeconds: 0,
    takesWorkloads: false,
  },
  // Container create/start/delete and live-update latency against unshare and runc (needs root).
  ctr: {
    run: async () => ({ notes: [], context: {}, ...(await runContainerBench()) }),
    qemuSeconds: 0,
    takesWorkloads: false,
  },
};

async function main(suite: string, raw: RawOptions): Promise<void> {
  const entry = Object.hasOwn(SUITES, suite) ? SUITES[suite] : undefined;
  if (entry === undefined)
    throw new UsageError(`unknown suite '${suite}'; suites: ${Object.keys(SUITES).join(", ")}`);
  const qemuSeconds = raw.qemuSeconds === undefined ? entry.qemuSeconds : Number(raw.qemuSeconds);
  if (entry.qemuSeconds === 0 && raw.qemuSeconds !== undefined)
    throw new UsageError(`--qemu-seconds is for the suites that run QEMU; the ${suite} suite does not`);
  if (entry.qemuSeconds !== 0 && !(qemuSeconds > 0 && qemuSeconds <= 600)) {
    throw new UsageError(`--qemu-seconds must be a number of seconds in (0, 600], got '${raw.qemuSeconds}'`);
  }
  if (raw.workloads !== undefined && !entry.takesWorkloads)
    throw new UsageError(`--workloads is for the dbt suite; the ${suite} suite runs coremark-lite only`);
  const workloads = raw.workloads?.split(",").map((w) => w.trim());
  const known = WORKLOADS.map((w) => w.name);
  for (const w of workloads ?? []) {
    if (!known.includes(w)) throw new UsageError(`unknown workload '${w}'; workloads: ${known.join(", ")}`);
  }
  const settings: SuiteSettings = {
    runs: parseIntInRange(raw.runs, "--runs", 1, 99),
    iterations:
      raw.iterations === undefined ? undefined : parseIntInRange(raw.iterations, "--iterations", 1, 1e9),
    qemuSeconds,
    workloads,
    log: (line) => process.stderr.write(`bench ${suite}: ${line}\n`),
  };
  const result = await entry.run(settings);
  const out = raw.out ?? join(repoRoot, "bench", "results", `${suite}.json`);
  if (result.summary !== undefined) process.stdout.write(`${result.summary}\n`);
  process.stdout.write(`${formatTable(result)}\n`);
  for (const note of result.notes) process.stdout.write(`  - ${note}\n`);
  writeResults(out, result);
  process.stdout.write(`written to ${out}\n`);
}

const program = new Command("bench")
  .description("run a benchmark suite and write bench/results/<suite>.json")
  .argument("[suite]", `one of ${Object.keys(SUITES).join(", ")}`, "cpu")
  .option("--runs <n>", "runs per machine; the median counts", "3")
  .option(
    "--iterations <n>",
    "size of each workload: coremark-lite iterations, memstream passes, branchy rounds, uscall calls " +
      "(default: calibrated to --qemu-seconds on QEMU)",
  )
  .option("--qemu-seconds <s>", "how long one QEMU run should take when calibrating (cpu: 2, dbt: 0.5)")
  .option(
    "--workloads <list>",
    `dbt suite: a comma-separated subset of ${WORKLOADS.map((w) => w.name).join(", ")}`,
  )
  .option("--out <path>", "where to write the results (default bench/results/<suite>.json)")
  .action(async (suite: string, raw: RawOptions) => {
    try {
      await main(suite, raw);
    } catch (e) {
      process.stderr.write(`bench: ${(e as Error).message}\n`);
      process.exitCode = e instanceof UsageError ? 2 : 1;
    }
  });

await program.parseAsync(process.argv);
