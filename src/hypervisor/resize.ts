/**
 * Resizing a running domain, the hypervisor's half (docs/resizing.md): the memory balloon's access to
 * the P2M, memory targets and limits, and what a domain has now.
 *
 *   memory    the guest's device tree reports `ramPages` of RAM; its P2M spans maxmem (≥ that). The
 *             balloon (virtio/balloon.ts) takes pages out of the P2M (their host frames go back to the
 *             free pool, for any domain) and puts fresh zeroed ones back, never past `maxPages`
 *             (xl mem-max). A target is a number of KiB, as Xen's memory/target: the balloon is asked
 *             to hold ramPages − target.
 *   vCPUs     a domain has all its maxvcpus vCPUs from creation; which run is the guest's doing (SBI
 *             HSM hart_start / hart_stop, which it issues when the store's cpu/<n>/availability
 *             changes). `vcpusOnline` counts the started ones.
 *
 * What may never be ballooned out: a page outside the RAM the guest was given, one not mapped, a page
 * table a PV guest has pinned (the hypervisor validated it and write-protects it), and the store ring.
 * Every removal goes through P2m.remove, whose onChange listeners drop the shadow and G-stage entries
 * (and TLBs) before the frame can be handed to anyone else.
 */
import { DRAM_BASE } from "../machine/memory-map.js";
import { PAGE_SIZE } from "../machine/params.js";
import type { Domain } from "./domain.js";
import { guestFrame } from "./memory/addresses.js";
import { type BalloonHost, VirtioBalloon } from "./virtio/balloon.js";

const BASE_PFN = DRAM_BASE / PAGE_SIZE;
const KIB_PER_PAGE = PAGE_SIZE / 1024;

export class ResizeError extends Error {
  override name = "ResizeError";
}

/** The BalloonHost of domain `d`: its P2M, within its RAM and limits. */
export function balloonHost(d: Domain): BalloonHost {
  const inRam = (pfn: number): boolean => pfn >= BASE_PFN && pfn < BASE_PFN + d.ramPages;
  return {
    check(pfn) {
      if (!inRam(pfn)) return "not the domain's RAM";
      if (d.p2m.entry(guestFrame(pfn)).type !== "ram") return "not backed";
      if (d.pv?.pinned.has(pfn)) return "a pinned page table";
      if (d.storeRing !== undefined && d.storeRing.page.gpa / PAGE_SIZE === pfn) return "the store ring";
      return undefined;
    },
    remove(pfns) {
      if (pfns.length > 0) d.p2m.remove(pfns.map(guestFrame));
    },
    absent(pfn) {
      return inRam(pfn) && d.p2m.entry(guestFrame(pfn)).type === "absent";
    },
    room() {
      if (!d.alive) return 0;
      return Math.max(0, Math.min(d.maxPages - d.p2m.populated, d.p2m.allocator.freeCount));
    },
    addBack(pfns) {
      if (pfns.length > 0) d.p2m.addBack(pfns.map(guestFrame));
    },
  };
}

/** A balloon for `d` (the caller puts it in a virtio-mmio slot). */
export function createBalloon(d: Domain): VirtioBalloon {
  const b = new VirtioBalloon(balloonHost(d));
  d.balloon = b;
  return b;
}

export interface MemoryInfo {
  /** What the P2M backs now (Xen's tot_pages), KiB. */
  currentKiB: number;
  /** What the balloon is asked to leave the guest, KiB (the RAM it booted with when there is none). */
  targetKiB: number;
  /** The most the domain may have (mem-max), KiB. */
  maxKiB: number;
  /** RAM in the guest's device tree, KiB. */
  ramKiB: number;
  balloon?: {
    live: boolean;
    targetPages: number;
    actualPages: number;
    heldPages: number;
    inflated: number;
    deflated: number;
    refused: number;
    lastRefusal?: string;
    guest: Record<string, number>;
    guestUpdates: number;
  };
}

export function memoryInfo(d: Domain): MemoryInfo {
  const b = d.balloon;
  return {
    currentKiB: d.p2m.populated * KIB_PER_PAGE,
    targetKiB: (d.ramPages - (b?.target ?? 0)) * KIB_PER_PAGE,
    maxKiB: d.maxPages * KIB_PER_PAGE,
    ramKiB: d.ramPages * KIB_PER_PAGE,
    ...(b === undefined
      ? {}
      : {
          balloon: {
            live: b.live,
            targetPages: b.target,
            actualPages: b.actual,
            heldPages: b.heldPages,
            inflated: b.stats.inflated,
            deflated: b.stats.deflated,
            refused: b.stats.refused,
            ...(b.stats.lastRefusal === undefined ? {} : { lastRefusal: b.stats.lastRefusal }),
            guest: { ...b.stats.guest },
            guestUpdates: b.stats.guestUpdates,
          },
        }),
  };
}

/** The smallest target a domain may be given: 1 MiB, as small as the guest kernel runs in. */
export const MIN_TARGET_KIB = 1024;

/**
 * Asks the balloon to leave the guest `kib` KiB (rounded down to pages). Refused above mem-max or the
 * RAM the guest knows of, below MIN_TARGET_KIB, or without a balloon.
 */
export function setMemoryTarget(d: Domain, kib: number): void {
  const b = d.balloon;
  if (!d.alive) throw new ResizeError(`${d.name} is ${d.state}`);
  if (b === undefined) throw new ResizeError(`${d.name} has no balloon: its memory cannot change`);
  if (!Number.isInteger(kib) || kib < MIN_TARGET_KIB)
    throw new ResizeError(`${d.name}: a target of ${kib} KiB is below the least, ${MIN_TARGET_KIB} KiB`);
  const max = d.maxPages * KIB_PER_PAGE;
  if (kib > max) throw new ResizeError(`${d.name}: ${kib} KiB is more than its maxmem (${max} KiB)`);
  const ram = d.ramPages * KIB_PER_PAGE;
  if (kib > ram)
    throw new ResizeError(`${d.name}: ${kib} KiB is more than the RAM it booted with (${ram} KiB)`);
  b.setTarget(d.ramPages - Math.floor(kib / KIB_PER_PAGE));
}

/**
 * xl mem-max: the most the P2M may back. Refused below the current target (as libxl refuses a
 * static-max below the dynamic max) or above the maxmem the domain was built with (its P2M's span).
 */
export function setMaxMemory(d: Domain, kib: number): void {
  if (!d.alive) throw new ResizeError(`${d.name} is ${d.state}`);
  const target = memoryInfo(d).targetKiB;
  const span = d.p2m.maxFrames * KIB_PER_PAGE;
  if (!Number.isInteger(kib) || kib < target)
    throw new ResizeError(`${d.name}: maxmem ${kib} KiB is below its memory target (${target} KiB)`);
  if (kib > span)
    throw new ResizeError(`${d.name}: maxmem ${kib} KiB is more than it was built with (${span} KiB)`);
  d.maxPages = Math.floor(kib / KIB_PER_PAGE);
}

/** vCPUs the guest has started (SBI HSM), of all it has. */
export function vcpusOnline(d: Domain): number {
  return d.vcpus.filter((v) => v.power !== "stopped").length;
}
