import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { mulh, mulhsu, mulhu } from "./alu.js";

const hi = (p: bigint): number => Number(BigInt.asIntN(32, p >> 32n));

test("mulhu, mulh and mulhsu give the high word of the exact 64-bit product", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      (a, b) => {
        const ua = BigInt(a >>> 0);
        const ub = BigInt(b >>> 0);
        assert.equal(mulhu(a, b), hi(ua * ub));
        assert.equal(mulh(a, b), hi(BigInt(a) * BigInt(b)));
        assert.equal(mulhsu(a, b), hi(BigInt(a) * ub));
      },
    ),
    { numRuns: 5000 },
  );
});

test("the high-word products handle the extreme operands", () => {
  const MIN = -(2 ** 31);
  assert.equal(mulh(MIN, MIN), 0x4000_0000);
  assert.equal(mulhu(-1, -1), -2); // 0xffff_fffe
  assert.equal(mulhsu(-1, -1), -1);
  assert.equal(mulh(MIN, -1), 0);
});
