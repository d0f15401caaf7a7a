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
 *   modes the guest kernel's tests and shell workloads native, in trap, bt, pv and hvm modes, and on QEMU:
 *         time, instructions, exits by cause, TLB misses and page-walk references (modes.ts)
 *   virt  the same runs under the name docs/virtualization-modes.md gives the five-technique comparison
 *
 * A benchmark is not a test: it asserts nothing about speed. It fails (exit 1) only when a run does not
 * produce the program's correct result, since a fast wrong answer measures nothing.
 */
import { join } from "node:path";
import { Command } from "commander";
import { parseIntInRange, UsageError } from "../cli/options.js";
import { ENGINE_NAMES, type EngineName } from "../cli/registry.js";
import { runContainerBench } from "../containers/bench.js";
import { runSchedBench } from "../hypervisor/scheduler/bench.js";
import { repoRoot } from "../testing/guest-build.js";
import { cpuSuite } from "./cpu.js";
import { dbtSuite } from "./dbt.js";
import { MODES_WORKLOADS, modesSuite } from "./modes.js";
import { formatTable, type SuiteResult, writeResults } from "./results.js";
import { WORKLOADS } from "./workloads.js";

interface RawOptions {
  runs: string;
  iterations?: string;
  qemuSeconds?: string;
  workloads?: string;
  engines?: string;
  out?: string;
}

interface SuiteSettings {
  runs: number;
  iterations?: number;
  qemuSeconds: number;
  workloads?: string[];
  engines?: EngineName[];
  log: (line: string) => void;
}

interface Suite {
  run: (s: SuiteSettings) => Promise<SuiteResult>;
  /** How long one QEMU run should take when calibrating, unless --qemu-seconds says otherwise (0: none). */
  qemuSeconds: number;
  /** The names --workloads may choose from; undefined when it means nothing to the suite. */
  workloads?: readonly string[];
  /** Whether --engines means anything to it. */
  takesEngines?: boolean;
}

const SUITES: Record<string, Suite> = {
  cpu: { run: cpuSuite, qemuSeconds: 2 },
  // Four workloads at 0.5 s on QEMU each: a full run, the interpreter's included, takes ~2.5 minutes.
  dbt: { run: dbtSuite, qemuSeconds: 0.5, workloads: WORKLOADS.map((w) => w.name) },
  // Credit vs round-robin on simulated hosts (src/hypervisor/scheduler/bench.ts); prints its own table.
  sched: {
    run: async () => ({ summary: undefined, ...(await runSchedBench()) }),
    qemuSeconds: 0,
  },
  // Container create/start/delete and live-update latency against unshare and runc (needs root).
  ctr: {
    run: async () => ({ notes: [], context: {}, ...(await runContainerBench()) }),
    qemuSeconds: 0,
  },
  // Native, trap and pv on the translator, 3 runs each, and QEMU (not calibrated): ~1 minute; about
  // twice that with --engines dbt,interp.
  modes: {
    run: modesSuite,
    qemuSeconds: 0,
    workloads: MODES_WORKLOADS.map((w) => w.name),
    takesEngines: true,
  },
  // The five-technique comparison under the name the docs use (docs/virtualization-modes.md): the same
  // runs — native, trap, bt, pv, hvm and QEMU — with the exits-by-cause and memory-system tables.
  virt: {
    run: modesSuite,
    qemuSeconds: 0,
    workloads: MODES_WORKLOADS.map((w) => w.name),
    takesEngines: true,
  },
};

/** The suites that take an option, for the message refusing it elsewhere: "the dbt and modes suites". */
function suitesTaking(has: (s: Suite) => boolean): string {
  const names = Object.keys(SUITES).filter((n) => has(SUITES[n]));
  if (names.length === 1) return `the ${names[0]} suite`;
  return `the ${names.slice(0, -1).join(", ")} and ${names.at(-1)} suites`;
}

async function main(suite: string, raw: RawOptions): Promise<void> {
  const entry = Object.hasOwn(SUITES, suite) ? SUITES[suite] : undefined;
  if (entry === undefined)
    throw new UsageError(`unknown suite '${suite}'; suites: ${Object.keys(SUITES).join(", ")}`);
  const qemuSeconds = raw.qemuSeconds === undefined ? entry.qemuSeconds : Number(raw.qemuSeconds);
  if (entry.qemuSeconds === 0 && raw.qemuSeconds !== undefined)
    throw new UsageError(
      `--qemu-seconds is for the suites that calibrate on QEMU; the ${suite} suite does not`,
    );
  if (entry.qemuSeconds !== 0 && !(qemuSeconds > 0 && qemuSeconds <= 600)) {
    throw new UsageError(`--qemu-seconds must be a number of seconds in (0, 600], got '${raw.qemuSeconds}'`);
  }
  const known = entry.workloads;
  if (raw.workloads !== undefined && known === undefined) {
    const which = suitesTaking((s) => s.workloads !== undefined);
    throw new UsageError(`--workloads is for ${which}; the ${suite} suite has no workloads to choose`);
  }
  const workloads = raw.workloads?.split(",").map((w) => w.trim());
  for (const w of workloads ?? []) {
    if (!known?.includes(w)) throw new UsageError(`unknown workload '${w}'; workloads: ${known?.join(", ")}`);
  }
  if (raw.engines !== undefined && entry.takesEngines !== true)
    throw new UsageError(`--engines is for ${suitesTaking((s) => s.takesEngines === true)}`);
  const engines = raw.engines?.split(",").map((e) => e.trim());
  for (const e of engines ?? []) {
    if (!(ENGINE_NAMES as string[]).includes(e))
      throw new UsageError(`unknown engine '${e}'; engines: ${ENGINE_NAMES.join(", ")}`);
  }
  const settings: SuiteSettings = {
    runs: parseIntInRange(raw.runs, "--runs", 1, 99),
    iterations:
      raw.iterations === undefined ? undefined : parseIntInRange(raw.iterations, "--iterations", 1, 1e9),
    qemuSeconds,
    workloads,
    engines: engines as EngineName[] | undefined,
    log: (line) => process.stderr.write(`bench ${suite}: ${line}\n`),
  };
  // A suite run under another name (virt is the modes suite) files its results under that name.
  const result = { ...(await entry.run(settings)), suite };
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
    `a comma-separated subset of the suite's workloads (dbt: ${WORKLOADS.map((w) => w.name).join(", ")}; ` +
      `modes: ${MODES_WORKLOADS.map((w) => w.name).join(", ")})`,
  )
  .option("--engines <list>", `modes suite: rvisor's engines, of ${ENGINE_NAMES.join(", ")} (default dbt)`)
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
