/**
 * A domain: vCPUs, memory (a P2M over host frames the domain owns), a console and a virtualization mode.
 * Domain ids are Xen's: 0 is the control domain, which lives in the host process and runs no guest code;
 * guests are 1, 2, ...
 *
 * Every exit a domain's vCPUs take is counted here by cause (what `rvisor` prints per domain).
 */
import type { ConsoleBackend } from "../machine/devices/console.js";
import type { DomainDevices } from "./devices.js";
import type { EventChannel, StoreRing } from "./event-channel.js";
import type { GStage } from "./memory/gstage.js";
import type { GuestMemory } from "./memory/guest-memory.js";
import type { P2m } from "./memory/p2m.js";
import type { PvState } from "./pv.js";
import type { DomainId } from "./scheduler/interface.js";
import type { Vcpu } from "./vcpu.js";
import type { VirtioBalloon } from "./virtio/balloon.js";

/** How a domain is virtualized (see docs/architecture.md). `native` is the bare machine, not a domain. */
export const DOMAIN_MODES = ["trap", "bt", "pv", "hvm"] as const;
export type DomainMode = (typeof DOMAIN_MODES)[number];

export type DomainState = "running" | "paused" | "shutdown" | "crashed";

export interface DomainEnd {
  state: "shutdown" | "crashed";
  /** Exit status: 0 for a clean power-off, 1 for a failure reported by the guest or a crash. */
  code: number;
  /** shutdown: "poweroff" / "reboot"; crashed: why, naming the cause and the address. */
  reason: string;
}

export class Domain {
  state: DomainState = "running";
  end: DomainEnd | undefined;
  readonly vcpus: Vcpu[] = [];
  /** Exits by cause: "csr", "sret", "sbi:TIME", "pv:MMU_UPDATE", "shadow-fill", "guest-fault", ... */
  readonly exits = new Map<string, number>();
  /** Privileged instructions handled without an exit (bt mode's direct VMM calls), by label. */
  readonly calls = new Map<string, number>();
  /** Instructions retired by this domain's vCPUs. */
  retired = 0;
  /** Guest time minus host mtime, in ticks (guest-time.ts): 0 unless the domain was restored. */
  timeOffset = 0;
  /** PV page-table bookkeeping (pv mode only). */
  pv: PvState | undefined;
  /** hvm mode only: the G-stage table the hardware walks (built from the P2M on guest-page faults). */
  gstage: GStage | undefined;
  /** The virtual PLIC and UART (MMIO device models). */
  devices: DomainDevices | undefined;
  /** Event channels by port (event-channel.ts): what EVTCHN_SEND may name. */
  readonly channels = new Map<number, EventChannel>();
  /** The store ring's page and channel, when the domain was built with one (DomainSpec.storeRing). */
  storeRing: StoreRing | undefined;
  /** The memory balloon (virtio-balloon), when the domain was built with one (resize.ts). */
  balloon: VirtioBalloon | undefined;
  /**
   * Memory limits in 4 KiB pages (resize.ts): the RAM its device tree reports, and the most its P2M
   * may back (xl mem-max; at most the maxmem it was built with).
   */
  ramPages = 0;
  maxPages = 0;

  constructor(
    readonly id: DomainId,
    /** Unique among live domains; the toolstack may change it (xl rename). */
    public name: string,
    readonly mode: DomainMode,
    readonly p2m: P2m,
    readonly mem: GuestMemory,
    readonly console: ConsoleBackend,
  ) {}

  countExit(cause: string): void {
    this.exits.set(cause, (this.exits.get(cause) ?? 0) + 1);
  }

  countCall(label: string): void {
    this.calls.set(label, (this.calls.get(label) ?? 0) + 1);
  }

  get totalExits(): number {
    let n = 0;
    for (const v of this.exits.values()) n += v;
    return n;
  }

  get alive(): boolean {
    return this.state === "running" || this.state === "paused";
  }
}
