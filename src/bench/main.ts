#!/usr/bin/env node
/**
 * `npm run bench -- [suite] [options]`: runs a benchmark suite, prints its figures as a table and writes
 * them to bench/results/<suite>.json. Suites so far:
 *
 *   cpu   coremark-lite on rvisor's interpreter and on QEMU, MIPS and the ratio between them (cpu.ts)
 *
 * A benchmark is not a test: it asserts nothing about speed. It fails (exit 1) only when a run does not
 * produce the program's correct result, since a fast wrong answer measures nothing.
 */
import { join } from "node:path";
import { Command } from "commander";
import { parseIntInRange, UsageError } from "../cli/options.js";
import { repoRoot } from "../testing/guest-build.js";
import { cpuSuite } from "./cpu.js";
import { formatTable, type SuiteResult, writeResults } from "./results.js";

interface RawOptions {
  runs: string;
  iterations?: string;
  qemuSeconds: string;
  out?: string;
}

interface SuiteSettings {
  runs: number;
  iterations?: number;
  qemuSeconds: number;
  log: (line: string) => void;
}

const SUITES: Record<string, (s: SuiteSettings) => Promise<SuiteResult>> = {
  cpu: cpuSuite,
};

async function main(suite: string, raw: RawOptions): Promise<void> {
  const run = SUITES[suite];
  if (run === undefined)
    throw new UsageError(`unknown suite '${suite}'; suites: ${Object.keys(SUITES).join(", ")}`);
  const qemuSeconds = Number(raw.qemuSeconds);
  if (!(qemuSeconds > 0 && qemuSeconds <= 600)) {
    throw new UsageError(`--qemu-seconds must be a number of seconds in (0, 600], got '${raw.qemuSeconds}'`);
  }
  const settings: SuiteSettings = {
    runs: parseIntInRange(raw.runs, "--runs", 1, 99),
    iterations:
      raw.iterations === undefined ? undefined : parseIntInRange(raw.iterations, "--iterations", 1, 1e9),
    qemuSeconds,
    log: (line) => process.stderr.write(`bench ${suite}: ${line}\n`),
  };
  const result = await run(settings);
  const out = raw.out ?? join(repoRoot, "bench", "results", `${suite}.json`);
  process.stdout.write(`${formatTable(result)}\n`);
  for (const note of result.notes) process.stdout.write(`  - ${note}\n`);
  writeResults(out, result);
  process.stdout.write(`written to ${out}\n`);
}

const program = new Command("bench")
  .description("run a benchmark suite and write bench/results/<suite>.json")
  .argument("[suite]", `one of ${Object.keys(SUITES).join(", ")}`, "cpu")
  .option("--runs <n>", "runs per machine; the median counts", "3")
  .option("--iterations <n>", "coremark-lite iterations (default: calibrated to --qemu-seconds on QEMU)")
  .option("--qemu-seconds <s>", "how long one QEMU run should take when calibrating", "2")
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
