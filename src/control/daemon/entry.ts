/**
 * One defined domain as rvisord keeps it: its stored definition and, while it exists in the
 * hypervisor, the Domain with its console, store ring and how its latest run ended; plus the
 * translations from a definition to what the domain builder takes.
 */
import type { Domain, DomainEnd, DomainMode } from "../../hypervisor/domain.js";
import type { DomainDisk } from "../../hypervisor/hypervisor.js";
import { type DomainConfig, resolveCpuSet } from "../config/index.js";
import type { StoredDomain } from "./api.js";
import type { ConsoleLog } from "./console-log.js";
import { ApiError } from "./http.js";
import type { SavedImage } from "./state-db.js";
import type { StoreRingLink } from "./store-ring.js";

export interface Entry {
  stored: StoredDomain;
  domain: Domain | undefined;
  /** The console of the latest run (kept after the domain is gone). */
  console: ConsoleLog | undefined;
  /** Its PV console, hvc0 (the virtio console), likewise; undefined for a domain restored without one. */
  pvConsole?: ConsoleLog;
  /** When the running domain was created or restored (ms since the epoch: xl uptime's start time). */
  startTime?: number;
  /** How the latest run ended. */
  end: DomainEnd | undefined;
  /** When the latest restarts happened (ms), for the reboot-loop guard. */
  restarts: number[];
  /** Told when the running domain ends or is destroyed (console streams). */
  readonly onStop: Set<() => void>;
  /** The running domain's store ring, served while it exists (store-ring.ts). */
  ring?: StoreRingLink;
  /** Booted (or restored) when the daemon starts (`rvisor autostart`). */
  autostart: boolean;
  /** The image the daemon's stop saved it to, kept until it is restored (host-lifecycle.ts). */
  saved?: SavedImage;
  /** Why the latest restore of `saved` failed, if it did. */
  restoreError?: string;
}

/** A defined domain that has not run yet (or not since the daemon started). */
export function newEntry(stored: StoredDomain, autostart = false, saved?: SavedImage): Entry {
  return {
    stored,
    domain: undefined,
    console: undefined,
    end: undefined,
    restarts: [],
    onStop: new Set(),
    autostart,
    ...(saved !== undefined ? { saved } : {}),
  };
}

/** A config's type as a hypervisor mode; "native" is the bare board, not a domain. */
export const HV_MODES: Record<string, DomainMode | undefined> = {
  trap: "trap",
  bt: "bt",
  pv: "pv",
  hvm: "hvm",
};

/** The config's cmdline, with `maxcpus=` first when it has more vCPUs than run at boot. */
export function bootargsOf(c: DomainConfig): { bootargs?: string } {
  const extra = c.maxvcpus > c.vcpus ? `maxcpus=${c.vcpus}` : "";
  const args = [extra, c.cmdline ?? ""].filter((x) => x !== "").join(" ");
  return args === "" ? {} : { bootargs: args };
}

/** A definition's disks as the domain builder takes them. */
export function disksOf(c: DomainConfig): DomainDisk[] {
  return c.disks.map((disk) => ({
    path: disk.target,
    format: disk.format,
    readOnly: disk.access === "ro",
    vdev: disk.vdev,
  }));
}

/** The config's `cpus` as pCPU lists per vCPU index, checked against a host of `pcpus` before creating. */
export function affinityOf(source: string, c: DomainConfig, pcpus: number): (number[] | undefined)[] {
  const out: (number[] | undefined)[] = [];
  if (c.cpus === undefined) return out;
  for (let i = 0; i < c.vcpus; i++) {
    const set = c.cpus.kind === "shared" ? c.cpus.set : c.cpus.sets[i];
    if (set === undefined) {
      out.push(undefined);
      continue;
    }
    const r = resolveCpuSet(set, pcpus);
    if (!r.ok) throw new ApiError(400, `${source}: cpus: ${r.error}`);
    out.push(r.cpus);
  }
  return out;
}
