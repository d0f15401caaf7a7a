/**
 * The paths Xen's toolstack writes for every domain (docs/misc/xenstore-paths), so a Xen user finds
 * them where they expect:
 *
 *     /local/domain/<domid>/name                   the domain's name
 *     /local/domain/<domid>/domid                  its id
 *     /local/domain/<domid>/vm                     its /vm/<uuid> path
 *     /local/domain/<domid>/memory/target          balloon target, in KiB
 *     /local/domain/<domid>/cpu/<n>/availability   "online" or "offline"
 *     /local/domain/<domid>/control/shutdown       "poweroff", "reboot", ... written by the toolstack
 *     /local/domain/<domid>/console/{ring-ref,port,type,limit}
 *     /vm/<uuid>/{name,uuid}
 *
 * The home directory is owned by the guest and readable by domain 0; as in libxl, a few nodes the
 * guest must not change (name, domid, vm, memory/target, cpu) are owned by domain 0 and only readable
 * by the guest, while control/ is writable by the guest so it can acknowledge requests.
 */
import type { Connection } from "./connection.js";
import { fail, type XsResult } from "./errors.js";
import { domainPath } from "./path.js";
import type { NodePerms } from "./permissions.js";

export interface DomainRecord {
  readonly domid: number;
  readonly name: string;
  readonly uuid: string;
  readonly memoryKiB: number;
  readonly vcpus: number;
  /** vCPUs online at start; the rest are written "offline". Defaults to all. */
  readonly onlineVcpus?: number;
  readonly console?: { readonly ringRef: number; readonly port: number; readonly type?: string };
}

export const SHUTDOWN_REQUESTS = ["poweroff", "reboot", "suspend", "crash", "halt"] as const;
export type ShutdownRequest = (typeof SHUTDOWN_REQUESTS)[number];

export const wellKnown = {
  home: (domid: number) => domainPath(domid),
  name: (domid: number) => `${domainPath(domid)}/name`,
  domid: (domid: number) => `${domainPath(domid)}/domid`,
  vm: (domid: number) => `${domainPath(domid)}/vm`,
  memoryTarget: (domid: number) => `${domainPath(domid)}/memory/target`,
  cpuAvailability: (domid: number, cpu: number) => `${domainPath(domid)}/cpu/${cpu}/availability`,
  controlShutdown: (domid: number) => `${domainPath(domid)}/control/shutdown`,
  console: (domid: number) => `${domainPath(domid)}/console`,
  vmPath: (uuid: string) => `/vm/${uuid}`,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Writes a new domain's tree through `tools` (a domain-0 connection), in one transaction so that
 * watchers see the whole tree or none of it. EAGAIN is returned as is: the caller retries.
 */
export function writeDomainTree(tools: Connection, d: DomainRecord): XsResult<void> {
  if (tools.domid !== 0) return fail("EACCES", `domain ${tools.domid} may not build domain trees`);
  if (!UUID.test(d.uuid))
    return fail("EINVAL", `domain ${d.domid}: uuid ${JSON.stringify(d.uuid)} is not a lowercase UUID`);
  const started = tools.transactionStart();
  if (!started.ok) return started;
  const tx = started.value;
  const home = domainPath(d.domid);
  const guestOwns: NodePerms = [
    { domid: d.domid, access: "n" },
    { domid: 0, access: "r" },
  ];
  const toolsOwn: NodePerms = [
    { domid: 0, access: "n" },
    { domid: d.domid, access: "r" },
  ];
  const vm = wellKnown.vmPath(d.uuid);
  const steps: Array<() => XsResult<void>> = [
    () => tools.mkdir(home, tx),
    () => tools.setPerms(home, guestOwns, tx),
    // Permissions first, so the children inherit them.
    () => tools.mkdir(vm, tx),
    () => tools.setPerms(vm, toolsOwn, tx),
    () => tools.write(`${vm}/name`, d.name, tx),
    () => tools.write(`${vm}/uuid`, d.uuid, tx),
    () => tools.write(wellKnown.vm(d.domid), vm, tx),
    () => tools.write(wellKnown.name(d.domid), d.name, tx),
    () => tools.write(wellKnown.domid(d.domid), String(d.domid), tx),
    () => tools.write(wellKnown.memoryTarget(d.domid), String(d.memoryKiB), tx),
    ...Array.from(
      { length: d.vcpus },
      (_, n) => () =>
        tools.write(
          wellKnown.cpuAvailability(d.domid, n),
          n < (d.onlineVcpus ?? d.vcpus) ? "online" : "offline",
          tx,
        ),
    ),
    ...["name", "domid", "vm", "memory", "memory/target"].map(
      (p) => () => tools.setPerms(`${home}/${p}`, toolsOwn, tx),
    ),
    ...(d.vcpus > 0 ? [() => tools.setPerms(`${home}/cpu`, toolsOwn, tx)] : []),
    ...Array.from({ length: d.vcpus }, (_, n) => () => tools.setPerms(`${home}/cpu/${n}`, toolsOwn, tx)),
    ...Array.from(
      { length: d.vcpus },
      (_, n) => () => tools.setPerms(wellKnown.cpuAvailability(d.domid, n), toolsOwn, tx),
    ),
    () => tools.write(wellKnown.controlShutdown(d.domid), "", tx),
    ...(d.console
      ? [
          () => tools.write(`${home}/console/ring-ref`, String(d.console!.ringRef), tx),
          () => tools.write(`${home}/console/port`, String(d.console!.port), tx),
          () => tools.write(`${home}/console/type`, d.console!.type ?? "xenconsoled", tx),
        ]
      : []),
  ];
  for (const step of steps) {
    const r = step();
    if (!r.ok) {
      tools.transactionEnd(tx, false);
      return r;
    }
  }
  return tools.transactionEnd(tx, true);
}

/** The toolstack's side of graceful shutdown: write the request the guest watches for. */
export function requestShutdown(tools: Connection, domid: number, request: ShutdownRequest): XsResult<void> {
  return tools.write(wellKnown.controlShutdown(domid), request);
}
