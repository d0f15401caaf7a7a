/**
 * Properties every policy must keep whatever the host does: random hosts (1–4 pCPUs), domains with
 * random weights, caps, cpus sets, pins and workloads, and random runtime changes (weights, caps,
 * affinity, pause/unpause). The simulator checks each decision and each instant.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { PcpuId } from "./interface.js";
import { createScheduler, SCHEDULER_NAMES } from "./registry.js";
import { type SimAction, type SimConfig, type SimDomain, simulate } from "./sim.js";

const MS = 1_000_000;
const DURATION = 400 * MS;

const subset = (n: number) =>
  fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { minLength: 1, maxLength: n }).map((a) => a.sort());

const workload = fc.oneof(
  fc.constant({ kind: "cpu" as const }),
  fc.record({
    kind: fc.constant("io" as const),
    burstNs: fc.integer({ min: 50_000, max: 5 * MS }),
    sleepNs: fc.integer({ min: 100_000, max: 20 * MS }),
  }),
);

function hostArb(): fc.Arbitrary<{ pcpus: number; config: SimConfig }> {
  return fc.integer({ min: 1, max: 4 }).chain((pcpus) => {
    const domain = fc.record({
      weight: fc.integer({ min: 1, max: 2048 }),
      cap: fc.oneof(fc.constant(0), fc.integer({ min: 5, max: 100 * pcpus })),
      cpus: fc.option(subset(pcpus), { nil: undefined }),
      vcpus: fc.array(
        fc.record({
          workload,
          pinned: fc.option(subset(pcpus), { nil: undefined }),
          startNs: fc.integer({ min: 0, max: 50 * MS }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    });
    const action = fc.oneof(
      fc.record({
        at: fc.integer({ min: 0, max: DURATION }),
        kind: fc.constant("params" as const),
        dom: fc.integer({ min: 1, max: 3 }),
        weight: fc.option(fc.integer({ min: 1, max: 2048 }), { nil: undefined }),
        cap: fc.option(fc.integer({ min: 0, max: 100 * pcpus }), { nil: undefined }),
      }),
      fc.record({
        at: fc.integer({ min: 0, max: DURATION }),
        kind: fc.constant("affinity" as const),
        target: fc.oneof(
          fc.record({ dom: fc.integer({ min: 1, max: 3 }) }),
          fc.record({ vcpu: fc.integer({ min: 1, max: 9 }) }),
        ),
        cpus: fc.option(subset(pcpus), { nil: null }),
      }),
      fc.record({
        at: fc.integer({ min: 0, max: DURATION }),
        kind: fc.constantFrom("pause" as const, "unpause" as const),
        vcpu: fc.integer({ min: 1, max: 9 }),
      }),
    );
    return fc
      .record({
        domains: fc.array(domain, { minLength: 1, maxLength: 3 }),
        actions: fc.array(action, { maxLength: 10 }),
      })
      .map(({ domains, actions }) => ({ pcpus, config: sanitize(domains, actions) }));
  });
}

type RawDomain = Omit<SimDomain, "id" | "vcpus"> & { vcpus: Omit<SimDomain["vcpus"][number], "id">[] };

/** Numbers domains and vCPUs, and drops pins and actions that would leave a vCPU with no pCPU. */
function sanitize(raw: RawDomain[], actions: SimAction[]): SimConfig {
  const meet = (a: PcpuId[] | null | undefined, b: PcpuId[] | null | undefined) =>
    a == null || b == null || a.some((p) => b.includes(p));
  let id = 0;
  const domains: SimDomain[] = raw.map((d, i) => ({
    ...d,
    id: i + 1,
    vcpus: d.vcpus.map((v) => ({ ...v, id: ++id, pinned: meet(d.cpus, v.pinned) ? v.pinned : undefined })),
  }));
  const domCpus = new Map(domains.map((d) => [d.id, d.cpus ?? null]));
  const pins = new Map(domains.flatMap((d) => d.vcpus.map((v) => [v.id, v.pinned ?? null] as const)));
  const owner = new Map(domains.flatMap((d) => d.vcpus.map((v) => [v.id, d.id] as const)));
  const kept: SimAction[] = [];
  for (const a of [...actions].sort((x, y) => x.at - y.at)) {
    if (a.kind === "params") {
      if (!domCpus.has(a.dom) || (a.weight === undefined && a.cap === undefined)) continue;
    } else if (a.kind === "affinity") {
      if ("dom" in a.target) {
        const dom = a.target.dom;
        if (!domCpus.has(dom)) continue;
        const vs = [...owner].filter(([, d]) => d === dom).map(([v]) => v);
        if (!vs.every((v) => meet(a.cpus, pins.get(v)))) continue;
        domCpus.set(dom, a.cpus);
      } else {
        const v = a.target.vcpu;
        if (!owner.has(v) || !meet(domCpus.get(owner.get(v)!), a.cpus)) continue;
        pins.set(v, a.cpus);
      }
    } else if (!owner.has(a.vcpu)) continue;
    kept.push(a);
  }
  return { domains, actions: kept, durationNs: DURATION, checkWorkConservation: true };
}

for (const name of SCHEDULER_NAMES) {
  describe(`${name}: properties over random hosts`, () => {
    it("never runs a vCPU outside its affinity, twice at once, or while blocked, and never idles a pCPU that waiting work may use", () => {
      fc.assert(
        fc.property(hostArb(), ({ pcpus, config }) => {
          const r = simulate(createScheduler(name, { pcpus }), config);
          assert.deepEqual(r.violations, []);
        }),
        { numRuns: 120 },
      );
    });

    it("accounts no more CPU time than the host had, nor a vCPU more than the run lasted", () => {
      fc.assert(
        fc.property(hostArb(), ({ pcpus, config }) => {
          const r = simulate(createScheduler(name, { pcpus }), config);
          const total = r.stats.vcpus.reduce((s, v) => s + v.cpuTimeNs, 0);
          assert.ok(total <= DURATION * pcpus, `${total} ns on ${pcpus} pCPUs in ${DURATION} ns`);
          for (const v of r.stats.vcpus)
            assert.ok(v.cpuTimeNs <= DURATION, `vCPU ${v.vcpu}: ${v.cpuTimeNs} ns`);
          const busy = r.stats.pcpus.reduce((s, p) => s + p.busyNs, 0);
          assert.equal(busy, total, "pCPU busy time is the vCPUs' CPU time");
        }),
        { numRuns: 60 },
      );
    });

    it("makes the same decisions for the same inputs", () => {
      fc.assert(
        fc.property(hostArb(), ({ pcpus, config }) => {
          const a = simulate(createScheduler(name, { pcpus }), config);
          const b = simulate(createScheduler(name, { pcpus }), config);
          assert.equal(JSON.stringify(a.trace), JSON.stringify(b.trace));
          assert.deepEqual(a.stats, b.stats);
        }),
        { numRuns: 30 },
      );
    });
  });
}
