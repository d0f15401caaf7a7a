/**
 * Round-robin: the baseline Credit is measured against. One host-wide FIFO of runnable vCPUs; a pCPU
 * that decides takes the first queued vCPU allowed on it and runs it for one slice; the vCPU it ran goes
 * to the back. No weights, no caps, no priorities, no boost: every runnable vCPU gets an equal turn,
 * and a vCPU that wakes waits behind everyone queued before it. It is work-conserving (an idle pCPU is
 * kicked when work it may run is queued) and respects affinity, so comparisons isolate what Credit's
 * accounting and priorities buy.
 */
import type {
  Decision,
  DomainId,
  DomainParams,
  Kick,
  PcpuId,
  SchedStats,
  Scheduler,
  SchedulerOptions,
  TraceSegment,
  VcpuId,
  VcpuParams,
  VcpuState,
} from "./interface.js";
import { Ledger, type VcpuEntry } from "./ledger.js";

export const RR_DEFAULT_SLICE_MS = 30;
/** Round-robin needs no tick; callers tick anyway, at Credit's period, and it ignores them. */
export const RR_TICK_PERIOD_MS = 10;

const NS_PER_MS = 1_000_000;

export interface RoundRobinOptions extends SchedulerOptions {
  sliceMs?: number;
}

export class RoundRobinScheduler implements Scheduler {
  readonly name = "round-robin";
  readonly pcpus: number;
  readonly tickPeriodNs = RR_TICK_PERIOD_MS * NS_PER_MS;
  private readonly slice: number;
  private readonly ledger: Ledger;
  private readonly queue: VcpuEntry[] = [];
  private readonly awake = new Set<VcpuId>();
  private readonly curr: (VcpuEntry | null)[];
  /** idle[p] = 1 while p idles and has not been kicked. */
  private readonly idle: Uint8Array;
  private kicks: PcpuId[] = [];

  constructor(options: RoundRobinOptions) {
    this.ledger = new Ledger(options.pcpus, options);
    this.pcpus = options.pcpus;
    const sliceMs = options.sliceMs ?? RR_DEFAULT_SLICE_MS;
    if (!(sliceMs > 0)) throw new Error(`round-robin: sliceMs ${sliceMs} is not positive`);
    this.slice = sliceMs * NS_PER_MS;
    this.curr = new Array<VcpuEntry | null>(this.pcpus).fill(null);
    this.idle = new Uint8Array(this.pcpus).fill(1);
  }

  addDomain(dom: DomainId, params: DomainParams): void {
    this.ledger.addDomain(dom, params);
  }

  removeDomain(dom: DomainId): void {
    this.ledger.removeDomain(dom);
  }

  addVcpu(vcpu: VcpuId, dom: DomainId, params?: VcpuParams): void {
    this.ledger.addVcpu(vcpu, dom, params);
  }

  removeVcpu(vcpu: VcpuId): void {
    const v = this.ledger.vcpu(vcpu, "removeVcpu");
    this.ledger.removeVcpu(vcpu); // refuses a running vCPU
    this.dequeue(v);
    this.awake.delete(vcpu);
  }

  wake(vcpu: VcpuId, now: number): Kick {
    this.ledger.clock(now, "wake");
    const v = this.ledger.vcpu(vcpu, "wake");
    if (!this.awake.has(vcpu)) {
      this.awake.add(vcpu);
      if (this.ledger.runningOn(vcpu) === null) this.enqueue(v, now);
    }
    return this.takeKicks();
  }

  sleep(vcpu: VcpuId, now: number): Kick {
    this.ledger.clock(now, "sleep");
    const v = this.ledger.vcpu(vcpu, "sleep");
    if (this.awake.delete(vcpu)) {
      const p = this.ledger.runningOn(vcpu);
      if (p !== null) this.kick(p);
      else if (this.dequeue(v)) this.ledger.stopWaiting(v, now);
    }
    return this.takeKicks();
  }

  yield(vcpu: VcpuId, now: number): Kick {
    this.ledger.clock(now, "yield");
    this.ledger.vcpu(vcpu, "yield");
    const p = this.ledger.runningOn(vcpu);
    if (p !== null) this.kick(p);
    return this.takeKicks();
  }

  tick(p: PcpuId, now: number): Kick {
    this.ledger.checkPcpu(p, "tick");
    this.ledger.clock(now, "tick");
    return this.takeKicks();
  }

  pickNext(p: PcpuId, now: number): Decision {
    this.ledger.checkPcpu(p, "pickNext");
    this.ledger.clock(now, "pickNext");
    const cur = this.curr[p];
    if (cur !== null && this.awake.has(cur.vcpu)) {
      this.queue.push(cur);
      this.ledger.startWaiting(cur, now);
    }
    const i = this.queue.findIndex((v) => v.allowed[p] === 1);
    const next = i < 0 ? null : this.queue.splice(i, 1)[0];
    this.curr[p] = next;
    this.idle[p] = next === null ? 1 : 0;
    this.ledger.switchTo(p, next?.vcpu ?? null, now);
    // Work still queued that an idle pCPU may run: kick that pCPU.
    for (const v of this.queue) this.kickIdlerFor(v);
    return {
      vcpu: next?.vcpu ?? null,
      runFor: next === null ? Number.POSITIVE_INFINITY : this.slice,
      kick: this.takeKicks(),
    };
  }

  setParams(dom: DomainId, params: { weight?: number; cap?: number }, now: number): Kick {
    this.ledger.clock(now, "setParams");
    const where = `setParams(${dom})`;
    const d = this.ledger.domain(dom, where);
    if (params.weight !== undefined) this.ledger.checkWeight(params.weight, where);
    if (params.cap !== undefined) this.ledger.checkCap(params.cap, where);
    // Recorded for the statistics; round-robin shares time equally whatever they say.
    if (params.weight !== undefined) d.weight = params.weight;
    if (params.cap !== undefined) d.cap = params.cap;
    return this.takeKicks();
  }

  setAffinity(
    target: { dom: DomainId } | { vcpu: VcpuId },
    cpus: readonly PcpuId[] | null,
    now: number,
  ): Kick {
    this.ledger.clock(now, "setAffinity");
    for (const v of this.ledger.setAffinity(target, cpus)) {
      const p = this.ledger.runningOn(v.vcpu);
      if (p !== null && !v.allowed[p]) this.kick(p);
      else if (this.queue.includes(v)) this.kickIdlerFor(v);
    }
    return this.takeKicks();
  }

  private enqueue(v: VcpuEntry, now: number): void {
    this.queue.push(v);
    this.ledger.startWaiting(v, now);
    this.kickIdlerFor(v);
  }

  private dequeue(v: VcpuEntry): boolean {
    const i = this.queue.indexOf(v);
    if (i >= 0) this.queue.splice(i, 1);
    return i >= 0;
  }

  private kickIdlerFor(v: VcpuEntry): void {
    const p = v.affinity.find((q) => this.idle[q] === 1);
    if (p === undefined) return;
    this.idle[p] = 0;
    this.kick(p);
  }

  private kick(p: PcpuId): void {
    if (!this.kicks.includes(p)) this.kicks.push(p);
  }

  private takeKicks(): Kick {
    const k = this.kicks.sort((a, b) => a - b);
    this.kicks = [];
    return k;
  }

  private state(v: VcpuEntry): VcpuState {
    if (this.ledger.runningOn(v.vcpu) !== null) return "running";
    return this.queue.includes(v) ? "runnable" : "blocked";
  }

  stats(now: number): SchedStats {
    const vcpus = [...this.ledger.vcpus.values()].map((v) => ({
      vcpu: v.vcpu,
      dom: v.dom,
      state: this.state(v),
      pcpu: this.ledger.runningOn(v.vcpu) ?? Math.max(v.lastPcpu, v.affinity[0]),
      affinity: [...v.affinity],
      cpuTimeNs: this.ledger.cpuTimeAt(v, now),
      credit: null,
      priority: null,
      runqWaitNs: this.ledger.waitAt(v, now),
      runqWaits: v.runqWaits,
      maxRunqWaitNs: v.maxRunqWaitNs,
      migrations: v.migrations,
    }));
    const domains = [...this.ledger.domains.values()].map((d) => ({
      dom: d.dom,
      weight: d.weight,
      cap: d.cap,
      cpuTimeNs: vcpus.filter((v) => v.dom === d.dom).reduce((s, v) => s + v.cpuTimeNs, 0),
      credit: null,
      vcpus: [...d.vcpus],
    }));
    const pcpus = this.curr.map((c, p) => ({
      pcpu: p,
      current: c?.vcpu ?? null,
      runqLength: this.queue.filter((v) => v.allowed[p] === 1).length,
      busyNs: this.ledger.busyAt(p, now),
      decisions: this.ledger.decisions[p],
    }));
    return { policy: this.name, now, domains, vcpus, pcpus };
  }

  trace(now: number): TraceSegment[] {
    return this.ledger.trace(now);
  }
}
