/**
 * From syntax tree to DomainConfig: settle repeated keys, check every key's value against what Xen's
 * xl.cfg(5) means by it, fill in Xen's defaults (domain-config.ts), and resolve relative paths against
 * the config file's directory. Every problem names the file, the line and the key, and all of them are
 * reported together.
 *
 * Repeated keys behave as in libxlu: the last `key = …` wins, and `key += …` appends a string to a
 * string or a list to a list. A value replaced this way is reported as a warning, not an error.
 *
 * Like libxlu, a number written in quotes is still a number (`memory = "512"` works as in xl), and a
 * CPU list may be written as a bare number (`cpus = 2`).
 */
import { isAbsolute, resolve } from "node:path";
import type { Assignment, ConfigFile, ListValue, StringValue, Value } from "./ast.js";
import { parseCpuList } from "./cpulist.js";
import { parseDiskSpec } from "./disk-spec.js";
import {
  type CpuAffinity,
  type CpuSet,
  DEFAULT_CPU_WEIGHT,
  DEFAULT_DOMAIN_TYPE,
  DEFAULT_MEMORY_MIB,
  type DiskConfig,
  DOMAIN_TYPES,
  type DomainConfig,
  type DomainType,
  MAX_CPU_WEIGHT,
  MAX_VCPUS,
  MIN_CPU_WEIGHT,
  SHUTDOWN_ACTIONS,
  type ShutdownAction,
  type VifConfig,
} from "./domain-config.js";
import { type ConfigProblem, type Position, Problems } from "./errors.js";
import { isRvisorKey, RVISOR_KEYS, unsupportedKeyMessage } from "./keys.js";
import { parseCInteger } from "./lexer.js";
import { didYouMean } from "./suggest.js";
import { parseVifSpec } from "./vif-spec.js";

export interface ValidateOptions {
  /** Directory relative kernel and disk paths are resolved against (the config file's). */
  readonly baseDir: string;
  /** Source of random bytes for generated MACs (tests pass a fixed one). */
  readonly random?: () => Uint8Array;
}

export interface ValidatedConfig {
  readonly config: DomainConfig;
  /** Things worth telling the user that do not stop the domain (a key set twice). */
  readonly warnings: readonly ConfigProblem[];
}

/** A key's settled value and where its (last) assignment is. */
interface Setting {
  readonly value: Value;
  readonly pos: Position;
}

/** Domain names: no blanks or '/', so they fit store paths and the CLI; not all digits (xl reads those as IDs). */
const NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** What is wrong with `name` as a domain's name (the `name` key's rule), or undefined when it is fine. */
export function domainNameProblem(name: string): string | undefined {
  return NAME_PATTERN.test(name) && !/^\d+$/.test(name)
    ? undefined
    : `"${name}": use 1 to 64 letters, digits, '_', '.', ':' or '-', not all digits`;
}
const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function validateConfig(ast: ConfigFile, options: ValidateOptions): ValidatedConfig {
  const problems = new Problems(ast.file);
  const warnings = new Problems(ast.file);
  const settings = settle(ast.assignments, problems, warnings);

  // Reads one key, reporting problems against it; a bad value yields undefined and the default is not used.
  const at = (key: string) => settings.get(key);
  const report = (key: string, message: string) => problems.add(at(key)!.pos, message, key);

  const str = (key: string): string | undefined => {
    const s = at(key);
    if (!s) return undefined;
    if (s.value.kind === "string") return s.value.value;
    report(key, `expected a quoted string, got ${describe(s.value)}`);
    return undefined;
  };
  const int = (key: string, what: string, min: number, max: number): number | undefined => {
    const s = at(key);
    if (!s) return undefined;
    let n: number | undefined;
    if (s.value.kind === "number") n = s.value.value;
    else if (s.value.kind === "string") n = parseCInteger(s.value.value.trim());
    if (n === undefined) {
      report(key, `expected ${what}, got ${describe(s.value)}`);
      return undefined;
    }
    if (n < min || n > max) {
      report(
        key,
        `${n} is out of range: ${what} must be ${max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `${min}..${max}`}`,
      );
      return undefined;
    }
    return n;
  };
  /** Checks an already-read string against a fixed set of words. */
  const oneOf = <T extends string>(
    key: string,
    text: string | undefined,
    allowed: readonly T[],
    fallback: T,
  ): T => {
    if (text === undefined) return fallback;
    if ((allowed as readonly string[]).includes(text)) return text as T;
    report(key, `"${text}" is not one of ${allowed.join(", ")}${didYouMean(text, allowed)}`);
    return fallback;
  };
  const path = (text: string) => (isAbsolute(text) ? text : resolve(options.baseDir, text));

  // name: mandatory in xl.
  let name = "";
  if (!at("name")) problems.add({ line: 1, column: 1 }, "missing: every domain needs a name", "name");
  else {
    const text = str("name");
    if (text !== undefined) {
      const problem = domainNameProblem(text);
      if (problem !== undefined) report("name", problem);
      else name = text;
    }
  }

  const uuidText = str("uuid");
  if (uuidText !== undefined && !UUID_PATTERN.test(uuidText))
    report("uuid", `"${uuidText}" is not a UUID (8-4-4-4-12 hex digits)`);
  const uuid = uuidText !== undefined && UUID_PATTERN.test(uuidText) ? uuidText.toLowerCase() : undefined;

  let type: DomainType = DEFAULT_DOMAIN_TYPE;
  const typeText = str("type");
  if (typeText === "pvh") {
    report(
      "type",
      `Xen's "pvh" has no rvisor counterpart: use "hvm" (hardware-assisted) or "pv" (paravirtualized)`,
    );
  } else if (typeText !== undefined) type = oneOf("type", typeText, DOMAIN_TYPES, DEFAULT_DOMAIN_TYPE);

  // kernel: rvisor has no bootloader, so it is mandatory.
  let kernel = "";
  if (!at("kernel"))
    problems.add({ line: 1, column: 1 }, "missing: the path of the guest kernel ELF", "kernel");
  else {
    const text = str("kernel");
    if (text === "") report("kernel", "empty path");
    else if (text !== undefined) kernel = path(text);
  }

  const cmdlineParts = [str("cmdline"), str("extra")].filter((x): x is string => x !== undefined && x !== "");
  const cmdline = cmdlineParts.length > 0 ? cmdlineParts.join(" ") : undefined;

  const MIB = "an integer number of MiB";
  const memory = int("memory", MIB, 1, Number.MAX_SAFE_INTEGER);
  const maxmem = int("maxmem", MIB, 1, Number.MAX_SAFE_INTEGER);
  // libxl: memory sets the target, maxmem the maximum; each defaults to the other, both to 32 MiB.
  const memoryMiB = memory ?? maxmem ?? DEFAULT_MEMORY_MIB;
  const maxmemMiB = maxmem ?? memoryMiB;
  if (maxmemMiB < memoryMiB && maxmem !== undefined) {
    report("maxmem", `${maxmemMiB} MiB is less than memory (${memoryMiB} MiB): maxmem must be ≥ memory`);
  }

  const VCPUS = `an integer number of vCPUs`;
  const vcpusValue = int("vcpus", VCPUS, 1, MAX_VCPUS);
  const maxvcpusValue = int("maxvcpus", VCPUS, 1, MAX_VCPUS);
  const vcpus = vcpusValue ?? 1;
  const maxvcpus = maxvcpusValue ?? vcpus;
  if (maxvcpus < vcpus && maxvcpusValue !== undefined) {
    report("maxvcpus", `${maxvcpus} is less than vcpus (${vcpus}): maxvcpus must be ≥ vcpus`);
  }

  const cpus = at("cpus")
    ? cpuAffinity(
        at("cpus")!,
        maxvcpus,
        (m) => report("cpus", m),
        (m) => warnings.add(at("cpus")!.pos, m, "cpus"),
      )
    : undefined;

  const cpuWeight =
    int("cpu_weight", "an integer weight", MIN_CPU_WEIGHT, MAX_CPU_WEIGHT) ?? DEFAULT_CPU_WEIGHT;
  const cap = int("cap", "an integer percentage of one pCPU (0 = no cap)", 0, 100 * MAX_VCPUS) ?? 0;

  const disks: DiskConfig[] = [];
  for (const [i, spec] of specList(at("disk"), (m) => report("disk", m))) {
    const parsed = parseDiskSpec(spec.value);
    if (!parsed.ok) problems.add(spec.pos, `disk ${i} ("${spec.value}"): ${parsed.error}`, "disk");
    else disks.push({ ...parsed.disk, target: path(parsed.disk.target) });
  }
  const vdevs = new Map<string, number>();
  disks.forEach((d, i) => {
    const first = vdevs.get(d.vdev);
    if (first !== undefined) report("disk", `disks ${first} and ${i} are both ${d.vdev}`);
    else vdevs.set(d.vdev, i);
  });

  const vifs: VifConfig[] = [];
  for (const [i, spec] of specList(at("vif"), (m) => report("vif", m))) {
    const parsed = parseVifSpec(spec.value, options.random);
    if (!parsed.ok) problems.add(spec.pos, `vif ${i} ("${spec.value}"): ${parsed.error}`, "vif");
    else vifs.push(parsed.vif);
  }
  const macs = new Map<string, number>();
  vifs.forEach((v, i) => {
    const first = macs.get(v.mac);
    if (first !== undefined) report("vif", `vifs ${first} and ${i} both have MAC ${v.mac}`);
    else macs.set(v.mac, i);
  });

  const action = (key: string, fallback: ShutdownAction): ShutdownAction => {
    const text = str(key);
    if (text === "soft-reset") {
      report(key, `"soft-reset" is Xen's but rvisor guests have no soft reset`);
      return fallback;
    }
    return oneOf(key, text, SHUTDOWN_ACTIONS, fallback);
  };
  const onPoweroff = action("on_poweroff", "destroy");
  const onReboot = action("on_reboot", "restart");
  const onCrash = action("on_crash", "destroy");

  problems.throwIfAny();
  const config: DomainConfig = {
    name,
    ...(uuid !== undefined ? { uuid } : {}),
    type,
    kernel,
    ...(cmdline !== undefined ? { cmdline } : {}),
    memoryMiB,
    maxmemMiB,
    vcpus,
    maxvcpus,
    ...(cpus !== undefined ? { cpus } : {}),
    cpuWeight,
    cap,
    disks,
    vifs,
    onPoweroff,
    onReboot,
    onCrash,
  };
  return { config, warnings: warnings.list };
}

/** Applies assignments in order (last wins, += appends) and reports keys rvisor does not take. */
function settle(
  assignments: readonly Assignment[],
  problems: Problems,
  warnings: Problems,
): Map<string, Setting> {
  const settings = new Map<string, Setting>();
  const keys = Object.keys(RVISOR_KEYS);
  for (const a of assignments) {
    if (!isRvisorKey(a.key)) {
      problems.add(
        a.pos,
        unsupportedKeyMessage(a.key, (k) => didYouMean(k, keys)),
        a.key,
      );
      continue;
    }
    const old = settings.get(a.key);
    if (a.op === "=" || old === undefined) {
      if (old !== undefined) {
        warnings.add(a.pos, `set again; the value from line ${old.pos.line} is replaced (as in xl)`, a.key);
      }
      settings.set(a.key, { value: a.value, pos: a.pos });
    } else if (old.value.kind === "string" && a.value.kind === "string") {
      settings.set(a.key, { value: { ...old.value, value: old.value.value + a.value.value }, pos: a.pos });
    } else if (old.value.kind === "list" && a.value.kind === "list") {
      const joined: ListValue = { ...old.value, items: [...old.value.items, ...a.value.items] };
      settings.set(a.key, { value: joined, pos: a.pos });
    } else {
      problems.add(
        a.pos,
        `"+=" joins a string to a string or a list to a list, not ${describe(a.value)} to ${describe(old.value)}`,
        a.key,
      );
    }
  }
  return settings;
}

/** The strings of a device list (disk, vif), each with its position; a lone string counts as a list of one. */
function specList(setting: Setting | undefined, report: (m: string) => void): [number, StringValue][] {
  if (!setting) return [];
  const items = setting.value.kind === "list" ? setting.value.items : [setting.value];
  const out: [number, StringValue][] = [];
  items.forEach((item, i) => {
    if (item.kind === "string") out.push([i, item]);
    else report(`entry ${i}: expected a quoted spec string, got ${describe(item)}`);
  });
  return out;
}

function cpuAffinity(
  setting: Setting,
  maxvcpus: number,
  report: (m: string) => void,
  warn: (m: string) => void,
): CpuAffinity | undefined {
  const one = (v: Value, where: string): CpuSet | undefined => {
    const text = v.kind === "string" ? v.value : v.kind === "number" ? String(v.value) : undefined;
    if (text === undefined) {
      report(`${where}expected a CPU list string like "0-3,^2", got ${describe(v)}`);
      return undefined;
    }
    const parsed = parseCpuList(text);
    if (!parsed.ok) {
      report(`${where}${parsed.error}`);
      return undefined;
    }
    return parsed.set;
  };
  if (setting.value.kind !== "list") {
    const set = one(setting.value, "");
    return set && { kind: "shared", set };
  }
  const items = setting.value.items;
  if (items.length === 0) {
    report("an empty list pins nothing: leave cpus out for no pinning");
    return undefined;
  }
  const sets = items.map((item, i) => one(item, `vCPU ${i}: `));
  if (sets.some((s) => s === undefined)) return undefined;
  if (items.length > maxvcpus) {
    warn(
      `${items.length} entries but only ${maxvcpus} vCPUs: the last ${items.length - maxvcpus} are ignored (as in xl)`,
    );
  }
  return { kind: "perVcpu", sets: (sets as CpuSet[]).slice(0, maxvcpus) };
}

function describe(v: Value): string {
  if (v.kind === "string") return JSON.stringify(v.value);
  if (v.kind === "number") return `the number ${v.text}`;
  return "a list";
}
