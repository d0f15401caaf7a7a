/**
 * `rvisor run --mode trap|pv <kernel.elf>` and `rvisor run --domain … [--domain …]`: guest kernels as
 * domains of the hypervisor, on the host's harts (pCPUs).
 *
 *   one domain     its console is stdin/stdout, as `rvisor run` on the bare board
 *   several        each domain's output lines go to stdout prefixed with "[name] "; stdin goes to the first
 *   exit status    the domain's exit code (the worst of them with several); 124 at --max-insns
 *   --stats        per domain: state, instructions, and exits counted by cause (the dispatcher's labels);
 *                  then the scheduler's view: each domain's CPU time and share of the host
 *   --sched-trace  the scheduler's Gantt trace (which vCPU ran on which pCPU when) as JSON, after the run
 *
 * A --domain spec is xl-like key=value pairs: mode=trap|pv (required), kernel=PATH (required),
 * memory=SIZE, vcpus=N, name=NAME, weight=N, cap=N, disk=PATH and disk-ro=PATH (a raw image on
 * virtio-blk, read-write or read-only; repeatable, the guest's xvda, xvdb, ... in the order given;
 * disk=qcow2:PATH for a qcow2 overlay, as xl's deprecated format prefix says it; raw: is the default),
 * vif=BRIDGE, mac=MAC, bootargs=TEXT (last: it may contain commas).
 *
 * Networking: `vif=BRIDGE` gives the domain a virtio-net interface on the virtual switch BRIDGE (one
 * switch per name, made on first use; `vif=` alone is xenbr0), `mac=` its address (default
 * 00:16:3e:00:00:<domain id>, so the guest kernel's address is 10.0.0.<id>); `mac=` alone implies `vif=`.
 * Domains on one bridge reach each other; --stats adds each switch's ports and learned addresses.
 */
import { writeFileSync } from "node:fs";
import Table from "cli-table3";
import { parseVifSpec } from "../control/config/vif-spec.js";
import { Bridges } from "../control/net/bridges.js";
import type { VirtualSwitch } from "../control/net/switch.js";
import { DOMAIN_MODES, type Domain, type DomainMode } from "../hypervisor/domain.js";
import { DomainConfigError, Hypervisor, type Quirk } from "../hypervisor/hypervisor.js";
import { OutOfFramesError } from "../hypervisor/memory/errors.js";
import { type HostSchedInfo, schedStats, schedTrace } from "../hypervisor/sched-control.js";
import { isSchedulerName, SCHEDULER_NAMES, type SchedulerName } from "../hypervisor/scheduler/registry.js";
import type { DiskFormat } from "../hypervisor/virtio/disk-image.js";
import { type ConsoleBackend, StdioConsole } from "../machine/devices/console.js";
import type { ClockKind, MachineExit } from "../machine/machine.js";
import { MiB, parseChoice, parseIntInRange, parseMemorySize, UsageError } from "./options.js";
import { ENGINES, type EngineName } from "./registry.js";
import { loadGuest, watchForDeadlock } from "./run.js";

export interface DomainArg {
  mode: DomainMode;
  kernel: string;
  memoryBytes: number;
  vcpus: number;
  name: string | undefined;
  bootargs: string | undefined;
  weight: number | undefined;
  cap: number | undefined;
  /** Disk images, in slot order. */
  disks: { path: string; format: DiskFormat; readOnly: boolean }[];
  /** A network interface: the switch it is on and, if given, its MAC. */
  vif?: { bridge: string; mac?: string };
}

export interface HypervisorRunSettings {
  domains: DomainArg[];
  pcpus: number;
  maxInsns: number | undefined;
  clock: ClockKind;
  engine: EngineName;
  scheduler: SchedulerName;
  stats: boolean;
  /** Host CPU quirks (Hypervisor option). */
  quirks?: readonly Quirk[];
  /** Where to write the scheduler's Gantt trace (JSON) after the run. */
  schedTrace?: string;
}

const DOMAIN_KEYS = [
  "mode",
  "kernel",
  "memory",
  "vcpus",
  "name",
  "bootargs",
  "weight",
  "cap",
  "disk",
  "disk-ro",
  "vif",
  "mac",
] as const;

/** Parses one --domain spec; the message quotes the spec and names the bad key. */
export function parseDomainSpec(text: string): DomainArg {
  const fields = new Map<string, string>();
  const disks: DomainArg["disks"] = [];
  let last: string | undefined;
  for (const piece of text.split(",")) {
    const eq = piece.indexOf("=");
    const key = eq < 0 ? "" : piece.slice(0, eq).trim();
    if (eq < 0 || !(DOMAIN_KEYS as readonly string[]).includes(key)) {
      // bootargs may contain commas: a piece that is not key=value continues it.
      if (last === "bootargs") {
        fields.set("bootargs", `${fields.get("bootargs")},${piece}`);
        continue;
      }
      throw new UsageError(
        `--domain '${text}': '${piece}' is not key=value with a key among ${DOMAIN_KEYS.join(", ")}`,
      );
    }
    last = key;
    if (key === "disk" || key === "disk-ro") {
      const prefix = /^(raw|qcow2):/.exec(piece.slice(eq + 1));
      const path = piece.slice(eq + 1 + (prefix?.[0].length ?? 0));
      if (path === "") throw new UsageError(`--domain '${text}': ${key}= needs an image path`);
      disks.push({
        path,
        format: (prefix?.[1] as DiskFormat | undefined) ?? "raw",
        readOnly: key === "disk-ro",
      });
      continue;
    }
    if (fields.has(key)) throw new UsageError(`--domain '${text}': ${key} given twice`);
    fields.set(key, piece.slice(eq + 1));
  }
  const mode = fields.get("mode");
  const kernel = fields.get("kernel");
  if (mode === undefined || kernel === undefined)
    throw new UsageError(`--domain '${text}': mode= and kernel= are required`);
  const int = (key: string, min: number, max: number): number | undefined => {
    const v = fields.get(key);
    return v === undefined ? undefined : parseIntInRange(v, `--domain ${key}`, min, max);
  };
  let vif: DomainArg["vif"];
  const bridge = fields.get("vif");
  const mac = fields.get("mac");
  if (bridge !== undefined || mac !== undefined) {
    const parsed = parseVifSpec(`bridge=${bridge || "xenbr0"}${mac === undefined ? "" : `,mac=${mac}`}`);
    if (!parsed.ok) throw new UsageError(`--domain '${text}': vif: ${parsed.error}`);
    vif = { bridge: parsed.vif.bridge, ...(mac === undefined ? {} : { mac: parsed.vif.mac }) };
  }
  return {
    ...(vif === undefined ? {} : { vif }),
    mode: parseChoice(mode, "--domain mode", DOMAIN_MODES),
    kernel,
    memoryBytes: parseMemorySize(fields.get("memory") ?? "32M", "--domain memory"),
    vcpus: int("vcpus", 1, 32) ?? 1,
    name: fields.get("name"),
    bootargs: fields.get("bootargs"),
    weight: int("weight", 1, 65535),
    cap: int("cap", 0, 100 * 32),
    disks,
  };
}

export function parseScheduler(text: string): SchedulerName {
  if (isSchedulerName(text)) return text;
  throw new UsageError(`--scheduler must be one of ${SCHEDULER_NAMES.join(", ")}, got '${text}'`);
}

/** Writes a domain's console output to stdout, line by line, each line prefixed with its name. */
class PrefixedConsole implements ConsoleBackend {
  private line: number[] = [];

  constructor(
    private readonly prefix: string,
    private readonly input: ConsoleBackend | undefined,
  ) {}

  write(byte: number): void {
    this.line.push(byte);
    if (byte === 10) this.flush();
  }

  read(): number {
    return this.input?.read() ?? -1;
  }

  flush(): void {
    if (this.line.length === 0) return;
    process.stdout.write(Buffer.concat([Buffer.from(this.prefix), Buffer.from(this.line)]));
    this.line = [];
  }
}

export async function runHypervisorCommand(s: HypervisorRunSettings): Promise<number> {
  const images = s.domains.map((d) => loadGuest(d.kernel));
  const stdio = new StdioConsole();
  const prefixed: PrefixedConsole[] = [];
  try {
    const totalMiB = s.domains.reduce((n, d) => n + d.memoryBytes / MiB, 0);
    const hv = new Hypervisor({
      pcpus: s.pcpus,
      hostMemoryMiB: Math.ceil(totalMiB) + 32 + 8 * s.domains.length,
      clock: s.clock,
      engine: ENGINES[s.engine].engine,
      scheduler: s.scheduler,
      quirks: s.quirks,
      onIdle: "wait", // piped input may still come: watchForDeadlock ends the run once it has ended
    });
    const domains: Domain[] = [];
    const bridges = new Bridges(() => hv.nowNs);
    for (const [i, d] of s.domains.entries()) {
      let console: ConsoleBackend = stdio;
      if (s.domains.length > 1) {
        const p = new PrefixedConsole(`[${d.name ?? `dom${i + 1}`}] `, i === 0 ? stdio : undefined);
        prefixed.push(p);
        console = p;
      }
      try {
        domains.push(
          hv.createDomain({
            mode: d.mode,
            kernel: images[i],
            name: d.name,
            memoryMiB: d.memoryBytes / MiB,
            vcpus: d.vcpus,
            bootargs: d.bootargs,
            console,
            weight: d.weight,
            cap: d.cap,
            disks: d.disks,
            nics: bridges.nics(d.vif === undefined ? [] : [d.vif]),
          }),
        );
      } catch (e) {
        if (e instanceof DomainConfigError || e instanceof OutOfFramesError)
          throw new UsageError(`${d.kernel}: ${(e as Error).message}`);
        throw e;
      }
    }
    const stopWatching = process.stdin.isTTY === true ? () => {} : watchForDeadlock(hv.machine);
    const start = performance.now();
    let exit: MachineExit;
    try {
      exit = await hv.run({ maxInsns: s.maxInsns });
    } finally {
      stopWatching();
    }
    const hostMs = performance.now() - start;
    for (const p of prefixed) p.flush();
    stdio.close();
    for (const d of domains)
      if (d.state === "crashed") process.stderr.write(`rvisor: domain ${d.name} crashed: ${d.end?.reason}\n`);
    if (exit.kind === "limit" || exit.kind === "deadlock")
      process.stderr.write(`rvisor: ${exit.message ?? exit.kind}\n`);
    if (s.stats) {
      process.stderr.write(`${formatDomainStats(domains, hostMs)}\n${formatSchedShares(schedStats(hv))}\n`);
      for (const sw of bridges.list()) process.stderr.write(`${formatSwitch(sw)}\n`);
    }
    if (s.schedTrace !== undefined) writeFileSync(s.schedTrace, `${JSON.stringify(schedTrace(hv))}\n`);
    if (exit.kind !== "poweroff") return exit.code;
    return Math.max(0, ...domains.map((d) => d.end?.code ?? 0));
  } finally {
    stdio.close();
  }
}

/** The per-domain table `--stats` prints: state, instructions, host time, exits by cause. */
export function formatDomainStats(domains: readonly Domain[], hostMs: number): string {
  const causes = [...new Set(domains.flatMap((d) => [...d.exits.keys()]))].sort();
  const table = new Table({
    head: ["", ...domains.map((d) => `${d.name} (${d.mode})`)],
    style: { head: [], border: [] },
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  });
  const state = (d: Domain) => (d.end === undefined ? d.state : `${d.end.state}: ${d.end.reason}`);
  table.push(["state", ...domains.map(state)]);
  table.push(["instructions", ...domains.map((d) => d.retired.toLocaleString("en-US"))]);
  table.push(["exits", ...domains.map((d) => d.totalExits.toLocaleString("en-US"))]);
  for (const c of causes)
    table.push([`  ${c}`, ...domains.map((d) => (d.exits.get(c) ?? 0).toLocaleString("en-US"))]);
  const calls = [...new Set(domains.flatMap((d) => [...d.calls.keys()]))].sort();
  if (calls.length > 0) {
    const total = (d: Domain) => [...d.calls.values()].reduce((a, b) => a + b, 0);
    table.push(["direct VMM calls (bt)", ...domains.map((d) => total(d).toLocaleString("en-US"))]);
    for (const c of calls)
      table.push([`  ${c}`, ...domains.map((d) => (d.calls.get(c) ?? 0).toLocaleString("en-US"))]);
  }
  return `${table.toString()}\nhost time ${(hostMs / 1000).toFixed(3)} s`;
}

/** A switch's lines of `--stats`: its ports' counters and what it has learned (`bridge fdb show`). */
export function formatSwitch(sw: VirtualSwitch): string {
  const lines = [`switch ${sw.name}: ${sw.portList.length} ports, MTU ${sw.mtu}`];
  for (const p of sw.portList) {
    const c = p.counters;
    lines.push(
      `  ${p.name.padEnd(8)} in ${c.inFrames} frames ${c.inBytes} bytes (${c.inInvalid} invalid, ` +
        `${c.inOversize} oversize)  out ${c.outFrames} frames ${c.outBytes} bytes (${c.outDropped} dropped)`,
    );
  }
  for (const e of sw.fdbEntries()) lines.push(`  ${e.mac} on ${e.port}, ${(e.ageNs / 1e9).toFixed(3)} s ago`);
  return lines.join("\n");
}

/** The scheduler's lines of `--stats`: per domain, weight, cap, CPU time, share and run-queue waits. */
export function formatSchedShares(s: HostSchedInfo): string {
  const secs = (ns: number): string => (ns / 1e9).toFixed(3);
  const n = s.pcpus.length;
  const width = Math.max(0, ...s.domains.map((d) => d.name.length));
  const lines = [`scheduler ${s.policy}, ${n} pCPU${n === 1 ? "" : "s"}, ${secs(s.nowNs)} s of host time`];
  for (const d of s.domains) {
    const waits =
      d.runqWaits === 0
        ? "no waits"
        : `${d.runqWaits} waits of ${(d.runqWaitNs / d.runqWaits / 1e6).toFixed(2)} ms`;
    lines.push(
      `  ${d.name.padEnd(width)}  weight ${String(d.weight).padEnd(5)}  cap ${String(d.cap).padEnd(4)}  ` +
        `cpu ${secs(d.cpuTimeNs)} s  ${(d.share * 100).toFixed(1).padStart(5)} % of the host  ` +
        `${d.cpuPercent.toFixed(1).padStart(5)} % of a pCPU  ${waits}, ${d.migrations} migrations`,
    );
  }
  lines.push(`  idle: ${s.pcpus.map((p) => `pCPU ${p.pcpu} ${secs(p.idleNs)} s`).join(", ")}`);
  return lines.join("\n");
}
