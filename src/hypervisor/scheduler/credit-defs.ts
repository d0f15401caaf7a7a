/**
 * Credit's header blocks, as Xen's credit.c opens: basic constants, priorities, and the three structures
 * that mirror its concepts — the pCPU (csched_pcpu), the vCPU (csched_unit) and the domain
 * (csched_dom). The algorithm that uses them is in credit.ts (the policy) and credit-acct.ts (credits).
 */
import type { PcpuId, SchedulerOptions } from "./interface.js";
import type { DomainEntry, VcpuEntry } from "./ledger.js";

/*
 * Basic constants (Xen's names and values)
 */
export const CSCHED_DEFAULT_WEIGHT = 256;
export const CSCHED_TICKS_PER_TSLICE = 3;
/** Default time slice: 30 ms. */
export const CSCHED_DEFAULT_TSLICE_MS = 30;
export const CSCHED_CREDITS_PER_MSEC = 10;
/** Xen's sched_ratelimit_us default (SCHED_DEFAULT_RATELIMIT_US). */
export const SCHED_DEFAULT_RATELIMIT_US = 1000;
/** XEN_SYSCTL_SCHED_RATELIMIT_MIN: never set a timer shorter than this (CSCHED_MIN_TIMER). */
export const CSCHED_MIN_TIMER_US = 100;
/** XEN_SYSCTL_CSCHED_TSLICE_MIN / _MAX, in ms. */
export const CSCHED_TSLICE_MIN_MS = 1;
export const CSCHED_TSLICE_MAX_MS = 1000;

/*
 * Priorities (higher runs first)
 */
export const CSCHED_PRI_TS_BOOST = 0; /* time-share waking up */
export const CSCHED_PRI_TS_UNDER = -1; /* time-share w/ credits */
export const CSCHED_PRI_TS_OVER = -2; /* time-share w/o credits */
export const CSCHED_PRI_IDLE = -64; /* idle */

export const PRIORITY_NAMES: Record<number, string> = {
  [CSCHED_PRI_TS_BOOST]: "BOOST",
  [CSCHED_PRI_TS_UNDER]: "UNDER",
  [CSCHED_PRI_TS_OVER]: "OVER",
  [CSCHED_PRI_IDLE]: "IDLE",
};

export const NS_PER_MS = 1_000_000;
export const NS_PER_US = 1_000;

export interface CreditOptions extends SchedulerOptions {
  /** sched_credit_tslice_ms, 1..1000. */
  tsliceMs?: number;
  /** sched_ratelimit_us; 0 disables rate limiting. At most one slice. */
  ratelimitUs?: number;
  /** vcpu_migration_delay_us: a vCPU that ran this recently is cache-hot and not stolen. */
  migrationDelayUs?: number;
  /** rvisor: false turns BOOST off, to measure what it buys (Xen always boosts). */
  boost?: boolean;
}

/** csched_unit: the policy's view of one vCPU. */
export interface Unit {
  readonly v: VcpuEntry;
  readonly sdom: Dom;
  credit: number;
  /** Sub-credit remainder of burnCredits, in credit·ns/ms units as Xen keeps it. */
  residual: number;
  /** When we were scheduled (used for credit); an offset from "now" while descheduled, as in Xen. */
  startTime: number;
  /** When it last began running on its pCPU (the ratelimit's reference). */
  stateEntry: number;
  lastSchedTime: number;
  pri: number;
  /** CSCHED_FLAG_UNIT_PARKED: over its cap, not runnable until credit ≥ 0. */
  parked: boolean;
  /** CSCHED_FLAG_UNIT_YIELD. */
  yielding: boolean;
  /** CSCHED_FLAG_UNIT_MIGRATING: the next wake is a move, not a wake-up, so no boost. */
  migrating: boolean;
  /** CSCHED_FLAG_UNIT_PINNED: hard affinity is one pCPU. */
  pinned: boolean;
  /** Xen's _VPF_migrating: deschedule at the next decision and re-place on another pCPU. */
  moveAway: boolean;
  /** On its domain's active list (takes part in accounting). */
  active: boolean;
  /** The caller's view: not blocked. Runnable = awake && !parked. */
  awake: boolean;
  onRunq: boolean;
  /** The pCPU whose queue it joins (sched_unit_master). */
  processor: PcpuId;
}

/** csched_dom. */
export interface Dom {
  readonly d: DomainEntry;
  /** Active units, most recently activated first (Xen's list_add). */
  activeUnits: Unit[];
}

/** csched_pcpu. */
export interface Pcpu {
  runq: Unit[];
  runqSortLast: number;
  tick: number;
  curr: Unit | null;
}
