/**
 * rvisord's API, version 1: the JSON shapes the daemon (server.ts) sends and the client (client.ts)
 * reads. Every path starts with /v1; a later incompatible API gets /v2 beside it.
 *
 *   GET  /v1/info                          host: pCPUs, memory, scheduler, version        → HostInfo
 *   GET  /v1/domains                       Domain-0, live domains, then stopped ones      → DomainInfo[]
 *   POST /v1/domains                       CreateRequest: a config file's text            → DomainInfo
 *   POST /v1/domains/:dom/start[?force_boot=1]  a stopped (defined) domain, from its stored config;
 *                                          one the daemon's stop saved goes on from its image (which is
 *                                          then removed), unless force_boot=1 discards the image
 *   POST /v1/domains/:dom/autostart        {autostart: boolean}: booted (or restored) at daemon start
 *   GET  /v1/host/settings                 what the daemon's stop does with live domains → HostSettings
 *   POST /v1/host/settings                 Partial<HostSettings>: changed and remembered  → HostSettings
 *   POST /v1/domains/:dom/{pause,unpause,destroy}
 *   POST /v1/domains/:dom/{shutdown,reboot}[?wait=1]   "poweroff" / "reboot" into the guest's
 *                                          control/shutdown (409 when the guest does not listen);
 *                                          wait=1 answers once that instance of the domain is gone
 *   GET  /v1/domains/:dom/console[?from=N] the console output kept so far                 → ConsoleOutput
 *   POST /v1/domains/:dom/console          body: bytes for the guest's console input
 *   GET  /v1/domains/:dom/console/stream   server-sent events: `output` (JSON string), `end`
 *                                          (the three console paths take ?type=serial, the default:
 *                                          the UART/SBI console, or ?type=pv: hvc0, the virtio console)
 *   POST /v1/domains/:dom/rename           {"name": new} (xl rename): definition, store, /vm  → DomainInfo
 *   GET  /v1/domains/:dom/devices/vbd      the disks as the store describes them (xl block-list)
 *                                                                                         → BlockDevice[]
 *   GET  /v1/domains/:dom/devices/vif      the vifs likewise (xl network-list)            → NetworkDevice[]
 *   POST /v1/domains/:dom/save             SaveRequest: its state to a file; then destroyed (or
 *                                          kept running: checkpoint, or paused)          → SaveResult
 *   POST /v1/restore                       RestoreRequest: a saved domain again, going on → RestoredDomain
 *   GET  /v1/store?path=P                  a store node's value and children              → StoreNode
 *   PUT  /v1/store?path=P                  body: the node's new value (created with its parents)
 *   DELETE /v1/store?path=P                the node and everything below it
 *   GET  /v1/store/ls?path=P               the subtree: every node's path, value, permissions → StoreEntry[]
 *   GET  /v1/store/watch?path=P            server-sent events: `watch` {path, token} once at once, then
 *                                          on every change of P or below it
 *   GET  /v1/vcpus                         every live domain's vCPUs (xl vcpu-list)        → VcpuInfo[]
 *   GET  /v1/domains/:dom/vcpus            one domain's
 *   POST /v1/domains/:dom/vcpu-pin         VcpuPinRequest (xl vcpu-pin)
 *   GET  /v1/sched                         every live domain's Credit parameters           → SchedEntry[]
 *   GET  /v1/domains/:dom/sched            one domain's                                    → SchedEntry
 *   POST /v1/domains/:dom/sched            {weight?, cap?} (xl sched-credit -d -w -c)       → SchedEntry
 *   GET  /v1/stats                         cumulative per-domain and per-pCPU figures      → StatsSample
 *   GET  /v1/stats/stream?interval=MS      server-sent events: `stats` (StatsSample with rates over the
 *                                          interval) every MS (100..60000, default 1000) — `rvisor top`
 *   GET  /v1/dmesg                         the daemon's and hypervisor's log ring            → LogLine[]
 *
 * `:dom` is a domain id or a name. Errors are `{ "error": message }` with 400 (bad request or config,
 * the config parser's `file:line: key: message` lines, a save file that cannot be read or written:
 * what is wrong and at which offset), 404 (no such domain), 409 (wrong state, name taken, too little
 * free memory, a saved image in the way), 503 (the daemon is stopping: only GETs are
 * served) or 500. Save files are read and written by the daemon, at absolute paths.
 */
import type { DomainConfig } from "../config/index.js";

export const API_VERSION = "v1";

export interface HostInfo {
  version: string;
  api: string;
  pcpus: number;
  scheduler: string;
  clock: string;
  /** Host RAM in 4 KiB frames, and the part owned by no one. */
  totalFrames: number;
  freeFrames: number;
  totalMemoryMiB: number;
  freeMemoryMiB: number;
  /** Host time since the hypervisor started (the scheduler's clock). */
  uptimeNs: number;
  /** When the daemon started (ms since the epoch, wall clock): Domain-0's start for `rvisor uptime`. */
  startTime: number;
  /** Domains: defined in all, and live (running, paused, or kept after they ended) of those. */
  domains: { defined: number; live: number };
  /** The domain modes this host builds (xl info's virt_caps). */
  modes: string[];
  socket: string;
  /** The loopback TCP address the API is also served on, if any. */
  tcp?: string;
  stateDir: string;
  /** What the daemon's stop does with live domains (host-lifecycle.ts). */
  onStop: OnStop;
  stopTimeoutS: number;
}

/**
 * What rvisord's stop does with the domains still alive (xendomains, libvirt-guests ON_SHUTDOWN):
 * save each to the state directory (restored at the next start), ask each guest to power off and
 * destroy what is left after stopTimeoutS, or destroy them all at once.
 */
export type OnStop = "save" | "shutdown" | "destroy";

export interface HostSettings {
  onStop: OnStop;
  /** How long a stop waits for guests asked to power off before destroying them, seconds. */
  stopTimeoutS: number;
}

/** What `xl list` shows per domain, plus rvisor's mode and what ended it. */
export interface DomainInfo {
  /** null for a stopped (defined but not running) domain. */
  id: number | null;
  name: string;
  /** "control" for Domain-0. */
  mode: string;
  /**
   * running, paused, shutdown, crashed (kept: on_* = preserve), stopped, or saved (stopped, with the
   * image the daemon's stop saved it to: `start` goes on from it).
   */
  state: string;
  /** MiB: what a live domain has now (the P2M's), else the config's memory. */
  memoryMiB: number;
  /** A live domain's memory target, MiB, when it differs from what it has (the balloon is moving). */
  targetMiB?: number;
  /** vCPUs: a live domain's online ones, else the config's. */
  vcpus: number;
  /** A live domain's vCPUs in all (maxvcpus). */
  maxVcpus?: number;
  /** CPU time the scheduler has given the domain, in seconds. */
  cpuTimeS: number;
  /** How the domain last ended, if it has. */
  end?: { state: string; code: number; reason: string };
  /** The config file it was created from. */
  source?: string;
  uuid?: string;
  /** When a live domain was created or restored (ms since the epoch): /vm/<uuid>/start_time. */
  startTime?: number;
  /** Started with the daemon (`rvisor autostart`); absent for Domain-0. */
  autostart?: boolean;
  /** The image the daemon's stop saved it to (state "saved"), and why restoring it failed, if it did. */
  saved?: {
    path: string;
    savedAt: string;
    bytes: number;
    sha256: string;
    paused: boolean;
    restoreError?: string;
  };
}

/** One disk as `xl block-list` shows it, read from the store; -1 where the node is absent (as xl). */
export interface BlockDevice {
  /** The vdev's number (xen-vbd-interface(7)): xvda = 51712. */
  devid: number;
  /** The guest's name for it (the backend's dev node). */
  vdev: string;
  backendId: number;
  /** xl prints the frontend's domain id in its `handle` column. */
  frontendId: number;
  /** XenbusState: 1 initialising … 4 connected … 6 closed. */
  state: number;
  /** No event channel or grant reference: the device is virtio-mmio (always -1 here). */
  evtch: number;
  ringRef: number;
  backendPath: string;
  /** The image file, "r" or "w", and its size in 512-byte sectors. */
  params: string;
  mode: string;
  sectors: number;
}

/** One vif as `xl network-list` shows it, read from the store; -1 where the node is absent. */
export interface NetworkDevice {
  idx: number;
  backendId: number;
  frontendId: number;
  mac: string;
  handle: number;
  state: number;
  /** No event channel or grant references: the device is virtio-mmio (always -1 here). */
  evtch: number;
  txRingRef: number;
  rxRingRef: number;
  backendPath: string;
  bridge: string;
}

/** The consoles a domain has: its UART/SBI console, and hvc0 (xl console -t serial|pv). */
export const CONSOLE_TYPES = ["serial", "pv"] as const;
export type ConsoleType = (typeof CONSOLE_TYPES)[number];

export interface CreateRequest {
  /** The config file's text. */
  config: string;
  /** Its path, for error messages and for resolving relative kernel and disk paths. */
  path: string;
}

export interface ConsoleOutput {
  /** The output from `from` on, as UTF-8 text. */
  text: string;
  /** Where this output starts and ends, in bytes since the domain started. */
  from: number;
  to: number;
  /** Bytes dropped before `from` because the daemon keeps only the last part of the output. */
  dropped: number;
}

export interface StoreNode {
  path: string;
  value: string;
  children: string[];
}

/** One node of a subtree listing (xenstore-ls -p). */
export interface StoreEntry {
  path: string;
  value: string;
  /** Xen's permission strings: the owner's first ("n0"), then one per domain ("r3", "b5"). */
  perms: string[];
}

export interface VcpuInfo {
  /** The domain's name and id, and the vCPU's index in it (the guest's hart id). */
  domain: string;
  domid: number;
  vcpu: number;
  /** The pCPU it runs on or last ran on. */
  pcpu: number;
  /** running, runnable, blocked, offline or paused, as the scheduler sees it. */
  state: string;
  cpuTimeS: number;
  /** Hard affinity: the pCPUs it may run on. */
  affinity: number[];
}

export interface VcpuPinRequest {
  /** A vCPU index, or "all". */
  vcpu: number | "all";
  /** pCPUs it may run on, or "all" to unpin. */
  cpus: number[] | "all";
}

export interface SchedEntry {
  name: string;
  id: number;
  weight: number;
  cap: number;
}

export interface DomainStats {
  id: number;
  name: string;
  mode: string;
  state: string;
  vcpus: number;
  /** vCPUs not stopped (started through SBI HSM, or the boot vCPU). */
  onlineVcpus: number;
  memoryMiB: number;
  cpuTimeNs: number;
  /** Over the sample's interval (cumulative samples: since the domain started), % of one pCPU. */
  cpuPercent: number;
  retired: number;
  /** Million instructions per second of host time over the interval. */
  mips: number;
  exits: number;
  exitsPerSecond: number;
  /** The three most frequent exit causes over the interval (all time in cumulative samples). */
  topExits: { cause: string; count: number }[];
}

export interface StatsSample {
  nowNs: number;
  /** The interval the rates cover (0 in a cumulative sample: since the start). */
  intervalNs: number;
  pcpus: { pcpu: number; busyPercent: number; domain: string | null }[];
  freeMemoryMiB: number;
  totalMemoryMiB: number;
  domains: DomainStats[];
}

export interface LogLine {
  /** Wall-clock time of the line (ms since the epoch). */
  time: number;
  text: string;
}

export interface ApiError {
  error: string;
}

/** What the daemon keeps per defined domain (SQLite, state-db.ts). */
export interface StoredDomain {
  name: string;
  uuid: string;
  source: string;
  text: string;
  config: DomainConfig;
}

export interface SaveRequest {
  /** Where the image goes (an absolute path; the daemon writes it, through a temporary file). */
  path: string;
  /** Keep the domain running afterwards (xl save -c); default: it is destroyed. */
  checkpoint?: boolean;
  /** Keep it, paused (xl save -p). */
  paused?: boolean;
}

export interface SaveResult {
  /** The domain afterwards: stopped (end reason "saved"), running or paused. */
  domain: DomainInfo;
  path: string;
  bytes: number;
  /** The image's SHA-256. */
  sha256: string;
  /** Guest frames saved, and how many of them were all zeros (no bytes in the file). */
  pages: number;
  zeroPages: number;
  /** SHA-256 over the guest memory saved (gfn, page), as memoryHash in save/memory.ts computes it. */
  memoryHash: string;
}

export interface RestoreRequest {
  /** The image (an absolute path). */
  path: string;
  /** Leave the domain paused (xl restore -p). */
  paused?: boolean;
}

export type RestoredDomain = DomainInfo & {
  /** SHA-256 over the restored domain's memory: the same as the save's memoryHash. */
  memoryHash: string;
  /** When the image was written. */
  savedAt: string;
};
