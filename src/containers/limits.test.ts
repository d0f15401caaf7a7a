import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { mergeLimits, parseLimits, parseSize } from "./limits.js";

test("sizes read as docker reads them: suffixes are binary, a bare number is bytes, -1 is unlimited", () => {
  assert.equal(parseSize("--memory", "300M"), 300 * 1024 * 1024);
  assert.equal(parseSize("--memory", "1g"), 1024 ** 3);
  assert.equal(parseSize("--memory", "64MiB"), 64 * 1024 * 1024);
  assert.equal(parseSize("--memory", "1.5G"), 1.5 * 1024 ** 3);
  assert.equal(parseSize("--memory", "8192"), 8192);
  assert.equal(parseSize("--memory", "-1"), null);
  assert.throws(() => parseSize("--memory", "12Q"), /--memory: '12Q' is not a size/);
  assert.throws(() => parseSize("--memory", "100"), /below the smallest limit/);
});

test("every whole number of MiB round-trips through parseSize", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1 << 20 }), (n) => parseSize("--memory", `${n}M`) === n * 1048576),
  );
});

test("limit options become limits, and out-of-range values name their flag", () => {
  assert.deepEqual(parseLimits({ memory: "64M", cpuShares: "512", cpus: "0.5", pidsLimit: "100" }), {
    memory: 64 << 20,
    cpuShares: 512,
    cpus: 0.5,
    pidsLimit: 100,
  });
  assert.deepEqual(parseLimits({}), {});
  assert.deepEqual(parseLimits({ pidsLimit: "-1" }), { pidsLimit: null });
  assert.throws(() => parseLimits({ cpuShares: "1" }), /--cpu-shares: 1 is outside 2\.\.262144/);
  assert.throws(() => parseLimits({ cpus: "abc" }), /--cpus: 'abc' is not a number of CPUs/);
  assert.throws(() => parseLimits({ pidsLimit: "ten" }), /--pids-limit: 'ten' is not a whole number/);
});

test("an update changes only the limits it names; null removes one", () => {
  assert.deepEqual(mergeLimits({ memory: 1, cpus: 2 }, { cpus: 3, pidsLimit: null }), {
    memory: 1,
    cpus: 3,
    pidsLimit: null,
  });
  assert.deepEqual(mergeLimits({ memory: 1 }, { memory: undefined }), { memory: 1 });
});
