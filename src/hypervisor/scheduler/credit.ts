/**
 * Credit: Xen's proportional-share, work-conserving SMP scheduler (xen/common/sched/credit.c, by
 * Emmanuel Ackaouy), as a pure policy over the host's pCPUs. Constants, priorities and the algorithm
 * follow Xen's file so rvisor's behaviour can be compared with Xen's; where rvisor departs, the comment
 * says "rvisor:" and why.
 *
 * How it works
 * ------------
 * Every domain has a weight (its share) and an optional cap (a ceiling, in percent of one pCPU). Every
 * 30 ms (one time slice) the accounting pass, csched_acct, hands out the credits the host's pCPUs will
 * deliver in the next slice — 10 credits per ms per pCPU — to the *active* domains in proportion to their
 * weight, and splits each domain's share evenly over its active vCPUs. A running vCPU burns 10 credits
 * per ms it runs (burnCredits, at every 10 ms tick and at every decision).
 *
 * A vCPU's priority follows its balance: UNDER while it has credit, OVER once it has overspent. Each pCPU
 * keeps its own run queue ordered by priority (FIFO within one), so UNDER vCPUs always run before OVER
 * ones, and a vCPU runs for one 30 ms slice before the queue is looked at again. A vCPU waking from sleep
 * with credit left is BOOSTed above everything else until a tick catches it running: I/O-bound vCPUs,
 * which wake often and run little, get low wake-up latency without taking more than their share.
 *
 * Idle time is lent, not wasted: a pCPU about to idle, or whose best local candidate is OVER, looks at
 * the other pCPUs' queues and steals a vCPU of strictly higher priority (load balancing; for an idle pCPU
 * any runnable vCPU qualifies). A vCPU waking on a busy pCPU "tickles" an idle pCPU it may run on.
 *
 * A vCPU is *active* — it takes part in accounting — from the first tick that finds it running until its
 * balance exceeds one slice's worth of credit (it is not using what it gets); then it leaves the active
 * list with half its credit. Balances are clipped at −one slice, so old debts are forgiven. A capped
 * domain's share is at most cap % of one slice; a capped vCPU that overspends is *parked* (not runnable)
 * until accounting brings its balance back to ≥ 0.
 *
 * Ratelimit: a vCPU that started running less than 1 ms ago is not preempted (it keeps the pCPU until
 * it has run 1 ms), which bounds the context-switch rate that boosting could otherwise cause.
 *
 * Time: no timers of its own. The caller ticks every pCPU every tickPeriodNs (10 ms) and calls
 * pickNext when a decision's runFor ends; the accounting pass runs inside whichever call first
 * reaches its deadline.
 *
 * Files: credit-defs.ts holds Xen's header blocks (constants, priorities, the pCPU/unit/domain
 * structures); credit-acct.ts earns and burns credits (csched_acct, burn_credits); this file is the
 * policy — events, the decision (csched_schedule), run queues, tickling and load balancing.
 */
import { accountSlice, acctStart, acctStop, burnCredits, type CreditPool } from "./credit-acct.js";
import {
  type CreditOptions,
  CSCHED_CREDITS_PER_MSEC,
  CSCHED_DEFAULT_TSLICE_MS,
  CSCHED_MIN_TIMER_US,
  CSCHED_PRI_IDLE,
  CSCHED_PRI_TS_BOOST,
  CSCHED_PRI_TS_OVER,
  CSCHED_PRI_TS_UNDER,
  CSCHED_TICKS_PER_TSLICE,
  CSCHED_TSLICE_MAX_MS,
  CSCHED_TSLICE_MIN_MS,
  type Dom,
  NS_PER_MS,
  NS_PER_US,
  type Pcpu,
  PRIORITY_NAMES,
  SCHED_DEFAULT_RATELIMIT_US,
  type Unit,
} from "./credit-defs.js";
import type {
  Decision,
  DomainId,
  DomainParams,
  Kick,
  PcpuId,
  SchedStats,
  Scheduler,
  TraceSegment,
  VcpuId,
  VcpuParams,
  VcpuState,
} from "./interface.js";
import { Ledger } from "./ledger.js";

export * from "./credit-defs.js";

export class CreditScheduler implements Scheduler {
  readonly name = "credit";
  readonly pcpus: number;
  readonly tickPeriodNs: number;
  private readonly ledger: Ledger;
  private readonly tslice: number;
  private readonly creditsPerTslice: number;
  private readonly ratelimit: number;
  private readonly minTimer = CSCHED_MIN_TIMER_US * NS_PER_US;
  private readonly migrDelay: number;
  private readonly boost: boolean;

  private readonly units = new Map<VcpuId, Unit>();
  private readonly doms = new Map<DomainId, Dom>();
  private readonly pcpu: Pcpu[];
  /** prv->idlers. */
  private readonly idlers: Uint8Array;
  private readonly pool: CreditPool;
  private nextAcct: number;
  private balanceBias = 0;
  private lastTickleCpu = 0;
  private kicks: PcpuId[] = [];

  constructor(options: CreditOptions) {
    this.ledger = new Ledger(options.pcpus, options);
    this.pcpus = options.pcpus;
    const tsliceMs = options.tsliceMs ?? CSCHED_DEFAULT_TSLICE_MS;
    if (!Number.isInteger(tsliceMs) || tsliceMs < CSCHED_TSLICE_MIN_MS || tsliceMs > CSCHED_TSLICE_MAX_MS)
      throw new Error(
        `credit: tsliceMs ${tsliceMs} is outside ${CSCHED_TSLICE_MIN_MS}..${CSCHED_TSLICE_MAX_MS}`,
      );
    // __csched_set_tslice
    this.tslice = tsliceMs * NS_PER_MS;
    const ticksPerTslice = tsliceMs < CSCHED_TICKS_PER_TSLICE ? 1 : CSCHED_TICKS_PER_TSLICE;
    this.tickPeriodNs = Math.floor((tsliceMs * 1000) / ticksPerTslice) * NS_PER_US;
    this.creditsPerTslice = CSCHED_CREDITS_PER_MSEC * tsliceMs;
    this.pool = {
      activeDoms: [],
      weight: 0,
      creditBalance: 0,
      credit: this.creditsPerTslice * this.pcpus,
      creditsPerTslice: this.creditsPerTslice,
      runqSort: 0,
    };
    const ratelimitUs = options.ratelimitUs ?? SCHED_DEFAULT_RATELIMIT_US;
    if (!Number.isInteger(ratelimitUs) || ratelimitUs < 0)
      throw new Error(`credit: ratelimitUs ${ratelimitUs} is not a non-negative integer`);
    // csched_init: a ratelimit longer than the slice becomes the slice.
    this.ratelimit = Math.min(ratelimitUs * NS_PER_US, this.tslice);
    this.migrDelay = (options.migrationDelayUs ?? 0) * NS_PER_US;
    this.boost = options.boost ?? true;
    this.nextAcct = this.tslice;
    this.idlers = new Uint8Array(this.pcpus).fill(1); // start off idling
    this.pcpu = Array.from({ length: this.pcpus }, () => ({
      runq: [],
      runqSortLast: 0,
      tick: 0,
      curr: null,
    }));
  }

  // ---- domains and vCPUs ------------------------------------------------------------------------

  addDomain(dom: DomainId, params: DomainParams): void {
    const d = this.ledger.addDomain(dom, params);
    this.doms.set(dom, { d, activeUnits: [] });
  }

  removeDomain(dom: DomainId): void {
    this.ledger.removeDomain(dom);
    this.doms.delete(dom);
  }

  addVcpu(vcpu: VcpuId, dom: DomainId, params?: VcpuParams): void {
    const v = this.ledger.addVcpu(vcpu, dom, params);
    const u: Unit = {
      v,
      sdom: this.doms.get(dom)!,
      credit: 0,
      residual: 0,
      startTime: 0,
      stateEntry: 0,
      lastSchedTime: 0,
      pri: CSCHED_PRI_TS_UNDER,
      parked: false,
      yielding: false,
      migrating: false,
      pinned: v.affinity.length === 1,
      moveAway: false,
      active: false,
      awake: false,
      onRunq: false,
      processor: v.affinity[0],
    };
    this.units.set(vcpu, u);
    // csched_unit_insert → csched_res_pick, which marks the unit as migrating (its first wake is
    // a placement, not a wake-up from I/O).
    u.processor = this.cpuPick(u);
    u.migrating = true;
  }

  removeVcpu(vcpu: VcpuId): void {
    const u = this.unit(vcpu, "removeVcpu");
    this.ledger.removeVcpu(vcpu); // refuses a running vCPU
    if (u.onRunq) this.runqRemove(u);
    if (u.active) acctStop(this.pool, u);
    this.units.delete(vcpu);
  }

  private unit(vcpu: VcpuId, where: string): Unit {
    const u = this.units.get(vcpu);
    if (u === undefined) throw new Error(`credit ${where}: no vCPU ${vcpu}`);
    return u;
  }

  // ---- events from the caller -------------------------------------------------------------------

  wake(vcpu: VcpuId, now: number): Kick {
    this.advance(now, "wake");
    const u = this.unit(vcpu, "wake");
    if (!u.awake) {
      u.awake = true;
      if (!u.parked) this.unitWake(u, now);
    }
    return this.takeKicks();
  }

  sleep(vcpu: VcpuId, now: number): Kick {
    this.advance(now, "sleep");
    const u = this.unit(vcpu, "sleep");
    if (u.awake) {
      u.awake = false;
      this.unitSleep(u, now);
    }
    return this.takeKicks();
  }

  yield(vcpu: VcpuId, now: number): Kick {
    this.advance(now, "yield");
    const u = this.unit(vcpu, "yield");
    u.yielding = true;
    const p = this.runningOn(u);
    if (p !== null) this.kick(p);
    return this.takeKicks();
  }

  /** csched_tick: accounting for the running unit, and the runq sort after an accounting pass. */
  tick(p: PcpuId, now: number): Kick {
    this.ledger.checkPcpu(p, "tick");
    this.advance(now, "tick");
    const pc = this.pcpu[p];
    pc.tick++;
    if (pc.curr !== null) this.unitAcct(pc.curr, p, now);
    this.runqSortCpu(p);
    return this.takeKicks();
  }

  setParams(dom: DomainId, params: { weight?: number; cap?: number }, now: number): Kick {
    this.advance(now, "setParams");
    const where = `setParams(${dom})`;
    const sdom = this.doms.get(dom);
    if (sdom === undefined) throw new Error(`credit ${where}: no domain ${dom}`);
    if (params.weight !== undefined) this.ledger.checkWeight(params.weight, where);
    if (params.cap !== undefined) this.ledger.checkCap(params.cap, where);
    // csched_dom_cntl (putinfo)
    if (params.weight !== undefined) {
      const n = sdom.activeUnits.length;
      this.pool.weight += (params.weight - sdom.d.weight) * n;
      sdom.d.weight = params.weight;
    }
    if (params.cap !== undefined) sdom.d.cap = params.cap;
    return this.takeKicks();
  }

  setAffinity(
    target: { dom: DomainId } | { vcpu: VcpuId },
    cpus: readonly PcpuId[] | null,
    now: number,
  ): Kick {
    this.advance(now, "setAffinity");
    for (const v of this.ledger.setAffinity(target, cpus)) {
      const u = this.units.get(v.vcpu)!;
      u.pinned = v.affinity.length === 1; // csched_aff_cntl
      const running = this.runningOn(u);
      if (running !== null) {
        if (!v.allowed[running]) {
          u.moveAway = true;
          this.kick(running);
        }
      } else if (!v.allowed[u.processor]) {
        // vcpu_set_affinity → vcpu_migrate: off the old queue, onto an allowed one.
        const queued = u.onRunq;
        if (queued) this.runqRemove(u);
        u.processor = this.cpuPick(u);
        u.migrating = true;
        if (queued) this.unitWake(u, now);
      } else if (u.onRunq) {
        // Still queued where it was, but it may now use pCPUs it could not before.
        this.runqTickle(u);
      }
    }
    return this.takeKicks();
  }

  // ---- the decision: csched_schedule -------------------------------------------------------------

  pickNext(p: PcpuId, now: number): Decision {
    this.ledger.checkPcpu(p, "pickNext");
    this.advance(now, "pickNext");
    const pc = this.pcpu[p];
    const scurr = pc.curr;
    const runtime = scurr === null ? 0 : Math.max(0, now - scurr.stateEntry);

    if (scurr !== null) {
      burnCredits(scurr, now);
      scurr.startTime -= now;
      scurr.lastSchedTime = now;
    }

    // Rate limiting: a vCPU that began running less than `ratelimit` ago keeps the pCPU, unless it
    // yields or can no longer run here.
    if (
      scurr !== null &&
      !scurr.yielding &&
      this.ratelimit > 0 &&
      this.runnableHere(scurr) &&
      runtime < this.ratelimit
    ) {
      scurr.startTime += now;
      const tslice = runtime < this.minTimer ? this.minTimer : this.ratelimit - runtime;
      this.ledger.switchTo(p, scurr.v.vcpu, now);
      return { vcpu: scurr.v.vcpu, runFor: tslice, kick: this.takeKicks() };
    }

    if (scurr !== null && this.runnableHere(scurr)) {
      this.runqInsert(scurr);
      this.ledger.startWaiting(scurr.v, now);
    }
    if (scurr !== null) scurr.yielding = false;

    // Select the next runnable local unit (top of the local runq), or steal better work elsewhere.
    let snext: Unit | null = pc.runq.length > 0 ? pc.runq[0] : null;
    if (snext !== null && snext.pri > CSCHED_PRI_TS_OVER) this.runqRemove(snext);
    else snext = this.loadBalance(p, snext, now);

    this.idlers[p] = snext === null ? 1 : 0;
    pc.curr = snext;
    if (snext !== null) {
      snext.startTime += now;
      if (snext !== scurr) snext.stateEntry = now;
    }
    this.ledger.switchTo(p, snext?.v.vcpu ?? null, now);

    // A unit told to move (affinity change, tick-time rebalancing) goes to a pCPU that suits it better.
    if (scurr !== null && scurr !== snext && scurr.moveAway) {
      scurr.moveAway = false;
      if (scurr.awake && !scurr.parked) {
        scurr.processor = this.cpuPick(scurr);
        scurr.migrating = true;
        this.unitWake(scurr, now);
      }
    }
    // rvisor: work left in our queue goes to idle pCPUs that may run it (see pushToIdlers).
    this.pushToIdlers(p);

    return {
      vcpu: snext?.v.vcpu ?? null,
      runFor: snext === null ? Number.POSITIVE_INFINITY : this.tslice,
      kick: this.takeKicks(),
    };
  }

  // ---- credits -----------------------------------------------------------------------------------

  /** csched_unit_acct: the tick's accounting for the unit running on `cpu`. */
  private unitAcct(u: Unit, cpu: PcpuId, now: number): void {
    // A boosted unit found running is consuming real CPU: it stops being boosted.
    if (u.pri === CSCHED_PRI_TS_BOOST) u.pri = CSCHED_PRI_TS_UNDER;
    burnCredits(u, now);
    if (!u.active) {
      acctStart(this.pool, u);
      return;
    }
    // If it has been active a while, check whether it would be better off on another pCPU.
    if (this.cpuPick(u) !== cpu) {
      u.moveAway = true;
      this.kick(cpu);
    }
  }

  /** Runs the accounting passes that fell due by `now` (Xen's master_ticker). */
  private advance(now: number, where: string): void {
    this.ledger.clock(now, where);
    if (now < this.nextAcct) return;
    accountSlice(this.pool, {
      park: (u) => this.park(u, now),
      unpark: (u) => this.unpark(u, now),
    });
    // Xen re-arms the timer one slice after it fired; a caller that was away long gets one pass.
    this.nextAcct += this.tslice;
    if (this.nextAcct <= now) this.nextAcct = now + this.tslice;
  }

  /** sched_unit_pause_nosync for a capped-out unit. */
  private park(u: Unit, now: number): void {
    u.parked = true;
    if (u.awake) this.unitSleep(u, now);
  }

  /** Unpause while still marked parked (so the wake does not boost), then clear the mark, as Xen does. */
  private unpark(u: Unit, now: number): void {
    if (u.awake) this.unitWake(u, now);
    u.parked = false;
  }

  // ---- sleeping and waking ------------------------------------------------------------------------

  /** csched_unit_sleep. */
  private unitSleep(u: Unit, now: number): void {
    const p = this.runningOn(u);
    if (p !== null) this.kick(p);
    else if (u.onRunq) {
      this.runqRemove(u);
      this.ledger.stopWaiting(u.v, now);
    }
  }

  /** csched_unit_wake: boost a unit waking with credit, queue it, tickle a pCPU. */
  private unitWake(u: Unit, now: number): void {
    if (this.runningOn(u) !== null || u.onRunq) return;
    const migrating = u.migrating;
    u.migrating = false;
    if (this.boost && !migrating && u.pri === CSCHED_PRI_TS_UNDER && !u.parked) u.pri = CSCHED_PRI_TS_BOOST;
    this.runqInsert(u);
    this.ledger.startWaiting(u.v, now);
    this.runqTickle(u);
  }

  /** Runnable and free to stay on the pCPU it is on. */
  private runnableHere(u: Unit): boolean {
    return u.awake && !u.parked && !u.moveAway;
  }

  private runningOn(u: Unit): PcpuId | null {
    const p = u.processor;
    return this.pcpu[p].curr === u ? p : null;
  }

  // ---- run queues ---------------------------------------------------------------------------------

  /** __runq_insert: behind every unit of equal or higher priority; a yielder also behind one lower. */
  private runqInsert(u: Unit): void {
    if (u.onRunq) throw new Error(`credit: vCPU ${u.v.vcpu} is already on a run queue`);
    const runq = this.pcpu[u.processor].runq;
    let i = 0;
    while (i < runq.length && u.pri <= runq[i].pri) i++;
    if (u.yielding && i < runq.length) i++;
    runq.splice(i, 0, u);
    u.onRunq = true;
  }

  private runqRemove(u: Unit): void {
    const runq = this.pcpu[u.processor].runq;
    const i = runq.indexOf(u);
    if (i < 0) throw new Error(`credit: vCPU ${u.v.vcpu} is not on pCPU ${u.processor}'s run queue`);
    runq.splice(i, 1);
    u.onRunq = false;
  }

  /** csched_runq_sort: after an accounting pass, UNDER (and BOOST) units move ahead of OVER ones. */
  private runqSortCpu(p: PcpuId): void {
    const pc = this.pcpu[p];
    if (pc.runqSortLast === this.pool.runqSort) return;
    pc.runqSortLast = this.pool.runqSort;
    const under = pc.runq.filter((u) => u.pri >= CSCHED_PRI_TS_UNDER);
    const over = pc.runq.filter((u) => u.pri < CSCHED_PRI_TS_UNDER);
    pc.runq = [...under, ...over];
  }

  /** nr_runnable: queued plus running. */
  private nrRunnable(p: PcpuId): number {
    const pc = this.pcpu[p];
    return pc.runq.length + (pc.curr === null ? 0 : 1);
  }

  // ---- placement, tickling, load balancing --------------------------------------------------------

  /** The next pCPU after `from` (cyclically) in `set`, as cpumask_cycle; -1 if the set is empty. */
  private cycle(from: PcpuId, set: (p: PcpuId) => boolean): PcpuId {
    for (let k = 1; k <= this.pcpus; k++) {
      const p = (from + k) % this.pcpus;
      if (set(p)) return p;
    }
    return -1;
  }

  /**
   * _csched_cpu_pick on a flat topology (every pCPU its own core, one socket): stay on the current
   * pCPU if it may run there and it is idle — or would be, but for this unit — else the next idle pCPU
   * it may use, else stay.
   */
  private cpuPick(u: Unit): PcpuId {
    const allowed = u.v.allowed;
    const cpu = allowed[u.processor] ? u.processor : this.cycle(u.processor, (p) => allowed[p] === 1);
    const idle = (p: PcpuId): boolean =>
      this.idlers[p] === 1 || (p === u.processor && this.pcpu[p].runq.every((x) => x === u));
    if (idle(cpu)) return cpu;
    const other = this.cycle(cpu, (p) => allowed[p] === 1 && idle(p));
    return other < 0 ? cpu : other;
  }

  /** __runq_tickle: which pCPU should look at the newly queued unit `u`. */
  private runqTickle(u: Unit): void {
    const cpu = u.processor;
    const cur = this.pcpu[cpu].curr;
    const curPri = cur === null ? CSCHED_PRI_IDLE : cur.pri;
    const allowed = u.v.allowed;
    let idlersEmpty = true;
    for (let p = 0; p < this.pcpus; p++) if (this.idlers[p]) idlersEmpty = false;

    // Exclusive pinning onto an idle pCPU; or our pCPU idles; or nobody idles and u outranks the
    // running vCPU: this pCPU decides.
    if ((u.pinned && this.idlers[cpu]) || cur === null || (idlersEmpty && u.pri > curPri)) {
      this.kickIdler(cpu);
      return;
    }
    if (idlersEmpty) return;
    const suitable = (p: PcpuId): boolean => this.idlers[p] === 1 && allowed[p] === 1;
    const next = this.cycle(this.lastTickleCpu, suitable);
    if (next >= 0) {
      // Suitable idlers: wake one and leave the (likely cache-hot) current vCPU alone.
      this.lastTickleCpu = next;
      this.kickIdler(next);
    } else if (u.pri > curPri) {
      // No idler suits u, and u outranks cur: preempt cur, and send cur to an idler if it may use one.
      // rvisor: Xen tests u's own affinity here, which the branch has just found has no idler; the
      // intent ("check whether we can migrate cur away") needs cur's.
      if (this.cycle(cpu, (p) => this.idlers[p] === 1 && cur.v.allowed[p] === 1) >= 0) cur.moveAway = true;
      this.kickIdler(cpu);
    }
  }

  /**
   * rvisor: after a decision, each unit still waiting in p's queue that an idle pCPU may run gets that
   * pCPU kicked (it will steal). Xen relies on the tickle at wake-up alone, so a unit re-queued by a
   * preemption, or queued while its tickled idler was looking elsewhere, could wait while a pCPU it may
   * use idles; this closes those windows and makes "no idle pCPU while allowed work waits" exact.
   */
  private pushToIdlers(p: PcpuId): void {
    for (const u of this.pcpu[p].runq) {
      const idler = this.cycle(p, (q) => this.idlers[q] === 1 && u.v.allowed[q] === 1);
      if (idler >= 0) this.kickIdler(idler);
    }
  }

  /** Kick a pCPU and mark it busy, so no other tickle picks it before it decides. */
  private kickIdler(p: PcpuId): void {
    this.idlers[p] = 0;
    this.kick(p);
  }

  /**
   * csched_load_balance: look at the other busy pCPUs' queues, starting after the last one stolen
   * from, for a unit of strictly higher priority than our best (`snext`) that may run here.
   */
  private loadBalance(cpu: PcpuId, snext: Unit | null, now: number): Unit | null {
    const pri = snext === null ? CSCHED_PRI_IDLE : snext.pri;
    const worker = (p: PcpuId): boolean => p !== cpu && this.idlers[p] === 0;
    const first = this.cycle(this.balanceBias, worker);
    if (first >= 0) {
      let peer = first;
      do {
        if (this.nrRunnable(peer) > 1) {
          const speer = this.runqSteal(peer, cpu, pri, now);
          if (speer !== null) {
            this.balanceBias = peer;
            this.pushToIdlers(peer);
            return speer;
          }
        }
        peer = this.cycle(peer, worker);
      } while (peer !== first);
    }
    // Nothing more important elsewhere.
    if (snext !== null) this.runqRemove(snext);
    return snext;
  }

  /** csched_runq_steal. */
  private runqSteal(peer: PcpuId, cpu: PcpuId, pri: number, now: number): Unit | null {
    const pc = this.pcpu[peer];
    // Don't steal from an idle pCPU's queue: it is about to pick up that work itself.
    if (pc.curr === null) return null;
    for (const speer of pc.runq) {
      // If the next unit here is not of strictly higher priority than ours, this pCPU is useless.
      if (speer.pri <= pri) break;
      const hot = this.migrDelay > 0 && now - speer.lastSchedTime < this.migrDelay;
      if (!hot && speer.v.allowed[cpu]) {
        this.runqRemove(speer);
        speer.processor = cpu;
        return speer;
      }
    }
    return null;
  }

  // ---- kicks and reports ----------------------------------------------------------------------------

  private kick(p: PcpuId): void {
    if (!this.kicks.includes(p)) this.kicks.push(p);
  }

  private takeKicks(): Kick {
    const k = this.kicks.sort((a, b) => a - b);
    this.kicks = [];
    return k;
  }

  private state(u: Unit): VcpuState {
    if (this.runningOn(u) !== null) return "running";
    if (u.parked) return "parked";
    return u.onRunq ? "runnable" : "blocked";
  }

  stats(now: number): SchedStats {
    const vcpus = [...this.units.values()].map((u) => {
      const v = u.v;
      return {
        vcpu: v.vcpu,
        dom: v.dom,
        state: this.state(u),
        pcpu: u.processor,
        affinity: [...v.affinity],
        cpuTimeNs: this.ledger.cpuTimeAt(v, now),
        credit: u.credit,
        priority: PRIORITY_NAMES[u.pri] ?? String(u.pri),
        runqWaitNs: this.ledger.waitAt(v, now),
        runqWaits: v.runqWaits,
        maxRunqWaitNs: v.maxRunqWaitNs,
        migrations: v.migrations,
      };
    });
    const domains = [...this.doms.values()].map(({ d }) => {
      const mine = vcpus.filter((v) => v.dom === d.dom);
      return {
        dom: d.dom,
        weight: d.weight,
        cap: d.cap,
        cpuTimeNs: mine.reduce((s, v) => s + v.cpuTimeNs, 0),
        credit: mine.reduce((s, v) => s + (v.credit ?? 0), 0),
        vcpus: [...d.vcpus],
      };
    });
    const pcpus = this.pcpu.map((pc, p) => ({
      pcpu: p,
      current: pc.curr?.v.vcpu ?? null,
      runqLength: pc.runq.length,
      busyNs: this.ledger.busyAt(p, now),
      decisions: this.ledger.decisions[p],
    }));
    return { policy: this.name, now, domains, vcpus, pcpus };
  }

  trace(now: number): TraceSegment[] {
    return this.ledger.trace(now);
  }
}
