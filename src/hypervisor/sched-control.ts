/**
 * Runtime control of the scheduler of a running Hypervisor — what `xl sched-credit` and `xentop` are to
 * Xen — for the CLI, `rvisor top` and the dashboard:
 *
 *   setSchedParams(hv, domid, {weight, cap})   change a live domain's weight and/or cap
 *   setVcpuAffinity(hv, domid, vcpu, cpus)     pin one vCPU (or all) to a set of pCPUs (xl vcpu-pin)
 *   schedStats(hv)                             per domain and per vCPU: CPU time, share, credit,
 *                                              priority, run-queue waits, migrations; per pCPU: busy
 *   schedTrace(hv)                             the Gantt trace (which vCPU ran on which pCPU when),
 *                                              with domain names, ready for JSON.stringify
 *
 * Everything goes through the hypervisor's own scheduler driver at the host's clock (hv.nowNs), so a
 * change is ordered with the exits around it exactly as if a hypercall had made it: under the icount
 * clock the same run with the same changes at the same points schedules the same way. A change made
 * between two runs (`runSync({maxInsns})`, change, run again) or between event-loop turns of `run()` is
 * seen by the scheduler at that instant, and Credit applies it from its next accounting pass (≤ 30 ms).
 *
 * Times are nanoseconds of the host clock since the hypervisor started (the scheduler's clock).
 */
import { CLINT_MSIP } from "../machine/memory-map.js";
import type { Domain, DomainMode, DomainState } from "./domain.js";
import type { Hypervisor } from "./hypervisor.js";
import type { DomainId, PcpuId, VcpuId, VcpuState } from "./scheduler/interface.js";
import { WEIGHT_MAX, WEIGHT_MIN } from "./scheduler/ledger.js";

/** A refused control request; the message names the domain and what is wrong. */
export class SchedControlError extends Error {
  override name = "SchedControlError";
}

export interface SchedParamsChange {
  /** 1..65535 (Xen's default is 256). */
  weight?: number;
  /** Percent of one pCPU, 0..100 × vCPUs (0 = no cap). */
  cap?: number;
}

/** What the scheduler holds for the domain after a change. */
export interface SchedParams {
  weight: number;
  cap: number;
}

function describeDomain(d: Domain): string {
  return `domain ${d.id} (${d.name})`;
}

function findDomain(hv: Hypervisor, domid: DomainId): Domain {
  const d = hv.domains.get(domid);
  if (d === undefined) {
    const known = [...hv.domains.values()].map((x) => `${x.id} ${x.name}`).join(", ");
    throw new SchedControlError(`no domain ${domid} (domains: ${known === "" ? "none" : known})`);
  }
  return d;
}

/** The largest cap a domain can use: 100 % per vCPU, and no more than the host's pCPUs. */
export function maxCap(hv: Hypervisor, d: Domain): number {
  return 100 * Math.min(d.vcpus.length, hv.pcpus);
}

/**
 * Changes the weight and/or cap of a live domain. Validates first (nothing changes on a refusal), then
 * tells the scheduler through the hypervisor's driver at hv.nowNs. If the policy wants a pCPU to decide
 * again at once, pCPU 0 gets an IPI: its exit runs the driver, which reschedules every kicked pCPU.
 */
export function setSchedParams(hv: Hypervisor, domid: DomainId, change: SchedParamsChange): SchedParams {
  const d = findDomain(hv, domid);
  const what = describeDomain(d);
  if (!d.alive) throw new SchedControlError(`${what} has ended (${d.state}): its parameters are final`);
  const { weight, cap } = change;
  if (weight === undefined && cap === undefined)
    throw new SchedControlError(`${what}: give a weight, a cap or both`);
  if (weight !== undefined && (!Number.isInteger(weight) || weight < WEIGHT_MIN || weight > WEIGHT_MAX))
    throw new SchedControlError(`${what}: weight ${weight} is outside ${WEIGHT_MIN}..${WEIGHT_MAX}`);
  if (cap !== undefined) {
    const max = maxCap(hv, d);
    if (!Number.isInteger(cap) || cap < 0 || cap > max) {
      const n = d.vcpus.length;
      const why =
        n <= hv.pcpus
          ? `100 % per vCPU, ${n} vCPU${n === 1 ? "" : "s"}`
          : `100 % per pCPU: ${n} vCPUs share ${hv.pcpus} pCPUs`;
      throw new SchedControlError(`${what}: cap ${cap} % is outside 0..${max} (0 = no cap; ${why})`);
    }
  }
  const params: SchedParamsChange = {};
  if (weight !== undefined) params.weight = weight;
  if (cap !== undefined) params.cap = cap;
  hv.driver.setParams(domid, params, hv.nowNs);
  if (hv.driver.kicked) hv.machine.clint.write(CLINT_MSIP, 4, 1);
  const now = hv.scheduler.stats(hv.nowNs).domains.find((x) => x.dom === domid)!;
  return { weight: now.weight, cap: now.cap };
}

/**
 * Pins vCPU `index` of a live domain (every vCPU when `index` is "all") to the pCPUs in `cpus`, or
 * unpins it (`cpus` null: any pCPU). Validates first: a pCPU the host does not have, an empty set or a
 * vCPU the domain does not have changes nothing. A vCPU running on a pCPU outside its new set moves at
 * the scheduler's next decision there (the kick below makes that now).
 */
export function setVcpuAffinity(
  hv: Hypervisor,
  domid: DomainId,
  index: number | "all",
  cpus: readonly PcpuId[] | null,
): void {
  const d = findDomain(hv, domid);
  const what = describeDomain(d);
  if (!d.alive) throw new SchedControlError(`${what} has ended (${d.state})`);
  if (cpus !== null) {
    if (cpus.length === 0) throw new SchedControlError(`${what}: an empty pCPU set (give at least one pCPU)`);
    const bad = cpus.filter((c) => !Number.isInteger(c) || c < 0 || c >= hv.pcpus);
    if (bad.length > 0)
      throw new SchedControlError(
        `${what}: pCPU ${bad.join(", ")} does not exist (the host has pCPUs 0..${hv.pcpus - 1})`,
      );
  }
  const targets = index === "all" ? d.vcpus : d.vcpus.filter((v) => v.index === index);
  if (targets.length === 0)
    throw new SchedControlError(`${what}: no vCPU ${index} (it has vCPUs 0..${d.vcpus.length - 1})`);
  const set = cpus === null ? null : [...new Set(cpus)].sort((a, b) => a - b);
  for (const v of targets) hv.driver.setAffinity({ vcpu: v.id }, set, hv.nowNs);
  if (hv.driver.kicked) hv.machine.clint.write(CLINT_MSIP, 4, 1);
}

// ── statistics ──────────────────────────────────────────────────────────────────────────────────

export interface VcpuSchedInfo {
  /** The host-wide vCPU id (the scheduler's). */
  vcpu: VcpuId;
  /** Its index in the domain (the guest's hart id). */
  index: number;
  state: VcpuState;
  pcpu: PcpuId;
  affinity: PcpuId[];
  cpuTimeNs: number;
  credit: number | null;
  priority: string | null;
  runqWaitNs: number;
  runqWaits: number;
  maxRunqWaitNs: number;
  migrations: number;
}

export interface DomainSchedInfo {
  id: DomainId;
  name: string;
  mode: DomainMode;
  state: DomainState;
  weight: number;
  cap: number;
  cpuTimeNs: number;
  /** cpuTimeNs over all the host's pCPU time so far (0..1): its share of the host. */
  share: number;
  /** cpuTimeNs over elapsed time, in percent of one pCPU (xentop's CPU(%); up to 100 × vCPUs). */
  cpuPercent: number;
  /** Sum over its vCPUs (null for policies without credits). */
  credit: number | null;
  runqWaitNs: number;
  runqWaits: number;
  migrations: number;
  vcpus: VcpuSchedInfo[];
}

export interface PcpuSchedInfo {
  pcpu: PcpuId;
  /** The vCPU it runs, or null while idle. */
  current: VcpuId | null;
  /** The domain of that vCPU. */
  domain: string | null;
  runqLength: number;
  busyNs: number;
  idleNs: number;
  decisions: number;
}

export interface HostSchedInfo {
  policy: string;
  nowNs: number;
  pcpus: PcpuSchedInfo[];
  domains: DomainSchedInfo[];
}

interface VcpuName {
  dom: DomainId;
  domain: string;
  index: number;
}

/** vCPU id → its domain's name and its index there. */
function vcpuNames(hv: Hypervisor): Map<VcpuId, VcpuName> {
  const out = new Map<VcpuId, VcpuName>();
  for (const d of hv.domains.values())
    for (const v of d.vcpus) out.set(v.id, { dom: d.id, domain: d.name, index: v.index });
  return out;
}

/** The scheduler's statistics at hv.nowNs, joined with the domains' names, modes and states. */
export function schedStats(hv: Hypervisor): HostSchedInfo {
  const now = hv.nowNs;
  const s = hv.scheduler.stats(now);
  const names = vcpuNames(hv);
  const hostNs = now * hv.pcpus;
  const domains: DomainSchedInfo[] = [];
  for (const sd of s.domains) {
    const d = hv.domains.get(sd.dom);
    if (d === undefined) continue;
    const vcpus = s.vcpus
      .filter((v) => v.dom === sd.dom)
      .map(
        (v): VcpuSchedInfo => ({
          vcpu: v.vcpu,
          index: names.get(v.vcpu)?.index ?? -1,
          state: v.state,
          pcpu: v.pcpu,
          affinity: v.affinity,
          cpuTimeNs: v.cpuTimeNs,
          credit: v.credit,
          priority: v.priority,
          runqWaitNs: v.runqWaitNs,
          runqWaits: v.runqWaits,
          maxRunqWaitNs: v.maxRunqWaitNs,
          migrations: v.migrations,
        }),
      )
      .sort((a, b) => a.index - b.index);
    const sum = (f: (v: VcpuSchedInfo) => number): number => vcpus.reduce((n, v) => n + f(v), 0);
    domains.push({
      id: d.id,
      name: d.name,
      mode: d.mode,
      state: d.state,
      weight: sd.weight,
      cap: sd.cap,
      cpuTimeNs: sd.cpuTimeNs,
      share: hostNs > 0 ? sd.cpuTimeNs / hostNs : 0,
      cpuPercent: now > 0 ? (100 * sd.cpuTimeNs) / now : 0,
      credit: sd.credit,
      runqWaitNs: sum((v) => v.runqWaitNs),
      runqWaits: sum((v) => v.runqWaits),
      migrations: sum((v) => v.migrations),
      vcpus,
    });
  }
  domains.sort((a, b) => a.id - b.id);
  const pcpus = s.pcpus.map(
    (p): PcpuSchedInfo => ({
      pcpu: p.pcpu,
      current: p.current,
      domain: p.current === null ? null : (names.get(p.current)?.domain ?? null),
      runqLength: p.runqLength,
      busyNs: p.busyNs,
      idleNs: Math.max(0, now - p.busyNs),
      decisions: p.decisions,
    }),
  );
  return { policy: s.policy, nowNs: now, pcpus, domains };
}

// ── the Gantt trace ─────────────────────────────────────────────────────────────────────────────

export interface SchedTraceSegment {
  pcpu: PcpuId;
  dom: DomainId;
  domain: string;
  vcpu: VcpuId;
  /** The vCPU's index in its domain. */
  index: number;
  start: number;
  end: number;
}

export interface SchedTrace {
  policy: string;
  pcpus: number;
  /** Where the running segments were cut. */
  nowNs: number;
  unit: "ns";
  domains: { id: DomainId; name: string; mode: DomainMode; vcpus: { vcpu: VcpuId; index: number }[] }[];
  /** Ordered by start, then pCPU. The scheduler keeps a bounded number (oldest dropped first). */
  segments: SchedTraceSegment[];
}

/** The Gantt trace at hv.nowNs, with domain names: plain data, ready for JSON.stringify. */
export function schedTrace(hv: Hypervisor): SchedTrace {
  const now = hv.nowNs;
  const names = vcpuNames(hv);
  const segments = hv.scheduler
    .trace(now)
    .map(
      (t): SchedTraceSegment => ({
        pcpu: t.pcpu,
        dom: t.dom,
        domain: names.get(t.vcpu)?.domain ?? `dom${t.dom}`,
        vcpu: t.vcpu,
        index: names.get(t.vcpu)?.index ?? -1,
        start: t.start,
        end: t.end,
      }),
    )
    .sort((a, b) => a.start - b.start || a.pcpu - b.pcpu);
  const domains = [...hv.domains.values()]
    .sort((a, b) => a.id - b.id)
    .map((d) => ({
      id: d.id,
      name: d.name,
      mode: d.mode,
      vcpus: d.vcpus.map((v) => ({ vcpu: v.id, index: v.index })),
    }));
  return { policy: hv.scheduler.name, pcpus: hv.pcpus, nowNs: now, unit: "ns", domains, segments };
}
