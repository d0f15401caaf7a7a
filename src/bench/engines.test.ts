/**
 * The figures of an engine comparison, from measurements given here: how rates, ratios, goals and the
 * translation cache's figures are derived. Nothing is run or timed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MAX_BLOCKS, type TranslatorStats } from "../machine/dbt/translator.js";
import { dbtFigures, summaryTable } from "./dbt.js";
import {
  type Comparison,
  comparisonFigures,
  largestCounters,
  MIN_NET_SECONDS,
  NO_GOALS,
  rates,
  TARGETS,
} from "./engines.js";
import { meetsGoal } from "./results.js";
import { COREMARK, findWorkload, WORKLOADS } from "./workloads.js";

const cache: TranslatorStats = {
  blocks: 900,
  translations: 950,
  invalidations: 50,
  flushes: 0,
  sourceChars: 2048,
};

function comparison(over: Partial<Comparison> = {}): Comparison {
  return {
    workload: COREMARK,
    size: 1000,
    instructions: 400e6,
    interpSeconds: 10,
    dbtSeconds: 2,
    qemuSeconds: 0.54,
    qemuStartup: 0.04,
    cache,
    ...over,
  };
}

describe("engine comparison figures", () => {
  it("derives QEMU's MIPS from rvisor's instruction count over QEMU's time less its start-up", () => {
    const r = rates(comparison());
    assert.equal(r.interp, 40);
    assert.equal(r.dbt, 200);
    assert.equal(r.qemuNet, 0.5);
    assert.equal(r.qemu, 800);
  });

  it("never lets QEMU's net time fall below the floor, so a tiny run gives a finite positive rate", () => {
    const r = rates(comparison({ qemuSeconds: 0.03, qemuStartup: 0.04 }));
    assert.equal(r.qemuNet, MIN_NET_SECONDS);
    assert.ok(Number.isFinite(r.qemu) && r.qemu > 0);
  });

  it("gives the three ratios as MIPS over MIPS", () => {
    const f = comparisonFigures(comparison(), NO_GOALS);
    assert.equal(f["ratio.dbt_over_qemu"].value, 0.25);
    assert.equal(f["ratio.interp_over_qemu"].value, 0.05);
    assert.equal(f["ratio.dbt_over_interp"].value, 5);
  });

  it("keeps every ratio consistent with the rates it comes from, whatever the measurements", () => {
    const positive = fc.double({ min: 1e-3, max: 1e3, noNaN: true });
    fc.assert(
      fc.property(positive, positive, positive, fc.integer({ min: 1, max: 1e9 }), (i, d, q, n) => {
        const f = comparisonFigures(
          comparison({ instructions: n, interpSeconds: i, dbtSeconds: d, qemuSeconds: q + 0.04 }),
          NO_GOALS,
        );
        const near = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
        assert.ok(near(f["ratio.dbt_over_qemu"].value * f["qemu.mips_derived"].value, f["dbt.mips"].value));
        assert.ok(near(f["ratio.dbt_over_interp"].value * f["interp.mips"].value, f["dbt.mips"].value));
      }),
    );
  });

  it("judges the ratios by the goals given, and only by them", () => {
    const judged = comparisonFigures(comparison(), TARGETS);
    assert.equal(judged["ratio.dbt_over_qemu"].goal, 0.5);
    assert.equal(meetsGoal(judged["ratio.dbt_over_qemu"]), false);
    assert.equal(judged["ratio.interp_over_qemu"].goal, 0.08);
    assert.equal(meetsGoal(judged["ratio.interp_over_qemu"]), false);
    assert.equal(judged["ratio.dbt_over_qemu"].better, "higher");
    const plain = comparisonFigures(comparison(), NO_GOALS);
    assert.equal(plain["ratio.dbt_over_qemu"].goal, null);
  });

  it("reports every translator counter, with the block count judged against the cache's bound", () => {
    const f = comparisonFigures(comparison(), NO_GOALS);
    assert.deepEqual(f["dbt.cache.blocks"], {
      value: 900,
      unit: "blocks",
      goal: MAX_BLOCKS,
      better: "lower",
    });
    assert.equal(f["dbt.cache.translations"].value, 950);
    assert.equal(f["dbt.cache.invalidations"].value, 50);
    assert.equal(f["dbt.cache.flushes"].value, 0);
    assert.deepEqual(f["dbt.cache.source_chars"], {
      value: 2048,
      unit: "chars",
      goal: null,
      better: "lower",
    });
    const over = comparisonFigures(comparison({ cache: { ...cache, blocks: MAX_BLOCKS + 1 } }), NO_GOALS);
    assert.equal(meetsGoal(over["dbt.cache.blocks"]), false);
  });

  it("takes each cache counter's largest value over the runs", () => {
    const a = { ...cache, blocks: 10, flushes: 2 };
    const b = { ...cache, blocks: 12, flushes: 1 };
    assert.deepEqual(largestCounters([a, b]), { ...cache, blocks: 12, flushes: 2 });
    assert.throws(() => largestCounters([]), /no run on the translator/);
  });
});

describe("the dbt suite's report", () => {
  const memstream = findWorkload("memstream");
  const comparisons = [comparison(), comparison({ workload: memstream, size: 40 })];

  it("names each figure after its workload and sets the issue's targets on coremark-lite only", () => {
    const f = dbtFigures(comparisons, { m: 0.04, s: 0.05 });
    assert.equal(f["coremark-lite.ratio.dbt_over_qemu"].goal, TARGETS.dbtOverQemu);
    assert.equal(f["coremark-lite.ratio.interp_over_qemu"].goal, TARGETS.interpOverQemu);
    assert.equal(f["memstream.ratio.dbt_over_qemu"].goal, null);
    assert.equal(f["memstream.dbt.mips"].value, 200);
    assert.equal(f["qemu.startup_seconds"].value, 0.04);
    assert.equal(f["qemu.startup_seconds_shim"].value, 0.05);
  });

  it("summarises one row per workload with its size, rates and ratios", () => {
    const table = summaryTable(comparisons);
    assert.match(
      table,
      /coremark-lite +│ ITERATIONS=1000 +│ 400\.0 +│ 40\.0 +│ 200\.0 +│ 800 +│ 0\.250 +│ 0\.050 +│ 5\.00 +│ 900 +│ 2 /,
    );
    assert.match(table, /memstream +│ PASSES=40 /);
  });

  it("has four workloads, each with a distinct name and a size definition to calibrate", () => {
    assert.deepEqual(
      WORKLOADS.map((w) => w.name),
      ["coremark-lite", "memstream", "branchy", "uscall"],
    );
    for (const w of WORKLOADS) assert.match(w.size, /^[A-Z]+$/);
    assert.throws(() => findWorkload("gpu"), /unknown workload 'gpu'; workloads: coremark-lite, memstream/);
  });
});
