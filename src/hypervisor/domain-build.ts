/**
 * What a domain is built from, and the parts of building it that need no scheduler: the spec's checks,
 * the kernel image and device tree put into guest RAM, the disks opened, its memory (the P2M), an hvm
 * domain's G-stage, each vCPU's shadow MMU, and the devices — virtio-blk, virtio-console, virtio-net,
 * virtio-balloon in the virtio-mmio slots in that order — and the store ring attached.
 * Hypervisor.createDomain / buildDomain (hypervisor.ts) call these around what is theirs: ids, the
 * domain and vCPU tables, TLB fences and the scheduler.
 */
import type { ConsoleBackend } from "../machine/devices/console.js";
import { ElfError, type ElfImage } from "../machine/elf.js";
import { DRAM_BASE, VIRTIO_COUNT } from "../machine/memory-map.js";
import { PAGE_SIZE } from "../machine/params.js";
import type { Ram } from "../machine/ram.js";
import { DomainDevices } from "./devices.js";
import type { Domain, DomainMode } from "./domain.js";
import { EventChannel, SharedPage, STORE_RING_IRQ, STORE_RING_PORT } from "./event-channel.js";
import { guestFdt } from "./guest-fdt.js";
import type { GuestFrame } from "./memory/addresses.js";
import type { FrameAllocator } from "./memory/frames.js";
import { GStage, type GStageRoots } from "./memory/gstage.js";
import { P2m } from "./memory/p2m.js";
import { ShadowMmu, type ShadowPool } from "./memory/shadow.js";
import { createBalloon } from "./resize.js";
import type { DomainId } from "./scheduler/interface.js";
import { VirtioBlk } from "./virtio/blk.js";
import { type BlockBackend, BlockBackendError } from "./virtio/block-backend.js";
import { VirtioConsole } from "./virtio/console.js";
import { type DiskFormat, openDiskImage } from "./virtio/disk-image.js";
import { macBytes, VirtioNet, vifMac } from "./virtio/net.js";
import type { NetBackend } from "./virtio/net-backend.js";

const MiB = 1024 * 1024;

export interface DomainSpec {
  mode: DomainMode;
  /** The guest kernel: an ELF path or an already parsed image (RV32, linked for guest RAM). */
  kernel: string | ElfImage;
  name?: string;
  /** Guest RAM in MiB. Default 32. */
  memoryMiB?: number;
  vcpus?: number;
  bootargs?: string;
  console?: ConsoleBackend;
  weight?: number;
  cap?: number;
  /** Disks, each a virtio-blk device in the next virtio-mmio slot (from slot 0, in this order). */
  disks?: readonly DomainDisk[];
  /** A second console, the guest's hvc0: a virtio-console device in the slot after the disks. */
  virtioConsole?: ConsoleBackend;
  /** Network interfaces: a virtio-net device each, in the virtio-mmio slots after the disks and hvc0. */
  nics?: readonly NicSpec[];
  /**
   * Reserve the last page of RAM as the store ring (a /reserved-memory node, compatible
   * "rvisor,xenstore", with its event channel and PLIC source: docs/store-ring.md) for a backend in
   * domain 0 to attach to (Domain.storeRing). Default false: the guest sees no ring.
   */
  storeRing?: boolean;
  /**
   * The most RAM the domain may ever have, MiB (xl's maxmem; default memoryMiB): its P2M's span. The
   * guest boots with memoryMiB; the balloon moves it within that (resize.ts).
   */
  maxMemoryMiB?: number;
  /** A virtio-balloon device in the slot after the disks, console and NICs (docs/resizing.md). */
  balloon?: boolean;
}

export interface NicSpec {
  /** The interface's MAC; default vifMac(domain id, index): 00:16:3e, the index, the id's two low bytes. */
  mac?: string;
  /** The backend the device sends to and receives from (Xen names the port vif<domid>.<index>). */
  connect: (domId: DomainId, index: number) => NetBackend;
}

/**
 * A domain's disk: an image file, raw (the default) or a qcow2 overlay with its backing chain (opened
 * when the domain is created; read-only disks offer VIRTIO_BLK_F_RO), or a backend already open (tests).
 * `vdev` (xvda, ...) is the disk's serial (GET_ID).
 */
export type DomainDisk =
  | { path: string; format?: DiskFormat; readOnly?: boolean; vdev?: string }
  | { backend: BlockBackend; vdev?: string };

/** What buildDomain makes: a domain's shape, before a kernel or saved state is put in it. */
export interface DomainBuild {
  mode: DomainMode;
  name?: string;
  /** The guest RAM span in 4 KiB frames (maxmem when built: the P2M's size). */
  maxFrames: number;
  /** The RAM the guest booted with, in frames (its device tree's; the store ring is its last page). */
  ramFrames: number;
  /** The most frames the domain may hold now (mem-max; ≤ maxFrames); default: maxFrames. */
  maxPages?: number;
  /** The gfns backed by RAM; default: the first ramFrames of the span. */
  populate?: readonly GuestFrame[];
  vcpus: number;
  console?: ConsoleBackend;
  weight?: number;
  cap?: number;
  /** Disks, a virtio console and nics, in the virtio-mmio slots in that order (DomainSpec's). */
  disks?: readonly DomainDisk[];
  virtioConsole?: ConsoleBackend;
  nics?: readonly NicSpec[];
  /** The store ring in RAM's last page, with its event channel (DomainSpec.storeRing). */
  storeRing?: boolean;
  /** A virtio-balloon device in the slot after the nics (DomainSpec.balloon). */
  balloon?: boolean;
}

export class DomainConfigError extends Error {
  override name = "DomainConfigError";
}

/** The spec's memory and vCPU counts, and the kernel's segments and entry inside the domain's RAM. */
export function checkSpec(spec: DomainSpec, image: ElfImage, label: string): void {
  const memoryMiB = spec.memoryMiB ?? 32;
  const nvcpus = spec.vcpus ?? 1;
  if (!Number.isInteger(memoryMiB) || memoryMiB < 1 || memoryMiB > 2048)
    throw new DomainConfigError(`${label}: memory must be 1..2048 MiB, not ${memoryMiB}`);
  if (!Number.isInteger(nvcpus) || nvcpus < 1 || nvcpus > 32)
    throw new DomainConfigError(`${label}: vcpus must be 1..32, not ${nvcpus}`);
  const ramBytes = memoryMiB * MiB;
  for (const [i, s] of image.segments.entries()) {
    if (s.memsz > 0 && (s.paddr < DRAM_BASE || s.paddr + s.memsz > DRAM_BASE + ramBytes))
      throw new ElfError(
        `${image.source}: segment ${i} at 0x${s.paddr.toString(16)} (+0x${s.memsz.toString(16)}) is outside ` +
          `the domain's ${memoryMiB} MiB of RAM at 0x${DRAM_BASE.toString(16)}`,
      );
  }
  if (image.entry < DRAM_BASE || image.entry >= DRAM_BASE + ramBytes)
    throw new ElfError(`${image.source}: entry 0x${image.entry.toString(16)} is outside the domain's RAM`);
  const maxMiB = spec.maxMemoryMiB ?? memoryMiB;
  if (!Number.isInteger(maxMiB) || maxMiB < memoryMiB || maxMiB > 2048)
    throw new DomainConfigError(
      `${label}: maxmem must be memory (${memoryMiB} MiB)..2048 MiB, not ${maxMiB}`,
    );
}

/**
 * Puts the kernel's segments and the device tree into a freshly built domain's RAM (its frames are
 * zeroed: bss needs nothing); returns the device tree's guest address, for a1 at the kernel's entry.
 */
export function loadKernel(
  d: Domain,
  image: ElfImage,
  vcpus: number,
  ramBytes: number,
  bootargs?: string,
): number {
  for (const s of image.segments) d.mem.write(s.paddr, s.data);
  const ringGpa = d.storeRing?.page.gpa;
  const fdt = guestFdt({
    vcpus,
    ramBytes,
    bootargs,
    name: d.name,
    virtioSlots: d.devices?.virtioSlots ?? [],
    storeRing:
      ringGpa === undefined ? undefined : { gpa: ringGpa, port: STORE_RING_PORT, irq: STORE_RING_IRQ },
  });
  // The store ring takes RAM's last page; the device tree goes below it (at the top otherwise).
  const fdtAddr = (ringGpa ?? DRAM_BASE + ramBytes) - Math.ceil(fdt.length / PAGE_SIZE) * PAGE_SIZE;
  d.mem.write(fdtAddr, fdt);
  return fdtAddr;
}

/** The build's nics' MACs, which must parse (before anything is taken). */
export function checkNics(name: string, b: DomainBuild): void {
  for (const nic of b.nics ?? []) {
    try {
      if (nic.mac !== undefined) macBytes(nic.mac);
    } catch (e) {
      throw new DomainConfigError(`${name}: ${(e as Error).message}`);
    }
  }
}

/**
 * Gives a new domain its devices: the virtual PLIC, UART and virtio slots (`setIrq` raises or clears a
 * vCPU's external interrupt), the opened disks, the build's virtio console, nics and balloon, and the
 * store ring with its event channel.
 */
export function attachDevices(
  d: Domain,
  b: DomainBuild,
  disks: readonly OpenDisk[],
  setIrq: (vcpu: number, level: boolean) => void,
): void {
  const devices = new DomainDevices(b.vcpus, d.console, d.p2m, setIrq);
  d.devices = devices;
  for (const disk of disks) devices.addVirtio(new VirtioBlk(disk.backend, disk.vdev), d.mem);
  if (b.virtioConsole !== undefined) devices.addVirtio(new VirtioConsole(b.virtioConsole), d.mem);
  for (const [i, nic] of (b.nics ?? []).entries())
    devices.addVirtio(new VirtioNet(nic.mac ?? vifMac(d.id, i), nic.connect(d.id, i)), d.mem);
  d.ramPages = b.ramFrames;
  d.maxPages = b.maxPages ?? d.p2m.maxFrames;
  if (b.balloon === true) devices.addVirtio(createBalloon(d), d.mem);
  if (b.storeRing === true) {
    const channel = new EventChannel(STORE_RING_PORT, STORE_RING_IRQ, devices.plic.edge(STORE_RING_IRQ));
    d.channels.set(channel.port, channel);
    // RAM's last page at boot (not the span's: above it is room for the balloon to give back).
    d.storeRing = { page: new SharedPage(d, DRAM_BASE + b.ramFrames * PAGE_SIZE - PAGE_SIZE), channel };
  }
}

/** A disk image opened for a domain, with its guest name. */
export interface OpenDisk {
  backend: BlockBackend;
  vdev: string;
}

/** The virtio devices a build has besides its disks. */
export function otherVirtio(b: DomainBuild): number {
  return (b.virtioConsole === undefined ? 0 : 1) + (b.nics?.length ?? 0) + (b.balloon ? 1 : 0);
}

/** Opens a domain's disk images; an unusable one is a DomainConfigError naming the domain and the file. */
export function openDisks(domain: string, disks: readonly DomainDisk[], otherDevices: number): OpenDisk[] {
  if (disks.length + otherDevices > VIRTIO_COUNT)
    throw new DomainConfigError(
      `${domain}: ${disks.length} disks and ${otherDevices} other virtio devices, but a domain has ${VIRTIO_COUNT} virtio slots`,
    );
  const open: OpenDisk[] = [];
  try {
    for (const [i, disk] of disks.entries()) {
      const vdev = disk.vdev ?? `xvd${String.fromCharCode(97 + i)}`;
      const backend =
        "backend" in disk
          ? disk.backend
          : openDiskImage(disk.path, disk.format ?? "raw", disk.readOnly ?? false);
      open.push({ backend, vdev });
    }
  } catch (e) {
    for (const o of open) o.backend.close();
    if (e instanceof BlockBackendError) throw new DomainConfigError(`${domain}: ${e.message}`);
    throw e;
  }
  return open;
}

/**
 * A new domain's P2M with RAM behind the build's gfns (its first ramFrames when it names none). Throws
 * OutOfFramesError, taking nothing, when the host is full; the disks opened for it are closed then.
 */
export function takeMemory(
  id: DomainId,
  allocator: FrameAllocator,
  b: DomainBuild,
  disks: readonly OpenDisk[],
): P2m {
  const p2m = new P2m(id, allocator, b.maxFrames);
  try {
    if (b.populate === undefined) p2m.populate(b.ramFrames);
    else p2m.addBack(b.populate);
  } catch (e) {
    for (const disk of disks) disk.backend.close();
    throw e;
  }
  return p2m;
}

/**
 * A vCPU's shadow MMU: one address space for trap and bt (every sfence.vma flushes); for pv, up to
 * `pvShadowSets` kept and built in full, with the guest's pinned page-table pages read-only.
 */
export function vcpuShadow(pool: ShadowPool, d: Domain, pvShadowSets: number): ShadowMmu {
  const pv = d.pv;
  return new ShadowMmu(
    pool,
    d.mem,
    pv === undefined
      ? { maxSets: 1 }
      : { maxSets: pvShadowSets, readOnly: (gfn) => pv.pinned.has(gfn), track: true, eager: true },
  );
}

/** An hvm domain's G-stage tables, on a root taken from the host's reserved region (checked free before). */
export function newGStage(roots: GStageRoots, allocator: FrameAllocator, ram: Ram): GStage {
  const root = roots.take();
  if (root === undefined) throw new Error("G-stage root vanished");
  return new GStage(allocator, ram, root);
}
