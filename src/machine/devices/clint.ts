/**
 * The CLINT (SiFive core-local interruptor; ACLINT MSWI + MTIMER) as QEMU `virt` lays it out:
 *
 *   0x0000 + 4·h   msip[h]       bit 0 drives hart h's mip.MSIP
 *   0x4000 + 8·h   mtimecmp[h]   64 bits, low word first; mip.MTIP = (mtime >= mtimecmp[h])
 *   0xbff8         mtime         64 bits, 10 MHz
 *
 * Time comes from the board's clock (`icount` or `realtime`, in mtime ticks). The guest may write
 * mtime; we keep that as an offset from the clock so the clock itself is never disturbed:
 *
 *   guest mtime = clock.mtime() + offset
 *
 * mtimecmp is kept as two exact 32-bit halves (what the guest reads back) and compared as a number;
 * values at or above 2^53 — including the reset value, all ones — are never reached and count as
 * Infinity. A guest writes a 64-bit mtimecmp as two words in either order; between the two writes the
 * comparator sees the mixed value, exactly as on hardware (and QEMU), which is why careful software
 * first writes all ones to one half.
 */
import type { AccessSize, Device, InterruptTarget } from "../bus.js";
import { MIP_MSIP, MIP_MTIP } from "../isa/csr-defs.js";
import { CLINT_MSIP, CLINT_MTIME, CLINT_MTIMECMP } from "../memory-map.js";
import { mergeLanes, readLanes } from "./lanes.js";

const TWO_32 = 2 ** 32;
/** Comparator values from here on are treated as "never". */
const NEVER = 2 ** 53;

export interface MtimeClock {
  /** Ticks of the 10 MHz timebase since the machine started. */
  mtime(): number;
}

export class Clint implements Device {
  readonly name = "clint";
  private readonly msip: Uint8Array;
  private readonly cmpLo: Uint32Array;
  private readonly cmpHi: Uint32Array;
  /** mtimecmp as numbers (Infinity for "never"), derived from the halves. */
  private readonly cmp: Float64Array;
  /** Last MTIP level driven per hart, so unchanged levels are not re-sent. */
  private readonly mtip: Uint8Array;
  private offset = 0;

  constructor(
    private readonly harts: InterruptTarget[],
    private readonly clock: MtimeClock,
    private readonly onTimerChange: () => void,
  ) {
    const n = harts.length;
    this.msip = new Uint8Array(n);
    this.cmpLo = new Uint32Array(n).fill(0xffff_ffff);
    this.cmpHi = new Uint32Array(n).fill(0xffff_ffff);
    this.cmp = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
    this.mtip = new Uint8Array(n);
  }

  /** The guest-visible mtime. */
  mtime(): number {
    return this.clock.mtime() + this.offset;
  }

  /** Drives each hart's MTIP from mtime >= mtimecmp. The board calls this as time passes. */
  update(): void {
    const now = this.mtime();
    for (let h = 0; h < this.harts.length; h++) {
      const level = now >= this.cmp[h] ? 1 : 0;
      if (level !== this.mtip[h]) {
        this.mtip[h] = level;
        this.harts[h].setInterruptLevel(MIP_MTIP, level === 1);
      }
    }
  }

  /** The earliest mtimecmp still in the future, in the clock's units; Infinity if none. */
  nextDeadline(): number {
    const now = this.mtime();
    let next = Number.POSITIVE_INFINITY;
    for (let h = 0; h < this.harts.length; h++) {
      const c = this.cmp[h];
      if (c > now && c < next) next = c;
    }
    return next - this.offset;
  }

  /** Sets hart `hart`'s mtimecmp (SBI set_timer); Infinity or >= 2^53 means never. */
  setTimecmp(hart: number, value: number): void {
    this.checkHart(hart);
    if (!(value < NEVER)) {
      this.cmpLo[hart] = 0xffff_ffff;
      this.cmpHi[hart] = 0xffff_ffff;
    } else {
      const v = Math.max(0, Math.floor(value));
      this.cmpLo[hart] = v % TWO_32;
      this.cmpHi[hart] = Math.floor(v / TWO_32);
    }
    this.timecmpChanged(hart);
  }

  getTimecmp(hart: number): number {
    this.checkHart(hart);
    return this.cmp[hart];
  }

  read(offset: number, size: AccessSize): number {
    return readLanes(this.readWord(offset & ~3), offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    const aligned = offset & ~3;
    const word = size === 4 ? value >>> 0 : mergeLanes(this.readWord(aligned), offset, size, value);
    this.writeWord(aligned, word);
  }

  private readWord(offset: number): number {
    const h = this.msipHart(offset);
    if (h >= 0) return this.msip[h];
    const c = this.timecmpSlot(offset);
    if (c >= 0) return (c & 1) === 0 ? this.cmpLo[c >> 1] : this.cmpHi[c >> 1];
    if (offset === CLINT_MTIME) return this.mtime() % TWO_32;
    if (offset === CLINT_MTIME + 4) return Math.floor(this.mtime() / TWO_32) % TWO_32;
    return 0;
  }

  private writeWord(offset: number, value: number): void {
    const h = this.msipHart(offset);
    if (h >= 0) {
      this.msip[h] = value & 1;
      this.harts[h].setInterruptLevel(MIP_MSIP, (value & 1) === 1);
      return;
    }
    const c = this.timecmpSlot(offset);
    if (c >= 0) {
      const hart = c >> 1;
      if ((c & 1) === 0) this.cmpLo[hart] = value;
      else this.cmpHi[hart] = value;
      this.timecmpChanged(hart);
      return;
    }
    if (offset === CLINT_MTIME || offset === CLINT_MTIME + 4) {
      const now = this.mtime();
      const lo = offset === CLINT_MTIME ? value : now % TWO_32;
      const hi = offset === CLINT_MTIME ? Math.floor(now / TWO_32) % TWO_32 : value;
      this.offset = hi * TWO_32 + lo - this.clock.mtime();
      this.update();
      this.onTimerChange();
    }
    // Everything else in the CLINT window is reserved: reads as zero, writes ignored.
  }

  private timecmpChanged(hart: number): void {
    const v = this.cmpHi[hart] * TWO_32 + this.cmpLo[hart];
    this.cmp[hart] = v < NEVER ? v : Number.POSITIVE_INFINITY;
    this.update();
    this.onTimerChange();
  }

  /** The hart whose msip word is at `offset`, or -1. */
  private msipHart(offset: number): number {
    const h = (offset - CLINT_MSIP) >> 2;
    return offset >= CLINT_MSIP && h < this.harts.length ? h : -1;
  }

  /** 2·hart + (0 for the low word, 1 for the high word) of the mtimecmp word at `offset`, or -1. */
  private timecmpSlot(offset: number): number {
    const slot = (offset - CLINT_MTIMECMP) >> 2;
    return offset >= CLINT_MTIMECMP && slot < 2 * this.harts.length ? slot : -1;
  }

  private checkHart(hart: number): void {
    if (!(hart >= 0 && hart < this.harts.length)) {
      throw new Error(`clint: hart ${hart} does not exist (the board has ${this.harts.length})`);
    }
  }
}
