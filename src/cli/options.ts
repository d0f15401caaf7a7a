/**
 * The command line's value checks: each takes the text a person typed and returns the value, or throws
 * a UsageError whose message is the whole diagnosis ("--harts must be an integer 1..32, got 'x'").
 * main.ts prints it on one line and exits with status 2.
 */
import type { ClockKind } from "../machine/machine.js";
import { DRAM_BASE } from "../machine/memory-map.js";
import { MAX_HARTS, PAGE_SIZE } from "../machine/params.js";

/** Bad input from the command line: exit status 2, message on stderr. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/**
 * The smallest RAM a board may have: boot() puts the device tree in the last 2 MiB-aligned block below
 * the top of RAM, which must still be inside RAM and leave room for the program below it.
 */
export const MIN_RAM_BYTES = 4 * MiB;
/** RAM starts at 0x8000_0000 and the physical address space is 32 bits wide. */
export const MAX_RAM_BYTES = 2 ** 32 - DRAM_BASE;

const SIZE_UNITS: Record<string, number> = { "": MiB, K: KiB, M: MiB, G: GiB };

/**
 * A memory size: a number with a K, M or G suffix (binary units, case-insensitive, an optional
 * B or iB after the unit). A bare number means MiB, as QEMU's `-m` does.
 */
export function parseMemorySize(text: string, option = "--memory"): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmg])(?:i?b)?)?\s*$/i.exec(text);
  if (m === null) {
    throw new UsageError(`${option} must be a size such as 128M, 512K or 1G, got '${text}'`);
  }
  const bytes = Number(m[1]) * SIZE_UNITS[(m[2] ?? "").toUpperCase()];
  if (!Number.isInteger(bytes) || bytes % PAGE_SIZE !== 0) {
    throw new UsageError(`${option} must be a whole number of 4 KiB pages, got '${text}'`);
  }
  if (bytes < MIN_RAM_BYTES || bytes > MAX_RAM_BYTES) {
    throw new UsageError(
      `${option} must be between ${formatBytes(MIN_RAM_BYTES)} and ${formatBytes(MAX_RAM_BYTES)}, got '${text}'`,
    );
  }
  return bytes;
}

/** A decimal integer in [min, max]; the message names the option and the range. */
export function parseIntInRange(text: string, option: string, min: number, max: number): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}..${max}`;
    throw new UsageError(`${option} must be an integer ${range}, got '${text}'`);
  }
  return value;
}

export function parseHarts(text: string): number {
  return parseIntInRange(text, "--harts", 1, MAX_HARTS);
}

/** An instruction count; underscores may group digits (1_000_000). */
export function parseInsnCount(text: string, option = "--max-insns"): number {
  return parseIntInRange(text.replaceAll("_", ""), option, 1, Number.MAX_SAFE_INTEGER);
}

/** One of a fixed set of names; the message lists them. */
export function parseChoice<T extends string>(text: string, option: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`${option} must be one of ${choices.join(", ")}, got '${text}'`);
}

export const CLOCK_NAMES: readonly ClockKind[] = ["icount", "realtime"];

/** Bytes as the largest binary unit that divides them: 4194304 → "4M". */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ["G", GiB],
    ["M", MiB],
    ["K", KiB],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}`;
}
