/**
 * The benchmark's plumbing, run small: a few iterations, one run each, results to a scratch file. It
 * checks what is reported and that wrong input is refused, never how fast anything is.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { qemuAvailable } from "../testing/guest-build.js";

const mainJs = join(dirname(fileURLToPath(import.meta.url)), "main.js");
const scratch = mkdtempSync(join(tmpdir(), "rvisor-bench-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const bench = (args: string[]) =>
  spawnSync(process.execPath, [mainJs, ...args], { encoding: "utf8", timeout: 120_000 });

describe("npm run bench", () => {
  it("runs the cpu suite on both engines and QEMU and writes every figure with unit, goal and direction", {
    skip: !qemuAvailable() && "qemu-system-riscv32 is not installed",
  }, () => {
    const out = join(scratch, "cpu.json");
    const r = bench(["cpu", "--iterations", "2", "--runs", "1", "--out", out]);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(readFileSync(out, "utf8"));
    assert.equal(result.suite, "cpu");
    for (const name of [
      "interp.mips",
      "dbt.mips",
      "qemu.mips_derived",
      "ratio.dbt_over_qemu",
      "ratio.interp_over_qemu",
      "ratio.dbt_over_interp",
    ]) {
      const f = result.figures[name];
      assert.ok(f, `figure ${name}`);
      assert.ok(Number.isFinite(f.value) && f.value > 0, `${name} value ${f.value}`);
      assert.equal(f.better, "higher");
      assert.ok(typeof f.unit === "string" && "goal" in f);
    }
    assert.equal(result.figures["ratio.dbt_over_qemu"].goal, 0.5);
    assert.equal(result.figures["ratio.interp_over_qemu"].goal, 0.08);
    assert.ok(result.figures["dbt.cache.blocks"].value > 0);
    assert.equal(result.context.iterations, 2);
    assert.match(r.stdout, /ratio\.dbt_over_qemu/);
    assert.match(r.stdout, /divided by QEMU's net time/);
  });

  it("runs the dbt suite on the workloads asked for, with a summary row and cache figures for each", {
    skip: !qemuAvailable() && "qemu-system-riscv32 is not installed",
  }, () => {
    const out = join(scratch, "dbt.json");
    const r = bench([
      "dbt",
      "--iterations",
      "2",
      "--runs",
      "1",
      "--workloads",
      "branchy,uscall",
      "--out",
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(readFileSync(out, "utf8"));
    assert.equal(result.suite, "dbt");
    for (const w of ["branchy", "uscall"]) {
      for (const name of ["interp.mips", "dbt.mips", "qemu.mips_derived", "ratio.dbt_over_interp"])
        assert.ok(result.figures[`${w}.${name}`].value > 0, `${w}.${name}`);
      assert.ok(result.figures[`${w}.dbt.cache.blocks`].value > 0, `${w} blocks`);
      assert.ok(result.context[`${w}.instructions`] > 0);
      assert.match(r.stdout, new RegExp(`│ ${w} +│ [A-Z]+=2 `));
    }
    assert.equal(result.figures["coremark-lite.dbt.mips"], undefined);
    assert.equal(result.summary, undefined, "the summary table is for the terminal, not the file");
  });

  it("runs the modes suite: every mode and QEMU, figures per mode, and the table of exits by cause", {
    skip: !qemuAvailable() && "qemu-system-riscv32 is not installed",
  }, () => {
    const out = join(scratch, "modes.json");
    const r = bench(["modes", "--runs", "1", "--workloads", "boot", "--out", out]);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(readFileSync(out, "utf8"));
    assert.equal(result.suite, "modes");
    for (const mode of ["native", "trap", "pv"]) {
      assert.ok(result.figures[`boot.${mode}.ms`].value > 0, `${mode} ms`);
      assert.ok(result.figures[`boot.${mode}.instructions`].value > 100_000, `${mode} instructions`);
    }
    for (const mode of ["trap", "pv"]) assert.ok(result.figures[`boot.${mode}.exits`].value > 0);
    assert.equal(result.figures["boot.pv.vs_native"].goal, result.figures["boot.trap.vs_native"].value);
    assert.ok(result.figures["boot.native.vs_qemu"].value > 0);
    assert.equal(result.figures["autotest.native.ms"], undefined, "only the workloads asked for");
    assert.match(r.stdout, /boot: exits by cause/);
    assert.match(r.stdout, /│ shadow-fill +│/);
  });

  it("refuses --engines outside the modes suite, and an unknown engine, with status 2", () => {
    const cpu = bench(["cpu", "--engines", "dbt"]);
    assert.equal(cpu.status, 2);
    assert.match(cpu.stderr, /--engines is for the modes and virt suites/);
    const unknown = bench(["modes", "--engines", "jit"]);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown engine 'jit'; engines: dbt, interp/);
  });

  it("refuses an unknown workload, and --workloads for the cpu suite, with status 2", () => {
    const unknown = bench(["dbt", "--workloads", "branchy,gpu"]);
    assert.equal(unknown.status, 2);
    assert.match(
      unknown.stderr,
      /unknown workload 'gpu'; workloads: coremark-lite, memstream, branchy, uscall/,
    );
    const cpu = bench(["cpu", "--workloads", "branchy"]);
    assert.equal(cpu.status, 2);
    assert.match(cpu.stderr, /--workloads is for the dbt, modes and virt suites/);
  });

  it("refuses an unknown suite with status 2, naming the known ones", () => {
    const r = bench(["gpu"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^bench: unknown suite 'gpu'; suites: cpu, dbt, sched, ctr, modes, virt$/m);
  });

  it("refuses a bad run count with status 2", () => {
    const r = bench(["cpu", "--runs", "zero"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--runs must be an integer 1\.\.99, got 'zero'/);
  });
});
