import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RoundRobinScheduler } from "./round-robin.js";
import { cpuBoundDomains, domainShares, percentile, simulate } from "./sim.js";

const MS = 1_000_000;
const S = 1_000_000_000;

describe("round-robin scheduler", () => {
  it("gives every CPU-bound vCPU an equal turn whatever the weights", () => {
    const r = simulate(new RoundRobinScheduler({ pcpus: 2 }), {
      domains: cpuBoundDomains([256, 512, 1024], 2),
      durationNs: 3 * S,
    });
    for (const [dom, share] of domainShares(r, 2))
      assert.ok(Math.abs(share - 1 / 3) < 0.01, `domain ${dom}: ${share}`);
  });

  it("ignores caps: a capped domain alone uses the whole pCPU", () => {
    const r = simulate(new RoundRobinScheduler({ pcpus: 1 }), {
      domains: [{ id: 1, cap: 25, vcpus: [{ id: 1, workload: { kind: "cpu" } }] }],
      durationNs: 1 * S,
    });
    assert.equal(domainShares(r, 1).get(1), 1);
  });

  it("makes a waking vCPU wait behind the running slice: no boost", () => {
    const r = simulate(new RoundRobinScheduler({ pcpus: 1 }), {
      domains: [
        { id: 1, vcpus: [{ id: 1, workload: { kind: "cpu" } }] },
        { id: 2, vcpus: [{ id: 2, workload: { kind: "io", burstNs: 0.5 * MS, sleepNs: 5 * MS } }] },
      ],
      durationNs: 2 * S,
    });
    const io = r.wakeLatencyNs.get(2)!;
    assert.ok(percentile(io, 50) > 10 * MS, `p50 ${percentile(io, 50) / MS} ms`);
    assert.ok(percentile(io, 100) <= 30 * MS, `max ${percentile(io, 100) / MS} ms: at most one slice`);
  });

  it("runs the next queued vCPU when the running one yields, and queues the yielder last", () => {
    const s = new RoundRobinScheduler({ pcpus: 1 });
    s.addDomain(1, { weight: 256, cap: 0 });
    for (const v of [1, 2, 3]) s.addVcpu(v, 1);
    for (const v of [1, 2, 3]) s.wake(v, 0);
    assert.equal(s.pickNext(0, 0).vcpu, 1);
    assert.deepEqual(s.yield(1, 1 * MS), [0]);
    assert.equal(s.pickNext(0, 1 * MS).vcpu, 2);
    assert.equal(s.pickNext(0, 31 * MS).vcpu, 3);
    assert.equal(s.pickNext(0, 61 * MS).vcpu, 1);
  });

  it("kicks an idle pCPU when work it may run is queued, and no other", () => {
    const s = new RoundRobinScheduler({ pcpus: 3 });
    s.addDomain(1, { weight: 256, cap: 0, cpus: [2] });
    s.addVcpu(1, 1);
    assert.deepEqual(s.wake(1, 0), [2]);
    assert.deepEqual(s.pickNext(2, 0), { vcpu: 1, runFor: 30 * MS, kick: [] });
  });
});
