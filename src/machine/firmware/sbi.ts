/**
 * rvisor's SBI firmware: M-mode written in TypeScript. No guest code runs in M-mode; every trap that
 * would enter it reaches `SbiFirmware.onTrap` through the hart's `mTrapHook`, and is answered here:
 *
 *   trap into M                          what the firmware does
 *   ─────────────────────────────────    ──────────────────────────────────────────────────────────────
 *   ECALL from S (cause 9)               an SBI call: EID in a7, FID in a6 → a0 = error, a1 = value, pc += 4
 *   machine timer interrupt (MTIP)       the supervisor's set_timer deadline passed: raise STIP, mask MTIE
 *                                        until the next set_timer (as OpenSBI does)
 *   machine software interrupt (MSIP)    clear the CLINT's msip, raise SSIP
 *   any other exception from S or U      redirect to S-mode as OpenSBI's sbi_trap_redirect does
 *   anything else (e.g. a trap in M)     end the run with a message: there is no M-mode code to go to
 *
 * Booting (Firmware.install): hart 0 enters S-mode at the ELF entry with a0 = hartid, a1 = device tree,
 * in the state OpenSBI's mret leaves; every other hart is STOPPED until an SBI hart_start.
 *
 * The calls (SBI v2.0): Base, TIME, IPI, RFENCE, HSM (hsm.ts), SRST, DBCN (debug-console.ts), and the
 * legacy extensions 0x00..0x08. A guest argument never throws in the host: bad hart masks, hart ids and
 * addresses are SBI errors.
 */
import type { Firmware } from "../boot.js";
import { type Hart, TRAP } from "../hart.js";
import {
  CAUSE_BREAKPOINT,
  CAUSE_ECALL_S,
  CAUSE_ECALL_U,
  CAUSE_INSN_ACCESS,
  CAUSE_INSN_MISALIGNED,
  CAUSE_INSN_PAGE_FAULT,
  CAUSE_INTERRUPT,
  CAUSE_LOAD_PAGE_FAULT,
  CAUSE_STORE_PAGE_FAULT,
  CSR,
  IRQ_M_SOFT,
  IRQ_M_TIMER,
  MIP_MSIP,
  MIP_MTIP,
  MIP_SEIP,
  MIP_SSIP,
  MIP_STIP,
  MSTATUS_MPIE,
  MSTATUS_SIE,
  MSTATUS_SPIE,
  MSTATUS_SPP,
  PRIV_M,
  PRIV_S,
} from "../isa/csr-defs.js";
import type { Machine } from "../machine.js";
import { CLINT_MSIP } from "../memory-map.js";
import { DebugConsole } from "./debug-console.js";
import { Hsm } from "./hsm.js";
import {
  baseCall,
  EID_BASE,
  EID_DBCN,
  EID_HSM,
  EID_IPI,
  EID_LEGACY_CLEAR_IPI,
  EID_LEGACY_CONSOLE_GETCHAR,
  EID_LEGACY_CONSOLE_PUTCHAR,
  EID_LEGACY_REMOTE_FENCE_I,
  EID_LEGACY_REMOTE_SFENCE_VMA,
  EID_LEGACY_REMOTE_SFENCE_VMA_ASID,
  EID_LEGACY_SEND_IPI,
  EID_LEGACY_SET_TIMER,
  EID_LEGACY_SHUTDOWN,
  EID_RFENCE,
  EID_SRST,
  EID_TIME,
  fail,
  HART_MASK_BASE_ALL,
  IPI_SEND_IPI,
  NO_RETURN,
  type Outcome,
  ok,
  RFENCE_REMOTE_FENCE_I,
  RFENCE_REMOTE_SFENCE_VMA,
  RFENCE_REMOTE_SFENCE_VMA_ASID,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SRST_REASON_NONE,
  SRST_REASON_SYSTEM_FAILURE,
  SRST_SYSTEM_RESET,
  SRST_TYPE_SHUTDOWN,
  SRST_TYPE_WARM_REBOOT,
  TIME_SET_TIMER,
} from "./sbi-defs.js";

/**
 * Exceptions S-mode takes directly, as OpenSBI delegates them: misaligned fetch, breakpoint, ECALL from
 * U and the three page faults. The others (access faults, illegal instructions, misaligned AMOs) come
 * to the firmware, which redirects them to S-mode: OpenSBI keeps them to emulate what it can first.
 */
export const SBI_MEDELEG =
  (1 << CAUSE_INSN_MISALIGNED) |
  (1 << CAUSE_BREAKPOINT) |
  (1 << CAUSE_ECALL_U) |
  (1 << CAUSE_INSN_PAGE_FAULT) |
  (1 << CAUSE_LOAD_PAGE_FAULT) |
  (1 << CAUSE_STORE_PAGE_FAULT);
/** The supervisor's own interrupts go to S-mode. */
export const SBI_MIDELEG = MIP_SSIP | MIP_STIP | MIP_SEIP;

/** Extensions `probe_extension` reports as available. */
const EXTENSIONS = new Set([
  EID_LEGACY_SET_TIMER,
  EID_LEGACY_CONSOLE_PUTCHAR,
  EID_LEGACY_CONSOLE_GETCHAR,
  EID_LEGACY_CLEAR_IPI,
  EID_LEGACY_SEND_IPI,
  EID_LEGACY_REMOTE_FENCE_I,
  EID_LEGACY_REMOTE_SFENCE_VMA,
  EID_LEGACY_REMOTE_SFENCE_VMA_ASID,
  EID_LEGACY_SHUTDOWN,
  EID_BASE,
  EID_TIME,
  EID_IPI,
  EID_RFENCE,
  EID_HSM,
  EID_SRST,
  EID_DBCN,
]);

const TWO_32 = 2 ** 32;

/** What a remote fence asks a hart to do. */
type Fence = "fence.i" | "sfence.vma";

export class SbiFirmware {
  readonly hsm: Hsm;
  readonly console: DebugConsole;

  constructor(readonly machine: Machine) {
    this.hsm = new Hsm(machine, (h, pc, a0, a1) => this.enterSupervisor(h, pc, a0, a1));
    this.console = new DebugConsole(machine);
  }

  /** Takes the harts over: hart 0 enters S-mode at `entry` with the a0/a1 boot gave it, the rest stop. */
  install(entry: number): void {
    for (const h of this.machine.harts) {
      h.mTrapHook = this.onTrap;
      if (h.hartId === 0) {
        this.enterSupervisor(h, entry, h.x[10], h.x[11]);
      } else {
        h.stopped = true;
        h.waiting = false;
      }
    }
  }

  /**
   * Resets hart `h` into S-mode at `pc` in the state OpenSBI's sbi_hart_switch_mode leaves after its
   * mret: MPP = U, MPIE = 1, MIE = 0; stvec = the entry, sie = 0, satp = 0 (so sstatus.SIE = 0 too);
   * delegation, all counters readable from S, and the M-level interrupts the firmware serves (MSIP now,
   * MTIP from the first set_timer).
   */
  enterSupervisor(h: Hart, pc: number, a0: number, a1: number): void {
    h.reset(pc);
    h.medeleg = SBI_MEDELEG;
    h.mideleg = SBI_MIDELEG;
    h.mcounteren = -1;
    h.mie = MIP_MSIP;
    h.mstatus = MSTATUS_MPIE;
    h.stvec = pc >>> 0;
    h.x[10] = a0;
    h.x[11] = a1;
    h.setPriv(PRIV_S);
    h.mTrapHook = this.onTrap;
    h.stopped = false;
  }

  /** The hart's mTrapHook. Always handles the trap (returns true): there is no M-mode code to run. */
  readonly onTrap = (h: Hart, cause: number, tval: number): boolean => {
    if ((cause & CAUSE_INTERRUPT) !== 0) this.interrupt(h, cause & 0x7fff_ffff);
    else if (cause === CAUSE_ECALL_S) this.ecall(h);
    else this.redirect(h, cause, tval);
    return true;
  };

  private interrupt(h: Hart, irq: number): void {
    switch (irq) {
      case IRQ_M_TIMER:
        h.setSoftwareInterrupt(MIP_STIP, true);
        h.mie &= ~MIP_MTIP;
        return;
      case IRQ_M_SOFT:
        this.machine.clint.write(CLINT_MSIP + 4 * h.hartId, 4, 0);
        h.setSoftwareInterrupt(MIP_SSIP, true);
        return;
      default:
        this.fatal(h, `interrupt ${irq} reached M-mode, which the firmware never enables`);
    }
  }

  /**
   * Hands an exception to S-mode as if medeleg had delegated it (OpenSBI's sbi_trap_redirect): scause,
   * sepc, stval; SPP from the previous privilege, SPIE ← SIE, SIE ← 0; pc = stvec (exceptions are never
   * vectored). A trap in M-mode, or a fetch fault at stvec itself, has no S-mode handler to go to.
   */
  redirect(h: Hart, cause: number, tval: number): void {
    if (h.priv === PRIV_M) {
      this.fatal(h, `${causeName(cause)} in M-mode at pc 0x${hex(h.pc)} (tval 0x${hex(tval)})`);
      return;
    }
    const vector = (h.stvec & ~3) >>> 0;
    const fetchFault = cause === CAUSE_INSN_ACCESS || cause === CAUSE_INSN_MISALIGNED;
    if (fetchFault && h.pc === vector) {
      this.fatal(
        h,
        `${causeName(cause)} at the S-mode trap vector (stvec 0x${hex(h.stvec)}): nothing can take it`,
      );
      return;
    }
    h.scause = cause;
    h.sepc = h.pc;
    h.stval = tval >>> 0;
    let s = h.mstatus & ~(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE);
    if (h.priv === PRIV_S) s |= MSTATUS_SPP;
    if ((h.mstatus & MSTATUS_SIE) !== 0) s |= MSTATUS_SPIE;
    h.mstatus = s;
    h.setPriv(PRIV_S);
    h.pc = vector;
  }

  /** Ends the run: the guest did something no S-mode code can recover from. */
  private fatal(h: Hart, what: string): void {
    this.machine.requestExit({ kind: "poweroff", code: 1, message: `sbi: hart ${h.hartId}: ${what}` });
  }

  // ── SBI calls ──────────────────────────────────────────────────────────────────────────────

  private ecall(h: Hart): void {
    const x = h.x;
    let out: Outcome;
    try {
      out = this.call(h, x[17] >>> 0, x[16] >>> 0);
    } catch (e) {
      // A legacy call's hart mask is a virtual address; a fault reading it goes back to S-mode with
      // sepc at the ECALL, as the legacy chapter says.
      if (e !== TRAP) throw e;
      this.redirect(h, h.trapCause, h.trapTval);
      return;
    }
    if (out === NO_RETURN) return;
    if ("a0" in out) {
      x[10] = out.a0;
    } else {
      x[10] = out.error;
      x[11] = out.value;
    }
    h.pc = (h.pc + 4) >>> 0;
  }

  /** Runs SBI call `eid`/`fid` for hart `h`. */
  call(h: Hart, eid: number, fid: number): Outcome {
    const x = h.x;
    switch (eid) {
      case EID_BASE:
        return this.base(h, fid);
      case EID_TIME:
        if (fid !== TIME_SET_TIMER) return fail(SBI_ERR_NOT_SUPPORTED);
        this.setTimer(h, x[10] >>> 0, x[11] >>> 0);
        return ok();
      case EID_IPI:
        if (fid !== IPI_SEND_IPI) return fail(SBI_ERR_NOT_SUPPORTED);
        return this.sendIpi(this.hartMask(x[10] >>> 0, x[11] >>> 0)) ? ok() : fail(SBI_ERR_INVALID_PARAM);
      case EID_RFENCE:
        return this.rfence(h, fid);
      case EID_HSM:
        return this.hsm.call(h, fid);
      case EID_SRST:
        if (fid !== SRST_SYSTEM_RESET) return fail(SBI_ERR_NOT_SUPPORTED);
        return this.systemReset(x[10] >>> 0, x[11] >>> 0);
      case EID_DBCN:
        return this.console.call(h, fid);
      default:
        return eid <= EID_LEGACY_SHUTDOWN ? this.legacy(h, eid) : fail(SBI_ERR_NOT_SUPPORTED);
    }
  }

  private base(h: Hart, fid: number): Outcome {
    return baseCall(fid, h.x[10], (eid) => EXTENSIONS.has(eid), {
      mvendorid: machineCsr(h, CSR.mvendorid),
      marchid: machineCsr(h, CSR.marchid),
      mimpid: machineCsr(h, CSR.mimpid),
    });
  }

  /** set_timer(stime_value = hi:lo): arms this hart's mtimecmp, clears STIP, unmasks MTIE. */
  setTimer(h: Hart, lo: number, hi: number): void {
    this.machine.clint.setTimecmp(h.hartId, hi * TWO_32 + lo);
    h.setSoftwareInterrupt(MIP_STIP, false);
    h.mie |= MIP_MTIP;
  }

  /**
   * The harts a (hart_mask, hart_mask_base) pair names, or undefined when one of them does not exist
   * (SBI_ERR_INVALID_PARAM). Base −1 means every hart, whatever the mask.
   */
  hartMask(mask: number, base: number): Hart[] | undefined {
    const harts = this.machine.harts;
    if (base === HART_MASK_BASE_ALL) return harts;
    const out: Hart[] = [];
    for (let bit = 0; bit < 32; bit++) {
      if (((mask >>> bit) & 1) === 0) continue;
      const id = base + bit;
      if (id >= harts.length) return undefined;
      out.push(harts[id]);
    }
    return out;
  }

  /**
   * Raises SSIP on each target, which wakes it if it waits with SSIE set. A stopped hart has no
   * supervisor to interrupt and is skipped (starting it clears its mip anyway).
   */
  private sendIpi(targets: Hart[] | undefined): boolean {
    if (targets === undefined) return false;
    for (const t of targets) if (!t.stopped) t.setSoftwareInterrupt(MIP_SSIP, true);
    return true;
  }

  private rfence(h: Hart, fid: number): Outcome {
    let fence: Fence;
    if (fid === RFENCE_REMOTE_FENCE_I) fence = "fence.i";
    else if (fid === RFENCE_REMOTE_SFENCE_VMA || fid === RFENCE_REMOTE_SFENCE_VMA_ASID) fence = "sfence.vma";
    else return fail(SBI_ERR_NOT_SUPPORTED); // the HFENCE functions: no H extension
    const targets = this.hartMask(h.x[10] >>> 0, h.x[11] >>> 0);
    if (targets === undefined) return fail(SBI_ERR_INVALID_PARAM);
    this.fence(targets, fence);
    return ok();
  }

  /**
   * Does a remote fence at once: every hart runs on this thread, so the targets are between
   * instructions. SFENCE.VMA flushes the whole TLB whatever the range and ASID: TLB entries carry no
   * ASID here, and a wider flush is always correct.
   */
  private fence(targets: Hart[], fence: Fence): void {
    for (const t of targets) {
      if (t.stopped) continue;
      if (fence === "fence.i") t.onFenceI?.();
      else t.flushTlb();
    }
  }

  /**
   * system_reset: only the three standard types and the two standard reasons exist here; everything
   * else is reserved or unimplemented (SBI_ERR_INVALID_PARAM). "No reason" exits with code 0, "system
   * failure" with code 1.
   */
  private systemReset(type: number, reason: number): Outcome {
    if (type > SRST_TYPE_WARM_REBOOT || reason > SRST_REASON_SYSTEM_FAILURE)
      return fail(SBI_ERR_INVALID_PARAM);
    const code = reason === SRST_REASON_NONE ? 0 : 1;
    const kind = type === SRST_TYPE_SHUTDOWN ? "poweroff" : "reset";
    if (kind === "poweroff" && code === 0) {
      this.machine.requestExit({ kind, code });
    } else {
      const what = ["shutdown", "cold reboot", "warm reboot"][type];
      const why = code === 0 ? "no reason" : "system failure";
      this.machine.requestExit({ kind, code, message: `sbi: ${what} (${why})` });
    }
    return NO_RETURN;
  }

  // ── legacy extensions (v0.1): answer in a0 only ───────────────────────────────────────────

  private legacy(h: Hart, eid: number): Outcome {
    const x = h.x;
    switch (eid) {
      case EID_LEGACY_SET_TIMER: // a0:a1 is the 64-bit stime_value on RV32
        this.setTimer(h, x[10] >>> 0, x[11] >>> 0);
        return { a0: 0 };
      case EID_LEGACY_CONSOLE_PUTCHAR:
        this.console.putByte(x[10]);
        return { a0: 0 };
      case EID_LEGACY_CONSOLE_GETCHAR:
        return { a0: this.console.getByte() };
      case EID_LEGACY_CLEAR_IPI: {
        const pending = (h.mipSw & MIP_SSIP) !== 0;
        h.setSoftwareInterrupt(MIP_SSIP, false);
        return { a0: pending ? 1 : 0 };
      }
      case EID_LEGACY_SEND_IPI:
        return { a0: this.sendIpi(this.legacyHartMask(h, x[10] >>> 0)) ? 0 : SBI_ERR_INVALID_PARAM };
      case EID_LEGACY_REMOTE_FENCE_I:
      case EID_LEGACY_REMOTE_SFENCE_VMA:
      case EID_LEGACY_REMOTE_SFENCE_VMA_ASID: {
        const targets = this.legacyHartMask(h, x[10] >>> 0);
        if (targets === undefined) return { a0: SBI_ERR_INVALID_PARAM };
        this.fence(targets, eid === EID_LEGACY_REMOTE_FENCE_I ? "fence.i" : "sfence.vma");
        return { a0: 0 };
      }
      case EID_LEGACY_SHUTDOWN:
        this.machine.requestExit({ kind: "poweroff", code: 0 });
        return NO_RETURN;
      default:
        return fail(SBI_ERR_NOT_SUPPORTED);
    }
  }

  /**
   * A legacy hart mask: the virtual address of an unsigned long bit-vector (one word: at most 32 harts),
   * read with the caller's translation — a fault throws TRAP, which `ecall` redirects. Address 0 means
   * every hart, as in OpenSBI.
   */
  private legacyHartMask(h: Hart, va: number): Hart[] | undefined {
    if (va === 0) return this.machine.harts;
    return this.hartMask(h.lw(va) >>> 0, 0);
  }
}

/**
 * Reads a machine-level CSR for hart `h` as M-mode code would: the firmware runs in M-mode even though
 * the hart, trapped from S, still shows the privilege it came from.
 */
function machineCsr(h: Hart, csr: number): number {
  const priv = h.priv;
  h.priv = PRIV_M;
  try {
    return h.csrRead(csr, 0) >>> 0;
  } finally {
    h.priv = priv;
  }
}

const CAUSE_NAMES: Record<number, string> = {
  0: "instruction address misaligned",
  1: "instruction access fault",
  2: "illegal instruction",
  3: "breakpoint",
  4: "load address misaligned",
  5: "load access fault",
  6: "store/AMO address misaligned",
  7: "store/AMO access fault",
  8: "ECALL from U-mode",
  9: "ECALL from S-mode",
  11: "ECALL from M-mode",
  12: "instruction page fault",
  13: "load page fault",
  15: "store/AMO page fault",
};

function causeName(cause: number): string {
  return CAUSE_NAMES[cause] ?? `exception ${cause}`;
}

const hex = (v: number): string => (v >>> 0).toString(16);

/** The firmware `boot()` installs with `--firmware sbi`. */
export const sbiFirmware: Firmware = {
  name: "rvisor-sbi",
  install(machine: Machine, entry: number): void {
    new SbiFirmware(machine).install(entry);
  },
};
