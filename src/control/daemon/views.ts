/**
 * What `rvisor list` and the API show of the defined domains: Domain-0 first, then the live domains by
 * id, then the stopped ones by name (a stopped domain with an image the daemon's stop saved is
 * "saved").
 */
import { CONTROL_DOMAIN, type Hypervisor } from "../../hypervisor/hypervisor.js";
import { HYPERVISOR } from "../../hypervisor/memory/frames.js";
import { schedStats } from "../../hypervisor/sched-control.js";
import { PAGE_SIZE } from "../../machine/params.js";
import type { DomainInfo } from "./api.js";
import type { Entry } from "./entry.js";
import { savedInfo } from "./host-lifecycle.js";
import type { ResizeRoutes } from "./resize.js";

const MiB = 1024 * 1024;

export function listDomains(hv: Hypervisor, resize: ResizeRoutes, entries: Entry[]): DomainInfo[] {
  const cpu = process.cpuUsage();
  const dom0: DomainInfo = {
    id: CONTROL_DOMAIN.id,
    name: CONTROL_DOMAIN.name,
    mode: "control",
    state: "running",
    memoryMiB: Math.ceil((hv.allocator.countOf(HYPERVISOR) * PAGE_SIZE) / MiB),
    vcpus: 1,
    cpuTimeS: (cpu.user + cpu.system) / 1e6,
  };
  const cpuTimes = cpuTimesOf(hv);
  const live = entries.filter((e) => e.domain !== undefined).sort((a, b) => a.domain!.id - b.domain!.id);
  const stopped = entries
    .filter((e) => e.domain === undefined)
    .sort((a, b) => a.stored.name.localeCompare(b.stored.name));
  return [dom0, ...[...live, ...stopped].map((e) => domainInfo(hv, resize, e, cpuTimes))];
}

export function domainInfo(
  hv: Hypervisor,
  resize: ResizeRoutes,
  e: Entry,
  cpuTimes?: Map<number, number>,
): DomainInfo {
  const c = e.stored.config;
  const d = e.domain;
  const cpuTimeS = d === undefined ? 0 : ((cpuTimes ?? cpuTimesOf(hv)).get(d.id) ?? 0);
  const end = e.end ?? d?.end;
  return {
    id: d?.id ?? null,
    name: c.name,
    mode: c.type,
    state: d?.state ?? (e.saved !== undefined ? "saved" : "stopped"),
    memoryMiB: c.memoryMiB,
    vcpus: c.vcpus,
    ...(d === undefined ? {} : resize.listed(d)),
    cpuTimeS,
    // The domain's own end is set at once; the entry's only once domainEnded has run (next tick).
    ...(end !== undefined ? { end: { ...end } } : {}),
    source: e.stored.source,
    uuid: e.stored.uuid,
    ...(d !== undefined && e.startTime !== undefined ? { startTime: e.startTime } : {}),
    autostart: e.autostart,
    ...(e.saved !== undefined ? { saved: savedInfo(e) } : {}),
  };
}

/** CPU seconds per live domain id. */
function cpuTimesOf(hv: Hypervisor): Map<number, number> {
  return new Map(schedStats(hv).domains.map((x) => [x.id, x.cpuTimeNs / 1e9]));
}
