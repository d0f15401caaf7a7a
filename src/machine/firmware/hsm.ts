/**
 * Hart State Management (SBI HSM): which harts run S-mode code, started and stopped by the guest.
 *
 *                     hart_start (by another hart)
 *        ┌─────────┐ ─────────────────────────────► ┌─────────┐  hart_suspend   ┌───────────┐
 *        │ STOPPED │                                │ STARTED │ ──────────────► │ SUSPENDED │
 *        └─────────┘ ◄───────────────────────────── └─────────┘ ◄────────────── └───────────┘
 *                          hart_stop (by itself)                  an interrupt
 *
 * One Node thread runs every hart, so a start or stop takes effect at once: START_PENDING and
 * STOP_PENDING are never observed. A stopped hart is `hart.stopped` (the board skips it). A suspended
 * hart is one waiting in hart_suspend: `hart.waiting` with no instruction retired since the call — the
 * first instruction it retires after waking makes it STARTED again, without the firmware being told.
 *
 * Suspend types: the default retentive one (0) waits like WFI and returns SBI_SUCCESS; the default
 * non-retentive one (0x8000_0000) waits and then resumes at resume_addr as hart_start would (a0 =
 * hartid, a1 = opaque, satp = 0, sstatus.SIE = 0). Every other type is reserved or platform-specific,
 * and this platform implements none: SBI_ERR_INVALID_PARAM.
 */
import type { Hart } from "../hart.js";
import { MSTATUS_SIE } from "../isa/csr-defs.js";
import type { Machine } from "../machine.js";
import {
  fail,
  HSM_HART_GET_STATUS,
  HSM_HART_START,
  HSM_HART_STOP,
  HSM_HART_SUSPEND,
  HSM_STATE_STARTED,
  HSM_STATE_STOPPED,
  HSM_STATE_SUSPENDED,
  HSM_SUSPEND_NON_RETENTIVE_DEFAULT,
  HSM_SUSPEND_RETENTIVE_DEFAULT,
  NO_RETURN,
  type Outcome,
  ok,
  SBI_ERR_ALREADY_AVAILABLE,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
} from "./sbi-defs.js";

/** Puts a hart in S-mode at `pc` with a0/a1 set, as the firmware enters every supervisor. */
export type EnterSupervisor = (h: Hart, pc: number, a0: number, a1: number) => void;

export class Hsm {
  /** Per hart: `retired` when it last went into hart_suspend, or −1. */
  private readonly suspendedAt: number[];

  constructor(
    private readonly machine: Machine,
    private readonly enter: EnterSupervisor,
  ) {
    this.suspendedAt = machine.harts.map(() => -1);
  }

  /** HSM functions; a0..a2 as each function names them. */
  call(h: Hart, fid: number): Outcome {
    const x = h.x;
    switch (fid) {
      case HSM_HART_START:
        return this.start(x[10] >>> 0, x[11] >>> 0, x[12]);
      case HSM_HART_STOP:
        this.stop(h);
        return NO_RETURN;
      case HSM_HART_GET_STATUS: {
        const state = this.status(x[10] >>> 0);
        return state < 0 ? fail(SBI_ERR_INVALID_PARAM) : ok(state);
      }
      case HSM_HART_SUSPEND:
        return this.suspend(h, x[10] >>> 0, x[11] >>> 0, x[12]);
      default:
        return fail(SBI_ERR_NOT_SUPPORTED);
    }
  }

  /** Starts stopped hart `hartid` in S-mode at physical `startAddr` with a1 = `opaque`. */
  start(hartid: number, startAddr: number, opaque: number): Outcome {
    const harts = this.machine.harts;
    if (hartid >= harts.length) return fail(SBI_ERR_INVALID_PARAM);
    if (!this.isCodeAddress(startAddr)) return fail(SBI_ERR_INVALID_ADDRESS);
    const target = harts[hartid];
    if (!target.stopped) return fail(SBI_ERR_ALREADY_AVAILABLE);
    this.suspendedAt[hartid] = -1;
    this.enter(target, startAddr, hartid, opaque);
    return ok();
  }

  /** Stops hart `h` (the caller): it leaves S-mode until some hart starts it again. */
  stop(h: Hart): void {
    h.stopped = true;
    h.waiting = false;
    h.remaining = 0; // end its slice now
    h.mie = 0;
    // Its supervisor's timer died with it; left armed, it would keep an idle board ticking.
    this.machine.clint.setTimecmp(h.hartId, Number.POSITIVE_INFINITY);
  }

  /** The HSM state of hart `hartid`, or −1 when there is no such hart. */
  status(hartid: number): number {
    const harts = this.machine.harts;
    if (hartid >= harts.length) return -1;
    const h = harts[hartid];
    if (h.stopped) return HSM_STATE_STOPPED;
    if (h.waiting && this.suspendedAt[hartid] === h.retired) return HSM_STATE_SUSPENDED;
    return HSM_STATE_STARTED;
  }

  private suspend(h: Hart, type: number, resumeAddr: number, opaque: number): Outcome {
    if (type === HSM_SUSPEND_RETENTIVE_DEFAULT) {
      this.wait(h);
      return ok();
    }
    if (type === HSM_SUSPEND_NON_RETENTIVE_DEFAULT) {
      if (!this.isCodeAddress(resumeAddr)) return fail(SBI_ERR_INVALID_ADDRESS);
      // What the hart holds is lost; it wakes where hart_start would have put it. Interrupt enables
      // (sie) survive, so the interrupt that wakes it stays pending for its supervisor to take.
      h.pc = resumeAddr;
      h.x[10] = h.hartId;
      h.x[11] = opaque;
      h.satp = 0;
      h.flushTlb();
      h.mstatus &= ~MSTATUS_SIE;
      this.wait(h);
      return NO_RETURN;
    }
    return fail(SBI_ERR_INVALID_PARAM);
  }

  /** Waits as WFI does: until (mip & mie) has a bit, whatever the global enables say. */
  private wait(h: Hart): void {
    this.suspendedAt[h.hartId] = h.retired;
    if ((h.mip & h.mie) !== 0) return;
    h.waiting = true;
    h.remaining = 0;
  }

  /** A place S-mode can start executing: 2-byte aligned (RVC) and in RAM. */
  private isCodeAddress(pa: number): boolean {
    return (pa & 1) === 0 && this.machine.ram.contains(pa, 2);
  }
}
