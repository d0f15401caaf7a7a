/**
 * What a benchmark suite reports, and how it is written down. Every suite returns named figures; each
 * figure says its unit, which direction is better, and the goal it is measured against (null for
 * reference figures, such as QEMU's, that we do not aim at). The file bench/results/<suite>.json is
 *
 *   {"suite": "cpu",
 *    "figures": {"<name>": {"value": 21.9, "unit": "MIPS", "goal": 30, "better": "higher"}, ...},
 *    "notes": ["how a figure was obtained, where it is not obvious"],
 *    "context": {"iterations": 9000, ...}}
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import Table from "cli-table3";

export interface Figure {
  value: number;
  unit: string;
  goal: number | null;
  better: "higher" | "lower";
}

export interface SuiteResult {
  suite: string;
  figures: Record<string, Figure>;
  /** How figures were obtained, where a reader could get it wrong. */
  notes: string[];
  /** The settings of the run (iterations, runs, versions), so two result files can be compared. */
  context: Record<string, string | number>;
  /** A compact table for people, printed before the figures; not written to the file. */
  summary?: string;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Rounds a positive number to `digits` significant digits: 8734 → 8700. */
export function roundSignificant(value: number, digits: number): number {
  if (value <= 0) throw new Error(`roundSignificant: ${value} is not positive`);
  const scale = 10 ** (Math.floor(Math.log10(value)) - digits + 1);
  // toPrecision drops the binary noise of a fractional scale (6.1 rather than 6.1000000000000005).
  return Number((Math.round(value / scale) * scale).toPrecision(digits));
}

/** Whether a figure meets its goal; undefined for figures without one. */
export function meetsGoal(f: Figure): boolean | undefined {
  if (f.goal === null) return undefined;
  return f.better === "higher" ? f.value >= f.goal : f.value <= f.goal;
}

const formatValue = (v: number): string =>
  Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);

/** The figures as a table: name, value, unit, goal, and whether the goal is met. */
export function formatTable(r: SuiteResult): string {
  const table = new Table({
    head: ["figure", "value", "unit", "goal", "met"],
    // Plain text (the table also goes to logs and files) and no rule between rows.
    style: { head: [], border: [] },
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  });
  for (const [name, f] of Object.entries(r.figures)) {
    const met = meetsGoal(f);
    const goal = f.goal === null ? "-" : `${f.better === "higher" ? ">=" : "<="} ${formatValue(f.goal)}`;
    table.push([name, formatValue(f.value), f.unit, goal, met === undefined ? "" : met ? "yes" : "no"]);
  }
  return table.toString();
}

/** Significant digits kept in the file: more would be noise between runs. */
const FILE_DIGITS = 4;

export function writeResults(path: string, r: SuiteResult): void {
  const figures = Object.fromEntries(
    Object.entries(r.figures).map(([name, f]) => [
      name,
      { ...f, value: Number(f.value.toPrecision(FILE_DIGITS)) },
    ]),
  );
  const { summary: _table, ...rest } = r;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ ...rest, figures }, null, 2)}\n`);
}
