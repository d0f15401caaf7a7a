/**
 * Parsing what users type for limits (`--memory 300M`, `--cpus 0.5`, `--cpu-shares 512`, `--pids-limit
 * 64`) into the numbers cgroups take. Pure; errors name the flag and the value.
 */
import type { Limits } from "./cgroups.js";

export class UsageError extends Error {
  override name = "UsageError";
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "300M" → 314572800; a bare number is bytes, as docker reads it; "-1" or "max" means unlimited. */
export function parseSize(flag: string, text: string): number | null {
  if (text === "-1" || text === "max") return null;
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: '${text}' is not a size (use e.g. 64M, 1G or a number of bytes)`);
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]);
  if (bytes < 4096)
    throw new UsageError(`${flag}: ${text} is below the smallest limit the kernel accepts (4K)`);
  return bytes;
}

function parseInteger(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag}: '${text}' is not a whole number`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${flag}: ${n} is outside ${min}..${max}`);
  return n;
}

export interface RawLimitOptions {
  memory?: string;
  memorySwap?: string;
  cpuShares?: string;
  cpus?: string;
  pidsLimit?: string;
}

/** Turns command-line limit options into `Limits`, leaving out what was not given. */
export function parseLimits(raw: RawLimitOptions): Limits {
  const l: Limits = {};
  if (raw.memory !== undefined) l.memory = parseSize("--memory", raw.memory);
  if (raw.memorySwap !== undefined) l.memorySwap = parseSize("--memory-swap", raw.memorySwap);
  if (raw.cpuShares !== undefined) l.cpuShares = parseInteger("--cpu-shares", raw.cpuShares, 2, 262144);
  if (raw.cpus !== undefined) {
    const n = Number(raw.cpus);
    if (!/^\d+(\.\d+)?$/.test(raw.cpus.trim()) || n < 0.01 || n > 1024) {
      throw new UsageError(`--cpus: '${raw.cpus}' is not a number of CPUs between 0.01 and 1024`);
    }
    l.cpus = n;
  }
  if (raw.pidsLimit !== undefined) {
    l.pidsLimit = raw.pidsLimit === "-1" ? null : parseInteger("--pids-limit", raw.pidsLimit, 1, 4194304);
  }
  return l;
}

/** The limits in force after `update` applied `change` on top of `current`. */
export function mergeLimits(current: Limits, change: Limits): Limits {
  const out: Limits = { ...current };
  for (const [k, v] of Object.entries(change) as [keyof Limits, number | null | undefined][]) {
    if (v !== undefined) out[k] = v;
  }
  return out;
}
