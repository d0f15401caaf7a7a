import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatCpuRanges, formatCpuSet, parseCpuList, resolveCpuSet } from "./cpulist.js";

const set = (text: string) => {
  const r = parseCpuList(text);
  assert.ok(r.ok, r.ok ? "" : r.error);
  return r.set;
};
const error = (text: string) => {
  const r = parseCpuList(text);
  assert.ok(!r.ok, `"${text}" should be refused`);
  return r.error;
};

describe("Xen CPU lists", () => {
  it("reads single CPUs, ranges and exclusions as xl.cfg(5)'s example does", () => {
    assert.deepEqual(set("0-3,5,^1"), { all: false, cpus: [0, 2, 3, 5] });
    assert.deepEqual(set("7"), { all: false, cpus: [7] });
  });

  it("keeps 'all' symbolic, with its exclusions", () => {
    assert.deepEqual(set("all"), { all: true, except: [] });
    assert.deepEqual(set("all,^7"), { all: true, except: [7] });
    assert.deepEqual(set("all,^5-8,6"), { all: true, except: [5, 7, 8] });
  });

  it("applies items left to right", () => {
    assert.deepEqual(set("^2,0-3"), { all: false, cpus: [0, 1, 2, 3] });
    assert.deepEqual(set("0-3,^2"), { all: false, cpus: [0, 1, 3] });
    assert.deepEqual(set("^1,all"), { all: true, except: [] });
  });

  it("ignores blanks around items", () => {
    assert.deepEqual(set(" 0 - 1 , ^ 1 "), { all: false, cpus: [0] });
  });

  it("refuses NUMA nodes, saying the host has none", () => {
    assert.match(error("nodes:0-3"), /no NUMA nodes/);
    assert.match(error("1,^node:1"), /no NUMA nodes/);
  });

  it("refuses malformed items", () => {
    assert.match(error(""), /empty item/);
    assert.match(error("1,,2"), /empty item/);
    assert.match(error("3-1"), /from the lower CPU to the higher/);
    assert.match(error("a"), /is not a CPU, a range N-M or "all"/);
    assert.match(error("^all"), /removes every CPU/);
    assert.match(error("0-99999"), /CPU numbers go up to/);
  });

  it("refuses a list that selects nothing", () => {
    assert.match(error("^1"), /selects no CPU/);
    assert.match(error("1,^1"), /selects no CPU/);
  });

  it("formats runs as ranges", () => {
    assert.equal(formatCpuRanges([0, 1, 2, 3, 5, 7, 8]), "0-3,5,7-8");
    assert.equal(formatCpuSet({ all: true, except: [1, 2, 5] }), "all,^1-2,^5");
  });

  it("reads back what it formats", () => {
    const sets = fc.oneof(
      fc
        .uniqueArray(fc.nat(64), { minLength: 1 })
        .map((c) => ({ all: false as const, cpus: c.sort((a, b) => a - b) })),
      fc.uniqueArray(fc.nat(64)).map((c) => ({ all: true as const, except: c.sort((a, b) => a - b) })),
    );
    fc.assert(fc.property(sets, (s) => assert.deepEqual(set(formatCpuSet(s)), s)));
  });

  it("resolves against a host's pCPUs, naming any it lacks", () => {
    assert.deepEqual(resolveCpuSet(set("all,^1"), 4), { ok: true, cpus: [0, 2, 3] });
    assert.deepEqual(resolveCpuSet(set("1-2"), 4), { ok: true, cpus: [1, 2] });
    assert.deepEqual(resolveCpuSet(set("2-5"), 4), {
      ok: false,
      error: "pCPU 4 does not exist (the host has 4)",
    });
    assert.deepEqual(resolveCpuSet(set("all,^0-3"), 4), {
      ok: false,
      error: "the set selects none of the host's 4 pCPUs",
    });
  });
});
