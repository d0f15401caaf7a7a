/**
 * A test double for the one thing interrupt controllers see of a hart: its hardware-driven `mip`
 * bits. It records the current level of every bit and each change, so tests can check both the state
 * and that a controller does not toggle lines needlessly.
 */
import type { InterruptTarget } from "../bus.js";

export class RecordingHart implements InterruptTarget {
  /** The mip bits currently driven high. */
  mip = 0;
  /** Every call, in order. */
  readonly calls: { mask: number; level: boolean }[] = [];

  constructor(readonly hartId: number) {}

  setInterruptLevel(mask: number, level: boolean): void {
    this.calls.push({ mask, level });
    this.mip = level ? this.mip | mask : this.mip & ~mask;
  }

  /** True when every bit of `mask` is high. */
  has(mask: number): boolean {
    return (this.mip & mask) === mask;
  }
}

/** `n` recording harts with ids 0..n-1. */
export const recordingHarts = (n: number): RecordingHart[] =>
  Array.from({ length: n }, (_, i) => new RecordingHart(i));
