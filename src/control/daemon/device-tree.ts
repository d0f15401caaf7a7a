/**
 * A domain's devices in the store, as Xen's toolstack writes them (docs/misc/xenstore-paths, blkif.h,
 * netif.h, console.txt): a backend directory in domain 0's home and a frontend directory in the domain's,
 * each pointing at the other. rvisord writes them when a domain is created or restored and removes them
 * when it goes; `rvisor block-list` and `network-list` read them.
 *
 *   /local/domain/0/backend/vbd/<domid>/<devid>/   frontend frontend-id params type mode online state
 *                                                  dev device-type removable bootable sectors
 *                                                  sector-size info                      (n0, r<domid>)
 *   /local/domain/<domid>/device/vbd/<devid>/      backend backend-id state virtual-device device-type
 *                                                                                        (n<domid>, r0)
 *   /local/domain/0/backend/vif/<domid>/<n>/       frontend frontend-id mac bridge handle type online
 *                                                  state
 *   /local/domain/<domid>/device/vif/<n>/          backend backend-id mac handle state
 *   /local/domain/0/backend/console/<domid>/0/     frontend frontend-id online state protocol
 *   /local/domain/<domid>/console/                 backend backend-id type limit     (hvc0, the PV console)
 *
 * <devid> is the vdev's number (xen-vbd-interface(7): xvda = 51712), <n> the vif's index. Permissions are
 * libxl's: a backend directory is owned by domain 0 and readable by the domain, a frontend directory owned
 * by the domain and readable by domain 0; the nodes below inherit them.
 *
 * What has no meaning here: the devices are virtio-mmio, not Xen split drivers, so there is no event
 * channel (event-channel), no grant reference (ring-ref, tx-ring-ref, rx-ring-ref) and no pty (the
 * console's tty): those nodes are not written, and a listing shows -1 for them as xl does for an absent
 * node. A guest does not write its frontend's `state`: rvisord writes both states from the virtio
 * device's status (syncDeviceStates): the driver not there yet → frontend 1 (Initialising), backend 2
 * (InitWait); features being negotiated → 3 (Initialised); DRIVER_OK → 4 (Connected) on both;
 * DEVICE_NEEDS_RESET → 5 (Closing); FAILED → 6 (Closed).
 */
import type { Domain } from "../../hypervisor/domain.js";
import type { DomainSaveState } from "../../hypervisor/save/state.js";
import { type DiskFormat, imageVirtualSize } from "../../hypervisor/virtio/disk-image.js";
import { STATUS_DEVICE_NEEDS_RESET, STATUS_DRIVER_OK, STATUS_FAILED } from "../../hypervisor/virtio/mmio.js";
import { type DomainConfig, vbdDevid } from "../config/index.js";
import type { Connection } from "../store/connection.js";
import type { XsResult } from "../store/errors.js";
import type { NodePerms } from "../store/permissions.js";
import { wellKnown } from "../store/well-known.js";
import type { BlockDevice, NetworkDevice } from "./api.js";
import type { Entry } from "./entry.js";

export type DeviceKind = "vbd" | "vif" | "console";

export const devicePaths = {
  backendDir: (kind: DeviceKind, domid: number) => `/local/domain/0/backend/${kind}/${domid}`,
  backend: (kind: DeviceKind, domid: number, devid: number) =>
    `/local/domain/0/backend/${kind}/${domid}/${devid}`,
  frontend: (kind: DeviceKind, domid: number, devid: number) =>
    kind === "console" ? `/local/domain/${domid}/console` : `/local/domain/${domid}/device/${kind}/${devid}`,
};

/** XenbusState (xen/include/public/io/xenbus.h). */
export const XENBUS = { initialising: 1, initWait: 2, initialised: 3, connected: 4, closing: 5, closed: 6 };

/** The byte size of a sector in the block interface. */
const SECTOR = 512;

export interface DeviceRecord {
  domid: number;
  disks: { vdev: string; target: string; format: DiskFormat; readOnly: boolean }[];
  vifs: { mac: string; bridge: string }[];
  /** The PV console (hvc0), when the domain has one: how many bytes of its output the daemon keeps. */
  console?: { limit: number };
}

/** A domain's devices as its definition gives them. */
export function deviceRecord(domid: number, c: DomainConfig, consoleLimit?: number): DeviceRecord {
  return {
    domid,
    disks: c.disks.map((d) => ({
      vdev: d.vdev,
      target: d.target,
      format: d.format,
      readOnly: d.access === "ro",
    })),
    vifs: c.vifs.map((v) => ({ mac: v.mac, bridge: v.bridge })),
    ...(consoleLimit === undefined ? {} : { console: { limit: consoleLimit } }),
  };
}

/** Writes every device's backend and frontend directories in one transaction (EAGAIN: retry). */
export function writeDeviceTree(tools: Connection, r: DeviceRecord): XsResult<void> {
  const D = r.domid;
  const backendPerms: NodePerms = [
    { domid: 0, access: "n" },
    { domid: D, access: "r" },
  ];
  const frontendPerms: NodePerms = [
    { domid: D, access: "n" },
    { domid: 0, access: "r" },
  ];
  const started = tools.transactionStart();
  if (!started.ok) return started;
  const tx = started.value;
  const steps: (() => XsResult<void>)[] = [];
  /** A directory with its permissions (which the nodes written below it inherit), then the nodes. */
  const dir = (path: string, perms: NodePerms, nodes: Record<string, string | number>) => {
    steps.push(
      () => tools.mkdir(path, tx),
      () => tools.setPerms(path, perms, tx),
    );
    for (const [k, v] of Object.entries(nodes)) steps.push(() => tools.write(`${path}/${k}`, String(v), tx));
  };
  const pair = (
    kind: DeviceKind,
    devid: number,
    back: Record<string, string | number>,
    front: Record<string, string | number>,
  ) => {
    const bdir = devicePaths.backendDir(kind, D);
    steps.push(
      () => tools.mkdir(bdir, tx),
      () => tools.setPerms(bdir, backendPerms, tx),
    );
    const be = devicePaths.backend(kind, D, devid);
    const fe = devicePaths.frontend(kind, D, devid);
    dir(be, backendPerms, { frontend: fe, "frontend-id": D, online: 1, state: XENBUS.initWait, ...back });
    dir(fe, frontendPerms, { backend: be, "backend-id": 0, state: XENBUS.initialising, ...front });
  };
  r.disks.forEach((disk, i) => {
    const devid = vbdDevid(disk.vdev);
    if (devid === undefined) return; // the config parser refuses such a vdev
    pair(
      "vbd",
      devid,
      {
        // libxl's qdisk backend names the format in params ("qcow2:/path"); a raw file is just its path.
        params: disk.format === "raw" ? disk.target : `${disk.format}:${disk.target}`,
        type: disk.format === "raw" ? "file" : "qdisk",
        mode: disk.readOnly ? "r" : "w",
        dev: disk.vdev,
        "device-type": "disk",
        removable: 0,
        bootable: i === 0 ? 1 : 0,
        sectors: Math.floor(imageVirtualSize(disk.target, disk.format) / SECTOR),
        "sector-size": SECTOR,
        info: disk.readOnly ? 4 : 0, // VDISK_READONLY
      },
      { "virtual-device": devid, "device-type": "disk" },
    );
  });
  r.vifs.forEach((vif, n) => {
    pair("vif", n, { mac: vif.mac, bridge: vif.bridge, handle: n, type: "vif" }, { mac: vif.mac, handle: n });
  });
  if (r.console !== undefined)
    pair("console", 0, { protocol: "vt100" }, { type: "xenconsoled", limit: r.console.limit });
  for (const step of steps) {
    const res = step();
    if (!res.ok) {
      tools.transactionEnd(tx, false);
      return res;
    }
  }
  return tools.transactionEnd(tx, true);
}

/**
 * A domain rvisord has just built (created or restored) gets its devices in the store and its start
 * time, here and as /vm/<uuid>/start_time (seconds since the epoch with hundredths, as libxl writes it).
 */
export function attachDevices(tools: Connection, e: Entry, d: Domain, log: (line: string) => void): void {
  e.startTime = Date.now();
  const record = deviceRecord(d.id, e.stored.config, e.pvConsole?.limit);
  let written = writeDeviceTree(tools, record);
  for (let i = 0; i < 3 && !written.ok && written.errno === "EAGAIN"; i++)
    written = writeDeviceTree(tools, record);
  if (!written.ok)
    log(
      `rvisord: ${d.name} (id ${d.id}): devices not written to the store: ${written.errno}: ${written.detail}`,
    );
  tools.write(`${wellKnown.vmPath(e.stored.uuid)}/start_time`, (e.startTime / 1000).toFixed(2));
  syncDeviceStates(tools, d, e.stored.config);
  // Each status change is told from inside the guest's exit: the store is written once it has returned,
  // once for however many changes that exit (or that round) made.
  let queued = false;
  const changed = () => {
    if (queued) return;
    queued = true;
    setImmediate(() => {
      queued = false;
      if (d.alive && e.domain === d) syncDeviceStates(tools, d, e.stored.config);
    });
  };
  for (const t of d.devices?.virtio ?? []) if (t !== undefined) t.onStatus = changed;
}

/** The domain is going: its backend directories leave the store (the rest goes with its home and /vm). */
export function detachDevices(tools: Connection, e: Entry, d: Domain): void {
  for (const t of d.devices?.virtio ?? []) if (t !== undefined) t.onStatus = undefined;
  removeDeviceTree(tools, d.id);
  e.startTime = undefined;
}

/** Whether a saved domain had hvc0 (a restore then gives it one again, in the same slot). */
export function hasPvConsole(state: DomainSaveState): boolean {
  return state.devices.virtio.some((v) => v?.device === "virtio-console");
}

/** The backend directories of a domain's devices (its frontends go with its home). */
export function removeDeviceTree(tools: Connection, domid: number): void {
  for (const kind of ["vbd", "vif", "console"] as const) tools.rm(devicePaths.backendDir(kind, domid));
}

/** A virtio device's status register as the frontend's and backend's XenbusState. */
export function xenbusStates(status: number): { frontend: number; backend: number } {
  if ((status & STATUS_FAILED) !== 0) return { frontend: XENBUS.closed, backend: XENBUS.closed };
  if ((status & STATUS_DEVICE_NEEDS_RESET) !== 0)
    return { frontend: XENBUS.closing, backend: XENBUS.closing };
  if ((status & STATUS_DRIVER_OK) !== 0) return { frontend: XENBUS.connected, backend: XENBUS.connected };
  return { frontend: status === 0 ? XENBUS.initialising : XENBUS.initialised, backend: XENBUS.initWait };
}

/**
 * Writes each device's frontend and backend `state` from its virtio device's status (only the nodes
 * that change, so watchers hear only real changes). Disk i is the i-th virtio-blk, vif n the n-th
 * virtio-net, the console the virtio-console.
 */
export function syncDeviceStates(tools: Connection, d: Domain, c: DomainConfig): void {
  const transports = d.devices?.virtio ?? [];
  const of = (name: string) => transports.filter((t) => t?.device.name === name);
  const set = (path: string, state: number) => {
    const now = tools.readString(path);
    if (now.ok && now.value !== String(state)) tools.write(path, String(state));
  };
  const sync = (kind: DeviceKind, devid: number, status: number | undefined) => {
    if (status === undefined) return;
    const s = xenbusStates(status);
    set(`${devicePaths.frontend(kind, d.id, devid)}/state`, s.frontend);
    set(`${devicePaths.backend(kind, d.id, devid)}/state`, s.backend);
  };
  const blks = of("virtio-blk");
  c.disks.forEach((disk, i) => {
    const devid = vbdDevid(disk.vdev);
    if (devid !== undefined) sync("vbd", devid, blks[i]?.statusBits);
  });
  const nets = of("virtio-net");
  for (let n = 0; n < c.vifs.length; n++) sync("vif", n, nets[n]?.statusBits);
  sync("console", 0, of("virtio-console")[0]?.statusBits);
}

/** A number node, or -1 when it is absent (libxl's getinfo reads absent nodes so, and xl prints it). */
function num(tools: Connection, path: string): number {
  const v = tools.readString(path);
  if (!v.ok || v.value === "") return -1;
  const n = Number(v.value);
  return Number.isInteger(n) ? n : -1;
}

function str(tools: Connection, path: string): string | undefined {
  const v = tools.readString(path);
  return v.ok ? v.value : undefined;
}

/** The devids under the domain's device/<kind>, in numeric order. */
function devids(tools: Connection, domid: number, kind: "vbd" | "vif"): number[] {
  const list = tools.directory(`/local/domain/${domid}/device/${kind}`);
  if (!list.ok) return [];
  return list.value
    .map(Number)
    .filter((n) => Number.isInteger(n))
    .sort((a, b) => a - b);
}

/** xl block-list's rows for a domain, from the store. */
export function listBlockDevices(tools: Connection, domid: number): BlockDevice[] {
  return devids(tools, domid, "vbd").map((devid) => {
    const fe = devicePaths.frontend("vbd", domid, devid);
    const be = str(tools, `${fe}/backend`) ?? "";
    return {
      devid,
      vdev: str(tools, `${be}/dev`) ?? "",
      backendId: num(tools, `${fe}/backend-id`),
      frontendId: domid,
      state: num(tools, `${fe}/state`),
      evtch: num(tools, `${fe}/event-channel`),
      ringRef: num(tools, `${fe}/ring-ref`),
      backendPath: be,
      params: str(tools, `${be}/params`) ?? "",
      mode: str(tools, `${be}/mode`) ?? "",
      sectors: num(tools, `${be}/sectors`),
    };
  });
}

/** xl network-list's rows for a domain, from the store. */
export function listNetworkDevices(tools: Connection, domid: number): NetworkDevice[] {
  return devids(tools, domid, "vif").map((idx) => {
    const fe = devicePaths.frontend("vif", domid, idx);
    const be = str(tools, `${fe}/backend`) ?? "";
    return {
      idx,
      backendId: num(tools, `${fe}/backend-id`),
      frontendId: domid,
      mac: str(tools, `${fe}/mac`) ?? "",
      handle: num(tools, `${fe}/handle`),
      state: num(tools, `${fe}/state`),
      evtch: num(tools, `${fe}/event-channel`),
      txRingRef: num(tools, `${fe}/tx-ring-ref`),
      rxRingRef: num(tools, `${fe}/rx-ring-ref`),
      backendPath: be,
      bridge: str(tools, `${be}/bridge`) ?? "",
    };
  });
}
