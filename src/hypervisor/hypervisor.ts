/**
 * The hypervisor: rvisor's type-1 layer over the emulated host. It owns M-mode on every hart (pCPU), so
 * every trap a hart takes while it runs guest code — an exit — reaches `onTrap` through the hart's
 * M-mode hook. Guest code runs in the host's U-mode and the hypervisor never shares a hart with it.
 *
 *   hart (pCPU p) runs vCPU v in U-mode, satp = v's shadow
 *        │ trap (illegal insn, ecall, page fault, host timer, IPI)
 *        ▼
 *   onTrap ──▶ dispatcher (interpreter · hypercalls · shadow fill · reflect into the guest)
 *        │
 *        ▼
 *   service(p): vCPU timers due → virtual interrupts; scheduler driver → placements (switch here,
 *               IPI the other pCPUs); deliver a pending virtual interrupt; program the host timers
 *
 * Time is the host CLINT's mtime (10 MHz); the scheduler gets it in nanoseconds. One host timer deadline
 * serves every pCPU: the earliest of the scheduler's next tick or slice end and every vCPU's timer.
 *
 * Domains own their memory through a P2M over scattered host frames; shadow tables are hypervisor frames
 * from one pool. Domain 0 is the control domain: it is this process, and runs no guest code.
 *
 * An `hvm` vCPU runs instead in VS/VU-mode (V = 1) on the harts' H extension: its own traps and its VS
 * interrupts (hvip) never leave the hart; only guest-page faults (G-stage fills from the P2M, roots in the
 * allocator's reserved region), ecalls from VS, WFI (hstatus.VTW) and host interrupts exit. Its VS CSRs,
 * vsie/hvip and V/priv are saved into the Vcpu's virtual S fields on a switch (hvm.ts).
 */

import { BufferConsole } from "../machine/devices/console.js";
import { readElfFile } from "../machine/elf.js";
import type { Hart } from "../machine/hart.js";
import {
  CAUSE_INTERRUPT,
  IRQ_M_SOFT,
  IRQ_M_TIMER,
  MIP_MSIP,
  MIP_MTIP,
  MIP_SEIP,
  MIP_STIP,
  MSTATUS_SIE,
  PRIV_S,
  PRIV_U,
} from "../machine/isa/csr-defs.js";
import { Machine, type MachineExit, type RunOptions } from "../machine/machine.js";
import { CLINT_MSIP } from "../machine/memory-map.js";
import { PAGE_SIZE, TIMEBASE_HZ } from "../machine/params.js";
import { bounce, interruptToTake } from "./bounce.js";
import { Monitor, type MonitorHost } from "./bt.js";
import { type DispatcherHost, dispatchException, shadowKind } from "./dispatcher.js";
import { Domain, type DomainEnd } from "./domain.js";
import {
  attachDevices,
  checkNics,
  checkSpec,
  type DomainBuild,
  DomainConfigError,
  type DomainSpec,
  loadKernel,
  newGStage,
  openDisks,
  otherVirtio,
  takeMemory,
  vcpuShadow,
} from "./domain-build.js";
import { COUNTERS_ALL, COUNTERS_TIME_TRAPS } from "./guest-time.js";
import { loadHvmVcpu, saveHvmVcpu, VS_IRQS, vmidOf } from "./hvm.js";
import { FrameAllocator } from "./memory/frames.js";
import { GSTAGE_ROOT_FRAMES, GStageRoots } from "./memory/gstage.js";
import { GuestMemory } from "./memory/guest-memory.js";
import { ShadowExhaustedError, ShadowPool } from "./memory/shadow.js";
import type { HypervisorOptions } from "./options.js";
import { PvState, pvEnabled, SH_PENDING, sharedRead, sharedWrite } from "./pv.js";
import { SchedulerDriver } from "./scheduler/driver.js";
import type { DomainId, Scheduler, VcpuId } from "./scheduler/interface.js";
import { createScheduler, DEFAULT_SCHEDULER } from "./scheduler/registry.js";
import { Vcpu } from "./vcpu.js";

export {
  type DomainBuild,
  DomainConfigError,
  type DomainDisk,
  type DomainSpec,
  type NicSpec,
} from "./domain-build.js";

export { CONTROL_DOMAIN, type HypervisorOptions, QUIRKS, type Quirk } from "./options.js";

const NS_PER_TICK = 1e9 / TIMEBASE_HZ;
const MiB = 1024 * 1024;

export class Hypervisor implements DispatcherHost, MonitorHost {
  readonly machine: Machine;
  readonly allocator: FrameAllocator;
  readonly pool: ShadowPool;
  /** G-stage roots for hvm domains (the allocator's reserved region). */
  readonly gstageRoots: GStageRoots;
  readonly scheduler: Scheduler;
  readonly driver: SchedulerDriver;
  readonly domains = new Map<DomainId, Domain>();
  private readonly vcpus = new Map<VcpuId, Vcpu>();
  /** What each pCPU has loaded. */
  private readonly loaded: (Vcpu | null)[];
  /** hart.retired when the loaded vCPU was loaded (for per-domain instruction counts). */
  private readonly loadedAt: number[];
  /** The host timer deadline last programmed into each hart's mtimecmp. */
  private readonly programmed: number[];
  private nextDomId = 1;
  private nextVcpuId = 0;
  private readonly pvShadowSets: number;
  private readonly persistent: boolean;
  /** Called when a domain shuts down or crashes (the toolstack's on_poweroff / on_crash). */
  readonly onDomainEnd: ((d: Domain) => void)[] = [];
  /** bt mode's direct VMM calls, one per pCPU. */
  private readonly monitors: Monitor[];
  private started = false;
  private lastNs = 0;
  /** The pCPU whose exit is being handled. */
  private here = -1;

  constructor(opts: HypervisorOptions = {}) {
    const pcpus = opts.pcpus ?? 2;
    this.machine = new Machine({
      harts: pcpus,
      ramBytes: (opts.hostMemoryMiB ?? 256) * MiB,
      clock: opts.clock,
      engine: opts.engine,
      console: new BufferConsole(),
      onIdle: opts.onIdle ?? "exit",
      hExtension: true, // hvm mode; costs nothing while V = 0
    });
    const roots = opts.hvmDomains ?? 8;
    this.allocator = new FrameAllocator(this.machine.ram, { reservedFrames: roots * GSTAGE_ROOT_FRAMES });
    this.gstageRoots = new GStageRoots(this.allocator, 0, roots);
    this.pool = new ShadowPool(this.allocator, this.machine.ram);
    this.scheduler = createScheduler(opts.scheduler ?? DEFAULT_SCHEDULER, { pcpus });
    this.driver = new SchedulerDriver(this.scheduler, 0);
    this.pvShadowSets = opts.pvShadowSets ?? 8;
    this.persistent = opts.persistent ?? false;
    this.loaded = new Array<Vcpu | null>(pcpus).fill(null);
    this.loadedAt = new Array<number>(pcpus).fill(0);
    this.programmed = new Array<number>(pcpus).fill(Number.POSITIVE_INFINITY);
    this.monitors = this.machine.harts.map((h) => new Monitor(this, h));
    for (const h of this.machine.harts) {
      h.quirkSensitiveRead = opts.quirks?.includes("sensitive-unprivileged") ?? false;
      h.mTrapHook = (hart, cause, tval) => this.onTrap(hart, cause, tval);
      h.mstatus = 0;
      h.setPriv(PRIV_U);
      h.mie = MIP_MTIP | MIP_MSIP;
      h.mcounteren = COUNTERS_ALL; // guest code reads time, cycle and instret directly
      h.scounteren = 7;
      h.waiting = true;
    }
    this.machine.pollers.push(() => this.pollDevices());
  }

  get pcpus(): number {
    return this.machine.harts.length;
  }

  /** The host's mtime, the latest any pCPU has seen (guest time is this plus a domain's timeOffset). */
  get hostTicks(): number {
    return Math.floor(this.nowNs / NS_PER_TICK);
  }

  /** The host's clock in nanoseconds, as the scheduler is told it. */
  get nowNs(): number {
    // Harts run one after another within a round, each seeing mtime advance with its own progress, so a
    // later hart can read an earlier time than the one before it. The scheduler needs one clock that
    // never goes back: the latest time any pCPU has seen.
    const t = this.machine.clint.mtime() * NS_PER_TICK;
    if (t > this.lastNs) this.lastNs = t;
    return this.lastNs;
  }

  // ── domains ──────────────────────────────────────────────────────────────────────────────────

  /** Builds a domain: memory, kernel image, device tree, vCPUs; vCPU 0 starts at the kernel's entry. */
  createDomain(spec: DomainSpec): Domain {
    const image = typeof spec.kernel === "string" ? readElfFile(spec.kernel) : spec.kernel;
    checkSpec(spec, image, spec.name ?? `domain ${this.nextDomId}`);
    const memoryMiB = spec.memoryMiB ?? 32;
    const vcpus = spec.vcpus ?? 1;
    const d = this.buildDomain({
      mode: spec.mode,
      name: spec.name,
      maxFrames: ((spec.maxMemoryMiB ?? memoryMiB) * MiB) / PAGE_SIZE,
      ramFrames: (memoryMiB * MiB) / PAGE_SIZE,
      vcpus,
      console: spec.console,
      weight: spec.weight,
      cap: spec.cap,
      disks: spec.disks,
      virtioConsole: spec.virtioConsole,
      nics: spec.nics,
      storeRing: spec.storeRing,
      balloon: spec.balloon,
    });
    const fdtAddr = loadKernel(d, image, vcpus, memoryMiB * MiB, spec.bootargs);
    this.startVcpu(d.vcpus[0], image.entry, fdtAddr);
    this.kick();
    return d;
  }

  /**
   * A domain's frame: its P2M with RAM behind `populate` (every gfn of the span when not given), its
   * devices, its store ring if asked, and its vCPUs known to the scheduler but stopped. Nothing of it
   * runs until a vCPU is started (createDomain) or its saved state is put back (save/domain.ts). Checks
   * the name, the nics' MACs, the hvm limit and the disks first; takes nothing when the host has too
   * few frames (OutOfFramesError).
   */
  buildDomain(b: DomainBuild): Domain {
    const id = this.nextDomId;
    const name = b.name ?? `dom${id}`;
    for (const d of this.domains.values())
      if (d.name === name && d.alive) throw new DomainConfigError(`a domain named ${name} already exists`);
    checkNics(name, b);
    if (b.mode === "hvm" && this.gstageRoots.available === 0)
      throw new DomainConfigError(`${name}: every G-stage root is in use (the host's hvmDomains limit)`);
    // Before anything is taken: a bad image changes nothing.
    const disks = openDisks(name, b.disks ?? [], otherVirtio(b));
    const p2m = takeMemory(id, this.allocator, b, disks);
    this.nextDomId++;
    const mem = new GuestMemory(p2m, this.machine.ram);
    // A gfn that changes its host frame (or loses it) must not stay reachable through any shadow.
    p2m.onChange(() => {
      const d = this.domains.get(id);
      if (d === undefined) return;
      for (const v of d.vcpus) v.shadow.flushAll();
      d.gstage?.clear();
      this.flushTlbs(d);
    });
    const d = new Domain(id, name, b.mode, p2m, mem, b.console ?? new BufferConsole());
    if (b.mode === "pv") d.pv = new PvState();
    if (b.mode === "hvm") {
      d.gstage = newGStage(this.gstageRoots, this.allocator, this.machine.ram);
      this.flushTlbs(d); // its VMID may be reused (the id mod 128): no entry of an earlier domain may stay
    }
    attachDevices(d, b, disks, (i, level) => {
      const v = d.vcpus[i];
      if (v === undefined || !d.alive) return;
      if (level) this.raiseVirq(v, MIP_SEIP);
      else this.clearVirq(v, MIP_SEIP);
    });
    this.domains.set(id, d);
    this.scheduler.addDomain(id, { weight: b.weight ?? 256, cap: b.cap ?? 0 });
    for (let i = 0; i < b.vcpus; i++) {
      const v = new Vcpu(this.nextVcpuId++, i, d, vcpuShadow(this.pool, d, this.pvShadowSets));
      d.vcpus.push(v);
      this.vcpus.set(v.id, v);
      this.scheduler.addVcpu(v.id, id);
    }
    return d;
  }

  /** Ends a domain (if still alive) and gives its memory and shadows back. */
  destroyDomain(id: DomainId): void {
    const d = this.domainOf(id);
    this.endDomain(d, { state: "shutdown", code: 0, reason: "destroyed" });
    this.release(d);
  }

  /**
   * Undoes buildDomain for a domain that has never run (a restore refused after the domain was built):
   * everything it took goes back, and it does not end the way a guest ends — no onDomainEnd, and no
   * power-off of a non-persistent host when it was the last domain (which would stop the next run
   * before any other domain ran an instruction). The host is left as it was before the build.
   */
  discardDomain(id: DomainId): void {
    const d = this.domainOf(id);
    if (d.alive) {
      d.state = "shutdown";
      d.end = { state: "shutdown", code: 0, reason: "discarded" };
      for (const v of d.vcpus) if (v.power === "started") this.stopVcpu(v);
      d.devices?.close();
    }
    this.release(d);
  }

  /** Gives an ended domain's vCPUs, shadows, G-stage tables and memory back, and forgets it. */
  private release(d: Domain): void {
    const id = d.id;
    // Its vCPUs sleep now; the pCPUs they ran on decide again at once, so none is placed anywhere when
    // the policy forgets it (the others learn theirs by IPI).
    for (const pl of this.driver.run(this.nowNs)) if (pl.pcpu !== this.here) this.ipi(pl.pcpu);
    for (const v of d.vcpus) {
      const p = v.pcpu;
      if (p !== null) {
        const h = this.machine.harts[p];
        this.switchTo(h, null);
        this.idle(h);
        this.ipi(p); // it loads whatever the scheduler placed there instead
      }
      if (this.driver.runningOn(v.id) !== null)
        throw new Error(`destroy domain ${id}: the scheduler still places vCPU ${v.id}`);
      this.scheduler.removeVcpu(v.id);
      this.vcpus.delete(v.id);
      v.shadow.release();
    }
    this.pool.trim(); // the shadow frames go back to the host, not only to the pool
    this.scheduler.removeDomain(id);
    if (d.gstage !== undefined) {
      d.gstage.clear();
      this.flushTlbs(d);
      this.gstageRoots.give(d.gstage.root);
      d.gstage = undefined;
    }
    d.p2m.release();
    this.domains.delete(id);
  }

  /** Stops scheduling a running domain's vCPUs (xl pause); its timers and devices keep their state. */
  pauseDomain(id: DomainId): void {
    const d = this.domainOf(id);
    if (d.state !== "running")
      throw new DomainConfigError(`domain ${id} (${d.name}) is ${d.state}, not running`);
    d.state = "paused";
    const now = this.nowNs;
    for (const v of d.vcpus) {
      if (v.power !== "started" || v.blocked) continue;
      v.blocked = true;
      v.pausedRunnable = true;
      this.driver.sleep(v.id, now);
      if (v.pcpu !== null && v.pcpu !== this.here) this.ipi(v.pcpu);
    }
  }

  /**
   * Takes a paused domain's vCPUs off the pCPUs they are loaded on (those pick again at their next
   * exit), so each vCPU's whole state is in its Vcpu: what saving a domain reads.
   */
  unloadDomain(id: DomainId): void {
    const d = this.domainOf(id);
    if (d.state !== "paused")
      throw new DomainConfigError(`domain ${id} (${d.name}) is ${d.state}, not paused`);
    for (const v of d.vcpus) {
      const p = v.pcpu;
      if (p === null) continue;
      this.switchTo(this.machine.harts[p], null);
      this.ipi(p);
    }
  }

  /** Resumes a paused domain: vCPUs that were runnable, or have an interrupt waiting, run again. */
  unpauseDomain(id: DomainId): void {
    const d = this.domainOf(id);
    if (d.state !== "paused")
      throw new DomainConfigError(`domain ${id} (${d.name}) is ${d.state}, not paused`);
    d.state = "running";
    for (const v of d.vcpus) {
      const pending =
        v.domain.mode === "pv" ? (sharedRead(v, SH_PENDING) & pvEnabled) !== 0 : this.pendingOf(v) !== 0;
      if (v.pausedRunnable || pending) this.wake(v);
      v.pausedRunnable = false;
    }
    this.kick();
  }

  private domainOf(id: DomainId): Domain {
    const d = this.domains.get(id);
    if (d === undefined) throw new DomainConfigError(`no domain ${id}`);
    return d;
  }

  // ── running ──────────────────────────────────────────────────────────────────────────────────

  /** Runs until every domain has ended (or a limit / deadlock), yielding to Node's event loop. */
  async run(opts: RunOptions = {}): Promise<MachineExit> {
    this.start();
    const exit = await this.machine.run(opts);
    this.settle();
    return exit;
  }

  runSync(opts: RunOptions = {}): MachineExit {
    this.start();
    const exit = this.machine.runSync(opts);
    this.settle();
    return exit;
  }

  /**
   * Credits each loaded vCPU's progress to its domain, so counts are exact when a run stops (and for a
   * statistics sample taken between rounds).
   */
  settle(): void {
    for (let p = 0; p < this.pcpus; p++) {
      const v = this.loaded[p];
      if (v === null) continue;
      const h = this.machine.harts[p];
      v.domain.retired += h.retired - this.loadedAt[p];
      this.loadedAt[p] = h.retired;
    }
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    if (this.domains.size === 0 && !this.persistent) throw new DomainConfigError("no domain to run");
    this.kick();
  }

  /** Interrupts every pCPU so it reschedules (a new domain, a start). */
  private kick(): void {
    for (let p = 0; p < this.pcpus; p++) this.ipi(p);
  }

  ipi(p: number): void {
    this.machine.clint.write(CLINT_MSIP + 4 * p, 4, 1);
  }

  // ── the exit path ────────────────────────────────────────────────────────────────────────────

  private onTrap(h: Hart, cause: number, tval: number): boolean {
    const p = h.hartId;
    this.here = p;
    const v = this.loaded[p];
    if ((cause & CAUSE_INTERRUPT) !== 0) {
      const irq = cause & 0xff;
      if (irq === IRQ_M_SOFT) this.machine.clint.write(CLINT_MSIP + 4 * p, 4, 0);
      if (v !== null) v.domain.countExit(irq === IRQ_M_TIMER ? "timer" : "ipi");
    } else if (v === null) {
      // An idle pCPU has no code of its own (pc 0, satp bare). It runs only when an interrupt woke it;
      // if that interrupt was withdrawn before it ran (another pCPU moved the shared deadline), its
      // first fetch faults here and it goes back to waiting.
    } else {
      try {
        dispatchException(this, v, h, cause, tval);
      } catch (e) {
        if (!(e instanceof ShadowExhaustedError)) throw e;
        this.crash(v, e.message);
      }
    }
    this.service(h);
    this.here = -1;
    return true;
  }

  /** Everything due on pCPU `h` after an exit, before guest code runs again. */
  private service(h: Hart): void {
    const now = this.machine.clint.mtime();
    this.pollDevices();
    for (const v of this.vcpus.values()) {
      if (v.timerAt <= now) {
        v.timerAt = Number.POSITIVE_INFINITY;
        this.raiseVirq(v, MIP_STIP);
      }
    }
    const p = h.hartId;
    for (const pl of this.driver.run(this.nowNs))
      if (pl.pcpu !== p && (this.loaded[pl.pcpu]?.id ?? null) !== pl.vcpu) this.ipi(pl.pcpu);
    const want = this.driver.current[p];
    if (want !== (this.loaded[p]?.id ?? null)) this.switchTo(h, want);
    const v = this.loaded[p];
    if (v !== null) this.deliverInterrupt(v, h);
    else this.idle(h);
    this.programTimers();
  }

  /**
   * Console input into every domain's UART. Runs on exits and, through the board's pollers, while every
   * pCPU idles; an interrupt it raises for a sleeping vCPU wakes an idle pCPU to run it.
   */
  private pollDevices(): void {
    for (const d of this.domains.values()) if (d.alive) d.devices?.poll();
    if (this.here < 0 && this.driver.kicked)
      for (let p = 0; p < this.pcpus; p++) if (this.loaded[p] === null) this.ipi(p);
  }

  /** Saves what pCPU `h` runs and loads `vcpu` (null: idle until an interrupt). */
  private switchTo(h: Hart, vcpu: VcpuId | null): void {
    const p = h.hartId;
    const old = this.loaded[p];
    if (old !== null) this.save(old, h);
    if (vcpu === null) {
      this.idle(h);
      return;
    }
    const v = this.vcpus.get(vcpu);
    if (v === undefined) throw new Error(`scheduler placed unknown vCPU ${vcpu} on pCPU ${p}`);
    if (v.pcpu !== null) {
      // Still loaded on another pCPU (the scheduler moved it): take it from there. That pCPU is between
      // slices (one thread runs every hart), so this stands in for a synchronous IPI.
      const other = this.machine.harts[v.pcpu];
      this.save(v, other);
      other.waiting = true;
      this.ipi(other.hartId);
    }
    h.x.set(v.regs);
    h.x[0] = 0;
    h.pc = v.pc;
    const monitor = this.monitors[p];
    monitor.vcpu = v;
    h.vmm = v.domain.mode === "bt" ? monitor : undefined;
    h.reservation = -1;
    h.waiting = false;
    v.pcpu = p;
    this.loaded[p] = v;
    this.loadedAt[p] = h.retired;
    if (v.domain.mode === "hvm") loadHvmVcpu(v, h);
    else this.loadShadow(v, h);
    // A restored trap/bt/pv domain's clock is offset: its reads of time trap (guest-time.ts).
    h.mcounteren = v.domain.mode !== "hvm" && v.domain.timeOffset !== 0 ? COUNTERS_TIME_TRAPS : COUNTERS_ALL;
  }

  /** The hart `v` is loaded on, if it is an hvm vCPU whose interrupt state is live there. */
  private hvmHart(v: Vcpu): Hart | undefined {
    return v.domain.mode === "hvm" && v.pcpu !== null ? this.machine.harts[v.pcpu] : undefined;
  }

  /** Pending and enabled virtual interrupts of a trap/bt/hvm vCPU (S bit positions). */
  private pendingOf(v: Vcpu): number {
    const h = this.hvmHart(v);
    if (h !== undefined) return (h.mipSw & h.mie & VS_IRQS) >>> 1;
    return v.sip & v.sie;
  }

  /** Nothing to run on `h`: it waits for the next host interrupt (a timer or an IPI). */
  private idle(h: Hart): void {
    h.vmm = undefined;
    this.monitors[h.hartId].vcpu = undefined;
    h.pc = 0;
    h.satp = 0;
    h.flushTlbHs(-1); // what an HS kernel's sfence.vma would do: an hvm guest's entries stay
    h.waiting = true;
    h.remaining = 0;
    h.exitBlock = true;
  }

  private save(v: Vcpu, h: Hart): void {
    const p = h.hartId;
    v.regs.set(h.x);
    v.pc = h.pc;
    if (v.domain.mode === "hvm") saveHvmVcpu(v, h);
    v.pcpu = null;
    v.domain.retired += h.retired - this.loadedAt[p];
    this.loaded[p] = null;
  }

  /** One deadline for every pCPU: the scheduler's next event and the earliest vCPU timer. */
  private programTimers(): void {
    let next = Number.POSITIVE_INFINITY;
    let busy = false;
    for (let p = 0; p < this.pcpus; p++) if (this.driver.current[p] !== null) busy = true;
    // A vCPU that is neither blocked nor stopped wants to run: perhaps parked by a cap, waiting for the
    // accounting that unparks it, so the scheduler's deadline must stay armed.
    for (const v of this.vcpus.values())
      if (v.power === "started" && !v.blocked && v.domain.alive) busy = true;
    // With nothing runnable anywhere, only a vCPU timer can change anything: let the board idle.
    if (busy || this.driver.kicked) next = Math.ceil(this.driver.nextDeadline() / NS_PER_TICK);
    for (const v of this.vcpus.values()) if (v.timerAt < next) next = v.timerAt;
    for (let p = 0; p < this.pcpus; p++) {
      if (this.programmed[p] !== next) {
        this.programmed[p] = next;
        this.machine.clint.setTimecmp(p, next);
      }
    }
  }

  // ── virtual interrupts and the trap bounce ───────────────────────────────────────────────────

  /** Whether `v` has a pending virtual interrupt it can take now. */
  interruptDeliverable(v: Vcpu): boolean {
    if (v.domain.mode === "hvm") {
      const h = this.hvmHart(v);
      if (h?.hx === undefined)
        return this.pendingOf(v) !== 0 && (v.vpriv !== PRIV_S || (v.sstatus & MSTATUS_SIE) !== 0);
      return this.pendingOf(v) !== 0 && (h.priv !== PRIV_S || (h.hx.vsstatus & MSTATUS_SIE) !== 0);
    }
    return interruptToTake(v) !== undefined;
  }

  /** Delivers the highest pending virtual interrupt if the guest can take it now. */
  private deliverInterrupt(v: Vcpu, h: Hart): void {
    if (v.domain.mode === "hvm") return; // the hart delivers VS interrupts itself (hvip, hideleg)
    const cause = interruptToTake(v);
    if (cause !== undefined) this.reflect(v, h, cause, 0);
  }

  /** The trap bounce (bounce.ts): delivers `cause` to the guest kernel, or crashes the domain. */
  reflect(v: Vcpu, h: Hart, cause: number, tval: number): void {
    const why = bounce(v, h, cause, tval);
    if (why !== undefined) this.crash(v, why);
    else if (v.domain.mode !== "hvm") this.loadShadow(v, h);
  }

  private crash(v: Vcpu, why: string): void {
    this.endDomain(v.domain, { state: "crashed", code: 1, reason: `vCPU ${v.index}: ${why}` });
  }

  // ── DispatcherHost ───────────────────────────────────────────────────────────────────────────

  loadShadow(v: Vcpu, h: Hart): void {
    if (v.domain.mode === "hvm") {
      h.retagTlb(); // the hardware walks the guest's own tables: nothing to shadow, nothing to flush
      return;
    }
    h.satp = v.shadow.hostSatp(shadowKind(v));
    h.flushTlbHs(-1); // the shadows' entries (not the hvm guests', tagged by VMID)
  }

  block(v: Vcpu): void {
    if (v.blocked) return;
    v.blocked = true;
    this.driver.sleep(v.id, this.nowNs);
  }

  private wake(v: Vcpu): void {
    if (!v.blocked || v.power !== "started" || v.domain.state !== "running") return;
    v.blocked = false;
    this.driver.wake(v.id, this.nowNs);
  }

  setTimer(v: Vcpu, when: number): void {
    v.timerAt = when - v.domain.timeOffset; // guest time → host time
    this.clearVirq(v, MIP_STIP);
  }

  raiseVirq(v: Vcpu, bits: number): void {
    const hh = this.hvmHart(v);
    if (hh !== undefined) {
      // Live in the hart's hvip: the hart takes it itself when the guest enables it, no exit needed.
      hh.setSoftwareInterrupt((bits << 1) & VS_IRQS, true);
      if (this.pendingOf(v) !== 0) this.wake(v);
      return;
    }
    if (v.domain.mode === "pv") {
      sharedWrite(v, SH_PENDING, sharedRead(v, SH_PENDING) | bits);
      this.wake(v);
    } else {
      v.sip |= bits;
      if ((v.sip & v.sie) !== 0) this.wake(v);
    }
    // Running on another pCPU: make it exit so the interrupt is delivered now (an event-check IPI).
    if (v.pcpu !== null && v.pcpu !== this.here) this.ipi(v.pcpu);
  }

  clearVirq(v: Vcpu, bits: number): void {
    const hh = this.hvmHart(v);
    if (hh !== undefined) hh.setSoftwareInterrupt((bits << 1) & VS_IRQS, false);
    else if (v.domain.mode === "pv") sharedWrite(v, SH_PENDING, sharedRead(v, SH_PENDING) & ~bits);
    else v.sip &= ~bits;
  }

  shutdown(d: Domain, code: number, reason: string): void {
    this.endDomain(d, { state: "shutdown", code, reason });
  }

  startVcpu(v: Vcpu, pc: number, opaque: number): void {
    v.regs.fill(0);
    v.regs[10] = v.index;
    v.regs[11] = opaque;
    v.pc = pc >>> 0;
    v.vpriv = PRIV_S;
    v.sstatus = v.sie = v.sip = v.satp = 0;
    v.shadow.select(0);
    // A started hart begins afresh (paging off, nothing registered): a PV kernel registers its shared
    // page and trap handler again, so a vCPU brought back online cannot deliver into a stale one.
    v.sharedGpa = -1;
    v.trapHandler = 0;
    v.userAccess = false;
    v.power = "started";
    v.blocked = true; // wake() makes it runnable
    this.wake(v);
  }

  stopVcpu(v: Vcpu): void {
    v.power = "stopped";
    v.timerAt = Number.POSITIVE_INFINITY;
    if (!v.blocked) {
      v.blocked = true;
      this.driver.sleep(v.id, this.nowNs);
    }
  }

  flushTlbs(d: Domain): void {
    if (d.mode === "hvm") {
      // Its entries are tagged by VMID and outlive its vCPUs' visits: HFENCE.GVMA on every hart.
      for (const h of this.machine.harts) h.flushTlbGuest(vmidOf(d), -1);
      return;
    }
    for (let p = 0; p < this.pcpus; p++)
      if (this.loaded[p]?.domain === d) this.machine.harts[p].flushTlbHs(-1);
  }

  private endDomain(d: Domain, end: DomainEnd): void {
    if (!d.alive) return;
    d.state = end.state;
    d.end = end;
    for (const v of d.vcpus) if (v.power === "started") this.stopVcpu(v);
    for (const v of d.vcpus) v.shadow.flushAll();
    for (const v of d.vcpus) if (v.pcpu !== null && v.pcpu !== this.here) this.ipi(v.pcpu);
    d.devices?.close(); // its disk images are released at once (another domain may attach them)
    for (const fn of this.onDomainEnd) fn(d);
    if (this.persistent) return;
    let worst = 0;
    for (const x of this.domains.values()) {
      if (x.alive) return;
      worst = Math.max(worst, x.end?.code ?? 0);
    }
    this.machine.requestExit({ kind: "poweroff", code: worst });
  }
}
