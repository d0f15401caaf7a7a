import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runSchedBench } from "./bench.js";

describe("sched benchmark", () => {
  it("reports fairness, cap, latency and overhead figures for Credit and round-robin, and prints a table", async () => {
    const printed: string[] = [];
    const r = await runSchedBench({ seconds: 1, print: (t) => printed.push(t) });
    assert.equal(r.suite, "sched");
    for (const policy of ["credit", "credit-noboost", "round-robin"])
      for (const figure of [
        "fairness error",
        "cap error",
        "wake latency p50",
        "wake latency p99",
        "overhead (8 pCPUs)",
      ])
        assert.ok(Number.isFinite(r.figures[`${policy} ${figure}`]?.value), `${policy} ${figure}`);
    assert.ok(r.figures["credit fairness error"].value < r.figures["round-robin fairness error"].value);
    assert.ok(
      r.figures["credit wake latency p99"].value < r.figures["credit-noboost wake latency p99"].value,
    );
    assert.match(printed.join("\n"), /round-robin/);
  });
});
