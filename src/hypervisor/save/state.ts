/**
 * The save/restore shapes: one typed, plain-data state per component, the same whether it goes to a save
 * file (image.ts) or, later, over a migration stream. Shadows and G-stage tables are caches and are not
 * here: a restored domain rebuilds them from its P2M and its guest's own tables as it faults.
 *
 *   DomainSaveState
 *   ├─ domain    DomainRecord      name, mode, memory span, vCPU count, guest time, scheduler
 *   │                              parameters, counters (exits, bt calls, instructions)
 *   ├─ vcpus     VcpuSaveState[]   registers, pc, virtual privilege, virtual S CSRs, timer, power,
 *   │                              runnable, PV registrations (hvm: its VS CSRs are these fields)
 *   ├─ pv        PvSaveState       pinned tables, writable-mapping counts (pv mode only)
 *   ├─ devices   DomainDevicesState   the virtual PLIC and UART (machine/devices' own snapshots)
 *   └─ memory    MemorySaveState   every populated guest frame by gfn; zero pages carry no bytes
 *
 * Times are guest time (mtime ticks as the guest reads them), so a state means the same on any host.
 */

import type { DomainDevicesState } from "../devices.js";
import type { DomainMode } from "../domain.js";
import type { VcpuPower } from "../vcpu.js";

export type { DomainDevicesState } from "../devices.js";

export interface DomainRecord {
  name: string;
  mode: DomainMode;
  /** The guest RAM span (maxmem) in 4 KiB frames, from 0x8000_0000. */
  maxFrames: number;
  /** The RAM it booted with, in frames (its device tree's; the store ring is the last of it). */
  ramPages: number;
  /** The most frames it may hold (mem-max; ≤ maxFrames). */
  maxPages: number;
  vcpus: number;
  /** The guest's time when saved, in mtime ticks: the restored domain's clock goes on from here. */
  guestTime: number;
  weight: number;
  cap: number;
  /**
   * It has a store ring (its page, RAM's last, is in memory): the restored domain gets the ring's event
   * channel back, for the toolstack to connect a backend to.
   */
  storeRing: boolean;
  /** It has a virtio-balloon (in the virtio slot after the nics). */
  balloon: boolean;
  /** Instructions retired, exits by cause and bt calls by label, over the domain's life so far. */
  retired: number;
  exits: Record<string, number>;
  calls: Record<string, number>;
}

/** The virtual S-mode CSRs a vCPU keeps (for hvm, its VS CSRs, saved there when it leaves a pCPU). */
export interface VcpuCsrs {
  sstatus: number;
  sie: number;
  sip: number;
  stvec: number;
  sscratch: number;
  sepc: number;
  scause: number;
  stval: number;
  satp: number;
  scounteren: number;
  senvcfg: number;
}

export const VCPU_CSR_NAMES = [
  "sstatus",
  "sie",
  "sip",
  "stvec",
  "sscratch",
  "sepc",
  "scause",
  "stval",
  "satp",
  "scounteren",
  "senvcfg",
] as const satisfies readonly (keyof VcpuCsrs)[];

export interface VcpuSaveState {
  /** The guest's hart id. */
  index: number;
  pc: number;
  /** x0..x31 (x0 is 0), as signed 32-bit values. */
  regs: number[];
  /** The privilege the guest believes it has: 1 (S) or 0 (U). */
  vpriv: 0 | 1;
  csrs: VcpuCsrs;
  /** The SBI timer's deadline in guest time, or null when none is armed. */
  timer: number | null;
  power: VcpuPower;
  /** Runnable when saved (not waiting in WFI or PV_BLOCK): a resumed domain wakes it. */
  runnable: boolean;
  /** PV registrations: the shared page (-1: none), the trap handler, the SUM flag. */
  pv: { sharedGpa: number; trapHandler: number; userAccess: boolean };
}

export interface PvSaveState {
  /** Pinned page-table frames: [gfn, level] (1 root, 0 leaf table), ascending by gfn. */
  pinned: [number, 0 | 1][];
  /** [gfn, how many writable leaves of pinned tables map it], ascending by gfn. */
  writable: [number, number][];
  updates: number;
  refused: number;
}

/** One guest frame's contents; `data` undefined for a page of zeros. */
export interface PageRecord {
  gfn: number;
  data: Uint8Array | undefined;
}

export interface MemorySaveState {
  /** Every populated gfn, ascending. */
  pages: PageRecord[];
}

export interface DomainSaveState {
  domain: DomainRecord;
  vcpus: VcpuSaveState[];
  pv: PvSaveState | undefined;
  devices: DomainDevicesState;
  memory: MemorySaveState;
}
