/**
 * G-stage page tables (Sv32x4) for `hvm` domains: the hardware's second translation stage, built from the
 * domain's P2M lazily — one 4 KiB leaf per guest-page fault — so a guest never needs more table than
 * it touches.
 *
 *   hgatp ──▶ root: 4096 PTEs, 16 KiB, 16 KiB-aligned (4 contiguous frames from the hypervisor's reserved
 *             region; the allocator's pool is deliberately never contiguous)
 *               └─▶ level-0 table (one hypervisor frame from the pool per 4 MiB of guest-physical space)
 *                     └─▶ leaf: the P2M's host frame, V A D U and the P2M's R/W/X
 *
 * Leaves have U = 1 (the G-stage checks every access as a U-mode one) and A/D preset (nothing to update).
 * A change in the P2M (a frame removed, permissions changed) calls `clear`: every mapping goes, and the
 * next accesses fault them back in. The caller flushes the hart TLBs.
 */
import { HGATP_MODE_SV32X4, HGATP_VMID_MASK, HGATP_VMID_SHIFT } from "../../machine/isa/csr-defs.js";
import { PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from "../../machine/mmu.js";
import { PAGE_SHIFT } from "../../machine/params.js";
import type { Ram } from "../../machine/ram.js";
import { type HostFrame, hex } from "./addresses.js";
import { MemoryError } from "./errors.js";
import { type FrameAllocator, HYPERVISOR } from "./frames.js";
import { P2M_R, P2M_W, P2M_X } from "./p2m.js";

/** Frames of one Sv32x4 root. */
export const GSTAGE_ROOT_FRAMES = 4;

/** The 16 KiB-aligned roots of the allocator's reserved region, handed out one per hvm domain. */
export class GStageRoots {
  private readonly free: HostFrame[] = [];

  constructor(
    allocator: FrameAllocator,
    /** RAM frame index of the first root (the reserved region's first 16 KiB-aligned frame). */
    first: number,
    count: number,
  ) {
    for (let i = count - 1; i >= 0; i--) this.free.push(allocator.frameAt(first + i * GSTAGE_ROOT_FRAMES));
    for (const f of this.free)
      if ((f & (GSTAGE_ROOT_FRAMES - 1)) !== 0 || allocator.indexOf(f) + 4 > allocator.reservedFrames)
        throw new MemoryError("EINVAL", `G-stage root ${hex(f)} is not an aligned reserved 16 KiB`);
  }

  get available(): number {
    return this.free.length;
  }

  /** A root's first frame, or undefined when every root is in use. */
  take(): HostFrame | undefined {
    return this.free.pop();
  }

  give(root: HostFrame): void {
    this.free.push(root);
  }
}

export class GStage {
  /** Level-0 tables by root index (gpa >>> 22). */
  private readonly tables = new Map<number, HostFrame>();
  /** Leaves written since the last clear (for counts and tests). */
  leaves = 0;

  constructor(
    private readonly allocator: FrameAllocator,
    private readonly ram: Ram,
    /** First frame of the 4-frame root. */
    readonly root: HostFrame,
  ) {
    this.zero(root, GSTAGE_ROOT_FRAMES);
  }

  /** hgatp for this table: Sv32x4, `vmid`, the root's PPN. */
  hgatp(vmid: number): number {
    return HGATP_MODE_SV32X4 | ((vmid & HGATP_VMID_MASK) << HGATP_VMID_SHIFT) | this.root | 0;
  }

  /** Maps the 4 KiB guest-physical page of `gpa` (< 2^32) to host frame `hf` with P2M permissions. */
  map(gpa: number, hf: HostFrame, perms: number): void {
    const vpn1 = gpa >>> 22;
    const vpn0 = (gpa >>> PAGE_SHIFT) & 0x3ff;
    let table = this.tables.get(vpn1);
    if (table === undefined) {
      [table] = this.allocator.alloc(1, HYPERVISOR); // zeroed
      this.tables.set(vpn1, table);
      this.write(this.root, vpn1, (table << 10) | PTE_V);
    }
    let pte = (hf << 10) | PTE_V | PTE_U | PTE_A | PTE_D;
    if ((perms & P2M_R) !== 0) pte |= PTE_R;
    if ((perms & P2M_W) !== 0 && (perms & P2M_R) !== 0) pte |= PTE_W;
    if ((perms & P2M_X) !== 0) pte |= PTE_X;
    this.write(table, vpn0, pte);
    this.leaves++;
  }

  /** The leaf PTE for `gpa` (0: none), for tests. */
  leaf(gpa: number): number {
    const table = this.tables.get(gpa >>> 22);
    return table === undefined ? 0 : this.read(table, (gpa >>> PAGE_SHIFT) & 0x3ff);
  }

  /** Level-0 tables in use. */
  get tableCount(): number {
    return this.tables.size;
  }

  /** Unmaps everything (the root stays, empty). */
  clear(): void {
    if (this.tables.size === 0) return;
    this.allocator.free([...this.tables.values()], HYPERVISOR);
    this.tables.clear();
    this.zero(this.root, GSTAGE_ROOT_FRAMES);
    this.leaves = 0;
  }

  private offset(frame: HostFrame, index: number): number {
    return (((frame << PAGE_SHIFT) >>> 0) - this.ram.base + index * 4) >>> 2;
  }

  private write(frame: HostFrame, index: number, value: number): void {
    this.ram.i32[this.offset(frame, index)] = value;
  }

  private read(frame: HostFrame, index: number): number {
    return this.ram.i32[this.offset(frame, index)];
  }

  private zero(frame: HostFrame, n: number): void {
    const off = this.offset(frame, 0);
    this.ram.i32.fill(0, off, off + n * 1024);
  }
}
