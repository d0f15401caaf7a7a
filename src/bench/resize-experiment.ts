/**
 * The resizing experiment (`rvisor experiment resize`, docs/resizing.md): the guest kernel in one
 * domain, in this process and under the icount clock (so the same run prints the same table), running
 * `work` — four processes that print a line per round — while the toolstack's path (the store's
 * memory/target and cpu/<n>/availability, followed by the guest's balloon and resize thread) ramps its
 * memory down and up and its vCPUs 1 → 4 → 1. Each step lasts a fixed stretch of guest time; the table
 * has, per sample, the virtual time, the memory target, the memory the P2M backs, the vCPUs online and
 * the workload's throughput (rounds per second of virtual time).
 */
import { randomUUID } from "node:crypto";
import { connectStoreRing } from "../control/daemon/store-ring.js";
import { Store } from "../control/store/store.js";
import { wellKnown, writeDomainTree } from "../control/store/well-known.js";
import type { DomainMode } from "../hypervisor/domain.js";
import { Hypervisor } from "../hypervisor/hypervisor.js";
import { memoryInfo, setMemoryTarget, vcpusOnline } from "../hypervisor/resize.js";
import { BufferConsole } from "../machine/devices/console.js";
import { kernelElf, kernelPvElf } from "../testing/kernel.js";

export interface ResizeStep {
  /** What the toolstack does at the start of the step. */
  label: string;
  memoryMiB?: number;
  vcpus?: number;
}

export interface ResizeSample {
  /** Virtual milliseconds since the workload started. */
  timeMs: number;
  step: string;
  targetMiB: number;
  actualMiB: number;
  vcpusOnline: number;
  /** Rounds of the workload finished in this sample, per second of virtual time. */
  roundsPerS: number;
}

export interface ResizeExperimentOptions {
  mode?: DomainMode;
  /** pCPUs of the host (default 4: so 4 vCPUs can all run). */
  pcpus?: number;
  /** Guest time per step and per sample, ms (defaults 400 and 100). */
  stepMs?: number;
  sampleMs?: number;
  steps?: ResizeStep[];
}

export const DEFAULT_STEPS: ResizeStep[] = [
  { label: "start: 32 MiB, 1 vCPU" },
  { label: "vcpu-set 2", vcpus: 2 },
  { label: "vcpu-set 4", vcpus: 4 },
  { label: "mem-set 24M", memoryMiB: 24 },
  { label: "mem-set 16M", memoryMiB: 16 },
  { label: "mem-set 8M", memoryMiB: 8 },
  { label: "mem-set 32M", memoryMiB: 32 },
  { label: "vcpu-set 2", vcpus: 2 },
  { label: "vcpu-set 1", vcpus: 1 },
];

const MEMORY_MIB = 32;
const MAX_VCPUS = 4;
const ROUND = /^work: round$/gm;

export interface ResizeExperimentResult {
  mode: DomainMode;
  samples: ResizeSample[];
  /** Guest instructions retired over the whole run. */
  retired: number;
  /** The domain's console, for when something went wrong. */
  console: string;
}

export function runResizeExperiment(opts: ResizeExperimentOptions = {}): ResizeExperimentResult {
  const mode = opts.mode ?? "pv";
  const stepMs = opts.stepMs ?? 400;
  const sampleMs = opts.sampleMs ?? 100;
  const hv = new Hypervisor({ pcpus: opts.pcpus ?? 4, hostMemoryMiB: 64 });
  const store = new Store();
  const tools = store.connect(0);
  const console = new BufferConsole();
  const d = hv.createDomain({
    mode,
    kernel: mode === "pv" ? kernelPvElf() : kernelElf(),
    name: "resize",
    memoryMiB: MEMORY_MIB,
    vcpus: MAX_VCPUS,
    bootargs: "maxcpus=1 -- run work 4 1000000",
    console,
    storeRing: true,
    balloon: true,
  });
  const tree = writeDomainTree(tools, {
    domid: d.id,
    name: d.name,
    uuid: randomUUID(),
    memoryKiB: MEMORY_MIB * 1024,
    vcpus: MAX_VCPUS,
    onlineVcpus: 1,
  });
  if (!tree.ok) throw new Error(`store: ${tree.errno}: ${tree.detail}`);
  const ring = connectStoreRing(tools, d, (line) => {
    throw new Error(`store ring: ${line}`);
  });
  if (ring === undefined) throw new Error("the domain has no store ring");

  const m = hv.machine;
  const ms = () => hv.nowNs / 1e6;
  const runUntil = (done: () => boolean, what: string) => {
    const limit = m.retired + 2_000_000_000;
    while (!done()) {
      if (m.exit?.kind === "limit") m.exit = undefined;
      const exit = hv.runSync({ maxInsns: m.retired + 200_000 });
      if (exit.kind !== "limit" || m.retired >= limit)
        throw new Error(`${what}: the run ended (${exit.kind}: ${exit.message})\n${console.text()}`);
    }
  };
  // Until the workload runs (its first round) and the resize thread has read the store.
  runUntil(() => console.text().match(ROUND) !== null && d.balloon?.live === true, "boot");

  const samples: ResizeSample[] = [];
  const t0 = ms();
  let rounds = (console.text().match(ROUND) ?? []).length;
  for (const step of opts.steps ?? DEFAULT_STEPS) {
    if (step.memoryMiB !== undefined) {
      setMemoryTarget(d, step.memoryMiB * 1024);
      tools.write(wellKnown.memoryTarget(d.id), String(step.memoryMiB * 1024));
    }
    if (step.vcpus !== undefined) {
      const tx = tools.transactionStart();
      if (!tx.ok) throw new Error(`store: ${tx.errno}`);
      for (let i = 0; i < MAX_VCPUS; i++)
        tools.write(wellKnown.cpuAvailability(d.id, i), i < step.vcpus ? "online" : "offline", tx.value);
      tools.transactionEnd(tx.value, true);
    }
    const stepEnd = ms() + stepMs;
    while (ms() < stepEnd - 1e-9) {
      const from = ms();
      runUntil(() => ms() >= from + sampleMs, step.label);
      const now = (console.text().match(ROUND) ?? []).length;
      const info = memoryInfo(d);
      samples.push({
        timeMs: Math.round(ms() - t0),
        step: step.label,
        targetMiB: info.targetKiB / 1024,
        actualMiB: info.currentKiB / 1024,
        vcpusOnline: vcpusOnline(d),
        roundsPerS: ((now - rounds) * 1000) / (ms() - from),
      });
      rounds = now;
    }
  }
  ring.disconnect();
  hv.destroyDomain(d.id);
  return { mode, samples, retired: m.retired, console: console.text() };
}

export function formatResizeTimeline(r: ResizeExperimentResult): string {
  const lines = [
    `resize experiment: the guest kernel in a ${r.mode} domain (32 MiB, 4 vCPUs at most), 4 workers`,
    "",
    "  time(ms)  step                     target(MiB)  actual(MiB)  vCPUs  rounds/s",
  ];
  let last = "";
  for (const s of r.samples) {
    const step = s.step === last ? "" : s.step;
    last = s.step;
    lines.push(
      `${String(s.timeMs).padStart(10)}  ${step.padEnd(24)} ${s.targetMiB.toFixed(1).padStart(11)}  ` +
        `${s.actualMiB.toFixed(1).padStart(11)}  ${String(s.vcpusOnline).padStart(5)}  ${s.roundsPerS.toFixed(0).padStart(8)}`,
    );
  }
  lines.push(
    "",
    `${(r.retired / 1e6).toFixed(0)} M guest instructions (icount clock: the same run prints the same table)`,
  );
  return `${lines.join("\n")}\n`;
}
