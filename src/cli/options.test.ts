import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  formatBytes,
  GiB,
  KiB,
  MAX_RAM_BYTES,
  MIN_RAM_BYTES,
  MiB,
  parseChoice,
  parseHarts,
  parseInsnCount,
  parseMemorySize,
  UsageError,
} from "./options.js";

const usage = (pattern: RegExp) => (e: unknown) => e instanceof UsageError && pattern.test(e.message);

describe("command-line values", () => {
  it("reads memory sizes with K, M and G suffixes, in any case, with an optional B or iB", () => {
    assert.equal(parseMemorySize("128M"), 128 * MiB);
    assert.equal(parseMemorySize("65536k"), 64 * MiB);
    assert.equal(parseMemorySize("1G"), GiB);
    assert.equal(parseMemorySize("256MiB"), 256 * MiB);
    assert.equal(parseMemorySize("1.5G"), 1.5 * GiB);
  });

  it("takes a bare memory size as MiB, as QEMU's -m does", () => {
    assert.equal(parseMemorySize("64"), 64 * MiB);
  });

  it("rejects memory sizes that are not sizes, not whole pages, or out of range, quoting the input", () => {
    assert.throws(() => parseMemorySize("lots"), usage(/^--memory must be a size such as 128M.*got 'lots'$/));
    assert.throws(() => parseMemorySize("512B"), usage(/got '512B'$/));
    assert.throws(() => parseMemorySize("4097K"), usage(/whole number of 4 KiB pages, got '4097K'$/));
    assert.throws(() => parseMemorySize("1M"), usage(/between 4M and 2G, got '1M'$/));
    assert.throws(() => parseMemorySize("3G"), usage(/between 4M and 2G, got '3G'$/));
  });

  it("accepts every page-multiple size in range and formats it back to the same number of bytes", () => {
    const pages = fc.integer({ min: MIN_RAM_BYTES / (4 * KiB), max: MAX_RAM_BYTES / (4 * KiB) });
    fc.assert(
      fc.property(pages, (n) => {
        const bytes = n * 4 * KiB;
        assert.equal(parseMemorySize(`${bytes / KiB}K`), bytes);
        assert.equal(parseMemorySize(formatBytes(bytes)), bytes);
      }),
    );
  });

  it("accepts 1..32 harts and names the range and the input otherwise", () => {
    assert.equal(parseHarts("1"), 1);
    assert.equal(parseHarts("32"), 32);
    for (const bad of ["0", "33", "x", "2.5", "-1", ""]) {
      assert.throws(
        () => parseHarts(bad),
        usage(new RegExp(`^--harts must be an integer 1\\.\\.32, got '${bad}'$`)),
      );
    }
  });

  it("reads instruction counts with digit-grouping underscores and rejects zero", () => {
    assert.equal(parseInsnCount("1_000_000"), 1_000_000);
    assert.throws(() => parseInsnCount("0"), usage(/^--max-insns must be an integer >= 1, got '0'$/));
    assert.throws(() => parseInsnCount("1e6"), usage(/got '1e6'$/));
  });

  it("lists the allowed names when a choice is unknown", () => {
    assert.equal(parseChoice("sbi", "--firmware", ["none", "sbi"]), "sbi");
    assert.throws(
      () => parseChoice("bios", "--firmware", ["none", "sbi"]),
      usage(/^--firmware must be one of none, sbi, got 'bios'$/),
    );
  });
});
