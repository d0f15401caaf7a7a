/**
 * The `modes` suite: the guest kernel (guest/kernel) doing the same work in each virtualization mode,
 * so the cost of each mode shows as time and as exits.
 *
 *   native   kernel.elf on the bare board with rvisor's SBI firmware, one hart (as `rvisor run --firmware sbi`)
 *   trap     kernel.elf as a domain of the hypervisor, deprivileged: privileged instructions trap and are
 *            emulated, page tables are shadowed (`rvisor run --mode trap`)
 *   bt       kernel.elf as a domain in bt mode: the same, but privileged instructions call the monitor
 *            directly from the translated code instead of trapping (`rvisor run --mode bt`)
 *   hvm      kernel.elf as a domain in VS-mode on the H extension, memory behind G-stage tables
 *   pv       kernel-pv.elf as a domain in pv mode: hypercalls and a shared page instead (docs/pv-abi.md)
 *   qemu     kernel.elf on qemu-system-riscv32 behind the boot shim: the reference for native
 *
 * Workloads: the kernel's own test suite (the -autotest builds, which run `test all` at boot and power
 * off), the boot alone (the baseline inside every shell workload), and shell sessions fed on the console
 * input, one per kind of load: CPU-bound, system-call-heavy, fork-heavy, page-touching. Every run must
 * end in a clean power-off with the same test results or shell transcript in every mode and on QEMU: a
 * fast wrong answer measures nothing.
 *
 * Per workload and mode: host time of the run (median of --runs), guest instructions, exits in total, by
 * cause and per 1000 instructions, time relative to native, and native's time relative to QEMU's.
 * Runs are sequential and interleaved, each round running every mode once, so a change in the host's load
 * falls on every mode alike; each round starts with the next mode, since a run can find some of its work
 * done by the one before it (V8 may reuse its compilation of a translated block's identical source). rvisor runs on the icount clock and QEMU with -icount sleep=off, so neither
 * spends host time on the guest's idle time.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import Table from "cli-table3";
import { ENGINES, type EngineName } from "../cli/registry.js";
import { Hypervisor } from "../hypervisor/hypervisor.js";
import { boot } from "../machine/boot.js";
import { BufferConsole } from "../machine/devices/console.js";
import { type ElfImage, readElfFile } from "../machine/elf.js";
import { sbiFirmware } from "../machine/firmware/sbi.js";
import type { Hart } from "../machine/hart.js";
import { Machine, type MachineExit } from "../machine/machine.js";
import { walkStats } from "../machine/mmu.js";
import { guestBuildDir, guestProgramElf, shimElf } from "../testing/guest-build.js";
import { kernelAutotestElf, kernelElf, testResultLines, testSummary } from "../testing/kernel.js";
import { DEFAULT_QEMU_CPU, runQemu } from "../testing/qemu.js";
import type { Figure, SuiteResult } from "./results.js";
import { median } from "./results.js";

export const MODES = ["native", "trap", "bt", "pv", "hvm"] as const;
export type Mode = (typeof MODES)[number];
/** The modes that run the kernel as a domain (and so take exits). */
export const VIRT_MODES = ["trap", "bt", "pv", "hvm"] as const;

/** Guest RAM in every mode and on QEMU (the kernel's tests want at least 16 MiB; pv wants 4 MiB multiples). */
export const MEMORY_MIB = 32;
/** The hypervisor's pCPUs: one, as the native board has one hart. */
export const PCPUS = 1;
const MiB = 1024 * 1024;
/** QEMU is killed after this long; the slowest workload takes well under a second on it. */
const QEMU_TIMEOUT_MS = 60_000;

export interface ModesWorkload {
  /** The figures' prefix. */
  name: string;
  /** What it exercises, for the notes. */
  what: string;
  /** Shell command lines typed at the prompt, `shutdown` after them; undefined: the -autotest builds. */
  commands?: readonly string[];
  /** A line the transcript must hold: a program's non-zero exit status that is its answer. */
  expect?: RegExp;
}

const times = (n: number, line: string): string[] => new Array<string>(n).fill(line);

/** The workloads, in the order they run; `autotest` is the suite's main one (its exits are tabled). */
export const MODES_WORKLOADS: readonly ModesWorkload[] = [
  {
    name: "autotest",
    what: "the kernel's test suite (`test all` at boot: kalloc, vm, copy, spawn, fork, preempt, sleep, faults, ...)",
  },
  {
    name: "boot",
    what: "boot to the shell and `shutdown`: the baseline inside every shell workload below",
    commands: [],
  },
  {
    name: "cpu",
    what: "`run cpu 200000`: primes below 200000 by trial division in U-mode, one system call at the end",
    commands: ["run cpu 200000 -q"],
    expect: /^\[cpu: pid \d+ exited with status 17984\]$/m,
  },
  {
    name: "syscalls",
    what: "`run syscalls 2000`: 2000 rounds of getpid, uptime, yield and write (8000 system calls)",
    commands: ["run syscalls 2000 -q"],
  },
  {
    name: "forks",
    what: "`run forks 7` ×4: 28 forks (whole address-space copies) and 28 spawns, every status checked",
    commands: times(4, "run forks 7 -q"),
  },
  {
    name: "mem",
    what: "`run mem 2048` ×2: sbrk 2 MiB, write and read back every word, shrink; twice (1024 page touches)",
    commands: times(2, "run mem 2048 -q"),
  },
];

/** The order of the modes in round `i`: rotated, so that each mode comes first in turn. */
export function roundOrder(i: number): Mode[] {
  const k = i % MODES.length;
  return [...MODES.slice(k), ...MODES.slice(0, k)];
}

export function findModesWorkload(name: string): ModesWorkload {
  const w = MODES_WORKLOADS.find((x) => x.name === name);
  if (w === undefined) {
    const known = MODES_WORKLOADS.map((x) => x.name).join(", ");
    throw new Error(`unknown workload '${name}'; workloads: ${known}`);
  }
  return w;
}

/** The console input of a shell workload: its lines, then `shutdown` (the shell polls, so input must end). */
export function shellInput(commands: readonly string[]): string {
  return [...commands, "shutdown", ""].join("\n");
}

/**
 * What must be the same on every run of a workload, in every mode and on QEMU: the autotest's result
 * lines, or the shell session from the first prompt on (the boot banner before it counts free pages,
 * which differ between the native and PV builds). Throws when the run did not do its work correctly.
 */
export function transcript(w: ModesWorkload, stdout: string): string {
  if (w.commands === undefined) {
    const s = testSummary(stdout);
    if (s === undefined) throw new Error(`${w.name}: no test summary in the output:\n${tail(stdout)}`);
    if (s.failed > 0) throw new Error(`${w.name}: tests failed (${s.failures.join(", ")}):\n${tail(stdout)}`);
    return testResultLines(stdout).join("\n");
  }
  const start = stdout.search(/^\$ /m);
  if (start < 0) throw new Error(`${w.name}: the shell never prompted:\n${tail(stdout)}`);
  const session = stdout.slice(start);
  if (!session.endsWith("$ shutdown\nshutting down\n"))
    throw new Error(`${w.name}: the session did not end with shutdown:\n${tail(session)}`);
  for (const line of session.split("\n")) {
    const failed = /exited with status|^kernel: /.test(line) && !(w.expect?.test(line) ?? false);
    if (failed) throw new Error(`${w.name}: ${line}\n${tail(session)}`);
  }
  if (w.expect !== undefined && !w.expect.test(session))
    throw new Error(`${w.name}: no line matches ${w.expect}:\n${tail(session)}`);
  return session;
}

const tail = (text: string): string => text.split("\n").slice(-20).join("\n");

/** The kernel builds: the shell (shell workloads) or the autotest build, natively or paravirtualized. */
export interface KernelImages {
  shell: { native: ElfImage; pv: ElfImage };
  autotest: { native: ElfImage; pv: ElfImage };
}

/** The PV builds' paths (testing/kernel.ts names the native ones). */
export const kernelPvElf = (): string => requireBuilt("kernel-pv.elf");
export const kernelPvAutotestElf = (): string => requireBuilt("kernel-pv-autotest.elf");

function requireBuilt(file: string): string {
  const path = join(guestBuildDir, "kernel", file);
  if (!existsSync(path))
    throw new Error(`${path} has not been built: run 'npm run build:guest' (needs Debian's clang and lld)`);
  return path;
}

export function loadKernels(): KernelImages {
  return {
    shell: { native: readElfFile(kernelElf()), pv: readElfFile(kernelPvElf()) },
    autotest: { native: readElfFile(kernelAutotestElf()), pv: readElfFile(kernelPvAutotestElf()) },
  };
}

/** One run of a workload in one mode. */
export interface ModeRun {
  /** Host time of the run alone: building the machine or domain and loading the kernel excluded. */
  ms: number;
  /** Guest instructions retired (in trap mode including the privileged ones the hypervisor emulated). */
  retired: number;
  /** Exits by cause, the dispatcher's labels; undefined natively, where there is no hypervisor. */
  exits?: ReadonlyMap<string, number>;
  /** The memory system's cost: TLB misses, and the page-table entries read to serve them. */
  mmu?: MmuCounts;
  transcript: string;
}

/**
 * TLB misses (hart slow-path translations), page-table entries the hardware walker read (Sv32, or
 * VS-stage + G-stage in hvm), and guest page-table entries the hypervisor read in software to fill
 * shadow tables (trap, bt, pv).
 */
export interface MmuCounts {
  tlbMisses: number;
  walkRefs: number;
  softwareWalkRefs: number;
}

/** Runs a workload once in one mode, in this process, to its power-off. */
export function runMode(w: ModesWorkload, mode: Mode, engine: EngineName, kernels: KernelImages): ModeRun {
  const set = w.commands === undefined ? kernels.autotest : kernels.shell;
  const console = new BufferConsole(w.commands === undefined ? "" : shellInput(w.commands));
  const what = `${w.name} (${mode}, ${engine})`;
  let exit: MachineExit;
  let ms: number;
  let retired: number;
  let exits: Map<string, number> | undefined;
  let harts: readonly Hart[] = [];
  let softwareWalkRefs = 0;
  const walksBefore = walkStats.pteReads;
  if (mode === "native") {
    const machine = new Machine({
      ramBytes: MEMORY_MIB * MiB,
      clock: "icount",
      console,
      onIdle: "exit",
      engine: ENGINES[engine].engine,
    });
    boot(machine, set.native, { firmware: sbiFirmware });
    harts = machine.harts;
    const start = performance.now();
    exit = machine.runSync();
    ms = performance.now() - start;
    retired = machine.retired;
  } else {
    const hv = new Hypervisor({
      pcpus: PCPUS,
      hostMemoryMiB: MEMORY_MIB + 40, // the domain's memory, shadow tables and the device tree
      clock: "icount",
      engine: ENGINES[engine].engine,
      onIdle: "exit",
    });
    const d = hv.createDomain({
      mode,
      kernel: mode === "pv" ? set.pv : set.native, // bt and trap run the unmodified kernel
      memoryMiB: MEMORY_MIB,
      console,
    });
    const start = performance.now();
    exit = hv.runSync();
    ms = performance.now() - start;
    if (d.end?.state !== "shutdown")
      throw new Error(`${what}: the domain ${d.end?.state ?? d.state}: ${d.end?.reason ?? exit.kind}`);
    retired = d.retired;
    exits = new Map(d.exits);
    harts = hv.machine.harts;
    for (const v of d.vcpus) softwareWalkRefs += v.shadow.stats.guestPteReads;
  }
  const stdout = console.bytes().toString("latin1");
  if (exit.kind !== "poweroff" || exit.code !== 0)
    throw new Error(`${what}: ${exit.kind}, exit code ${exit.code}: ${exit.message ?? ""}\n${tail(stdout)}`);
  const mmu: MmuCounts = {
    tlbMisses: harts.reduce((n, h) => n + h.tlbFills, 0),
    walkRefs: walkStats.pteReads - walksBefore,
    softwareWalkRefs,
  };
  return { ms, retired, exits, mmu, transcript: transcript(w, stdout) };
}

/** QEMU: spawn to exit of the native kernel behind the boot shim, same RAM, icount without sleeping. */
export async function runQemuWorkload(w: ModesWorkload): Promise<{ ms: number; transcript: string }> {
  const elf = w.commands === undefined ? kernelAutotestElf() : kernelElf();
  const start = performance.now();
  const r = await runQemu(elf, {
    bios: shimElf,
    memoryMiB: MEMORY_MIB,
    icount: true,
    stdin: w.commands === undefined ? undefined : shellInput(w.commands),
    timeoutMs: QEMU_TIMEOUT_MS,
  });
  const ms = performance.now() - start;
  if (r.timedOut) throw new Error(`${w.name} (qemu): did not finish within ${QEMU_TIMEOUT_MS / 1000} s`);
  if (r.exitCode !== 0)
    throw new Error(`${w.name} (qemu): exit code ${r.exitCode}\n${tail(r.stdout)}${r.stderr}`);
  return { ms, transcript: transcript(w, r.stdout) };
}

/**
 * QEMU runs per workload, at least: a QEMU run is spawn to exit, whose noise on a busy host (tens of ms)
 * is as large as a whole workload's net time, so the fastest of several is taken (noise only adds).
 */
export const QEMU_MIN_RUNS = 5;

/** QEMU's start-up with the same options: sbi-hello behind the shim, spawn to exit, fastest of QEMU_MIN_RUNS. */
export async function qemuStartupMs(): Promise<number> {
  const all: number[] = [];
  for (let i = 0; i < QEMU_MIN_RUNS; i++) {
    const start = performance.now();
    const r = await runQemu(guestProgramElf("sbi-hello"), {
      bios: shimElf,
      memoryMiB: MEMORY_MIB,
      icount: true,
      timeoutMs: 10_000,
    });
    if (r.exitCode !== 0)
      throw new Error(`qemu: sbi-hello exited with ${r.exitCode}:\n${r.stdout}${r.stderr}`);
    all.push(performance.now() - start);
  }
  return Math.min(...all);
}

/** A workload in one mode on one engine: the median time and the first run's counts. */
export interface ModeResult {
  ms: number;
  retired: number;
  exits?: ReadonlyMap<string, number>;
  mmu?: MmuCounts;
}

export interface WorkloadResult {
  workload: ModesWorkload;
  /** engine → mode → result; every engine run has all three modes. */
  rvisor: Partial<Record<EngineName, Record<Mode, ModeResult>>>;
  qemu: { ms: number; netMs: number };
}

/** The translator's figures carry no engine in their names; any other engine's carry its name. */
const enginePrefix = (e: EngineName): string => (e === "dbt" ? "" : `${e}.`);

/** The engines a result has, the translator first: its counts are the ones reported. */
export function enginesOf(r: WorkloadResult): EngineName[] {
  const all = Object.keys(r.rvisor) as EngineName[];
  return [...all.filter((e) => e === "dbt"), ...all.filter((e) => e !== "dbt")];
}

/** QEMU's net time is never taken below this, so a tiny run cannot give an infinite ratio. */
export const MIN_NET_MS = 1;

export function totalExits(exits: ReadonlyMap<string, number> | undefined): number {
  let n = 0;
  for (const v of exits?.values() ?? []) n += v;
  return n;
}

/** Exits per 1000 guest instructions. */
export const exitsPerKinsn = (r: ModeResult): number => (totalExits(r.exits) / r.retired) * 1000;

/** The medians of a workload's runs in one mode; the counts of the first run, since they should not vary. */
export function summarizeRuns(runs: readonly ModeRun[]): ModeResult {
  if (runs.length === 0) throw new Error("summarizeRuns: no runs");
  const { retired, exits, mmu } = runs[0];
  return { ms: median(runs.map((r) => r.ms)), retired, exits, ...(mmu !== undefined ? { mmu } : {}) };
}

/** Where runs of one workload and mode disagree on their counts (the guest is deterministic on icount). */
export function countDisagreements(label: string, runs: readonly ModeRun[]): string[] {
  const out: string[] = [];
  const retired = new Set(runs.map((r) => r.retired));
  if (retired.size > 1) out.push(`${label}: instructions differ between runs: ${[...retired].join(", ")}`);
  const exits = new Set(runs.map((r) => totalExits(r.exits)));
  if (exits.size > 1) out.push(`${label}: exits differ between runs: ${[...exits].join(", ")}`);
  return out;
}

const fig = (value: number, unit: string, goal: number | null = null): Figure => ({
  value,
  unit,
  goal,
  better: "lower",
});

/**
 * The figures of one workload, named `<workload>.<mode>.<figure>`: ms (the translator's, or the one
 * engine's), instructions, exits and exits_per_kinsn (trap, bt, pv), vs_native (trap, bt, pv; bt's and pv's goal is
 * trap's value: paravirtualization should never cost more than trapping); native.vs_qemu; qemu.ms and
 * qemu.net_ms; and with the interpreter as a second engine, <mode>.interp.ms and .interp.vs_native.
 */
export function workloadFigures(r: WorkloadResult): Record<string, Figure> {
  const figures: Record<string, Figure> = {};
  const w = r.workload.name;
  for (const [i, engine] of enginesOf(r).entries()) {
    const modes = r.rvisor[engine];
    if (modes === undefined) continue;
    const prefix = enginePrefix(engine);
    const native = modes.native.ms;
    for (const mode of MODES) {
      const m = modes[mode];
      figures[`${w}.${mode}.${prefix}ms`] = fig(m.ms, "ms");
      if (i === 0) {
        figures[`${w}.${mode}.instructions`] = fig(m.retired, "insn");
        if (m.mmu !== undefined) {
          figures[`${w}.${mode}.tlb_misses`] = fig(m.mmu.tlbMisses, "misses");
          figures[`${w}.${mode}.walk_refs`] = fig(m.mmu.walkRefs + m.mmu.softwareWalkRefs, "PTE reads");
        }
        if (mode !== "native") {
          figures[`${w}.${mode}.exits`] = fig(totalExits(m.exits), "exits");
          figures[`${w}.${mode}.exits_per_kinsn`] = fig(exitsPerKinsn(m), "exits/kinsn");
        }
      }
    }
    for (const mode of VIRT_MODES) {
      // The goal as precise as the file keeps the figure it comes from (results.ts: 4 digits): pv and bt
      // should beat trap-and-emulate.
      const goal = mode !== "trap" ? Number((modes.trap.ms / native).toPrecision(4)) : null;
      figures[`${w}.${mode}.${prefix}vs_native`] = fig(modes[mode].ms / native, "×", goal);
    }
    figures[`${w}.native.${prefix}vs_qemu`] = fig(native / r.qemu.netMs, "×");
  }
  figures[`${w}.qemu.ms`] = fig(r.qemu.ms, "ms");
  figures[`${w}.qemu.net_ms`] = fig(r.qemu.netMs, "ms");
  return figures;
}

const TABLE_STYLE = {
  style: { head: [], border: [] },
  chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
};

const grouped = (n: number): string => Math.round(n).toLocaleString("en-US");
const ratio = (n: number): string => `${n.toFixed(2)}×`;

/** One row per workload and mode: time, ×native, instructions, exits, exits per 1000 instructions, QEMU. */
export function summaryTable(results: readonly WorkloadResult[]): string {
  const engines = [...new Set(results.flatMap(enginesOf))];
  const head = ["workload", "mode"];
  for (const e of engines) head.push(`${e} ms`, "×native");
  head.push("Minsn", "exits", "exits/kinsn", "QEMU net ms", "native÷QEMU");
  const table = new Table({ head, ...TABLE_STYLE });
  for (const r of results) {
    for (const mode of MODES) {
      const row = [r.workload.name, mode];
      for (const e of engines) {
        const modes = r.rvisor[e];
        if (modes === undefined) row.push("", "");
        else row.push(modes[mode].ms.toFixed(0), ratio(modes[mode].ms / modes.native.ms));
      }
      const first = r.rvisor[engines[0]];
      const m = first?.[mode];
      row.push(m === undefined ? "" : (m.retired / 1e6).toFixed(2));
      row.push(m === undefined || mode === "native" ? "-" : grouped(totalExits(m.exits)));
      row.push(m === undefined || mode === "native" ? "-" : exitsPerKinsn(m).toFixed(2));
      const native = first?.native.ms;
      const q = mode === "native" && native !== undefined;
      row.push(q ? r.qemu.netMs.toFixed(0) : "", q ? ratio(native / r.qemu.netMs) : "");
      table.push(row);
    }
  }
  return table.toString();
}

/**
 * Exits by cause in trap, bt and pv mode for one workload: count and per 1000 instructions, causes in order
 * of their total, then the total and the instruction count. For the hypervisor's notes.
 */
export function exitsByCauseTable(r: WorkloadResult, engine: EngineName): string {
  const modes = r.rvisor[engine];
  if (modes === undefined) throw new Error(`exitsByCauseTable: no ${engine} runs of ${r.workload.name}`);
  const virt = VIRT_MODES.map((m) => modes[m]);
  const count = (m: ModeResult, c: string): number => m.exits?.get(c) ?? 0;
  const sum = (c: string): number => virt.reduce((n, m) => n + count(m, c), 0);
  const causes = [...new Set(virt.flatMap((m) => [...(m.exits?.keys() ?? [])]))].sort(
    (a, b) => sum(b) - sum(a) || (a < b ? -1 : 1),
  );
  const table = new Table({
    head: ["cause", ...VIRT_MODES.flatMap((m) => [m, `${m} /kinsn`])],
    colAligns: ["left", ...VIRT_MODES.flatMap(() => ["right", "right"] as const)],
    ...TABLE_STYLE,
  });
  const per = (n: number, m: ModeResult): string => ((n / m.retired) * 1000).toFixed(3);
  const cells = (n: (m: ModeResult) => number): string[] =>
    virt.flatMap((m) => [n(m) === 0 ? "-" : grouped(n(m)), n(m) === 0 ? "" : per(n(m), m)]);
  for (const c of causes) table.push([c, ...cells((m) => count(m, c))]);
  table.push(["total", ...cells((m) => totalExits(m.exits))]);
  table.push(["instructions", ...virt.flatMap((m) => [grouped(m.retired), ""])]);
  table.push(["host ms", ...virt.flatMap((m) => [m.ms.toFixed(0), ratio(m.ms / modes.native.ms)])]);
  return `${r.workload.name}: exits by cause (${engine}; native: ${grouped(modes.native.retired)} instructions, ${modes.native.ms.toFixed(0)} ms)\n${table.toString()}`;
}

/**
 * The memory system per mode for one workload: TLB misses and page-table references, hardware and
 * software, per 1000 instructions — shadow paging (trap, bt, pv) against two-stage translation (hvm).
 */
export function mmuTable(r: WorkloadResult, engine: EngineName): string {
  const modes = r.rvisor[engine];
  if (modes === undefined) throw new Error(`mmuTable: no ${engine} runs of ${r.workload.name}`);
  const table = new Table({
    head: ["mode", "TLB misses", "/kinsn", "walk PTE reads", "/miss", "software walk reads", "/kinsn"],
    colAligns: ["left", "right", "right", "right", "right", "right", "right"],
    ...TABLE_STYLE,
  });
  for (const mode of MODES) {
    const m = modes[mode];
    const c = m.mmu;
    if (c === undefined) continue;
    const k = m.retired / 1000;
    table.push([
      mode,
      grouped(c.tlbMisses),
      (c.tlbMisses / k).toFixed(2),
      grouped(c.walkRefs),
      c.tlbMisses === 0 ? "-" : (c.walkRefs / c.tlbMisses).toFixed(2),
      c.softwareWalkRefs === 0 ? "-" : grouped(c.softwareWalkRefs),
      c.softwareWalkRefs === 0 ? "" : (c.softwareWalkRefs / k).toFixed(3),
    ]);
  }
  return `${r.workload.name}: the memory system (${engine})\n${table.toString()}`;
}

export interface ModesOptions {
  runs: number;
  /** Workload names; all of them when absent. */
  workloads?: string[];
  /** Engines to run rvisor on (default: the translator); figures of any but the translator name theirs. */
  engines?: EngineName[];
  log: (line: string) => void;
}

export async function modesSuite(opts: ModesOptions): Promise<SuiteResult> {
  const log = opts.log;
  const workloads = opts.workloads?.map(findModesWorkload) ?? MODES_WORKLOADS;
  const engines: EngineName[] = [...new Set(opts.engines ?? (["dbt"] as const))];
  const kernels = loadKernels();
  const notes: string[] = [];

  // Warm-up, not measured: the emulator's own code gets compiled by V8 on the first runs, whichever mode
  // that would be.
  const warm = findModesWorkload("boot");
  for (const engine of engines) for (const mode of MODES) runMode(warm, mode, engine, kernels);
  const startupMs = await qemuStartupMs();
  log(`qemu start-up (sbi-hello behind the shim, -icount): ${startupMs.toFixed(0)} ms`);

  const results: WorkloadResult[] = [];
  for (const w of workloads) {
    const rvisor: WorkloadResult["rvisor"] = {};
    const transcripts = new Set<string>();
    for (const engine of engines) {
      const runs: Record<Mode, ModeRun[]> = { native: [], trap: [], bt: [], pv: [], hvm: [] };
      for (let i = 0; i < opts.runs; i++) {
        for (const mode of roundOrder(i)) {
          const run = runMode(w, mode, engine, kernels);
          runs[mode].push(run);
          transcripts.add(run.transcript);
          const exits = run.exits === undefined ? "" : `, ${totalExits(run.exits)} exits`;
          log(`${w.name} ${mode} (${engine}): ${run.ms.toFixed(0)} ms, ${run.retired} instructions${exits}`);
        }
      }
      for (const mode of MODES)
        notes.push(...countDisagreements(`${w.name} ${mode} (${engine})`, runs[mode]));
      rvisor[engine] = {
        native: summarizeRuns(runs.native),
        trap: summarizeRuns(runs.trap),
        bt: summarizeRuns(runs.bt),
        pv: summarizeRuns(runs.pv),
        hvm: summarizeRuns(runs.hvm),
      };
    }
    const [first, ...others] = engines;
    for (const e of others) {
      for (const mode of MODES) {
        const a = rvisor[first]?.[mode];
        const b = rvisor[e]?.[mode];
        if (a === undefined || b === undefined) continue;
        if (a.retired !== b.retired || totalExits(a.exits) !== totalExits(b.exits))
          notes.push(
            `${w.name} ${mode}: ${first} and ${e} differ: ${a.retired} vs ${b.retired} instructions, ` +
              `${totalExits(a.exits)} vs ${totalExits(b.exits)} exits`,
          );
      }
    }
    const qemu: number[] = [];
    for (let i = 0; i < Math.max(opts.runs, QEMU_MIN_RUNS); i++) {
      const q = await runQemuWorkload(w);
      transcripts.add(q.transcript);
      qemu.push(q.ms);
      log(`${w.name} qemu: ${q.ms.toFixed(0)} ms`);
    }
    if (transcripts.size > 1)
      throw new Error(`${w.name}: runs printed different results:\n${[...transcripts].join("\n---\n")}`);
    const qemuMs = Math.min(...qemu);
    results.push({
      workload: w,
      rvisor,
      qemu: { ms: qemuMs, netMs: Math.max(qemuMs - startupMs, MIN_NET_MS) },
    });
  }

  const figures: Record<string, Figure> = {};
  for (const r of results) Object.assign(figures, workloadFigures(r));
  figures["qemu.startup_ms"] = fig(startupMs, "ms");

  const tables = [summaryTable(results)];
  const main = results.find((r) => r.workload.name === "autotest") ?? results[0];
  if (main !== undefined) tables.push(exitsByCauseTable(main, enginesOf(main)[0]));
  for (const r of results) tables.push(mmuTable(r, enginesOf(r)[0]));

  const context: Record<string, string | number> = {
    runs: opts.runs,
    engines: engines.join(","),
    memoryMiB: MEMORY_MIB,
    pcpus: PCPUS,
    qemuCpu: DEFAULT_QEMU_CPU,
    node: process.version,
  };
  for (const w of workloads)
    context[`${w.name}.input`] = w.commands === undefined ? "(autotest build)" : w.commands.join("; ");

  return {
    suite: "modes",
    figures,
    notes: [
      `median of ${opts.runs} runs per mode; runs are sequential and interleaved, each round starting with ` +
        "the next mode (native trap pv, trap pv native, ...: V8 may reuse its compilation of identical translated " +
        "blocks, which would favour a mode that follows another running the same kernel), after one " +
        "unmeasured boot in each mode",
      "native: the kernel on rvisor's bare board with the SBI firmware (TypeScript, so it retires no guest " +
        `instructions); trap, pv: a domain of ${MEMORY_MIB} MiB on a hypervisor with ${PCPUS} pCPU; the pv mode ` +
        "runs the PARAVIRT build (kernel-pv*.elf), the others the native build",
      "ms: host time of the run alone, icount clock, in process (building the machine or domain and loading " +
        "the kernel excluded); vs_native: a mode's ms over native's on the same engine; pv's goal is trap's " +
        "vs_native (the PV interface should never cost more than trapping)",
      "instructions: retired by the guest (the domain's vCPUs; in trap mode the privileged instructions the " +
        "hypervisor emulates count too); exits: traps the hypervisor handled, by the dispatcher's cause labels; " +
        "the instructions and exits are the first run's (they should not vary; differences are noted)",
      "qemu: qemu-system-riscv32 -machine virt, the native kernel behind the boot shim, -m " +
        `${MEMORY_MIB}M -icount shift=3,sleep=off (idle time skipped, as on rvisor's icount clock); wall time ` +
        `spawn to exit, the fastest of max(--runs, ${QEMU_MIN_RUNS}) runs (spawn noise on a busy host is tens ` +
        "of ms and only adds); net_ms subtracts qemu.startup_ms (sbi-hello, same options, fastest of " +
        `${QEMU_MIN_RUNS}), never below ${MIN_NET_MS} ms; native.vs_qemu is native's ms over QEMU's net_ms, ` +
        "and means little where net_ms is within that noise (boot)",
      "every run must power off cleanly with the same test results (autotest) or shell transcript in every " +
        "mode and on QEMU",
      ...workloads.map((w) => `${w.name}: ${w.what}`),
      ...notes,
    ],
    context,
    summary: tables.join("\n\n"),
  };
}
