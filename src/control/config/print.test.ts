import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatCpuSet } from "./cpulist.js";
import {
  type CpuAffinity,
  type CpuSet,
  type DiskConfig,
  DOMAIN_TYPES,
  type DomainConfig,
  MAX_VCPUS,
  SHUTDOWN_ACTIONS,
  type VifConfig,
} from "./domain-config.js";
import { parseDomainConfig } from "./load.js";
import { parseConfigText } from "./parser.js";
import { printConfig, printValue, quote } from "./print.js";

const parse = (text: string): DomainConfig =>
  parseDomainConfig(text, { file: "p.cfg", baseDir: "/base" }).config;

/** Any character, with the ones quoting and spec parsing care about made common. */
const trickyChar = fc.oneof(
  fc.constantFrom(
    "\\",
    '"',
    "'",
    "\n",
    "\r",
    "\t",
    "\0",
    "\x7f",
    ",",
    "=",
    ":",
    " ",
    "#",
    "[",
    "é",
    "\u{1f600}",
  ),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
);
const trickyString = (minLength = 0) =>
  fc.array(trickyChar, { minLength, maxLength: 20 }).map((cs) => cs.join(""));
/** Absolute paths with any characters (quotes, backslashes, commas, control characters, non-ASCII). */
const absPath = trickyString(1).map((s) => `/${s}`);

const cpuSet: fc.Arbitrary<CpuSet> = fc.oneof(
  fc
    .uniqueArray(fc.nat(63), { minLength: 1, maxLength: 8 })
    .map((c) => ({ all: false as const, cpus: c.sort((a, b) => a - b) })),
  fc
    .uniqueArray(fc.nat(63), { maxLength: 4 })
    .map((c) => ({ all: true as const, except: c.sort((a, b) => a - b) })),
);

const disk: fc.Arbitrary<Omit<DiskConfig, "vdev">> = fc.record({
  // target= eats the rest of the spec but, as in libxlu, drops one trailing comma: paths must not end in one.
  target: absPath.filter((p) => !p.endsWith(",")),
  format: fc.constantFrom("raw" as const, "qcow2" as const),
  access: fc.constantFrom("rw" as const, "ro" as const),
});

const mac = fc
  .tuple(
    fc.integer({ min: 0, max: 255 }),
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 5, maxLength: 5 }),
  )
  .map(([first, rest]) => [first & 0xfe, ...rest])
  .filter((b) => b.some((x) => x !== 0))
  .map((b) => b.map((x) => x.toString(16).padStart(2, "0")).join(":"));

const vif: fc.Arbitrary<VifConfig> = fc
  .record({ mac, bridge: fc.stringMatching(/^[A-Za-z0-9_.-]{1,15}$/) })
  .map((v) => ({ mac: v.mac, bridge: v.bridge }));

const domainConfig: fc.Arbitrary<DomainConfig> = fc
  .record({
    name: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/).filter((n) => !/^\d+$/.test(n)),
    uuid: fc.option(fc.uuid(), { nil: undefined }),
    type: fc.constantFrom(...DOMAIN_TYPES),
    kernel: absPath,
    memoryMiB: fc.integer({ min: 1, max: 1 << 20 }),
    extraMem: fc.integer({ min: 0, max: 1 << 20 }),
    vcpus: fc.integer({ min: 1, max: MAX_VCPUS }),
    extraVcpus: fc.nat(MAX_VCPUS),
    cpus: fc.option(
      fc.oneof(
        cpuSet.map((set) => ({ kind: "shared", set }) as const),
        fc.array(cpuSet, { minLength: 1, maxLength: 4 }),
      ),
      {
        nil: undefined,
      },
    ),
    cpuWeight: fc.integer({ min: 1, max: 65535 }),
    cap: fc.integer({ min: 0, max: 100 * MAX_VCPUS }),
    disks: fc.array(disk, { maxLength: 4 }),
    vifs: fc.uniqueArray(vif, { maxLength: 4, selector: (v) => v.mac }),
    onPoweroff: fc.constantFrom(...SHUTDOWN_ACTIONS),
    onReboot: fc.constantFrom(...SHUTDOWN_ACTIONS),
    onCrash: fc.constantFrom(...SHUTDOWN_ACTIONS),
  })
  .map((r) => {
    const maxvcpus = Math.min(MAX_VCPUS, r.vcpus + r.extraVcpus);
    let cpus: CpuAffinity | undefined;
    if (Array.isArray(r.cpus)) cpus = { kind: "perVcpu", sets: r.cpus.slice(0, maxvcpus) };
    else cpus = r.cpus as CpuAffinity | undefined;
    const config: DomainConfig = {
      name: r.name,
      ...(r.uuid !== undefined ? { uuid: r.uuid } : {}),
      type: r.type,
      kernel: r.kernel,
      memoryMiB: r.memoryMiB,
      maxmemMiB: r.memoryMiB + r.extraMem,
      vcpus: r.vcpus,
      maxvcpus,
      ...(cpus !== undefined ? { cpus } : {}),
      cpuWeight: r.cpuWeight,
      cap: r.cap,
      disks: r.disks.map((d, i) => ({ ...d, vdev: `xvd${String.fromCharCode(97 + i)}` })),
      vifs: r.vifs,
      onPoweroff: r.onPoweroff,
      onReboot: r.onReboot,
      onCrash: r.onCrash,
    };
    return config;
  });

/**
 * The same config written the way people write xl.cfg files: positional disk specs, single quotes,
 * hex and octal numbers, comments, semicolons, keys in another order, lists over several lines.
 */
function humanText(c: DomainConfig, style: { hex: boolean; semis: boolean; reversed: boolean }): string {
  const num = (n: number) => (style.hex ? `0x${n.toString(16)}` : n === 0 ? "0" : `0${n.toString(8)}`);
  const cpus = (a: CpuAffinity) =>
    a.kind === "shared"
      ? quote(formatCpuSet(a.set))
      : `[ ${a.sets.map((s) => `'${formatCpuSet(s)}'`).join(",\n  ")} , ]`;
  const lines = [
    `name = '${c.name}'  # the domain`,
    ...(c.uuid !== undefined ? [`uuid = "${c.uuid.toUpperCase()}"`] : []),
    `type = '${c.type}'`,
    `kernel = ${quote(c.kernel)}`,
    `memory = ${num(c.memoryMiB)}`,
    `maxmem = "${c.maxmemMiB}"`,
    `vcpus = ${num(c.vcpus)}`,
    `maxvcpus = ${c.maxvcpus}`,
    ...(c.cpus !== undefined ? [`cpus = ${cpus(c.cpus)}`] : []),
    `cpu_weight = ${c.cpuWeight}`,
    `cap = ${num(c.cap)}`,
    // Positional form where the path allows it (no ',', '=' or ':'), keyword form otherwise.
    `disk = [\n${c.disks
      .map((d) =>
        /^[^,=:\s]+$/.test(d.target)
          ? `${d.target},${d.format === "raw" ? "" : d.format},${d.vdev},${d.access === "ro" ? "r" : "w"}`
          : `vdev=${d.vdev},format=${d.format},access=${d.access},target=${d.target}`,
      )
      .map((s) => `    ${quote(s)}, # a disk\n`)
      .join("")}]`,
    `vif = [ ${c.vifs.map((v) => quote(`bridge=${v.bridge}, mac=${v.mac.toUpperCase()}`)).join(", ")} ]`,
    `on_poweroff = "${c.onPoweroff}"`,
    `on_reboot = "${c.onReboot}"`,
    `on_crash = "${c.onCrash}"`,
  ];
  if (style.reversed) lines.reverse();
  return lines.join(style.semis ? ";\n" : "\n");
}

describe("xl.cfg serializer", () => {
  it("writes a config that reads back to the same config, for any config", () => {
    fc.assert(
      fc.property(domainConfig, (c) => {
        assert.deepEqual(parse(printConfig(c)), c);
      }),
      { numRuns: 300 },
    );
  });

  it("prints what it parsed to text that parses to the same config, whatever the input's style", () => {
    const styles = fc.record({ hex: fc.boolean(), semis: fc.boolean(), reversed: fc.boolean() });
    fc.assert(
      fc.property(domainConfig, styles, (c, style) => {
        const first = parse(humanText(c, style));
        assert.deepEqual(first, c);
        assert.deepEqual(parse(printConfig(first)), first);
      }),
      { numRuns: 300 },
    );
  });

  it("quotes any string so the lexer reads it back unchanged", () => {
    fc.assert(
      fc.property(trickyString(), (s) => {
        const [a] = parseConfigText(`k = ${quote(s)}`, "q.cfg").assignments;
        assert.deepEqual(a!.value.kind === "string" && a!.value.value, s);
      }),
    );
  });

  it("prints syntax-tree values, nested lists included", () => {
    const [a] = parseConfigText("k = [1, 'a\"b', [0x10, []]]", "v.cfg").assignments;
    assert.equal(printValue(a!.value), '[1, "a\\"b", [16, []]]');
  });

  it("writes every key, with defaults, in a fixed order", () => {
    const text = printConfig(parse("name = 'a'\nkernel = '/k'"));
    assert.equal(
      text,
      [
        'name = "a"',
        'type = "pv"',
        'kernel = "/k"',
        "memory = 32",
        "maxmem = 32",
        "vcpus = 1",
        "maxvcpus = 1",
        "cpu_weight = 256",
        "cap = 0",
        "disk = []",
        "vif = []",
        'on_poweroff = "destroy"',
        'on_reboot = "restart"',
        'on_crash = "destroy"',
        "",
      ].join("\n"),
    );
  });
});
