/**
 * The thin shell around a policy: it keeps the calling protocol of interface.ts so its users do not
 * have to. It knows what each pCPU runs and until when, when the next tick falls, and which pCPUs were
 * kicked; `run(now)` then does everything due at `now` in a fixed order —
 *
 *     ticks due (every pCPU, ascending)  →  slices that ended  →  every kicked pCPU decides
 *     (a decision may kick further pCPUs; they decide at the same instant, until no kick is left)
 *
 * — and returns the decisions, which the host applies (load that vCPU on that pCPU, or idle it). The
 * simulator drives policies through this class, and the hypervisor's exit path is meant to as well, so
 * what the tests check is what the hypervisor does.
 *
 *     host loop                                  driver                         policy
 *     wake / sleep / yield / setParams …   →     forwards, remembers kicks  →   …
 *     run(now)                             →     tick, pickNext …           →   …
 *                                          ←     [{pcpu, vcpu, runFor}]
 *     next call to run no later than nextDeadline()
 */
import type { DomainId, Kick, PcpuId, Scheduler, VcpuId } from "./interface.js";

export interface Placement {
  pcpu: PcpuId;
  /** What the pCPU runs from now (null: idle). */
  vcpu: VcpuId | null;
  /** Until when, unless kicked earlier (Infinity while idle). */
  until: number;
}

export interface DriverCalls {
  pickNext: number;
  tick: number;
  wake: number;
  sleep: number;
  other: number;
}

/** Decisions at one instant beyond which the driver assumes the policy is looping on its own kicks. */
export const MAX_DECISIONS_PER_INSTANT = 10_000;

export class SchedulerDriver {
  /** What each pCPU runs, as last decided. */
  readonly current: (VcpuId | null)[];
  readonly calls: DriverCalls = { pickNext: 0, tick: 0, wake: 0, sleep: 0, other: 0 };
  private readonly until: number[];
  private nextTick: number;
  private readonly pending: PcpuId[] = [];

  constructor(
    readonly policy: Scheduler,
    startNs = 0,
  ) {
    this.current = new Array<VcpuId | null>(policy.pcpus).fill(null);
    this.until = new Array<number>(policy.pcpus).fill(Number.POSITIVE_INFINITY);
    this.nextTick = startNs + policy.tickPeriodNs;
  }

  wake(vcpu: VcpuId, now: number): void {
    this.calls.wake++;
    this.queue(this.policy.wake(vcpu, now));
  }

  sleep(vcpu: VcpuId, now: number): void {
    this.calls.sleep++;
    this.queue(this.policy.sleep(vcpu, now));
  }

  yield(vcpu: VcpuId, now: number): void {
    this.calls.other++;
    this.queue(this.policy.yield(vcpu, now));
  }

  setParams(dom: DomainId, params: { weight?: number; cap?: number }, now: number): void {
    this.calls.other++;
    this.queue(this.policy.setParams(dom, params, now));
  }

  setAffinity(
    target: { dom: DomainId } | { vcpu: VcpuId },
    cpus: readonly PcpuId[] | null,
    now: number,
  ): void {
    this.calls.other++;
    this.queue(this.policy.setAffinity(target, cpus, now));
  }

  /** Whether some pCPU was kicked and waits for run(). */
  get kicked(): boolean {
    return this.pending.length > 0;
  }

  /** The latest time run() may be called without missing a tick or a slice end. */
  nextDeadline(): number {
    let t = this.nextTick;
    for (const u of this.until) if (u < t) t = u;
    return t;
  }

  runningOn(vcpu: VcpuId): PcpuId | null {
    const p = this.current.indexOf(vcpu);
    return p < 0 ? null : p;
  }

  /** Runs the ticks, slice ends and kicks due at `now`; returns the decisions in the order made. */
  run(now: number): Placement[] {
    if (this.nextTick <= now) {
      for (let p = 0; p < this.policy.pcpus; p++) {
        this.calls.tick++;
        this.queue(this.policy.tick(p, now));
      }
      // One tick per call: a host that fell behind catches up without a burst of stale ticks.
      this.nextTick += this.policy.tickPeriodNs;
      if (this.nextTick <= now) this.nextTick = now + this.policy.tickPeriodNs;
    }
    for (let p = 0; p < this.policy.pcpus; p++) if (this.until[p] <= now) this.queue([p]);
    const out: Placement[] = [];
    while (this.pending.length > 0) {
      const p = this.pending.shift()!;
      if (out.length >= MAX_DECISIONS_PER_INSTANT)
        throw new Error(
          `scheduler driver: over ${MAX_DECISIONS_PER_INSTANT} decisions at ${now} ns (a kick loop)`,
        );
      this.calls.pickNext++;
      const d = this.policy.pickNext(p, now);
      this.current[p] = d.vcpu;
      this.until[p] = now + d.runFor;
      out.push({ pcpu: p, vcpu: d.vcpu, until: this.until[p] });
      this.queue(d.kick);
    }
    return out;
  }

  private queue(kick: Kick): void {
    for (const p of kick) if (!this.pending.includes(p)) this.pending.push(p);
  }
}
