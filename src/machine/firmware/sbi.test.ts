import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PRIV_S } from "../isa/csr-defs.js";
import { SBI_MEDELEG, SBI_MIDELEG } from "./sbi.js";
import {
  EID_BASE,
  EID_DBCN,
  EID_HSM,
  EID_IPI,
  EID_RFENCE,
  EID_SRST,
  EID_TIME,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_IMPL_ID_RVISOR,
  SBI_IMPL_VERSION,
} from "./sbi-defs.js";
import { assertCleanExit, hex, NEEDS_CLANG, run } from "./test-programs.js";

describe("the SBI firmware", NEEDS_CLANG, () => {
  // ── boot ──────────────────────────────────────────────────────────────────────────────────

  test("boot enters hart 0 in S-mode at the entry with a0 = hartid, a1 = the device tree, and stops the other harts", () => {
    const r = run(
      `
      RESULT a0, 0
      RESULT a1, 1
      csrr t0, sstatus
      RESULT t0, 2
      csrr t0, stvec
      RESULT t0, 3
      rdtime t0              # mcounteren lets S-mode read time: no trap
      rdcycle t0
      li a0, 1
      SBI ${EID_HSM}, 2      # hart_get_status(1)
      RESULT a0, 4
      RESULT a1, 5
      SHUTDOWN`,
      { harts: 2 },
    );
    assertCleanExit(r);
    assert.equal(r.result(0), 0);
    assert.equal(r.result(1) >>> 0, r.fdtAddr);
    assert.equal(r.result(2) & 0x2, 0, "sstatus.SIE = 0");
    assert.equal(r.result(3) >>> 0, r.image.entry, "stvec starts at the entry, as OpenSBI leaves it");
    assert.deepEqual([r.result(4), r.result(5)], [0, 1], "hart 1 is STOPPED");
    const [h0, h1] = r.machine.harts;
    assert.equal(h0.priv, PRIV_S);
    assert.equal(h0.medeleg, 0xb109, "misaligned fetch, breakpoint, U ecall and the page faults");
    assert.equal(h0.medeleg, SBI_MEDELEG);
    assert.equal(h0.mideleg, SBI_MIDELEG);
    assert.equal(h0.mideleg, 0x222);
    assert.equal(h0.mcounteren | 0, -1);
    assert.equal(h1.stopped, true);
    assert.equal(h1.retired, 0, "a stopped hart runs nothing");
  });

  // ── Base ──────────────────────────────────────────────────────────────────────────────────

  test("Base reports spec 2.0, rvisor's implementation id and version, and the machine ids", () => {
    const r = run(`
      SBI ${EID_BASE}, 0
      RESULT a0, 0
      RESULT a1, 1
      SBI ${EID_BASE}, 1
      RESULT a1, 2
      SBI ${EID_BASE}, 2
      RESULT a1, 3
      SBI ${EID_BASE}, 4
      RESULT a1, 4
      SBI ${EID_BASE}, 5
      RESULT a1, 5
      SBI ${EID_BASE}, 6
      RESULT a1, 6
      SHUTDOWN`);
    assertCleanExit(r);
    assert.equal(r.result(0), 0);
    assert.equal(hex(r.result(1)), "0x2000000", "major 2 in bits 30:24, minor 0");
    assert.equal(r.result(2), SBI_IMPL_ID_RVISOR);
    assert.equal(r.result(2), 0x72766973, 'ASCII "rvis"');
    assert.equal(r.result(3), SBI_IMPL_VERSION);
    assert.deepEqual(
      [r.result(4), r.result(5), r.result(6)],
      [0, 0, 0],
      "the hart's mvendorid, marchid, mimpid",
    );
  });

  test("probe_extension answers 1 for every extension the firmware implements and 0 for others", () => {
    const present = [
      0,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      EID_BASE,
      EID_TIME,
      EID_IPI,
      EID_RFENCE,
      EID_HSM,
      EID_SRST,
      EID_DBCN,
    ];
    const absent = [0x09, 0x0f, 0x504d55 /* PMU */, 0x53555350 /* SUSP */, 0x09000000, 0xffffffff];
    const all = [...present, ...absent];
    const r = run(
      `${all.map((eid, i) => `li a0, ${eid | 0}\nSBI ${EID_BASE}, 3\nRESULT a1, ${i}\nbnez a0, fail`).join("\n")}
      SHUTDOWN
    fail:
      li a0, 0
      li a1, 1
      SBI ${EID_SRST}, 0`,
    );
    assertCleanExit(r);
    all.forEach((eid, i) => {
      assert.equal(r.result(i), present.includes(eid) ? 1 : 0, `probe ${hex(eid)}`);
    });
  });

  test("an unknown EID or FID answers SBI_ERR_NOT_SUPPORTED with value 0", () => {
    const r = run(`
      li a1, 77
      SBI 0x0A000000, 0
      RESULT a0, 0
      RESULT a1, 1
      SBI ${EID_BASE}, 7
      RESULT a0, 2
      SBI ${EID_TIME}, 1
      RESULT a0, 3
      SBI ${EID_IPI}, 1
      RESULT a0, 4
      SBI ${EID_RFENCE}, 3   # HFENCE.GVMA: no H extension
      RESULT a0, 5
      SBI ${EID_HSM}, 4
      RESULT a0, 6
      SBI ${EID_SRST}, 1
      RESULT a0, 7
      SBI ${EID_DBCN}, 3
      RESULT a0, 8
      SBI 0x09, 0            # reserved legacy EID
      RESULT a0, 9
      SHUTDOWN`);
    assertCleanExit(r);
    assert.deepEqual([r.result(0), r.result(1)], [SBI_ERR_NOT_SUPPORTED, 0]);
    for (let i = 2; i <= 9; i++) assert.equal(r.result(i), SBI_ERR_NOT_SUPPORTED, `results[${i}]`);
  });

  test("a call changes a0 and a1 only, a legacy call a0 only, and pc moves past the ecall", () => {
    const r = run(`
      li a2, 0x1002
      li a3, 0x1003
      li a4, 0x1004
      li a5, 0x1005
      li s0, 0x2000
      li t0, 0x3000
      SBI ${EID_BASE}, 0
      mv s2, a0
      mv s3, a1
      li a0, 'x'
      li a1, 0x5555
      SBI 0x01, 0            # legacy console_putchar
      mv s4, a0
      mv s5, a1
      SHUTDOWN`);
    assertCleanExit(r);
    const x = r.machine.harts[0].x;
    assert.deepEqual(
      [x[12], x[13], x[14], x[15], x[8], x[5]],
      [0x1002, 0x1003, 0x1004, 0x1005, 0x2000, 0x3000],
    );
    assert.deepEqual([x[18], x[19]], [0, 0x2000000], "a0/a1 of get_spec_version");
    assert.deepEqual([x[20], x[21]], [0, 0x5555], "putchar answers in a0 and keeps a1");
    assert.equal(r.out(), "x");
  });

  // ── TIME ──────────────────────────────────────────────────────────────────────────────────

  /** Arms the timer 500 ticks ahead through `eid`, waits for the S-timer interrupt, then clears it. */
  const timerProgram = (eid: number) => `
      la t0, handler
      csrw stvec, t0
      li t0, 0x20            # sie.STIE
      csrs sie, t0
      rdtime t1
      addi a0, t1, 500
      li a1, 0
      RESULT a0, 0
      SBI ${eid}, 0          # set_timer(now + 500)
      RESULT a0, 1
    wait:                    # with SIE off, so the interrupt cannot slip in between the test and the wfi
      la t0, flag1
      lw t0, 0(t0)
      bnez t0, done
      wfi                    # wakes on the pending STIP without taking it
      csrsi sstatus, 2       # SIE: taken here
      csrci sstatus, 2
      j wait
    done:
      SHUTDOWN
    handler:
      csrr t0, scause
      RESULT t0, 2
      rdtime t0
      RESULT t0, 3
      csrr t0, sip
      RESULT t0, 4
      li a0, -1
      li a1, -1
      SBI ${eid}, 0          # set_timer(never) clears STIP
      csrr t0, sip
      RESULT t0, 5
      SET_FLAG flag1
      sret`;

  for (const [name, eid] of [
    ["TIME set_timer", EID_TIME],
    ["legacy set_timer", 0],
  ] as const) {
    test(`${name} delivers an S-timer interrupt to stvec at the deadline, and a later call clears STIP`, () => {
      const r = run(timerProgram(eid));
      assertCleanExit(r);
      assert.equal(r.result(1), 0);
      assert.equal(hex(r.result(2)), "0x80000005", "scause: supervisor timer interrupt");
      assert.ok(
        r.result(3) >= r.result(0),
        `taken at ${r.result(3)}, not before the deadline ${r.result(0)}`,
      );
      assert.equal(r.result(4) & 0x20, 0x20, "sip.STIP pending in the handler");
      assert.equal(r.result(5) & 0x20, 0, "sip.STIP cleared by set_timer");
    });
  }

  // ── SRST ──────────────────────────────────────────────────────────────────────────────────

  const resetProgram = (type: number, reason: number) => `
      li a0, ${type | 0}
      li a1, ${reason | 0}
      SBI ${EID_SRST}, 0
      RESULT a0, 0
      SBI 0x08, 0            # legacy shutdown: a clean exit`;

  for (const [type, reason, exit] of [
    [0, 0, { kind: "poweroff", code: 0 }],
    [0, 1, { kind: "poweroff", code: 1 }],
    [1, 0, { kind: "reset", code: 0 }],
    [2, 1, { kind: "reset", code: 1 }],
  ] as const) {
    test(`system_reset type ${type} reason ${reason} ends the run as ${exit.kind} with code ${exit.code}`, () => {
      const r = run(resetProgram(type, reason));
      assert.equal(r.exit.kind, exit.kind);
      assert.equal(r.exit.code, exit.code);
      assert.equal(r.result(0), 0, "the call did not return");
    });
  }

  for (const [type, reason] of [
    [3, 0],
    [0xf0000000, 0],
    [0, 2],
    [0, 0xe0000000],
    [1, 0xffffffff],
  ]) {
    test(`system_reset type ${hex(type)} reason ${hex(reason)} is SBI_ERR_INVALID_PARAM and returns`, () => {
      const r = run(resetProgram(type, reason));
      assertCleanExit(r);
      assert.equal(r.result(0), SBI_ERR_INVALID_PARAM);
    });
  }

  // ── traps the firmware redirects ──────────────────────────────────────────────────────────

  test("exceptions S-mode does not delegate reach stvec as sbi_trap_redirect leaves them", () => {
    const r = run(`
      la t0, handler
      csrw stvec, t0
      csrsi sstatus, 2       # SIE, to see it move to SPIE
    bad1:
      csrr t0, mstatus       # illegal in S-mode
      li t0, 0x10
    bad2:
      lw t1, 0(t0)           # load access fault
      la t0, count
      lw t0, 0(t0)
      RESULT t0, 15
      la t0, bad1
      RESULT t0, 13
      la t0, bad2
      RESULT t0, 14
      SHUTDOWN
    handler:                 # results[4n..4n+3] = scause, sepc, stval, sstatus; skip the instruction
      la t1, count
      lw t2, 0(t1)
      addi t3, t2, 1
      sw t3, 0(t1)
      slli t2, t2, 4
      la t1, results
      add t1, t1, t2
      csrr t3, scause
      sw t3, 0(t1)
      csrr t3, sepc
      sw t3, 4(t1)
      csrr t3, stval
      sw t3, 8(t1)
      csrr t3, sstatus
      sw t3, 12(t1)
      csrr t3, sepc
      addi t3, t3, 4
      csrw sepc, t3
      csrsi sstatus, 2       # give the next trap an SIE to stack
      sret
      .data
    count: .word 0
      .text`);
    assertCleanExit(r);
    assert.equal(r.result(15), 2, "two traps");
    assert.equal(r.result(0), 2, "illegal instruction");
    assert.equal(hex(r.result(1)), hex(r.result(13)));
    assert.equal(hex(r.result(2)), "0x300022f3", "stval: csrr t0, mstatus");
    assert.equal(r.result(3) & 0x122, 0x120, "SPP = S, SPIE = 1, SIE = 0");
    assert.equal(r.result(4), 5, "load access fault");
    assert.equal(hex(r.result(5)), hex(r.result(14)));
    assert.equal(hex(r.result(6)), "0x10");
  });

  test("a fault at stvec itself ends the run with a message instead of looping", () => {
    const r = run(`
      li t0, 0x1000
      csrw stvec, t0
      csrr t0, mstatus       # illegal: redirected to 0x1000, which cannot be fetched
      SHUTDOWN`);
    assert.equal(r.exit.kind, "poweroff");
    assert.equal(r.exit.code, 1);
    assert.match(
      r.exit.message ?? "",
      /hart 0: instruction access fault at the S-mode trap vector \(stvec 0x1000\)/,
    );
  });
});
