/**
 * The physical address space as devices see it: RAM plus memory-mapped devices.
 * This is the whole contract between a device model and the machine — a device never sees a hart.
 *
 * Harts reach RAM directly through its typed-array views (the TLB fast path); everything else, and any
 * RAM access that misses the TLB, comes through `Bus.read`/`Bus.write`.
 */
import type { Ram } from "./ram.js";

export type AccessSize = 1 | 2 | 4;

/** A memory-mapped device. Offsets are relative to the device's base; values are zero-extended. */
export interface Device {
  readonly name: string;
  read(offset: number, size: AccessSize): number;
  write(offset: number, size: AccessSize, value: number): void;
}

/** A level-triggered interrupt line, e.g. one PLIC source as a device sees it. */
export type IrqLine = (level: boolean) => void;

/** What a hart exposes to interrupt controllers: the hardware-driven bits of its `mip`. */
export interface InterruptTarget {
  readonly hartId: number;
  /** Sets (level=true) or clears the given mip bits (MIP_MSIP, MIP_MTIP, MIP_MEIP, MIP_SEIP). */
  setInterruptLevel(mask: number, level: boolean): void;
}

interface Mapping {
  base: number;
  end: number; // exclusive
  device: Device;
}

export class Bus {
  private readonly mappings: Mapping[] = [];

  constructor(readonly ram: Ram) {}

  /** Maps `device` at [base, base+size). Overlaps are a configuration bug and throw. */
  attach(base: number, size: number, device: Device): void {
    const end = base + size;
    for (const m of this.mappings) {
      if (base < m.end && m.base < end) {
        throw new Error(`bus: ${device.name} at 0x${base.toString(16)} overlaps ${m.device.name}`);
      }
    }
    if (base < this.ram.base + this.ram.size && this.ram.base < end) {
      throw new Error(`bus: ${device.name} at 0x${base.toString(16)} overlaps RAM`);
    }
    this.mappings.push({ base, end, device });
    this.mappings.sort((a, b) => a.base - b.base);
  }

  /** The device mapped at `paddr`, if any (RAM is not a device). */
  deviceAt(paddr: number): { device: Device; offset: number } | undefined {
    for (const m of this.mappings) {
      if (paddr >= m.base && paddr < m.end) return { device: m.device, offset: paddr - m.base };
    }
    return undefined;
  }

  /** Reads `size` bytes at physical `paddr` (unsigned, < 2^32). Returns undefined on an access fault. */
  read(paddr: number, size: AccessSize): number | undefined {
    const ram = this.ram;
    const off = paddr - ram.base;
    if (off >= 0 && off + size <= ram.size) {
      if (size === 4)
        return ram.u8[off] | (ram.u8[off + 1] << 8) | (ram.u8[off + 2] << 16) | (ram.u8[off + 3] << 24);
      if (size === 2) return ram.u8[off] | (ram.u8[off + 1] << 8);
      return ram.u8[off];
    }
    const hit = this.deviceAt(paddr);
    if (hit === undefined) return undefined;
    return hit.device.read(hit.offset, size);
  }

  /** Writes `size` bytes at physical `paddr`. Returns false on an access fault. */
  write(paddr: number, size: AccessSize, value: number): boolean {
    const ram = this.ram;
    const off = paddr - ram.base;
    if (off >= 0 && off + size <= ram.size) {
      ram.u8[off] = value;
      if (size >= 2) ram.u8[off + 1] = value >>> 8;
      if (size === 4) {
        ram.u8[off + 2] = value >>> 16;
        ram.u8[off + 3] = value >>> 24;
      }
      ram.markDirty(off);
      if (ram.watched[off >>> 12] !== 0) ram.notifyStore(off, size, value);
      return true;
    }
    const hit = this.deviceAt(paddr);
    if (hit === undefined) return false;
    hit.device.write(hit.offset, size, value);
    return true;
  }
}
