/**
 * A host in miniature for testing and benchmarking a scheduler: N pCPUs, a virtual clock, and vCPUs
 * that run synthetic workloads. It calls the policy through the same driver (driver.ts) the hypervisor
 * is meant to use: wake/sleep when a workload blocks or its timer fires, ticks on every pCPU each tick
 * period, pickNext when a decision's runFor ends or a pCPU is kicked. Nothing here reads a real clock,
 * so a run is a pure function of its configuration.
 *
 * Workloads:
 *   cpu   always runnable (a CPU hog; in a capped domain, the cap decides)
 *   io    runs `burstNs` of CPU, then blocks for `sleepNs` (an I/O-bound guest waiting for its device)
 *
 * Events that fall on the same instant are handled in a fixed order — wake-ups, blocks, scripted
 * actions, ticks, slice ends — then every kicked pCPU decides, until no kick is left. The run then checks
 * the host's invariants at that instant (SimResult.violations): the policy gets to answer before it is
 * judged. Every decision is checked too: the vCPU is runnable, on a pCPU it may use, and nowhere else.
 */
import { type DriverCalls, SchedulerDriver } from "./driver.js";
import type { DomainId, PcpuId, SchedStats, Scheduler, TraceSegment, VcpuId } from "./interface.js";

export type Workload = { kind: "cpu" } | { kind: "io"; burstNs: number; sleepNs: number };

export interface SimVcpu {
  id: VcpuId;
  workload: Workload;
  pinned?: PcpuId[];
  /** When it first becomes runnable (default 0). */
  startNs?: number;
}

export interface SimDomain {
  id: DomainId;
  weight?: number;
  cap?: number;
  cpus?: PcpuId[];
  vcpus: SimVcpu[];
}

/** Changes made while the host runs, as the toolstack would make them. */
export type SimAction =
  | { at: number; kind: "params"; dom: DomainId; weight?: number; cap?: number }
  | { at: number; kind: "affinity"; target: { dom: DomainId } | { vcpu: VcpuId }; cpus: PcpuId[] | null }
  | { at: number; kind: "pause" | "unpause"; vcpu: VcpuId };

export interface SimConfig {
  domains: SimDomain[];
  durationNs: number;
  actions?: SimAction[];
  /** Check work conservation at every instant (costs a stats() call per instant). */
  checkWorkConservation?: boolean;
}

export interface SimResult {
  durationNs: number;
  stats: SchedStats;
  trace: TraceSegment[];
  /** Per vCPU: time from each wake() to the pickNext that ran it. */
  wakeLatencyNs: Map<VcpuId, number[]>;
  /** Scheduler calls made, by kind. */
  calls: DriverCalls;
  /** Broken invariants, in order; empty when the policy behaved. */
  violations: string[];
}

export const DEFAULT_WEIGHT = 256;
const MAX_VIOLATIONS = 50;

interface VcpuSim {
  cfg: SimVcpu;
  dom: SimDomain;
  /** The workload wants to run (an io vCPU between bursts does not). */
  wants: boolean;
  paused: boolean;
  /** Awake as the scheduler was last told. */
  awake: boolean;
  burstLeft: number;
  wakeAt: number;
  wokeAt: number | null;
  domCpus: PcpuId[] | null;
  pinned: PcpuId[] | null;
}

/** Runs `config` on `sched` (a fresh policy instance) and reports what happened. */
export function simulate(sched: Scheduler, config: SimConfig): SimResult {
  return new Simulation(sched, config).run();
}

class Simulation {
  private now = 0;
  private readonly vcpus = new Map<VcpuId, VcpuSim>();
  private readonly driver: SchedulerDriver;
  private readonly actions: SimAction[];
  private readonly latency = new Map<VcpuId, number[]>();
  private readonly violations: string[] = [];

  constructor(
    private readonly s: Scheduler,
    private readonly config: SimConfig,
  ) {
    this.driver = new SchedulerDriver(s);
    this.actions = [...(config.actions ?? [])].sort((a, b) => a.at - b.at);
    for (const d of config.domains) {
      s.addDomain(d.id, { weight: d.weight ?? DEFAULT_WEIGHT, cap: d.cap ?? 0, cpus: d.cpus });
      for (const v of d.vcpus) {
        s.addVcpu(v.id, d.id, { pinned: v.pinned });
        this.vcpus.set(v.id, {
          cfg: v,
          dom: d,
          wants: false,
          paused: false,
          awake: false,
          burstLeft: v.workload.kind === "io" ? v.workload.burstNs : 0,
          wakeAt: v.startNs ?? 0,
          wokeAt: null,
          domCpus: d.cpus ?? null,
          pinned: v.pinned ?? null,
        });
        this.latency.set(v.id, []);
      }
    }
  }

  run(): SimResult {
    const end = this.config.durationNs;
    for (;;) {
      const t = Math.min(this.nextEventTime(), end);
      this.advanceTo(t);
      if (t >= end) break;
      this.handleInstant();
    }
    return {
      durationNs: end,
      stats: this.s.stats(end),
      trace: this.s.trace(end),
      wakeLatencyNs: this.latency,
      calls: this.driver.calls,
      violations: this.violations,
    };
  }

  private nextEventTime(): number {
    let t = this.driver.nextDeadline();
    for (const v of this.vcpus.values()) {
      if (!v.wants) t = Math.min(t, v.wakeAt);
      if (v.cfg.workload.kind === "io" && this.isRunning(v.cfg.id)) t = Math.min(t, this.now + v.burstLeft);
    }
    if (this.actions.length > 0) t = Math.min(t, this.actions[0].at);
    return Math.max(t, this.now);
  }

  private isRunning(id: VcpuId): boolean {
    return this.driver.runningOn(id) !== null;
  }

  private advanceTo(t: number): void {
    const ran = t - this.now;
    for (const id of this.driver.current) {
      if (id === null) continue;
      const v = this.vcpus.get(id)!;
      if (v.cfg.workload.kind === "io") v.burstLeft -= ran;
    }
    this.now = t;
  }

  private handleInstant(): void {
    const now = this.now;
    // 1. Wake-ups: an io vCPU's sleep ended, or a vCPU's start time came.
    for (const v of this.vcpus.values()) {
      if (!v.wants && v.wakeAt <= now) {
        v.wants = true;
        v.wakeAt = Number.POSITIVE_INFINITY;
        this.syncAwake(v);
      }
    }
    // 2. Blocks: a running io vCPU finished its burst.
    for (const v of this.vcpus.values()) {
      const w = v.cfg.workload;
      if (w.kind === "io" && v.wants && v.burstLeft <= 0 && this.isRunning(v.cfg.id)) {
        v.wants = false;
        v.burstLeft = w.burstNs;
        v.wakeAt = now + w.sleepNs;
        this.syncAwake(v);
      }
    }
    // 3. Scripted actions.
    while (this.actions.length > 0 && this.actions[0].at <= now) this.act(this.actions.shift()!);
    // 4. Ticks, slice ends and kicks, as the hypervisor's loop runs them.
    const running = [...this.driver.current];
    for (const d of this.driver.run(now)) {
      this.placed(d.pcpu, d.vcpu, running);
      running[d.pcpu] = d.vcpu;
    }
    if (this.config.checkWorkConservation) this.checkWorkConservation();
  }

  /** Tells the policy when the vCPU's runnability (workload and pause) changed. */
  private syncAwake(v: VcpuSim): void {
    const awake = v.wants && !v.paused;
    if (awake === v.awake) return;
    v.awake = awake;
    if (awake) {
      v.wokeAt = this.now;
      this.driver.wake(v.cfg.id, this.now);
    } else {
      v.wokeAt = null;
      this.driver.sleep(v.cfg.id, this.now);
    }
  }

  private act(a: SimAction): void {
    switch (a.kind) {
      case "params":
        this.driver.setParams(a.dom, { weight: a.weight, cap: a.cap }, this.now);
        return;
      case "affinity": {
        this.driver.setAffinity(a.target, a.cpus, this.now);
        for (const v of this.vcpus.values()) {
          if ("dom" in a.target && v.dom.id === a.target.dom) v.domCpus = a.cpus;
          if ("vcpu" in a.target && v.cfg.id === a.target.vcpu) v.pinned = a.cpus;
        }
        return;
      }
      case "pause":
      case "unpause": {
        const v = this.vcpus.get(a.vcpu);
        if (v === undefined) throw new Error(`sim: action ${a.kind} names no vCPU ${a.vcpu}`);
        v.paused = a.kind === "pause";
        this.syncAwake(v);
        return;
      }
    }
  }

  /**
   * pCPU p now runs `id`: check the decision against what the pCPUs ran just before it (`running`),
   * and note the wake-up latency it ended.
   */
  private placed(p: PcpuId, id: VcpuId | null, running: readonly (VcpuId | null)[]): void {
    this.checkDecision(p, id, running);
    if (id === null) return;
    const v = this.vcpus.get(id);
    if (v?.wokeAt != null) {
      this.latency.get(id)!.push(this.now - v.wokeAt);
      v.wokeAt = null;
    }
  }

  private allowed(v: VcpuSim, p: PcpuId): boolean {
    return (v.domCpus === null || v.domCpus.includes(p)) && (v.pinned === null || v.pinned.includes(p));
  }

  private violation(text: string): void {
    if (this.violations.length < MAX_VIOLATIONS) this.violations.push(`at ${this.now} ns: ${text}`);
  }

  /** Every decision: the vCPU is runnable, runs on one pCPU only, and on one it may use. */
  private checkDecision(p: PcpuId, id: VcpuId | null, running: readonly (VcpuId | null)[]): void {
    if (id === null) return;
    const v = this.vcpus.get(id);
    if (v === undefined) {
      this.violation(`pCPU ${p} was given unknown vCPU ${id}`);
      return;
    }
    if (!v.awake) this.violation(`pCPU ${p} was given vCPU ${id}, which is blocked`);
    if (!this.allowed(v, p)) this.violation(`vCPU ${id} placed on pCPU ${p}, outside its affinity`);
    const other = running.findIndex((c, q) => c === id && q !== p);
    if (other >= 0) this.violation(`vCPU ${id} given to pCPU ${p} while running on pCPU ${other}`);
  }

  /** No pCPU idles while a runnable vCPU that may use it waits. */
  private checkWorkConservation(): void {
    const stats = this.s.stats(this.now);
    for (const vs of stats.vcpus) {
      if (vs.state !== "runnable") continue;
      const v = this.vcpus.get(vs.vcpu)!;
      for (let p = 0; p < this.s.pcpus; p++)
        if (this.driver.current[p] === null && this.allowed(v, p))
          this.violation(`pCPU ${p} idles while vCPU ${vs.vcpu}, which may run there, waits`);
    }
  }
}

/** Shares of the host's CPU time (0..1) per domain over the run. */
export function domainShares(r: SimResult, pcpus: number): Map<DomainId, number> {
  const total = r.durationNs * pcpus;
  return new Map(r.stats.domains.map((d) => [d.dom, d.cpuTimeNs / total]));
}

/** The p-th percentile (0..100) of a list of numbers, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** CPU time each domain got within [from, to), from the Gantt trace. */
export function cpuTimeInWindow(
  trace: readonly TraceSegment[],
  from: number,
  to: number,
): Map<DomainId, number> {
  const out = new Map<DomainId, number>();
  for (const s of trace) {
    const overlap = Math.min(s.end, to) - Math.max(s.start, from);
    if (overlap > 0) out.set(s.dom, (out.get(s.dom) ?? 0) + overlap);
  }
  return out;
}

/**
 * Domains 1, 2, … with the given weights, each with `vcpusEach` CPU-bound vCPUs numbered from 1 across
 * the host — the fairness scenario of the tests and the benchmark.
 */
export function cpuBoundDomains(weights: readonly number[], vcpusEach: number): SimDomain[] {
  let id = 0;
  return weights.map((weight, i) => ({
    id: i + 1,
    weight,
    vcpus: Array.from({ length: vcpusEach }, () => ({ id: ++id, workload: { kind: "cpu" } as const })),
  }));
}
