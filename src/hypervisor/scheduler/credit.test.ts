import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CreditScheduler,
  CSCHED_DEFAULT_WEIGHT,
  CSCHED_PRI_IDLE,
  CSCHED_PRI_TS_BOOST,
  CSCHED_PRI_TS_OVER,
  CSCHED_PRI_TS_UNDER,
} from "./credit.js";
import {
  cpuBoundDomains,
  cpuTimeInWindow,
  domainShares,
  percentile,
  type SimDomain,
  type SimResult,
  simulate,
} from "./sim.js";

const MS = 1_000_000;
const S = 1_000_000_000;

function assertShare(actual: number | undefined, expected: number, tolerance: number, what: string): void {
  assert.ok(actual !== undefined, `${what}: no share`);
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: share ${(actual * 100).toFixed(2)} %, expected ${(expected * 100).toFixed(2)} % ± ${tolerance * 100}`,
  );
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** One CPU hog (domain 1, vCPU 1) and one I/O-like vCPU (domain 2, vCPU 2) sharing one pCPU. */
const hogAndIo: SimDomain[] = [
  { id: 1, vcpus: [{ id: 1, workload: { kind: "cpu" } }] },
  { id: 2, vcpus: [{ id: 2, workload: { kind: "io", burstNs: 0.5 * MS, sleepNs: 5 * MS } }] },
];

function hogWaitMs(r: SimResult): number {
  const hog = r.stats.vcpus.find((v) => v.vcpu === 1)!;
  return hog.runqWaitNs / hog.runqWaits / MS;
}

describe("Credit scheduler", () => {
  it("keeps Xen's constants and priority order", () => {
    assert.equal(CSCHED_DEFAULT_WEIGHT, 256);
    assert.ok(CSCHED_PRI_TS_BOOST > CSCHED_PRI_TS_UNDER);
    assert.ok(CSCHED_PRI_TS_UNDER > CSCHED_PRI_TS_OVER);
    assert.ok(CSCHED_PRI_TS_OVER > CSCHED_PRI_IDLE);
    const s = new CreditScheduler({ pcpus: 2 });
    assert.equal(s.tickPeriodNs, 10 * MS, "three ticks per 30 ms slice");
  });

  it("gives three 2-vCPU domains weighted 1:2:4 on 2 pCPUs shares of 1/7, 2/7 and 4/7 within 1 % over 10 s", () => {
    const r = simulate(new CreditScheduler({ pcpus: 2 }), {
      domains: cpuBoundDomains([256, 512, 1024], 2),
      durationNs: 10 * S,
    });
    const shares = domainShares(r, 2);
    assertShare(shares.get(1), 1 / 7, 0.01, "weight 1");
    assertShare(shares.get(2), 2 / 7, 0.01, "weight 2");
    assertShare(shares.get(3), 4 / 7, 0.01, "weight 4");
  });

  it("gives the weight-4 domain one full pCPU when each domain has one vCPU, and splits the other pCPU 1:2", () => {
    const r = simulate(new CreditScheduler({ pcpus: 2 }), {
      domains: cpuBoundDomains([256, 512, 1024], 1),
      durationNs: 10 * S,
    });
    const shares = domainShares(r, 2);
    assertShare(shares.get(3), 1 / 2, 0.01, "weight 4 (a vCPU cannot use more than one pCPU)");
    assertShare(shares.get(1), 1 / 6, 0.01, "weight 1");
    assertShare(shares.get(2), 2 / 6, 0.01, "weight 2");
  });

  it("holds a 25 % cap within 1 % of one pCPU, alone and against an uncapped hog, and parks the capped vCPU", () => {
    const alone = simulate(new CreditScheduler({ pcpus: 1 }), {
      domains: [{ id: 1, cap: 25, vcpus: [{ id: 1, workload: { kind: "cpu" } }] }],
      durationNs: 10 * S,
    });
    assertShare(domainShares(alone, 1).get(1), 0.25, 0.01, "capped domain alone");

    const shared = simulate(new CreditScheduler({ pcpus: 1 }), {
      domains: [
        { id: 1, cap: 25, vcpus: [{ id: 1, workload: { kind: "cpu" } }] },
        { id: 2, vcpus: [{ id: 2, workload: { kind: "cpu" } }] },
      ],
      durationNs: 10 * S,
    });
    const shares = domainShares(shared, 1);
    assertShare(shares.get(1), 0.25, 0.01, "capped domain against a hog");
    assertShare(shares.get(2), 0.75, 0.01, "the hog takes what the cap leaves");
  });

  it("reports a capped vCPU that overspent as parked, not runnable", () => {
    const s = new CreditScheduler({ pcpus: 1 });
    const r = simulate(s, {
      domains: [{ id: 1, cap: 10, vcpus: [{ id: 1, workload: { kind: "cpu" } }] }],
      durationNs: 10 * S,
    });
    // With a 10 % cap the vCPU spends most of its time parked and the pCPU idles (a cap is a ceiling).
    assertShare(domainShares(r, 1).get(1), 0.1, 0.01, "10 % cap");
    const states = new Set<string>();
    const probe = new CreditScheduler({ pcpus: 1 });
    probe.addDomain(1, { weight: 256, cap: 10 });
    probe.addVcpu(1, 1);
    probe.wake(1, 0);
    probe.pickNext(0, 0);
    for (let t = 10 * MS; t <= 300 * MS; t += 10 * MS) {
      for (const p of probe.tick(0, t)) probe.pickNext(p, t);
      states.add(probe.stats(t).vcpus[0].state);
    }
    assert.ok(states.has("parked"), `states seen: ${[...states].join(", ")}`);
    assert.ok(states.has("running"), `states seen: ${[...states].join(", ")}`);
  });

  it("boosts an I/O-like vCPU on wake-up so it waits less than a CPU hog, and loses that without boost", () => {
    const boosted = simulate(new CreditScheduler({ pcpus: 1 }), { domains: hogAndIo, durationNs: 10 * S });
    const plain = simulate(new CreditScheduler({ pcpus: 1, boost: false }), {
      domains: hogAndIo,
      durationNs: 10 * S,
    });
    const io = boosted.wakeLatencyNs.get(2)!;
    const ioPlain = plain.wakeLatencyNs.get(2)!;
    // Boosted: it preempts the hog at once (the hog has run longer than the 1 ms ratelimit).
    assert.ok(percentile(io, 99) <= 1 * MS, `boosted p99 ${percentile(io, 99) / MS} ms`);
    assert.ok(mean(io) / MS < hogWaitMs(boosted), `io ${mean(io) / MS} ms vs hog ${hogWaitMs(boosted)} ms`);
    // Without boost the hog is as often UNDER as the I/O vCPU, so the I/O vCPU waits for the hog's slice.
    assert.ok(
      mean(ioPlain) / MS > hogWaitMs(plain),
      `io ${mean(ioPlain) / MS} ms vs hog ${hogWaitMs(plain)} ms`,
    );
    assert.ok(percentile(ioPlain, 90) >= 10 * MS, `unboosted p90 ${percentile(ioPlain, 90) / MS} ms`);
  });

  it("does not let a boosted wake-up preempt a vCPU that has run less than the 1 ms ratelimit", () => {
    const s = new CreditScheduler({ pcpus: 1 });
    s.addDomain(1, { weight: 256, cap: 0 });
    s.addDomain(2, { weight: 256, cap: 0 });
    s.addVcpu(1, 1);
    s.addVcpu(2, 2);
    s.wake(1, 0);
    s.wake(2, 0); // a placement, not a wake-up from I/O: no boost, so vCPU 1 keeps running
    assert.equal(s.pickNext(0, 0).vcpu, 1);
    assert.equal(s.pickNext(0, 30_000_000).vcpu, 2, "slice over: vCPU 2's turn");
    assert.deepEqual(s.sleep(2, 31_000_000), [0]);
    assert.equal(s.pickNext(0, 31_000_000).vcpu, 1, "vCPU 1 starts again at 31 ms");
    // vCPU 2 wakes 0.3 ms later, boosted: its pCPU is kicked, but vCPU 1 keeps it until it ran 1 ms.
    assert.deepEqual(s.wake(2, 31_300_000), [0]);
    assert.equal(s.stats(31_300_000).vcpus[1].priority, "BOOST");
    const d = s.pickNext(0, 31_300_000);
    assert.equal(d.vcpu, 1);
    assert.equal(d.runFor, 700_000);
    assert.equal(s.pickNext(0, 32_000_000).vcpu, 2);
  });

  it("applies a weight changed at runtime from the next accounting period on", () => {
    const change = 2 * S + 15 * MS; // between two accounting passes
    const run = (weight: number) =>
      simulate(new CreditScheduler({ pcpus: 1 }), {
        domains: cpuBoundDomains([256, 256], 1),
        durationNs: 6 * S,
        actions: [{ at: change, kind: "params", dom: 1, weight }],
      });
    const changed = run(768);
    const before = cpuTimeInWindow(changed.trace, 0, 2 * S);
    assertShare(before.get(1)! / (2 * S), 0.5, 0.01, "domain 1 before the change");
    // From the first accounting pass after the change (at most 30 ms later), 3:1.
    const from = change + 30 * MS;
    const after = cpuTimeInWindow(changed.trace, from, from + 3 * S);
    assertShare(after.get(1)! / (3 * S), 0.75, 0.015, "domain 1 after weight 256 → 768");
    const unchanged = cpuTimeInWindow(run(256).trace, from, from + 3 * S);
    assertShare(unchanged.get(1)! / (3 * S), 0.5, 0.015, "domain 1 when the weight stays");
  });

  it("applies a cap set on a running domain, and lifts it when the cap is removed", () => {
    const r = simulate(new CreditScheduler({ pcpus: 1 }), {
      domains: [{ id: 1, vcpus: [{ id: 1, workload: { kind: "cpu" } }] }],
      durationNs: 9 * S,
      actions: [
        { at: 3 * S, kind: "params", dom: 1, cap: 25 },
        { at: 6 * S, kind: "params", dom: 1, cap: 0 },
      ],
    });
    const share = (from: number, to: number) => cpuTimeInWindow(r.trace, from, to).get(1)! / (to - from);
    assertShare(share(0, 3 * S), 1, 0.001, "uncapped");
    assertShare(share(3.1 * S, 6 * S), 0.25, 0.01, "capped at 25 %");
    assertShare(share(6.1 * S, 9 * S), 1, 0.001, "uncapped again");
  });

  it("makes the same decisions for the same inputs", () => {
    const config = {
      domains: [...cpuBoundDomains([256, 512], 2), ...hogAndIo.map((d) => ({ ...d, id: d.id + 10 }))].map(
        (d, i) => ({ ...d, vcpus: d.vcpus.map((v, j) => ({ ...v, id: 100 * i + j })) }),
      ),
      durationNs: 2 * S,
    };
    const a = simulate(new CreditScheduler({ pcpus: 3 }), config);
    const b = simulate(new CreditScheduler({ pcpus: 3 }), config);
    assert.equal(JSON.stringify(a.trace), JSON.stringify(b.trace));
    assert.deepEqual(a.stats, b.stats);
    assert.ok(a.trace.length > 100);
  });

  it("rejects out-of-range parameters and time that goes backwards, naming the call", () => {
    const s = new CreditScheduler({ pcpus: 2 });
    assert.throws(
      () => s.addDomain(1, { weight: 0, cap: 0 }),
      /addDomain\(1\): weight 0 is outside 1\.\.65535/,
    );
    assert.throws(() => s.addDomain(1, { weight: 256, cap: 201 }), /cap 201 % is outside 0\.\.200/);
    s.addDomain(1, { weight: 256, cap: 0, cpus: [1] });
    assert.throws(() => s.addVcpu(1, 1, { pinned: [0] }), /domain cpus ∩ vCPU pin is empty/);
    s.addVcpu(1, 1);
    s.wake(1, 5 * MS);
    assert.throws(() => s.tick(0, 4 * MS), /tick: time 4000000 ns is before the last call's 5000000 ns/);
    assert.throws(() => s.pickNext(2, 5 * MS), /no pCPU 2 \(host has 2\)/);
    assert.equal(s.pickNext(1, 5 * MS).vcpu, 1);
    assert.throws(() => s.removeVcpu(1), /still running on pCPU 1/);
    assert.throws(() => s.removeDomain(1), /vCPUs 1 still exist/);
  });

  it("lets a vCPU be removed once it slept and its pCPU rescheduled", () => {
    const s = new CreditScheduler({ pcpus: 1 });
    s.addDomain(7, { weight: 256, cap: 0 });
    s.addVcpu(70, 7);
    s.wake(70, 0);
    s.pickNext(0, 0);
    assert.deepEqual(s.sleep(70, 3 * MS), [0]);
    assert.equal(s.pickNext(0, 3 * MS).vcpu, null);
    s.removeVcpu(70);
    s.removeDomain(7);
    assert.deepEqual(s.stats(3 * MS).vcpus, []);
  });
});
