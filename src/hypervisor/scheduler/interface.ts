/**
 * The scheduler's contract with the hypervisor: which vCPU runs on which physical CPU (pCPU), and for
 * how long. A scheduler is a *pure policy*: it owns no timers, does no I/O and never reads a clock. The
 * caller (the hypervisor's exit path, or the simulator in sim.ts) tells it what happened and when, in
 * nanoseconds of the host's clock — the `icount` clock makes that deterministic — and the policy answers
 * with decisions. Same calls with the same times → same decisions, byte for byte.
 *
 * Calling protocol
 * ----------------
 *
 *     caller (one per host)                         policy
 *     ─────────────────────                         ──────
 *     addDomain / addVcpu                        →  vCPU known, blocked (not runnable)
 *     wake(v, now)       vCPU became runnable    →  Kick: pCPUs that must reschedule now
 *     sleep(v, now)      blocked (WFI, paused)   →  Kick (its pCPU, if it was running)
 *     yield(v, now)      gives up the rest of its slice
 *     tick(p, now)       every tickPeriodNs on every pCPU (ignored while p idles)
 *     pickNext(p, now)   at the end of runFor, or when p was kicked
 *                                                ←  { vcpu | null, runFor, kick }
 *
 * 1. A kick is a pCPU number: the caller calls pickNext(p, now) for it before running more guest code on
 *    p (the softirq / IPI of a real hypervisor). Kicks can arrive from any call, pickNext included
 *    (even naming the pCPU that just decided: decide again, the policy will not loop).
 * 2. pickNext decides for p, charging the vCPU that ran there since the last decision up to `now`. The
 *    answer runs for at most `runFor` ns; then the caller calls pickNext(p) again. `vcpu: null` means
 *    idle until kicked (runFor is Infinity).
 * 3. A vCPU that sleeps while running keeps its pCPU until that pCPU's pickNext: sleep returns the kick.
 * 4. Times never go backwards across calls; every call may run work that fell due (Credit's 30 ms
 *    accounting runs inside whichever call first reaches its deadline).
 * 5. removeVcpu needs the vCPU off every pCPU (sleep it, let its pCPU reschedule); removeDomain needs
 *    its vCPUs removed.
 *
 * driver.ts keeps this protocol for a host loop (ticks, slice ends, kicks, in a fixed order); the
 * simulator uses it, and so should the hypervisor.
 *
 * Affinity: a domain's `cpus` (its cpupool-like hard set) intersected with a vCPU's `pinned` set is the
 * only set of pCPUs a vCPU may run on; every decision respects it, stealing included.
 */

/** Domain identifiers are the hypervisor's domids. */
export type DomainId = number;
/** vCPU identifiers are unique across the host (the hypervisor chooses them). */
export type VcpuId = number;
/** pCPUs are the host's harts, 0..pcpus-1. */
export type PcpuId = number;

export interface DomainParams {
  /** Proportional share, 1..65535 (Xen's default is 256). */
  weight: number;
  /** Most CPU the domain may use, in percent of one pCPU (0 = no cap; 200 = two pCPUs). */
  cap: number;
  /** pCPUs the domain's vCPUs may use; undefined = all. */
  cpus?: readonly PcpuId[];
}

export interface VcpuParams {
  /** Per-vCPU hard affinity (`xl vcpu-pin`), intersected with the domain's cpus; undefined = no pin. */
  pinned?: readonly PcpuId[];
}

/** pCPUs the caller must reschedule (call pickNext on) before running more guest code on them. */
export type Kick = readonly PcpuId[];

export interface Decision {
  /** The vCPU to run, or null to idle until a kick. */
  vcpu: VcpuId | null;
  /** Nanoseconds the vCPU may run before the next pickNext (Infinity when idle). */
  runFor: number;
  kick: Kick;
}

export type VcpuState = "blocked" | "runnable" | "running" | "parked";

export interface VcpuStats {
  vcpu: VcpuId;
  dom: DomainId;
  state: VcpuState;
  /** The pCPU it runs on, or whose run queue holds it, or where it last ran. */
  pcpu: PcpuId;
  affinity: PcpuId[];
  cpuTimeNs: number;
  /** Credit balance (Credit only; null for policies without credits). */
  credit: number | null;
  /** BOOST, UNDER, OVER… (null for policies without priorities). */
  priority: string | null;
  /** Time spent runnable but not running, and how many such waits ended. */
  runqWaitNs: number;
  runqWaits: number;
  maxRunqWaitNs: number;
  /** Times the vCPU started on a pCPU other than the one it last ran on. */
  migrations: number;
}

export interface DomainStats {
  dom: DomainId;
  weight: number;
  cap: number;
  cpuTimeNs: number;
  credit: number | null;
  vcpus: VcpuId[];
}

export interface PcpuStats {
  pcpu: PcpuId;
  current: VcpuId | null;
  runqLength: number;
  busyNs: number;
  decisions: number;
}

export interface SchedStats {
  policy: string;
  now: number;
  domains: DomainStats[];
  vcpus: VcpuStats[];
  pcpus: PcpuStats[];
}

/** One bar of the Gantt chart: `vcpu` (of `dom`) ran on `pcpu` from `start` to `end` (ns). */
export interface TraceSegment {
  pcpu: PcpuId;
  vcpu: VcpuId;
  dom: DomainId;
  start: number;
  end: number;
}

export interface Scheduler {
  /** Registry name: "credit", "round-robin". */
  readonly name: string;
  readonly pcpus: number;
  /** How often the caller calls tick() on each pCPU. */
  readonly tickPeriodNs: number;

  addDomain(dom: DomainId, params: DomainParams): void;
  removeDomain(dom: DomainId): void;
  addVcpu(vcpu: VcpuId, dom: DomainId, params?: VcpuParams): void;
  removeVcpu(vcpu: VcpuId): void;

  wake(vcpu: VcpuId, now: number): Kick;
  sleep(vcpu: VcpuId, now: number): Kick;
  yield(vcpu: VcpuId, now: number): Kick;
  tick(pcpu: PcpuId, now: number): Kick;
  pickNext(pcpu: PcpuId, now: number): Decision;

  /** Changes weight and/or cap of a live domain; takes effect by the next accounting period. */
  setParams(dom: DomainId, params: { weight?: number; cap?: number }, now: number): Kick;
  /** Changes a domain's cpus (vcpu undefined) or one vCPU's pin (null = unpin). */
  setAffinity(
    target: { dom: DomainId } | { vcpu: VcpuId },
    cpus: readonly PcpuId[] | null,
    now: number,
  ): Kick;

  stats(now: number): SchedStats;
  /** The Gantt trace: closed segments, plus the running ones cut at `now`. */
  trace(now: number): TraceSegment[];
}

export interface SchedulerOptions {
  pcpus: number;
  /** Segments the Gantt trace keeps (oldest dropped first); 0 disables it. */
  traceLimit?: number;
}
