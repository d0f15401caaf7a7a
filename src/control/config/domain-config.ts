/**
 * DomainConfig: what a domain is built from, after the config file has been parsed, checked and given
 * Xen's defaults. Everything here is plain data (JSON-safe), so the toolstack can store it, send it
 * over the API and print it back as an xl.cfg file (print.ts).
 *
 * Defaults, as xl/libxl give them (libxl_create.c, xl_parse.c, xl.cfg(5)):
 *   memory 32 MiB (libxl's LIBXL_MEMKB_DEFAULT → 32 * 1024 KiB); maxmem = memory
 *   vcpus 1; maxvcpus = vcpus
 *   cpus: no pinning (every vCPU may run on every pCPU)
 *   cpu_weight 256, cap 0 (no cap)
 *   on_poweroff destroy, on_reboot restart, on_crash destroy
 *   disk format raw, access rw; vif bridge xenbr0, MAC 00:16:3e:xx:xx:xx generated when absent
 *   type: pv, as xl's default on x86 (rvisor has no "pvh"; see DEFAULT_DOMAIN_TYPE)
 */

export const DOMAIN_TYPES = ["native", "trap", "bt", "pv", "hvm"] as const;
export type DomainType = (typeof DOMAIN_TYPES)[number];

/** xl.cfg(5)'s event actions (soft-reset excepted: rvisor guests have no soft reset). */
export const SHUTDOWN_ACTIONS = [
  "destroy",
  "restart",
  "preserve",
  "rename-restart",
  "coredump-destroy",
  "coredump-restart",
] as const;
export type ShutdownAction = (typeof SHUTDOWN_ACTIONS)[number];

/**
 * A set of pCPUs as Xen's CPU list syntax describes it. "all" cannot be resolved until the host's pCPU
 * count is known, so it stays symbolic: `{ all: true, except }`; otherwise the explicit, sorted list.
 */
export type CpuSet =
  | { readonly all: true; readonly except: readonly number[] }
  | { readonly all: false; readonly cpus: readonly number[] };

/**
 * vCPU hard affinity. `undefined` in DomainConfig means no pinning. `shared` is one set for every vCPU
 * (cpus = "…"); `perVcpu` gives vCPU i the set perVcpu[i] (cpus = ["…", "…"]); vCPUs beyond the list are
 * not pinned, as in xl.
 */
export type CpuAffinity =
  | { readonly kind: "shared"; readonly set: CpuSet }
  | { readonly kind: "perVcpu"; readonly sets: readonly CpuSet[] };

export interface DiskConfig {
  /** Absolute path of the image file on the host. */
  readonly target: string;
  /** raw, or qcow2 (a copy-on-write overlay, with its backing chain). */
  readonly format: "raw" | "qcow2";
  /** Guest device name, e.g. xvda. */
  readonly vdev: string;
  readonly access: "rw" | "ro";
}

export interface VifConfig {
  /** Lower-case, colon-separated: 00:16:3e:12:34:56. */
  readonly mac: string;
  /** The virtual switch in domain 0 this interface is attached to. */
  readonly bridge: string;
}

export interface DomainConfig {
  readonly name: string;
  readonly uuid?: string;
  readonly type: DomainType;
  /** Absolute path of the guest kernel ELF. */
  readonly kernel: string;
  /** The kernel's command line: `cmdline`, then `extra` (xl's order); absent when neither is given. */
  readonly cmdline?: string;
  readonly memoryMiB: number;
  readonly maxmemMiB: number;
  readonly vcpus: number;
  readonly maxvcpus: number;
  readonly cpus?: CpuAffinity;
  readonly cpuWeight: number;
  /** Percent of one pCPU; 0 = no cap. */
  readonly cap: number;
  readonly disks: readonly DiskConfig[];
  readonly vifs: readonly VifConfig[];
  readonly onPoweroff: ShutdownAction;
  readonly onReboot: ShutdownAction;
  readonly onCrash: ShutdownAction;
}

/** xl's default guest type on x86; a single constant so the toolstack can revisit the choice. */
export const DEFAULT_DOMAIN_TYPE: DomainType = "pv";
/** libxl: max_memkb defaults to 32 * 1024 KiB. */
export const DEFAULT_MEMORY_MIB = 32;
/** Credit's CSCHED_DEFAULT_WEIGHT and xl.cfg(5)'s legal range. */
export const DEFAULT_CPU_WEIGHT = 256;
export const MIN_CPU_WEIGHT = 1;
export const MAX_CPU_WEIGHT = 65535;
/** Xen's HVM_MAX_VCPUS: the most vCPUs a domain may declare. */
export const MAX_VCPUS = 128;
/** Xen's default bridge for a vif. */
export const DEFAULT_BRIDGE = "xenbr0";
/** Xen's OUI, used for generated MACs. */
export const XEN_OUI = [0x00, 0x16, 0x3e] as const;
