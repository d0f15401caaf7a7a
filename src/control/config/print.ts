/**
 * The serializer: DomainConfig back to xl.cfg syntax, so a stored domain can be shown, edited and
 * created again. Every key is written, defaults included, in RVISOR_KEYS's order; paths are absolute
 * and generated MACs explicit, so the text means the same thing wherever it is read:
 *
 *   validateConfig(parseConfigText(printConfig(c))) gives back c (print.test.ts checks it by property).
 *
 * Strings use double quotes with C escapes for '\', '"' and control characters; device lists put one
 * spec per line with a trailing comma, as people write them.
 */
import type { Value } from "./ast.js";
import { formatCpuSet } from "./cpulist.js";
import { formatDiskSpec } from "./disk-spec.js";
import type { CpuAffinity, DomainConfig } from "./domain-config.js";
import { formatVifSpec } from "./vif-spec.js";

const NAMED_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  '"': '\\"',
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
};

/** A string literal the lexer reads back as `s`. */
export function quote(s: string): string {
  let out = '"';
  for (const c of s) {
    const named = NAMED_ESCAPES[c];
    if (named !== undefined) out += named;
    else if (c < " " || c === "\x7f") out += `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
    else out += c;
  }
  return `${out}"`;
}

/** Any syntax-tree value as text; lists on one line. */
export function printValue(v: Value): string {
  if (v.kind === "string") return quote(v.value);
  if (v.kind === "number") return String(v.value);
  return `[${v.items.map(printValue).join(", ")}]`;
}

function printList(items: readonly string[]): string {
  if (items.length === 0) return "[]";
  return `[\n${items.map((s) => `  ${quote(s)},\n`).join("")}]`;
}

function printCpus(cpus: CpuAffinity): string {
  if (cpus.kind === "shared") return quote(formatCpuSet(cpus.set));
  return `[${cpus.sets.map((s) => quote(formatCpuSet(s))).join(", ")}]`;
}

export function printConfig(c: DomainConfig): string {
  const lines: string[] = [`name = ${quote(c.name)}`];
  if (c.uuid !== undefined) lines.push(`uuid = ${quote(c.uuid)}`);
  lines.push(`type = ${quote(c.type)}`, `kernel = ${quote(c.kernel)}`);
  if (c.cmdline !== undefined) lines.push(`cmdline = ${quote(c.cmdline)}`);
  lines.push(
    `memory = ${c.memoryMiB}`,
    `maxmem = ${c.maxmemMiB}`,
    `vcpus = ${c.vcpus}`,
    `maxvcpus = ${c.maxvcpus}`,
  );
  if (c.cpus !== undefined) lines.push(`cpus = ${printCpus(c.cpus)}`);
  lines.push(
    `cpu_weight = ${c.cpuWeight}`,
    `cap = ${c.cap}`,
    `disk = ${printList(c.disks.map(formatDiskSpec))}`,
    `vif = ${printList(c.vifs.map(formatVifSpec))}`,
    `on_poweroff = ${quote(c.onPoweroff)}`,
    `on_reboot = ${quote(c.onReboot)}`,
    `on_crash = ${quote(c.onCrash)}`,
  );
  return `${lines.join("\n")}\n`;
}
