/**
 * A domain's clock. Guest time is the host's mtime plus the domain's `timeOffset` (in mtime ticks):
 * 0 for a domain built here, so its guest sees the host's time; a restored domain gets the offset that
 * makes its time continue from the value it was saved at, whatever the new host's clock says (time does
 * not pass for a saved guest, and never runs backwards for it).
 *
 *   guest reads time       hvm:         the hart adds htimedelta (the offset) in V-mode, no exit
 *                          trap/bt/pv:  offset 0 → direct (mcounteren.TM = 1); otherwise TM = 0 and
 *                                       `csrr rd, time|timeh` traps here ("time" exits)
 *   guest sets its timer   SBI set_timer(t) arms the vCPU's host deadline at t − offset
 */
import type { Hart } from "../machine/hart.js";
import { CSR } from "../machine/isa/csr-defs.js";
import type { Domain } from "./domain.js";

/** mcounteren with every counter readable (cycle, time, instret), and with time trapping. */
export const COUNTERS_ALL = 7;
export const COUNTERS_TIME_TRAPS = COUNTERS_ALL & ~2;

const TWO32 = 2 ** 32;

/** htimedelta and htimedeltah for `offset` (two's complement; the high half signed, as the hart adds it). */
export function timeDeltaHalves(offset: number): { lo: number; hi: number } {
  return { lo: (((offset % TWO32) + TWO32) % TWO32) | 0, hi: Math.floor(offset / TWO32) | 0 };
}

/**
 * trap, bt and pv with a time offset: emulates `insn` if it only reads time or timeh (csrrs/csrrc with
 * x0, or their immediate forms with 0) — the read the hardware refused because mcounteren.TM is clear.
 * Returns false for anything else (the caller goes on as for any illegal instruction).
 */
export function emulateTimeRead(d: Domain, h: Hart, insn: number): boolean {
  if ((insn & 0x7f) !== 0x73) return false;
  const funct3 = (insn >>> 12) & 7;
  if ((funct3 & 3) < 2 || ((insn >>> 15) & 31) !== 0) return false; // a write, or not a CSR op
  const csr = insn >>> 20;
  if (csr !== CSR.time && csr !== CSR.timeh) return false;
  const t = h.readTime() + d.timeOffset;
  const rd = (insn >>> 7) & 31;
  if (rd !== 0) h.x[rd] = csr === CSR.time ? (t % TWO32) | 0 : Math.floor(t / TWO32) | 0;
  h.pc = (h.pc + 4) >>> 0;
  return true;
}
