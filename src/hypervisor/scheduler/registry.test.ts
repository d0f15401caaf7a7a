import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CreditScheduler } from "./credit.js";
import { createScheduler, DEFAULT_SCHEDULER, SCHEDULER_NAMES } from "./registry.js";
import { RoundRobinScheduler } from "./round-robin.js";

describe("scheduler registry", () => {
  it("makes Credit the default and builds each policy by name", () => {
    assert.equal(DEFAULT_SCHEDULER, "credit");
    assert.deepEqual(SCHEDULER_NAMES, ["credit", "round-robin"]);
    assert.ok(createScheduler("credit", { pcpus: 2 }) instanceof CreditScheduler);
    const rr = createScheduler("round-robin", { pcpus: 3 });
    assert.ok(rr instanceof RoundRobinScheduler);
    assert.equal(rr.pcpus, 3);
  });

  it("names the known schedulers when asked for an unknown one", () => {
    assert.throws(
      () => createScheduler("credit2", { pcpus: 1 }),
      /unknown scheduler 'credit2'; schedulers: credit, round-robin/,
    );
    assert.throws(() => createScheduler("toString", { pcpus: 1 }), /unknown scheduler/);
  });

  it("passes policy options through", () => {
    const s = createScheduler("credit", { pcpus: 1, tsliceMs: 3 });
    assert.equal(s.tickPeriodNs, 1_000_000, "a 3 ms slice ticks every 1 ms");
    assert.throws(
      () => createScheduler("credit", { pcpus: 1, tsliceMs: 0 }),
      /tsliceMs 0 is outside 1\.\.1000/,
    );
  });
});
