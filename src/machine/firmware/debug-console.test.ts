import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DRAM_BASE } from "../memory-map.js";
import { EID_DBCN, EID_SRST, SBI_ERR_INVALID_PARAM } from "./sbi-defs.js";
import { assertCleanExit, NEEDS_CLANG, RAM_BYTES, run } from "./test-programs.js";

describe("the firmware's console: DBCN and the legacy calls", NEEDS_CLANG, () => {
  // ── DBCN and the legacy console ───────────────────────────────────────────────────────────

  test("console_write prints guest physical memory, console_write_byte one byte, and out-of-RAM ranges are SBI_ERR_INVALID_PARAM", () => {
    const ramEnd = DRAM_BASE + RAM_BYTES;
    const r = run(`
      li a0, 5
      la a1, msg
      li a2, 0
      SBI ${EID_DBCN}, 0
      RESULT a0, 0
      RESULT a1, 1
      li a0, '!'
      SBI ${EID_DBCN}, 2
      RESULT a0, 2
      RESULT a1, 3
      li a0, 0
      la a1, msg
      li a2, 0
      SBI ${EID_DBCN}, 0     # nothing to write
      RESULT a0, 4
      RESULT a1, 5
      li a0, 4
      li a1, 0x1000
      li a2, 0
      SBI ${EID_DBCN}, 0     # below RAM
      RESULT a0, 6
      li a0, 4
      la a1, msg
      li a2, 1
      SBI ${EID_DBCN}, 0     # above 4 GiB
      RESULT a0, 7
      li a0, 4
      li a1, ${ramEnd - 2}
      li a2, 0
      SBI ${EID_DBCN}, 0     # runs past the end of RAM
      RESULT a0, 8
      li a0, -1
      la a1, msg
      li a2, 0
      SBI ${EID_DBCN}, 0     # 4 GiB - 1 bytes
      RESULT a0, 9
      li a0, 4
      li a1, 0x10000000      # the UART: a device, not memory
      li a2, 0
      SBI ${EID_DBCN}, 1
      RESULT a0, 10
      SHUTDOWN
      .data
    msg: .ascii "hello"
      .text`);
    assertCleanExit(r);
    assert.equal(r.out(), "hello!");
    assert.deepEqual([r.result(0), r.result(1)], [0, 5]);
    assert.deepEqual([r.result(2), r.result(3)], [0, 0]);
    assert.deepEqual([r.result(4), r.result(5)], [0, 0]);
    for (let i = 6; i <= 10; i++) assert.equal(r.result(i), SBI_ERR_INVALID_PARAM, `results[${i}]`);
  });

  test("console_read fills guest memory with waiting input and answers 0 bytes when there is none", () => {
    const r = run(
      `
      li s0, 0               # bytes read so far
    again:
      li a0, 3
      sub a0, a0, s0
      la a1, buf
      add a1, a1, s0
      li a2, 0
      SBI ${EID_DBCN}, 1
      bnez a0, fail
      add s0, s0, a1
      li t0, 3
      blt s0, t0, again
      li a0, 3
      la a1, buf
      li a2, 0
      SBI ${EID_DBCN}, 0     # echo it
      li a0, 8
      la a1, buf
      li a2, 0
      SBI ${EID_DBCN}, 1     # no more input
      RESULT a0, 0
      RESULT a1, 1
      SHUTDOWN
    fail:
      li a0, 0
      li a1, 1
      SBI ${EID_SRST}, 0
      .data
    buf: .space 8
      .text`,
      { input: "xyz" },
    );
    assertCleanExit(r);
    assert.equal(r.out(), "xyz");
    assert.deepEqual([r.result(0), r.result(1)], [0, 0]);
    const buf = r.image.symbols.get("buf")!;
    assert.equal(
      Buffer.from(
        r.machine.ram.u8.subarray(buf - r.machine.ram.base, buf - r.machine.ram.base + 3),
      ).toString(),
      "xyz",
    );
  });

  test("legacy console_getchar answers -1 without input and the byte with it; console_putchar prints", () => {
    const program = `
      SBI 0x02, 0
      RESULT a0, 0
    again:
      SBI 0x02, 0
      li t0, -1
      beq a0, t0, again
      RESULT a0, 1
      SBI 0x01, 0            # putchar what came in
      SHUTDOWN`;
    // The UART pulls input at the end of a time slice, so the first getchar finds nothing yet.
    const r = run(program, { input: "q" });
    assertCleanExit(r);
    assert.equal(r.result(0), -1);
    assert.equal(r.result(1), "q".charCodeAt(0));
    assert.equal(r.out(), "q");
  });
});
