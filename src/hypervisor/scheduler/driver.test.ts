import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CreditScheduler } from "./credit.js";
import { SchedulerDriver } from "./driver.js";

const MS = 1_000_000;

function twoVcpusOnOnePcpu(): SchedulerDriver {
  const s = new CreditScheduler({ pcpus: 1 });
  s.addDomain(1, { weight: 256, cap: 0 });
  s.addVcpu(1, 1);
  s.addVcpu(2, 1);
  return new SchedulerDriver(s);
}

describe("scheduler driver", () => {
  it("runs the decisions that kicks ask for, at the instant they are asked for", () => {
    const d = twoVcpusOnOnePcpu();
    assert.deepEqual(d.run(0), [], "nothing due, nothing kicked");
    d.wake(1, 0);
    d.wake(2, 0);
    assert.equal(d.kicked, true);
    assert.deepEqual(d.run(0), [{ pcpu: 0, vcpu: 1, until: 30 * MS }]);
    assert.deepEqual(d.current, [1]);
    assert.equal(d.kicked, false);
  });

  it("asks to be run again at the next tick or slice end, whichever comes first, and keeps both", () => {
    const d = twoVcpusOnOnePcpu();
    assert.equal(d.nextDeadline(), 10 * MS, "first tick");
    d.wake(1, 0);
    d.wake(2, 0);
    d.run(0);
    for (const t of [10 * MS, 20 * MS]) {
      assert.equal(d.nextDeadline(), t);
      assert.deepEqual(d.run(t), [], "a tick alone changes nothing here");
    }
    assert.equal(d.nextDeadline(), 30 * MS);
    assert.deepEqual(d.run(30 * MS), [{ pcpu: 0, vcpu: 2, until: 60 * MS }], "slice over: the other vCPU");
    assert.equal(d.calls.tick, 3);
    assert.equal(d.calls.pickNext, 2);
  });

  it("deschedules a vCPU that blocks, and idles the pCPU until a wake-up kicks it", () => {
    const d = twoVcpusOnOnePcpu();
    d.wake(1, 0);
    d.run(0);
    d.sleep(1, 4 * MS);
    assert.deepEqual(d.run(4 * MS), [{ pcpu: 0, vcpu: null, until: Number.POSITIVE_INFINITY }]);
    assert.equal(d.runningOn(1), null);
    d.wake(2, 7 * MS);
    assert.deepEqual(d.run(7 * MS), [{ pcpu: 0, vcpu: 2, until: 37 * MS }]);
    assert.equal(d.runningOn(2), 0);
  });
});
