/**
 * Byte lanes of 32-bit registers, for devices whose registers are words but whose bus accepts
 * narrower accesses: a byte or halfword access selects lanes of the aligned word (little-endian).
 *
 *   word:   31      24 23      16 15       8 7        0
 *          ┌──────────┬──────────┬──────────┬──────────┐
 *          │ offset+3 │ offset+2 │ offset+1 │ offset+0 │
 *          └──────────┴──────────┴──────────┴──────────┘
 */
import type { AccessSize } from "../bus.js";

const MASK: Record<AccessSize, number> = { 1: 0xff, 2: 0xffff, 4: 0xffff_ffff };

/** The `size` bytes at `offset` of the aligned word holding them, zero-extended. */
export function readLanes(word: number, offset: number, size: AccessSize): number {
  return ((word >>> ((offset & 3) * 8)) & MASK[size]) >>> 0;
}

/** `word` with the `size` bytes at `offset` replaced by `value`. */
export function mergeLanes(word: number, offset: number, size: AccessSize, value: number): number {
  const shift = (offset & 3) * 8;
  const mask = (MASK[size] << shift) >>> 0;
  return ((word & ~mask) | ((value << shift) & mask)) >>> 0;
}
