/**
 * A virtual CPU: the guest's registers and its virtual supervisor state while it is not on a pCPU, and
 * the bookkeeping the exit path needs while it is.
 *
 * A vCPU of a `trap` or `pv` domain always runs in the host's U-mode; `vpriv` is the privilege the guest
 * believes it has (S for its kernel, U for its programs). The virtual S-mode CSRs live here and are only
 * ever touched by the interpreter (trap mode) or the PV hypercalls: the host hart's own S-mode CSRs are
 * not the guest's.
 */
import { PRIV_S, type PRIV_U } from "../machine/isa/csr-defs.js";
import type { Domain } from "./domain.js";
import type { ShadowMmu } from "./memory/shadow.js";
import type { VcpuId } from "./scheduler/interface.js";

export type VirtualPriv = typeof PRIV_U | typeof PRIV_S;

/** HSM view of a vCPU: started, or stopped (never started, or hart_stop). */
export type VcpuPower = "started" | "stopped";

export class Vcpu {
  readonly regs = new Int32Array(32);
  pc = 0;
  vpriv: VirtualPriv = PRIV_S;

  // Virtual S-mode CSRs (the fields sstatus shows: SIE SPIE SPP SUM MXR).
  sstatus = 0;
  sie = 0;
  /** Pending virtual interrupts (SSIP, STIP, SEIP bit positions). */
  sip = 0;
  stvec = 0;
  sscratch = 0;
  sepc = 0;
  scause = 0;
  stval = 0;
  satp = 0;
  scounteren = 0;
  senvcfg = 0;

  /** The guest's SBI timer deadline, in mtime ticks (Infinity: none armed). */
  timerAt = Number.POSITIVE_INFINITY;
  power: VcpuPower = "stopped";
  /** Waiting in WFI / PV_BLOCK until an interrupt is pending (or held by a pause). */
  blocked = false;
  /** It was runnable when its domain was paused: unpausing wakes it. */
  pausedRunnable = false;
  /** The pCPU it is loaded on, or null. */
  pcpu: number | null = null;

  // PV state.
  /** Guest-physical address of the shared page, or -1. */
  sharedGpa = -1;
  trapHandler = 0;
  /** The PV form of sstatus.SUM. */
  userAccess = false;

  constructor(
    /** Unique across the host (the scheduler's id). */
    readonly id: VcpuId,
    /** Index within the domain: the guest's hart id. */
    readonly index: number,
    readonly domain: Domain,
    readonly shadow: ShadowMmu,
  ) {}
}
