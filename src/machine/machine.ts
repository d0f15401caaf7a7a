/**
 * The board: N harts, RAM and the QEMU-`virt` devices on one bus, and the loop that runs them.
 *
 * One Node thread runs every hart (pCPU), a slice at a time, round-robin:
 *
 *   round:  deadline ← the CLINT's next mtimecmp      budget ← min(SLICE, instructions until deadline)
 *           for each hart that is started and not waiting (or waiting with an interrupt pending):
 *               engine(hart, budget)                    ← the translator (dbt/) or the interpreter
 *           time += the most any hart ran;  CLINT raises MTIP;  UART pulls input
 *           if every hart waits: jump time to the deadline (icount) or sleep until it (realtime)
 *
 * Time has two clocks (architecture contract):
 *   icount    virtual time from retired instructions: ICOUNT_NS_PER_INSN per instruction of a round.
 *             Same program and input → same output, same instruction counts, same interrupts.
 *   realtime  the host's monotonic clock.
 * Within a slice, mtime as the running hart reads it includes its own progress in the slice, so time
 * never goes backwards and a timer interrupt arrives at the exact instruction its deadline names.
 */
import { Bus } from "./bus.js";
import { run as translate } from "./dbt/engine.js";
import { Clint } from "./devices/clint.js";
import type { ConsoleBackend } from "./devices/console.js";
import { BufferConsole } from "./devices/console.js";
import { Htif } from "./devices/htif.js";
import { Plic } from "./devices/plic.js";
import { SifiveTest } from "./devices/sifive-test.js";
import { Uart16550 } from "./devices/uart16550.js";
import { EmptyVirtioSlot } from "./devices/virtio-slot.js";
import { EXIT_STOPPED, type ExitReason, Hart } from "./hart.js";
import { enableH } from "./hext.js";
import {
  CLINT_BASE,
  CLINT_SIZE,
  DRAM_BASE,
  PLIC_BASE,
  PLIC_SIZE,
  TEST_BASE,
  TEST_SIZE,
  UART0_BASE,
  UART0_IRQ,
  UART0_SIZE,
  VIRTIO_BASE,
  VIRTIO_COUNT,
  VIRTIO_STRIDE,
} from "./memory-map.js";
import { DEFAULT_RAM_BYTES, INSNS_PER_MTIME_TICK, MAX_HARTS, SLICE_INSNS, TIMEBASE_HZ } from "./params.js";
import { Ram } from "./ram.js";

export type ClockKind = "icount" | "realtime";

/** An execution engine: runs a hart for up to `budget` instructions. */
export type Engine = (hart: Hart, budget: number) => ExitReason;

export interface MachineOptions {
  harts?: number;
  ramBytes?: number;
  clock?: ClockKind;
  console?: ConsoleBackend;
  engine?: Engine;
  /**
   * What to do when every hart waits for an interrupt that nothing can raise (no timer armed):
   * `exit` ends the run as a deadlock (tests, batch runs); `wait` keeps polling the console for input.
   */
  onIdle?: "exit" | "wait";
  /**
   * The H extension (hypervisor: V mode, hs/vs CSRs, two-stage translation; hext.ts), misa.H = 1.
   * Off by default: a hart without it runs none of the extension's code.
   */
  hExtension?: boolean;
}

export interface MachineExit {
  kind: "poweroff" | "reset" | "htif" | "limit" | "deadlock";
  /** The guest's exit code (0: success), or 124 for an instruction limit, 125 for a deadlock. */
  code: number;
  message?: string;
}

export interface RunOptions {
  /** Stop after this many instructions (all harts together). */
  maxInsns?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Machine {
  readonly ram: Ram;
  readonly bus: Bus;
  readonly harts: Hart[];
  readonly clint: Clint;
  readonly plic: Plic;
  readonly uart: Uart16550;
  readonly console: ConsoleBackend;
  readonly clock: ClockKind;
  engine: Engine;
  htif: Htif | undefined;
  exit: MachineExit | undefined;
  /**
   * Called after every round and while the board idles, as the UART is polled: how software above the
   * board (the hypervisor's device models) takes console input when no hart runs.
   */
  readonly pollers: (() => void)[] = [];

  private readonly onIdle: "exit" | "wait";
  /** icount: virtual time in instructions at the start of the current round. */
  private time = 0;
  private readonly startMs = performance.now();
  private current: Hart | undefined;
  private sliceStart = 0;
  /** icount: the time (in instructions) at which the current round's budget ends. */
  private roundEnd = 0;

  constructor(opts: MachineOptions = {}) {
    const n = opts.harts ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > MAX_HARTS)
      throw new Error(`harts must be 1..${MAX_HARTS}, not ${n}`);
    this.clock = opts.clock ?? "icount";
    this.console = opts.console ?? new BufferConsole();
    this.engine = opts.engine ?? translate;
    this.onIdle = opts.onIdle ?? "exit";
    this.ram = new Ram(DRAM_BASE, opts.ramBytes ?? DEFAULT_RAM_BYTES);
    this.bus = new Bus(this.ram);
    this.harts = [];
    for (let i = 0; i < n; i++) {
      const h = new Hart(i, this.bus);
      if (opts.hExtension === true) enableH(h);
      h.readTime = () => this.clint.mtime();
      this.harts.push(h);
    }
    this.clint = new Clint(this.harts, { mtime: () => this.clockMtime() }, () => {
      // A new mtimecmp: end the running hart's slice so the next round's budget sees the deadline —
      // unless (icount) the deadline falls at or after the end of this round anyway: cutting the slice
      // then would only lose the hart the rest of its round.
      if (this.clock === "icount" && this.current !== undefined) {
        const at = this.clint.nextDeadline() * INSNS_PER_MTIME_TICK;
        if (at >= this.roundEnd) return;
      }
      if (this.current !== undefined) {
        this.current.remaining = 0;
        this.current.exitBlock = true;
      }
    });
    this.plic = new Plic(this.harts);
    this.uart = new Uart16550(this.plic.line(UART0_IRQ), this.console);
    const test = new SifiveTest((e) => this.requestExit({ kind: e.kind, code: e.code }));
    this.bus.attach(TEST_BASE, TEST_SIZE, test);
    this.bus.attach(CLINT_BASE, CLINT_SIZE, this.clint);
    this.bus.attach(PLIC_BASE, PLIC_SIZE, this.plic);
    this.bus.attach(UART0_BASE, UART0_SIZE, this.uart);
    for (let i = 0; i < VIRTIO_COUNT; i++)
      this.bus.attach(VIRTIO_BASE + i * VIRTIO_STRIDE, VIRTIO_STRIDE, new EmptyVirtioSlot(`virtio${i}`));
  }

  /** Connects HTIF at the ELF's `tohost`/`fromhost` symbols. */
  attachHtif(tohost: number, fromhost: number | undefined): void {
    this.htif = new Htif(this.ram, tohost, fromhost, this.console, (e) =>
      this.requestExit({ kind: "htif", code: e.code, message: e.error }),
    );
  }

  /** Ends the run after the current instruction (poweroff, HTIF exit, reset). First request wins. */
  requestExit(e: MachineExit): void {
    this.exit ??= e;
    for (const h of this.harts) {
      h.remaining = 0;
      h.exitBlock = true;
    }
  }

  /** Instructions retired by all harts. */
  get retired(): number {
    let n = 0;
    for (const h of this.harts) n += h.retired;
    return n;
  }

  /** mtime of the clock (the CLINT adds any offset the guest wrote). */
  private clockMtime(): number {
    if (this.clock === "realtime")
      return Math.floor((performance.now() - this.startMs) * (TIMEBASE_HZ / 1000));
    const local = this.current === undefined ? 0 : this.current.retired - this.sliceStart;
    return Math.floor((this.time + local) / INSNS_PER_MTIME_TICK);
  }

  /** Virtual time of the icount clock, in nanoseconds. */
  get virtualNs(): number {
    return (this.time * 1e9) / (TIMEBASE_HZ * INSNS_PER_MTIME_TICK);
  }

  /**
   * Runs one round. Returns the time to sleep (ms) when every hart is idle in realtime, −1 when an idle
   * machine has nothing that can wake it, and 0 otherwise.
   */
  private round(limit: number): number {
    const deadline = this.clint.nextDeadline();
    let budget = SLICE_INSNS;
    if (this.clock === "icount" && deadline !== Number.POSITIVE_INFINITY) {
      const until = Math.ceil(deadline * INSNS_PER_MTIME_TICK - this.time);
      budget = Math.max(1, Math.min(budget, until));
    }
    this.roundEnd = this.time + budget;
    let ran = false;
    let advance = 0; // time passes as far as the furthest hart got (harts run in parallel)
    for (const h of this.harts) {
      if (h.stopped) continue;
      if (h.waiting) {
        if ((h.mip & h.mie) === 0) continue;
        h.waiting = false;
      }
      const left = limit - this.retired;
      if (left <= 0) break;
      this.current = h;
      this.sliceStart = h.retired;
      // Another hart ran since this one's last slice and may have written its reserved word: an SC
      // after a switch fails (the spec allows spurious failure; a retry loop just goes round once more).
      if (this.harts.length > 1) h.reservation = -1;
      const reason = this.engine(h, Math.min(budget, left));
      this.current = undefined;
      ran ||= reason !== EXIT_STOPPED;
      advance = Math.max(advance, h.retired - this.sliceStart);
      if (this.exit !== undefined) {
        this.time += h.retired - this.sliceStart; // the run ends inside this round
        return 0;
      }
    }
    let sleepMs = 0;
    if (ran) {
      // A slice cut short (WFI, a new mtimecmp) advances time only by what ran, so the next round's
      // budget still lands exactly on the new deadline.
      this.time += Math.max(1, advance);
    } else if (this.clock === "icount") {
      if (deadline === Number.POSITIVE_INFINITY) sleepMs = -1;
      else this.time = Math.max(this.time, Math.ceil(deadline * INSNS_PER_MTIME_TICK));
    } else {
      const ms =
        deadline === Number.POSITIVE_INFINITY ? 10 : (deadline - this.clockMtime()) / (TIMEBASE_HZ / 1000);
      sleepMs = Math.max(0, Math.min(10, ms));
    }
    this.clint.update();
    this.uart.poll();
    for (const p of this.pollers) p();
    // A poller may have raised an interrupt (input for a waiting guest): then the board is not idle.
    if (sleepMs !== 0 && this.harts.some((h) => !h.stopped && (h.mip & h.mie) !== 0)) sleepMs = 0;
    return sleepMs;
  }

  /** Runs until the guest exits or a limit is hit, yielding to Node's event loop so I/O gets through. */
  async run(opts: RunOptions = {}): Promise<MachineExit> {
    const limit = opts.maxInsns ?? Number.POSITIVE_INFINITY;
    this.resumeAfterLimit();
    let lastYield = performance.now();
    while (this.exit === undefined) {
      if (this.retired >= limit) return this.stop("limit", `stopped after ${limit} instructions`);
      const idle = this.round(limit);
      if (idle < 0) {
        if (this.onIdle === "exit") return this.deadlock();
        await sleep(5);
        this.uart.poll();
        for (const p of this.pollers) p();
      } else if (idle > 0) {
        await sleep(idle);
      } else if (performance.now() - lastYield > 20) {
        await new Promise((r) => setImmediate(r));
        lastYield = performance.now();
      }
    }
    return this.exit;
  }

  /** Runs to the end without yielding: for tests and benchmarks with buffered consoles (icount clock). */
  runSync(opts: RunOptions = {}): MachineExit {
    if (this.clock !== "icount") throw new Error("runSync needs the icount clock");
    const limit = opts.maxInsns ?? Number.POSITIVE_INFINITY;
    this.resumeAfterLimit();
    while (this.exit === undefined) {
      if (this.retired >= limit) return this.stop("limit", `stopped after ${limit} instructions`);
      if (this.round(limit) < 0) return this.deadlock();
    }
    return this.exit;
  }

  /**
   * A run stopped at its instruction limit stopped between instructions with nothing ended: running
   * again carries on from there (tests stop a guest part way, look at it, and let it go on).
   */
  private resumeAfterLimit(): void {
    if (this.exit?.kind === "limit") this.exit = undefined;
  }

  private stop(kind: "limit" | "deadlock", message: string): MachineExit {
    this.exit = { kind, code: kind === "limit" ? 124 : 125, message };
    return this.exit;
  }

  private deadlock(): MachineExit {
    const states = this.harts.map(
      (h) => `hart ${h.hartId}: ${h.stopped ? "stopped" : `wfi at 0x${h.pc.toString(16)}`}`,
    );
    return this.stop(
      "deadlock",
      `every hart waits for an interrupt and no timer is armed (${states.join(", ")})`,
    );
  }
}
