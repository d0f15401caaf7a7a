import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  formatTable,
  median,
  meetsGoal,
  roundSignificant,
  type SuiteResult,
  writeResults,
} from "./results.js";

const sample: SuiteResult = {
  suite: "cpu",
  figures: {
    "rvisor.interp.mips": { value: 31.23456, unit: "MIPS", goal: 30, better: "higher" },
    "qemu.seconds": { value: 2.000049, unit: "s", goal: null, better: "lower" },
    latency: { value: 12, unit: "ms", goal: 10, better: "lower" },
  },
  notes: ["a note"],
  context: { iterations: 9000 },
};

describe("benchmark results", () => {
  it("takes the middle value as the median, and the mean of the middle two for an even count", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.throws(() => median([]));
  });

  it("finds a median no smaller than the lower half and no larger than the upper half", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e9, max: 1e9 }), { minLength: 1 }), (xs) => {
        const m = median(xs);
        assert.ok(xs.filter((x) => x <= m).length >= xs.length / 2);
        assert.ok(xs.filter((x) => x >= m).length >= xs.length / 2);
      }),
    );
  });

  it("rounds iteration counts to two significant digits", () => {
    assert.equal(roundSignificant(8734, 2), 8700);
    assert.equal(roundSignificant(96, 2), 96);
    assert.equal(roundSignificant(12_551, 2), 13_000);
    assert.equal(roundSignificant(6.1234, 2), 6.1);
  });

  it("judges goals in the figure's better direction and leaves reference figures unjudged", () => {
    assert.equal(meetsGoal(sample.figures["rvisor.interp.mips"]), true);
    assert.equal(meetsGoal(sample.figures.latency), false);
    assert.equal(meetsGoal(sample.figures["qemu.seconds"]), undefined);
  });

  it("prints every figure in the table with its goal and verdict", () => {
    const table = formatTable(sample);
    assert.match(table, /rvisor\.interp\.mips +│ 31\.23 +│ MIPS +│ >= 30\.00 +│ yes/);
    assert.match(table, /latency +│ 12\.00 +│ ms +│ <= 10\.00 +│ no/);
    assert.match(table, /qemu\.seconds +│ 2\.00 +│ s +│ - +│ +│/);
  });

  it("writes the suite file with value, unit, goal and better for each figure, values to 4 digits", () => {
    const dir = mkdtempSync(join(tmpdir(), "rvisor-bench-"));
    try {
      const path = join(dir, "nested", "cpu.json");
      writeResults(path, sample);
      const written = JSON.parse(readFileSync(path, "utf8"));
      assert.equal(written.suite, "cpu");
      assert.deepEqual(written.figures["rvisor.interp.mips"], {
        value: 31.23,
        unit: "MIPS",
        goal: 30,
        better: "higher",
      });
      assert.deepEqual(written.figures["qemu.seconds"], { value: 2, unit: "s", goal: null, better: "lower" });
      assert.deepEqual(written.context, { iterations: 9000 });
      writeResults(path, { ...sample, summary: "a table for the terminal" });
      assert.equal("summary" in JSON.parse(readFileSync(path, "utf8")), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
