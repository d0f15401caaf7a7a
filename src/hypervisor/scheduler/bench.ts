/**
 * `npm run bench -- sched`: Credit against round-robin on the simulator (sim.ts), in one run.
 *
 *   fairness   three CPU-bound domains of two vCPUs, weights 1:2:4, on 2 pCPUs for 10 s: the largest
 *              distance between a domain's share of the host and its weight's share (points of %)
 *   cap        a domain capped at 25 % against an uncapped hog on one pCPU: |share − 25 %| (points)
 *   latency    2 pCPUs, four CPU-bound vCPUs and two I/O-like vCPUs (0.5 ms bursts, 5 ms sleeps):
 *              wake-up → running, p50 / p99 (µs); Credit also with BOOST off, to show what it buys
 *   overhead   host time spent inside the policy: per scheduler call, and as a share of host time if
 *              the host ran guests in real time (policy ns per simulated s / 1e9); on the latency
 *              scenario and on a larger host (8 pCPUs, 40 vCPUs)
 *
 * Simulated time is deterministic; only the overhead figures read a clock (process.hrtime), around a
 * replay of the calls a simulation made (see `overhead`).
 */
import Table from "cli-table3";
import { CreditScheduler } from "./credit.js";
import type { Scheduler } from "./interface.js";
import { RoundRobinScheduler } from "./round-robin.js";
import {
  cpuBoundDomains,
  domainShares,
  percentile,
  type SimConfig,
  type SimDomain,
  simulate,
} from "./sim.js";

const MS = 1_000_000;
const S = 1_000_000_000;

/** The shape bench/results.ts writes (kept structural: the hypervisor does not import the bench). */
export interface SchedFigure {
  value: number;
  unit: string;
  goal: number | null;
  better: "higher" | "lower";
}

export interface SchedBenchResult {
  suite: "sched";
  figures: Record<string, SchedFigure>;
  notes: string[];
  context: Record<string, string | number>;
}

export interface SchedBenchOptions {
  /** Simulated seconds of the fairness and cap scenarios (default 10). */
  seconds?: number;
  /** Where the comparison table goes (default stdout); null prints nothing. */
  print?: ((text: string) => void) | null;
}

type Policy = { label: string; make: (pcpus: number) => Scheduler };

const POLICIES: Policy[] = [
  { label: "credit", make: (pcpus) => new CreditScheduler({ pcpus }) },
  { label: "credit-noboost", make: (pcpus) => new CreditScheduler({ pcpus, boost: false }) },
  { label: "round-robin", make: (pcpus) => new RoundRobinScheduler({ pcpus }) },
];

function fairnessError(p: Policy, seconds: number): number {
  const weights = [256, 512, 1024];
  const r = simulate(p.make(2), { domains: cpuBoundDomains(weights, 2), durationNs: seconds * S });
  const total = weights.reduce((a, b) => a + b, 0);
  const shares = domainShares(r, 2);
  return Math.max(...weights.map((w, i) => Math.abs(shares.get(i + 1)! - w / total))) * 100;
}

function capError(p: Policy, seconds: number): number {
  const r = simulate(p.make(1), {
    domains: [
      { id: 1, cap: 25, vcpus: [{ id: 1, workload: { kind: "cpu" } }] },
      { id: 2, vcpus: [{ id: 2, workload: { kind: "cpu" } }] },
    ],
    durationNs: seconds * S,
  });
  return Math.abs(domainShares(r, 1).get(1)! - 0.25) * 100;
}

function mixedHost(hogs: number, ios: number, seconds: number): SimConfig {
  const domains: SimDomain[] = [];
  let id = 0;
  for (let i = 0; i < hogs; i++) domains.push({ id: ++id, vcpus: [{ id, workload: { kind: "cpu" } }] });
  for (let i = 0; i < ios; i++)
    domains.push({
      id: ++id,
      // Staggered so the I/O vCPUs do not all wake on the same instant.
      vcpus: [{ id, startNs: i * 0.37 * MS, workload: { kind: "io", burstNs: 0.5 * MS, sleepNs: 5 * MS } }],
    });
  return { domains, durationNs: seconds * S };
}

function latencies(p: Policy, config: SimConfig, pcpus: number): { p50: number; p99: number } {
  const r = simulate(p.make(pcpus), config);
  const ioIds = config.domains.flatMap((d) => d.vcpus).filter((v) => v.workload.kind === "io");
  const all = ioIds.flatMap((v) => r.wakeLatencyNs.get(v.id) ?? []);
  return { p50: percentile(all, 50) / 1000, p99: percentile(all, 99) / 1000 };
}

type Call = [method: string, args: unknown[]];

/** Wraps `s` so every call into it (but stats and trace) is appended to `log`. */
function recorded(s: Scheduler, log: Call[]): Scheduler {
  return new Proxy(s, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function" || key === "stats" || key === "trace") return value;
      return (...args: unknown[]) => {
        log.push([String(key), args]);
        return value.apply(target, args);
      };
    },
  });
}

const OVERHEAD_RUNS = 12;

/**
 * Host time inside the policy: the simulation's calls are recorded once, then replayed on fresh
 * instances in a tight loop (the policy is deterministic, so the replay makes the same decisions) and
 * timed as a whole, so no per-call timer distorts the figure. The fastest of OVERHEAD_RUNS replays after
 * two warm-ups: the least disturbed by garbage collection and other processes.
 */
function overhead(p: Policy, config: SimConfig, pcpus: number) {
  const log: Call[] = [];
  simulate(recorded(p.make(pcpus), log), config);
  const replay = (): number => {
    const s = p.make(pcpus) as unknown as Record<string, (...a: unknown[]) => unknown>;
    const t0 = process.hrtime.bigint();
    for (const [method, args] of log) s[method](...args);
    return Number(process.hrtime.bigint() - t0);
  };
  replay();
  replay();
  const ns = Math.min(...Array.from({ length: OVERHEAD_RUNS }, replay));
  return { perCallNs: ns / log.length, sharePct: (ns / (config.durationNs / S) / S) * 100 };
}

export async function runSchedBench(options: SchedBenchOptions = {}): Promise<SchedBenchResult> {
  const seconds = options.seconds ?? 10;
  const print = options.print === undefined ? (t: string) => process.stdout.write(`${t}\n`) : options.print;
  const latencyHost = mixedHost(4, 2, seconds);
  const bigHost = mixedHost(24, 16, Math.min(seconds, 5));

  const rows = POLICIES.map((p) => {
    const lat = latencies(p, latencyHost, 2);
    return {
      label: p.label,
      fairness: fairnessError(p, seconds),
      cap: capError(p, seconds),
      p50: lat.p50,
      p99: lat.p99,
      small: overhead(p, latencyHost, 2),
      big: overhead(p, bigHost, 8),
    };
  });

  const figures: Record<string, SchedFigure> = {};
  for (const r of rows) {
    const isCredit = r.label === "credit";
    const fig = (value: number, unit: string, goal: number | null): SchedFigure => ({
      value,
      unit,
      goal,
      better: "lower",
    });
    figures[`${r.label} fairness error`] = fig(r.fairness, "points of %", isCredit ? 1 : null);
    figures[`${r.label} cap error`] = fig(r.cap, "points of %", isCredit ? 1 : null);
    figures[`${r.label} wake latency p50`] = fig(r.p50, "µs", null);
    figures[`${r.label} wake latency p99`] = fig(r.p99, "µs", isCredit ? 1000 : null);
    figures[`${r.label} ns per call (2 pCPUs)`] = fig(r.small.perCallNs, "ns", null);
    figures[`${r.label} ns per call (8 pCPUs)`] = fig(r.big.perCallNs, "ns", null);
    figures[`${r.label} overhead (8 pCPUs)`] = fig(r.big.sharePct, "% of host", isCredit ? 1 : null);
  }

  if (print !== null) {
    const table = new Table({
      head: [
        "policy",
        "fairness err",
        "cap err",
        "wake p50",
        "wake p99",
        "ns/call 2p",
        "ns/call 8p",
        "overhead 8p",
      ],
      style: { head: [], border: [] },
    });
    for (const r of rows)
      table.push([
        r.label,
        `${r.fairness.toFixed(2)} pt`,
        `${r.cap.toFixed(2)} pt`,
        `${r.p50.toFixed(0)} µs`,
        `${r.p99.toFixed(0)} µs`,
        r.small.perCallNs.toFixed(0),
        r.big.perCallNs.toFixed(0),
        `${r.big.sharePct.toFixed(4)} %`,
      ]);
    print(table.toString());
  }

  return {
    suite: "sched",
    figures,
    notes: [
      "fairness: weights 1:2:4, three domains × 2 CPU-bound vCPUs on 2 pCPUs; error = max |share − weight share|",
      "cap: cap 25 % against an uncapped hog on 1 pCPU; round-robin ignores caps",
      "wake latency: I/O-like vCPUs (0.5 ms run, 5 ms sleep) among CPU hogs, wake() → chosen by pickNext",
      "overhead: the calls of a simulation replayed on a fresh policy and timed as a whole; per call, and per simulated second",
    ],
    context: {
      simulatedSeconds: seconds,
      node: process.version,
    },
  };
}
