/**
 * The modes suite's pure parts: what counts as a correct run, the figures' names and goals, and the
 * tables. (main.test.ts runs the suite itself, small.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  countDisagreements,
  exitsByCauseTable,
  findModesWorkload,
  MODES_WORKLOADS,
  type ModeRun,
  type ModesWorkload,
  mmuTable,
  roundOrder,
  shellInput,
  summarizeRuns,
  summaryTable,
  transcript,
  type WorkloadResult,
  workloadFigures,
} from "./modes.js";

const BANNER =
  "rvisor guest kernel on hart 0: 32 MiB RAM at 80000000, 7603 free pages\ntype help for the commands\n";
const cpu = findModesWorkload("cpu");
const syscalls = findModesWorkload("syscalls");
const autotest = findModesWorkload("autotest");

const session = (body: string) => `${BANNER}$ ${body}$ shutdown\nshutting down\n`;

describe("the modes suite's workloads", () => {
  it("have unique names, autotest first, and every shell workload ends its input with shutdown", () => {
    const names = MODES_WORKLOADS.map((w) => w.name);
    assert.equal(new Set(names).size, names.length);
    assert.equal(names[0], "autotest");
    assert.equal(shellInput(["run cpu 5 -q", "run mem 8 -q"]), "run cpu 5 -q\nrun mem 8 -q\nshutdown\n");
    assert.equal(shellInput([]), "shutdown\n");
    assert.deepEqual(roundOrder(0), ["native", "trap", "bt", "pv", "hvm"]);
    assert.deepEqual(roundOrder(1), ["trap", "bt", "pv", "hvm", "native"]);
    assert.deepEqual(roundOrder(8), ["pv", "hvm", "native", "trap", "bt"]);
    assert.throws(() => findModesWorkload("gpu"), /unknown workload 'gpu'; workloads: autotest, boot,/);
  });
});

describe("transcript", () => {
  it("is the session from the first prompt on, so the native and PV banners may differ", () => {
    const out = session("run syscalls 2000 -q\n");
    const pv = out.replace("7603 free pages", "7598 free pages");
    assert.equal(transcript(syscalls, out), "$ run syscalls 2000 -q\n$ shutdown\nshutting down\n");
    assert.equal(transcript(syscalls, pv), transcript(syscalls, out));
  });

  it("requires a program's expected status, and refuses any other non-zero status or kernel message", () => {
    const good = session("run cpu 200000 -q\n[cpu: pid 2 exited with status 17984]\n");
    assert.match(transcript(cpu, good), /status 17984/);
    assert.throws(() => transcript(cpu, session("run cpu 200000 -q\n")), /no line matches/);
    assert.throws(
      () => transcript(cpu, session("run cpu 200000 -q\n[cpu: pid 2 exited with status 17983]\n")),
      /exited with status 17983/,
    );
    assert.throws(
      () => transcript(syscalls, session("run syscalls 2000 -q\n[syscalls: pid 2 exited with status 2]\n")),
      /exited with status 2/,
    );
    assert.throws(
      () => transcript(syscalls, session("run syscalls 2000 -q\nkernel: pid 2 (syscalls) killed: x\n")),
      /killed/,
    );
  });

  it("refuses a session that never prompted or did not shut down", () => {
    assert.throws(() => transcript(syscalls, "kernel panic: no memory\n"), /never prompted/);
    assert.throws(
      () => transcript(syscalls, `${BANNER}$ run syscalls 2000 -q\n`),
      /did not end with shutdown/,
    );
  });

  it("is the autotest's result lines, and refuses a failed test or a missing summary", () => {
    const out = "boot\nPASS fdt\nPASS kalloc\ntests: 2 passed, 0 failed\n";
    assert.equal(transcript(autotest, out), "PASS fdt\nPASS kalloc\ntests: 2 passed, 0 failed");
    assert.throws(
      () => transcript(autotest, "PASS fdt\nFAIL vm: no\ntests: 1 passed, 1 failed\n"),
      /tests failed \(vm\)/,
    );
    assert.throws(() => transcript(autotest, "PASS fdt\n"), /no test summary/);
  });
});

const run = (ms: number, retired: number, exits?: Record<string, number>): ModeRun => ({
  ms,
  retired,
  exits: exits === undefined ? undefined : new Map(Object.entries(exits)),
  transcript: "",
});

function result(w: ModesWorkload, interp = false): WorkloadResult {
  const modes = {
    native: summarizeRuns([run(100, 1_000_000)]),
    trap: summarizeRuns([run(300, 1_000_000, { csr: 900, "shadow-fill": 100 })]),
    bt: summarizeRuns([run(250, 1_000_000, { "shadow-fill": 100 })]),
    hvm: summarizeRuns([run(120, 1_000_000, { gpf: 20 })]),
    pv: summarizeRuns([run(150, 1_010_000, { "pv:MMU_UPDATE": 50, "shadow-fill": 100 })]),
  };
  const slower = {
    native: { ...modes.native, ms: 200 },
    trap: { ...modes.trap, ms: 500 },
    bt: { ...modes.bt, ms: 450 },
    hvm: { ...modes.hvm, ms: 220 },
    pv: { ...modes.pv, ms: 400 },
  };
  return {
    workload: w,
    rvisor: interp ? { interp: slower, dbt: modes } : { dbt: modes },
    qemu: { ms: 70, netMs: 20 },
  };
}

describe("the modes suite's figures", () => {
  it("name each workload and mode, judge pv's time against trap's, and compare native with QEMU", () => {
    const f = workloadFigures(result(syscalls));
    assert.equal(f["syscalls.native.ms"].value, 100);
    assert.equal(f["syscalls.trap.vs_native"].value, 3);
    assert.equal(f["syscalls.trap.vs_native"].goal, null);
    assert.equal(f["syscalls.pv.vs_native"].value, 1.5);
    assert.equal(f["syscalls.pv.vs_native"].goal, 3);
    assert.equal(f["syscalls.trap.exits"].value, 1000);
    assert.equal(f["syscalls.trap.exits_per_kinsn"].value, 1);
    assert.equal(f["syscalls.pv.instructions"].value, 1_010_000);
    assert.equal(f["syscalls.native.vs_qemu"].value, 5);
    assert.equal(f["syscalls.qemu.net_ms"].value, 20);
    assert.equal(f["syscalls.native.exits"], undefined, "natively nothing exits");
    for (const figure of Object.values(f)) assert.equal(figure.better, "lower");
  });

  it("give pv's goal to the 4 digits the results file keeps, so the file's trap figure equals it", () => {
    const r = result(syscalls);
    const dbt = r.rvisor.dbt;
    assert.ok(dbt !== undefined);
    dbt.native.ms = 3;
    assert.equal(workloadFigures(r)["syscalls.pv.vs_native"].goal, 100);
    dbt.trap.ms = 10;
    assert.equal(workloadFigures(r)["syscalls.pv.vs_native"].goal, 3.333);
  });

  it("keep the translator's names unprefixed whatever order the engines ran in, and prefix the interpreter's", () => {
    const f = workloadFigures(result(syscalls, true));
    assert.equal(f["syscalls.native.ms"].value, 100);
    assert.equal(f["syscalls.native.interp.ms"].value, 200);
    assert.equal(f["syscalls.pv.interp.vs_native"].value, 2);
    assert.equal(f["syscalls.pv.interp.vs_native"].goal, 2.5);
    assert.equal(f["syscalls.native.interp.vs_qemu"].value, 10);
    assert.equal(f["syscalls.trap.interp.exits"], undefined, "counts are reported once");
  });

  it("take the median time of the runs and notice counts that differ between them", () => {
    const runs = [run(30, 5), run(10, 5), run(20, 5)];
    assert.deepEqual(summarizeRuns(runs), { ms: 20, retired: 5, exits: undefined });
    assert.deepEqual(countDisagreements("x", runs), []);
    assert.deepEqual(countDisagreements("x", [run(1, 5, { a: 1 }), run(1, 6, { a: 2 })]), [
      "x: instructions differ between runs: 5, 6",
      "x: exits differ between runs: 1, 2",
    ]);
  });
});

describe("the modes suite's tables", () => {
  it("list exits by cause, the most frequent first, with totals, instructions and time", () => {
    const t = exitsByCauseTable(result(autotest), "dbt");
    const rows = t.split("\n").filter((l) => l.startsWith("│"));
    assert.match(t, /^autotest: exits by cause \(dbt; native: 1,000,000 instructions, 100 ms\)/);
    assert.deepEqual(
      rows.map((r) => r.split("│")[1].trim()),
      ["cause", "csr", "shadow-fill", "pv:MMU_UPDATE", "gpf", "total", "instructions", "host ms"],
    );
    assert.match(rows[1], /│ +900 │ +0\.900 │ +- │ +│ +- │ +│/, "a cause one mode never takes shows as -");
    assert.match(rows[2], /│ +100 │ +0\.100 │ +100 │ +0\.100 │ +100 │ +0\.099 │/);
    assert.match(rows[5], /│ +1,000 │ +1\.000 │ +100 │ +0\.100 │ +150 │ +0\.149 │ +20 │ +0\.020 │/);
    assert.match(rows[7], /│ +300 │ +3\.00× │ +250 │ +2\.50× │ +150 │ +1\.50× │ +120 │ +1\.20× │/);
  });

  it("summarize every workload and mode with each engine's time and QEMU on the native row", () => {
    const t = summaryTable([result(autotest, true), result(cpu, true)]);
    assert.match(t, /│ workload │ mode +│ dbt ms │ ×native │ interp ms │ ×native │ Minsn │/);
    assert.match(
      t,
      /│ autotest │ native │ 100 +│ 1\.00× +│ 200 +│ 1\.00× +│ 1\.00 +│ - +│ - +│ 20 +│ 5\.00× +│/,
    );
    assert.match(t, /│ cpu +│ trap +│ 300 +│ 3\.00× +│ 500 +│ 2\.50× +│ 1\.00 +│ 1,000 +│ 1\.00 +│ +│ +│/);
  });
});

describe("the modes suite's memory-system table", () => {
  it("gives TLB misses, hardware walk reads per miss and the hypervisor's software walk reads per mode", () => {
    const mmu = (tlbMisses: number, walkRefs: number, softwareWalkRefs: number) => ({
      tlbMisses,
      walkRefs,
      softwareWalkRefs,
    });
    const base = result(autotest);
    const dbt = base.rvisor.dbt;
    assert.ok(dbt !== undefined);
    const withMmu = {
      ...base,
      rvisor: {
        dbt: {
          native: { ...dbt.native, mmu: mmu(1000, 800, 0) },
          trap: { ...dbt.trap, mmu: mmu(1200, 2400, 30) },
          bt: { ...dbt.bt, mmu: mmu(1200, 2400, 30) },
          pv: { ...dbt.pv, mmu: mmu(1300, 2600, 20) },
          hvm: { ...dbt.hvm, mmu: mmu(1100, 4070, 0) },
        },
      },
    };
    const t = mmuTable(withMmu, "dbt");
    assert.match(t, /^autotest: the memory system \(dbt\)/);
    assert.match(t, /│ native │ +1,000 │ +1\.00 │ +800 │ +0\.80 │ +- │ +│/);
    assert.match(t, /│ trap +│ +1,200 │ +1\.20 │ +2,400 │ +2\.00 │ +30 │ +0\.030 │/);
    assert.match(t, /│ hvm +│ +1,100 │ +1\.10 │ +4,070 │ +3\.70 │ +- │ +│/);
  });
});
