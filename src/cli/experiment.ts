/**
 * `rvisor experiment <name>`: runs that change a live domain and print what happened.
 *
 *   rvisor experiment resize [--mode trap|bt|pv|hvm] [--step-ms N] [--sample-ms N] [--json]
 *       the guest kernel under a four-process workload while its memory goes 32 → 8 → 32 MiB and its
 *       vCPUs 1 → 4 → 1 through the store (src/bench/resize-experiment.ts); a timeline table
 */
import type { Command } from "commander";
import { formatResizeTimeline, runResizeExperiment } from "../bench/resize-experiment.js";
import { DOMAIN_MODES, type DomainMode } from "../hypervisor/domain.js";
import { UsageError } from "./options.js";

type Action = <A extends unknown[]>(
  body: (...args: A) => Promise<number> | number,
) => (...args: A) => Promise<void>;

function positive(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new UsageError(`${what} must be 1..10000 ms, got '${text}'`);
  return n;
}

export function registerExperimentCommands(program: Command, action: Action): void {
  const experiment = program
    .command("experiment")
    .description("experiments on a live domain, with a timeline");
  experiment
    .command("resize")
    .description(
      "ramp a domain's memory down and up and its vCPUs 1→4→1 under a workload; print the timeline",
    )
    .option("--mode <mode>", `the domain's mode: ${DOMAIN_MODES.join(", ")}`, "pv")
    .option("--step-ms <n>", "guest time per step, ms", "400")
    .option("--sample-ms <n>", "guest time per sample, ms", "100")
    .option("--json", "the samples as JSON")
    .action(
      action((o: { mode: string; stepMs: string; sampleMs: string; json?: boolean }) => {
        if (!(DOMAIN_MODES as readonly string[]).includes(o.mode))
          throw new UsageError(`--mode must be one of ${DOMAIN_MODES.join(", ")}, got '${o.mode}'`);
        const r = runResizeExperiment({
          mode: o.mode as DomainMode,
          stepMs: positive(o.stepMs, "--step-ms"),
          sampleMs: positive(o.sampleMs, "--sample-ms"),
        });
        process.stdout.write(o.json ? `${JSON.stringify(r.samples, null, 2)}\n` : formatResizeTimeline(r));
        return 0;
      }),
    );
}
