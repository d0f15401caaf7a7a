/**
 * Credit accounting: how credits are earned (csched_acct, once per slice) and spent (burn_credits).
 *
 *   earn   The pool holds what the host's pCPUs deliver in one slice: 10 credits/ms × 30 ms × pCPUs.
 *          Active domains share it by weight × active vCPUs. A domain cannot earn more than it could
 *          burn in one slice (all its active vCPUs running throughout), nor more than its cap; what it
 *          cannot take is handed to the domains after it in the list (weightLeft), and domains that did
 *          take extra move to the head so the others get the chance next time. Each domain's credit is
 *          split evenly over its active vCPUs.
 *   spend  A running vCPU loses 10 credits per ms, in whole credits; the remainder carries over.
 *   bound  Below −one slice, debt is forgiven; above +one slice the vCPU stops earning (leaves the
 *          active list) and keeps half, so an idle vCPU cannot hoard credit.
 *   state  After the pass: credit < 0 → OVER (and a capped vCPU beyond its per-vCPU cap is parked),
 *          credit ≥ 0 → UNDER (and a parked vCPU is released).
 *
 * If overspending left the host's balance negative, the next pass hands out that much more
 * (creditTotal − balance) and raises every peak accordingly, so the balance converges back to 0.
 * Xen does all of this in 32-bit integers; the divisions here round the same way.
 */
import {
  CSCHED_CREDITS_PER_MSEC,
  CSCHED_PRI_TS_OVER,
  CSCHED_PRI_TS_UNDER,
  type Dom,
  NS_PER_MS,
  type Unit,
} from "./credit-defs.js";

/** Xen's csched_private, the part accounting reads and writes. */
export interface CreditPool {
  /** Active domains, most recently activated (or given extra credit) first. */
  activeDoms: Dom[];
  /** Σ weight over active units (prv->weight). */
  weight: number;
  /** Σ credit over active units after the last pass (prv->credit_balance). */
  creditBalance: number;
  /** Credits all pCPUs deliver in one slice (prv->credit). */
  readonly credit: number;
  readonly creditsPerTslice: number;
  /** Bumped by every pass: each pCPU re-sorts its run queue when it sees a new value. */
  runqSort: number;
}

/** What accounting asks the policy to do with capped units: stop them, or let them run again. */
export interface ParkHooks {
  park(u: Unit): void;
  unpark(u: Unit): void;
}

/** burn_credits: 10 credits per ms run, carrying the sub-credit remainder like Xen's do_div. */
export function burnCredits(u: Unit, now: number): void {
  const delta = now - u.startTime;
  if (delta <= 0) return;
  const val = delta * CSCHED_CREDITS_PER_MSEC + u.residual;
  u.residual = val % NS_PER_MS;
  const credits = Math.floor(val / NS_PER_MS);
  u.credit -= credits;
  u.startTime += (credits * NS_PER_MS) / CSCHED_CREDITS_PER_MSEC;
}

/** __csched_unit_acct_start: the unit (and its domain) join accounting. */
export function acctStart(pool: CreditPool, u: Unit): void {
  u.active = true;
  u.sdom.activeUnits.unshift(u);
  pool.weight += u.sdom.d.weight;
  if (!pool.activeDoms.includes(u.sdom)) pool.activeDoms.unshift(u.sdom);
}

/** __csched_unit_acct_stop_locked: the unit leaves accounting (and its domain, if it was the last). */
export function acctStop(pool: CreditPool, u: Unit): void {
  u.active = false;
  const units = u.sdom.activeUnits;
  units.splice(units.indexOf(u), 1);
  pool.weight -= u.sdom.d.weight;
  if (units.length === 0) pool.activeDoms.splice(pool.activeDoms.indexOf(u.sdom), 1);
}

/** csched_acct: one accounting pass (see the header). */
export function accountSlice(pool: CreditPool, hooks: ParkHooks): void {
  const weightTotal = pool.weight;
  let creditTotal = pool.credit;
  // Converge the balance towards 0 when it drops negative.
  if (pool.creditBalance < 0) creditTotal -= pool.creditBalance;
  if (weightTotal === 0) {
    pool.creditBalance = 0;
    return;
  }
  let weightLeft = weightTotal;
  let creditBalance = 0;
  let creditXtra = false;

  for (const sdom of [...pool.activeDoms]) {
    const n = sdom.activeUnits.length;
    const w = sdom.d.weight;
    weightLeft -= w * n;
    // At most, a domain can use credits to run all its active units for one full period; more only
    // when the system-wide balance is negative.
    let creditPeak = n * pool.creditsPerTslice;
    if (pool.creditBalance < 0)
      creditPeak += Math.floor((-pool.creditBalance * w * n + (weightTotal - 1)) / weightTotal);
    let creditCap = 0;
    if (sdom.d.cap !== 0) {
      creditCap = Math.floor((sdom.d.cap * pool.creditsPerTslice + 99) / 100);
      if (creditCap < creditPeak) creditPeak = creditCap;
      creditCap = Math.floor((creditCap + (n - 1)) / n);
    }
    let creditFair = Math.floor((creditTotal * w * n + (weightTotal - 1)) / weightTotal);
    if (creditFair < creditPeak) {
      creditXtra = true;
    } else {
      // Give other domains a chance at the credits this one cannot use.
      if (weightLeft !== 0)
        creditTotal += Math.floor(((creditFair - creditPeak) * weightTotal + (weightLeft - 1)) / weightLeft);
      if (creditXtra) {
        // Keep domains with extra credits at the head, to give others a chance at them next time.
        pool.activeDoms.splice(pool.activeDoms.indexOf(sdom), 1);
        pool.activeDoms.unshift(sdom);
      }
      creditFair = creditPeak;
    }
    // Fair share per unit.
    creditFair = Math.floor((creditFair + (n - 1)) / n);

    for (const u of [...sdom.activeUnits]) {
      u.credit += creditFair;
      let credit = u.credit;
      if (credit < 0) {
        u.pri = CSCHED_PRI_TS_OVER;
        if (sdom.d.cap !== 0 && credit < -creditCap && !u.parked) hooks.park(u);
        // Lower bound on credits: old debts are forgiven.
        if (credit < -pool.creditsPerTslice) {
          credit = -pool.creditsPerTslice;
          u.credit = credit;
        }
      } else {
        u.pri = CSCHED_PRI_TS_UNDER;
        if (u.parked) hooks.unpark(u);
        // Upper bound: a unit that does not use its credit stops earning, and keeps half.
        if (credit > pool.creditsPerTslice) {
          acctStop(pool, u);
          credit = Math.trunc(credit / 2);
          u.credit = credit;
        }
      }
      creditBalance += credit;
    }
  }
  pool.creditBalance = creditBalance;
  // Inform each pCPU that its runq needs to be sorted.
  pool.runqSort++;
}
