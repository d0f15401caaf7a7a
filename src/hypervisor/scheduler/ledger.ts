/**
 * What every policy keeps the same way: the domains and vCPUs it was told about and their affinity, and
 * the books of what happened — CPU time, run-queue waits, migrations between pCPUs, and the Gantt trace.
 * A policy owns one Ledger and reports every switch to it (`switchTo`), every entry into a run queue
 * (`startWaiting`), and every time it drops a waiting vCPU without running it (`stopWaiting`); the
 * statistics and the trace then mean the same thing for Credit and for round-robin.
 */
import type {
  DomainId,
  DomainParams,
  PcpuId,
  SchedulerOptions,
  TraceSegment,
  VcpuId,
  VcpuParams,
} from "./interface.js";

/** Xen's limits: weight is a uint16 and 0 means "leave unchanged" in its domctl. */
export const WEIGHT_MIN = 1;
export const WEIGHT_MAX = 65535;
export const DEFAULT_TRACE_LIMIT = 100_000;

export interface DomainEntry {
  dom: DomainId;
  weight: number;
  cap: number;
  /** The domain's hard set; null = every pCPU. */
  cpus: readonly PcpuId[] | null;
  vcpus: VcpuId[];
}

export interface VcpuEntry {
  vcpu: VcpuId;
  dom: DomainId;
  pinned: readonly PcpuId[] | null;
  /** Effective hard affinity, ascending: domain cpus ∩ pin. Never empty. */
  affinity: PcpuId[];
  /** allowed[p] = 1 when p is in `affinity`. */
  allowed: Uint8Array;
  cpuTimeNs: number;
  runqWaitNs: number;
  runqWaits: number;
  maxRunqWaitNs: number;
  waitingSince: number | null;
  migrations: number;
  /** The pCPU it last ran on (-1 before it ever ran). */
  lastPcpu: PcpuId;
}

interface OpenRun {
  vcpu: VcpuId;
  start: number;
}

export class Ledger {
  readonly domains = new Map<DomainId, DomainEntry>();
  readonly vcpus = new Map<VcpuId, VcpuEntry>();
  readonly busyNs: number[];
  readonly decisions: number[];
  private readonly running: (OpenRun | null)[];
  private readonly segments: TraceSegment[] = [];
  private readonly traceLimit: number;
  private lastNow = 0;

  constructor(
    readonly pcpus: number,
    options: Pick<SchedulerOptions, "traceLimit"> = {},
  ) {
    if (!Number.isInteger(pcpus) || pcpus < 1)
      throw new Error(`scheduler: pcpus must be a positive integer, got ${pcpus}`);
    this.traceLimit = options.traceLimit ?? DEFAULT_TRACE_LIMIT;
    this.busyNs = new Array<number>(pcpus).fill(0);
    this.decisions = new Array<number>(pcpus).fill(0);
    this.running = new Array<OpenRun | null>(pcpus).fill(null);
  }

  /** Records `now`, refusing time that goes backwards (the protocol's rule 4). */
  clock(now: number, where: string): void {
    if (!Number.isFinite(now) || now < this.lastNow)
      throw new Error(`scheduler ${where}: time ${now} ns is before the last call's ${this.lastNow} ns`);
    this.lastNow = now;
  }

  checkPcpu(p: PcpuId, where: string): void {
    if (!Number.isInteger(p) || p < 0 || p >= this.pcpus)
      throw new Error(`scheduler ${where}: no pCPU ${p} (host has ${this.pcpus})`);
  }

  domain(dom: DomainId, where: string): DomainEntry {
    const d = this.domains.get(dom);
    if (d === undefined) throw new Error(`scheduler ${where}: no domain ${dom}`);
    return d;
  }

  vcpu(vcpu: VcpuId, where: string): VcpuEntry {
    const v = this.vcpus.get(vcpu);
    if (v === undefined) throw new Error(`scheduler ${where}: no vCPU ${vcpu}`);
    return v;
  }

  checkWeight(weight: number, where: string): void {
    if (!Number.isInteger(weight) || weight < WEIGHT_MIN || weight > WEIGHT_MAX)
      throw new Error(`scheduler ${where}: weight ${weight} is outside ${WEIGHT_MIN}..${WEIGHT_MAX}`);
  }

  /** A cap is a percentage of one pCPU, so at most 100 × pCPUs. */
  checkCap(cap: number, where: string): void {
    if (!Number.isInteger(cap) || cap < 0 || cap > 100 * this.pcpus)
      throw new Error(`scheduler ${where}: cap ${cap} % is outside 0..${100 * this.pcpus}`);
  }

  private checkCpuSet(cpus: readonly PcpuId[], where: string): PcpuId[] {
    if (cpus.length === 0) throw new Error(`scheduler ${where}: empty pCPU set`);
    for (const p of cpus) this.checkPcpu(p, where);
    const sorted = [...new Set(cpus)].sort((a, b) => a - b);
    return sorted;
  }

  addDomain(dom: DomainId, params: DomainParams): DomainEntry {
    const where = `addDomain(${dom})`;
    if (this.domains.has(dom)) throw new Error(`scheduler ${where}: domain already exists`);
    this.checkWeight(params.weight, where);
    this.checkCap(params.cap, where);
    const cpus = params.cpus === undefined ? null : this.checkCpuSet(params.cpus, where);
    const d: DomainEntry = { dom, weight: params.weight, cap: params.cap, cpus, vcpus: [] };
    this.domains.set(dom, d);
    return d;
  }

  removeDomain(dom: DomainId): void {
    const d = this.domain(dom, `removeDomain(${dom})`);
    if (d.vcpus.length > 0)
      throw new Error(`scheduler removeDomain(${dom}): vCPUs ${d.vcpus.join(", ")} still exist`);
    this.domains.delete(dom);
  }

  addVcpu(vcpu: VcpuId, dom: DomainId, params: VcpuParams = {}): VcpuEntry {
    const where = `addVcpu(${vcpu})`;
    if (this.vcpus.has(vcpu)) throw new Error(`scheduler ${where}: vCPU already exists`);
    const d = this.domain(dom, where);
    const pinned = params.pinned === undefined ? null : this.checkCpuSet(params.pinned, where);
    const affinity = this.effectiveAffinity(d.cpus, pinned, where);
    const v: VcpuEntry = {
      vcpu,
      dom,
      pinned,
      affinity,
      allowed: this.mask(affinity),
      cpuTimeNs: 0,
      runqWaitNs: 0,
      runqWaits: 0,
      maxRunqWaitNs: 0,
      waitingSince: null,
      migrations: 0,
      lastPcpu: -1,
    };
    this.vcpus.set(vcpu, v);
    d.vcpus.push(vcpu);
    return v;
  }

  removeVcpu(vcpu: VcpuId): void {
    const where = `removeVcpu(${vcpu})`;
    const v = this.vcpu(vcpu, where);
    const on = this.runningOn(vcpu);
    if (on !== null)
      throw new Error(`scheduler ${where}: still running on pCPU ${on}; sleep it and reschedule first`);
    const d = this.domain(v.dom, where);
    d.vcpus.splice(d.vcpus.indexOf(vcpu), 1);
    this.vcpus.delete(vcpu);
  }

  /**
   * Applies a new domain cpus set or vCPU pin and returns the vCPUs whose affinity changed. Fails
   * without changing anything if some vCPU would be left with no pCPU at all.
   */
  setAffinity(target: { dom: DomainId } | { vcpu: VcpuId }, cpus: readonly PcpuId[] | null): VcpuEntry[] {
    const where = "setAffinity";
    const set = cpus === null ? null : this.checkCpuSet(cpus, where);
    if ("dom" in target) {
      const d = this.domain(target.dom, where);
      const vs = d.vcpus.map((id) => this.vcpu(id, where));
      const next = vs.map((v) => this.effectiveAffinity(set, v.pinned, `${where} of vCPU ${v.vcpu}`));
      d.cpus = set;
      for (const [i, v] of vs.entries()) this.setVcpuAffinity(v, next[i]);
      return vs;
    }
    const v = this.vcpu(target.vcpu, where);
    const next = this.effectiveAffinity(this.domain(v.dom, where).cpus, set, `${where} of vCPU ${v.vcpu}`);
    v.pinned = set;
    this.setVcpuAffinity(v, next);
    return [v];
  }

  private setVcpuAffinity(v: VcpuEntry, affinity: PcpuId[]): void {
    v.affinity = affinity;
    v.allowed = this.mask(affinity);
  }

  private effectiveAffinity(
    domCpus: readonly PcpuId[] | null,
    pinned: readonly PcpuId[] | null,
    where: string,
  ): PcpuId[] {
    const all = Array.from({ length: this.pcpus }, (_, i) => i);
    const base = domCpus ?? all;
    const eff = pinned === null ? [...base] : base.filter((p) => pinned.includes(p));
    if (eff.length === 0)
      throw new Error(`scheduler ${where}: domain cpus ∩ vCPU pin is empty, the vCPU could never run`);
    return eff;
  }

  private mask(cpus: readonly PcpuId[]): Uint8Array {
    const m = new Uint8Array(this.pcpus);
    for (const p of cpus) m[p] = 1;
    return m;
  }

  /** The vCPU now running on p, as last reported by switchTo. */
  current(p: PcpuId): VcpuId | null {
    return this.running[p]?.vcpu ?? null;
  }

  runningOn(vcpu: VcpuId): PcpuId | null {
    const i = this.running.findIndex((r) => r?.vcpu === vcpu);
    return i < 0 ? null : i;
  }

  startWaiting(v: VcpuEntry, now: number): void {
    if (v.waitingSince === null) v.waitingSince = now;
  }

  /** Ends a wait without counting it (the vCPU left the queue asleep or parked, not to run). */
  stopWaiting(v: VcpuEntry, now: number): void {
    if (v.waitingSince === null) return;
    v.runqWaitNs += now - v.waitingSince;
    v.waitingSince = null;
  }

  /**
   * pCPU p runs `next` from `now` (null: idles). Closes the previous run (CPU time, trace), ends the
   * next vCPU's wait and counts a migration when it last ran elsewhere. Same vCPU again: nothing ends.
   */
  switchTo(p: PcpuId, next: VcpuId | null, now: number): void {
    this.decisions[p]++;
    const prev = this.running[p];
    if (prev !== null && prev.vcpu === next) return;
    if (prev !== null) this.closeRun(p, prev, now);
    if (next === null) {
      this.running[p] = null;
      return;
    }
    const v = this.vcpu(next, "switchTo");
    if (v.waitingSince !== null) {
      const wait = now - v.waitingSince;
      v.runqWaitNs += wait;
      v.runqWaits++;
      if (wait > v.maxRunqWaitNs) v.maxRunqWaitNs = wait;
      v.waitingSince = null;
    }
    if (v.lastPcpu >= 0 && v.lastPcpu !== p) v.migrations++;
    v.lastPcpu = p;
    this.running[p] = { vcpu: next, start: now };
  }

  private closeRun(p: PcpuId, run: OpenRun, now: number): void {
    const v = this.vcpus.get(run.vcpu);
    const ran = now - run.start;
    this.busyNs[p] += ran;
    if (v === undefined) return;
    v.cpuTimeNs += ran;
    if (this.traceLimit > 0 && ran > 0) {
      this.segments.push({ pcpu: p, vcpu: run.vcpu, dom: v.dom, start: run.start, end: now });
      // Drop the oldest tenth at once, so a long-lived host pays O(1) per segment on average.
      if (this.segments.length > this.traceLimit)
        this.segments.splice(0, Math.max(1, Math.floor(this.traceLimit / 10)));
    }
  }

  /** CPU time of v including its current, unfinished run. */
  cpuTimeAt(v: VcpuEntry, now: number): number {
    const p = this.runningOn(v.vcpu);
    const open = p === null ? 0 : now - this.running[p]!.start;
    return v.cpuTimeNs + open;
  }

  busyAt(p: PcpuId, now: number): number {
    const r = this.running[p];
    return this.busyNs[p] + (r === null ? 0 : now - r.start);
  }

  /** Waits so far, counting an unfinished wait up to `now`. */
  waitAt(v: VcpuEntry, now: number): number {
    return v.runqWaitNs + (v.waitingSince === null ? 0 : now - v.waitingSince);
  }

  trace(now: number): TraceSegment[] {
    if (this.traceLimit === 0) return [];
    const open: TraceSegment[] = [];
    this.running.forEach((r, p) => {
      const v = r === null ? undefined : this.vcpus.get(r.vcpu);
      if (r !== null && v !== undefined && now > r.start)
        open.push({ pcpu: p, vcpu: r.vcpu, dom: v.dom, start: r.start, end: now });
    });
    return [...this.segments, ...open];
  }
}
