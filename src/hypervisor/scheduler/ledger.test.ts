import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CreditScheduler } from "./credit.js";
import type { TraceSegment } from "./interface.js";
import { Ledger } from "./ledger.js";
import { cpuBoundDomains, simulate } from "./sim.js";

const MS = 1_000_000;

describe("scheduler ledger and trace", () => {
  it("traces which vCPU ran on which pCPU when, without overlaps, exportable as JSON", () => {
    const r = simulate(new CreditScheduler({ pcpus: 2 }), {
      domains: cpuBoundDomains([256, 512], 3),
      durationNs: 500 * MS,
    });
    const back = JSON.parse(JSON.stringify(r.trace)) as TraceSegment[];
    assert.deepEqual(back, r.trace);
    for (const p of [0, 1]) {
      const mine = r.trace.filter((s) => s.pcpu === p).sort((a, b) => a.start - b.start);
      for (let i = 1; i < mine.length; i++) assert.ok(mine[i].start >= mine[i - 1].end, `pCPU ${p} overlaps`);
    }
    const traced = r.trace.reduce((s, seg) => s + seg.end - seg.start, 0);
    assert.equal(
      traced,
      r.stats.vcpus.reduce((s, v) => s + v.cpuTimeNs, 0),
    );
  });

  it("counts run-queue waits and migrations between pCPUs", () => {
    const l = new Ledger(2);
    l.addDomain(1, { weight: 256, cap: 0 });
    const v = l.addVcpu(10, 1);
    l.startWaiting(v, 0);
    l.switchTo(0, 10, 4 * MS);
    l.switchTo(0, null, 6 * MS);
    l.startWaiting(v, 6 * MS);
    l.switchTo(1, 10, 7 * MS);
    assert.equal(v.runqWaits, 2);
    assert.equal(v.runqWaitNs, 5 * MS);
    assert.equal(v.maxRunqWaitNs, 4 * MS);
    assert.equal(v.migrations, 1);
    assert.equal(l.cpuTimeAt(v, 8 * MS), 3 * MS);
    assert.deepEqual(l.trace(8 * MS), [
      { pcpu: 0, vcpu: 10, dom: 1, start: 4 * MS, end: 6 * MS },
      { pcpu: 1, vcpu: 10, dom: 1, start: 7 * MS, end: 8 * MS },
    ]);
  });

  it("keeps at most traceLimit segments, dropping the oldest", () => {
    const l = new Ledger(1, { traceLimit: 10 });
    l.addDomain(1, { weight: 256, cap: 0 });
    l.addVcpu(1, 1);
    for (let i = 0; i < 50; i++) {
      l.switchTo(0, 1, 2 * i);
      l.switchTo(0, null, 2 * i + 1);
    }
    const t = l.trace(100);
    assert.ok(t.length <= 10);
    assert.equal(t[t.length - 1].start, 98);
  });

  it("refuses a pin that leaves no pCPU, and keeps the old affinity", () => {
    const l = new Ledger(4);
    l.addDomain(1, { weight: 256, cap: 0, cpus: [0, 1] });
    const v = l.addVcpu(1, 1, { pinned: [1, 3] });
    assert.deepEqual(v.affinity, [1]);
    assert.throws(() => l.setAffinity({ dom: 1 }, [0, 2]), /vCPU 1: domain cpus ∩ vCPU pin is empty/);
    assert.deepEqual(v.affinity, [1]);
    l.setAffinity({ vcpu: 1 }, null);
    assert.deepEqual(v.affinity, [0, 1]);
  });
});
