/**
 * Xen's CPU list syntax (xl.cfg(5), `cpus=`; xl_parse.c's cpurange_parse):
 *
 *   cpulist := item (',' item)*
 *   item    := ['^'] ( 'all' | N | N '-' M )        N ≤ M, decimal
 *
 * Items apply left to right: a plain item adds CPUs, a `^` item removes them, `all` selects every pCPU.
 * So "0-3,5,^1" is {0,2,3,5} and "all,^7" is every pCPU but 7. Xen's `node:`/`nodes:` items select
 * NUMA nodes, which rvisor's host does not have: they are rejected with that reason. Blanks around
 * items are ignored.
 */
import type { CpuSet } from "./domain-config.js";

export type CpuListResult = { ok: true; set: CpuSet } | { ok: false; error: string };

/** Largest pCPU number accepted in a list (a bound against absurd ranges; the host checks the rest). */
export const MAX_CPU_NUMBER = 4095;

export function parseCpuList(text: string): CpuListResult {
  let all = false;
  const chosen = new Set<number>();
  const removed = new Set<number>();
  const items = text.split(",");
  for (const raw of items) {
    const item = raw.trim();
    if (item === "") return { ok: false, error: `empty item in CPU list "${text}"` };
    const negate = item.startsWith("^");
    const body = negate ? item.slice(1).trim() : item;
    if (/^nodes?:/.test(body)) return { ok: false, error: `"${item}": rvisor's host has no NUMA nodes` };
    let lo: number;
    let hi: number;
    if (body === "all") {
      if (negate) return { ok: false, error: `"^all" removes every CPU` };
      all = true;
      chosen.clear();
      removed.clear();
      continue;
    }
    const range = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(body);
    if (!range) return { ok: false, error: `"${item}" is not a CPU, a range N-M or "all"` };
    lo = Number(range[1]);
    hi = range[2] === undefined ? lo : Number(range[2]);
    if (hi < lo) return { ok: false, error: `"${item}": a range runs from the lower CPU to the higher` };
    if (hi > MAX_CPU_NUMBER) return { ok: false, error: `"${item}": CPU numbers go up to ${MAX_CPU_NUMBER}` };
    for (let cpu = lo; cpu <= hi; cpu++) {
      if (all) {
        if (negate) removed.add(cpu);
        else removed.delete(cpu);
      } else if (negate) chosen.delete(cpu);
      else chosen.add(cpu);
    }
  }
  const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
  if (all) return { ok: true, set: { all: true, except: sorted(removed) } };
  if (chosen.size === 0) return { ok: false, error: `"${text}" selects no CPU` };
  return { ok: true, set: { all: false, cpus: sorted(chosen) } };
}

/** Compresses sorted CPU numbers into Xen's syntax: [0,1,2,3,5] → "0-3,5". */
export function formatCpuRanges(cpus: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** A CpuSet in Xen's syntax; parseCpuList(formatCpuSet(s)) gives s back. */
export function formatCpuSet(set: CpuSet): string {
  if (!set.all) return formatCpuRanges(set.cpus);
  if (set.except.length === 0) return "all";
  return `all,${formatCpuRanges(set.except)
    .split(",")
    .map((r) => `^${r}`)
    .join(",")}`;
}

/**
 * The pCPUs a set selects on a host with `pcpus` pCPUs, or an error naming a CPU the host lacks.
 * For the toolstack at domain creation, when the host is known.
 */
export function resolveCpuSet(
  set: CpuSet,
  pcpus: number,
): { ok: true; cpus: number[] } | { ok: false; error: string } {
  if (set.all) {
    const except = new Set(set.except);
    const cpus = Array.from({ length: pcpus }, (_, i) => i).filter((c) => !except.has(c));
    if (cpus.length === 0) return { ok: false, error: `the set selects none of the host's ${pcpus} pCPUs` };
    return { ok: true, cpus };
  }
  const missing = set.cpus.find((c) => c >= pcpus);
  if (missing !== undefined)
    return { ok: false, error: `pCPU ${missing} does not exist (the host has ${pcpus})` };
  return { ok: true, cpus: [...set.cpus] };
}
