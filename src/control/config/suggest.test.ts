import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { closest, didYouMean, editDistance } from "./suggest.js";

describe("did-you-mean suggestions", () => {
  it("counts insertions, deletions, substitutions and swaps of neighbours as one edit each", () => {
    assert.equal(editDistance("memory", "memory"), 0);
    assert.equal(editDistance("memry", "memory"), 1);
    assert.equal(editDistance("memoryy", "memory"), 1);
    assert.equal(editDistance("memorx", "memory"), 1);
    assert.equal(editDistance("mmeory", "memory"), 1);
    assert.equal(editDistance("", "abc"), 3);
  });

  it("suggests the nearest name only when it is a likely typo", () => {
    const keys = ["memory", "maxmem", "vcpus", "maxvcpus", "cap"];
    assert.equal(closest("memroy", keys), "memory");
    assert.equal(closest("vcpu", keys), "vcpus");
    assert.equal(closest("MEMORY", keys), "memory");
    assert.equal(closest("bootloader", keys), undefined);
    assert.equal(closest("xy", keys), undefined);
  });

  it("phrases the suggestion for appending to a message", () => {
    assert.equal(didYouMean("cpu_wieght", ["cpu_weight"]), ' (did you mean "cpu_weight"?)');
    assert.equal(didYouMean("zzz", ["cpu_weight"]), "");
  });
});
