import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  EID_HSM,
  EID_IPI,
  EID_RFENCE,
  SBI_ERR_ALREADY_AVAILABLE,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_INVALID_PARAM,
} from "./sbi-defs.js";
import { assertCleanExit, hex, NEEDS_CLANG, run } from "./test-programs.js";

describe("SBI calls between harts: HSM, IPI, RFENCE", NEEDS_CLANG, () => {
  // ── IPI and HSM start ─────────────────────────────────────────────────────────────────────

  test("hart_start runs a stopped hart at start_addr with a0 = hartid, a1 = opaque, satp = 0, SIE = 0, and send_ipi interrupts it", () => {
    const r = run(
      `
      li a0, 1
      la a1, secondary
      li a2, 0x1234
      SBI ${EID_HSM}, 0      # hart_start(1, secondary, 0x1234)
      RESULT a0, 0
      WAIT_FLAG flag1
      li a0, 0b10
      li a1, 0
      SBI ${EID_IPI}, 0      # send_ipi(mask 0b10, base 0)
      RESULT a0, 1
      WAIT_FLAG flag2
      SHUTDOWN
    secondary:
      RESULT a0, 2
      RESULT a1, 3
      csrr t0, satp
      RESULT t0, 4
      csrr t0, sstatus
      RESULT t0, 5
      la t0, ipi
      csrw stvec, t0
      csrsi sie, 2           # SSIE
      csrsi sstatus, 2       # SIE
      SET_FLAG flag1
    idle:
      wfi
      j idle
    ipi:
      csrr t0, scause
      RESULT t0, 6
      csrci sip, 2
      SET_FLAG flag2
      sret`,
      { harts: 2 },
    );
    assertCleanExit(r);
    assert.deepEqual([r.result(0), r.result(1)], [0, 0]);
    assert.deepEqual([r.result(2), r.result(3)], [1, 0x1234]);
    assert.equal(r.result(4), 0, "satp");
    assert.equal(r.result(5) & 0x2, 0, "sstatus.SIE");
    assert.equal(hex(r.result(6)), "0x80000001", "scause: supervisor software interrupt");
  });

  test("send_ipi with hart_mask_base = -1 reaches every hart, and hart masks naming absent harts are SBI_ERR_INVALID_PARAM", () => {
    const r = run(
      `
      csrr t0, sip
      RESULT t0, 0
      li a0, 0
      li a1, -1
      SBI ${EID_IPI}, 0      # every hart, whatever the mask
      RESULT a0, 1
      csrr t0, sip           # SSIE is off: pending, not taken
      RESULT t0, 2
      li a0, 0b100
      li a1, 0
      SBI ${EID_IPI}, 0      # hart 2 of 2
      RESULT a0, 3
      li a0, 1
      li a1, 2
      SBI ${EID_IPI}, 0      # base 2
      RESULT a0, 4
      li a0, 1
      li a1, 0x7fffffff
      SBI ${EID_IPI}, 0
      RESULT a0, 5
      li a0, 0
      li a1, 5
      SBI ${EID_IPI}, 0      # empty mask: nothing to do
      RESULT a0, 6
      csrci sip, 2
      SBI 0x03, 0            # legacy clear_ipi: nothing pending now
      RESULT a0, 7
      la a0, mask
      SBI 0x04, 0            # legacy send_ipi(&mask) to hart 0
      RESULT a0, 8
      SBI 0x03, 0            # legacy clear_ipi: it was pending
      RESULT a0, 9
      csrr t0, sip
      RESULT t0, 10
      SHUTDOWN
      .data
    mask: .word 1
      .text`,
      { harts: 2 },
    );
    assertCleanExit(r);
    assert.equal(r.result(0) & 2, 0);
    assert.equal(r.result(1), 0);
    assert.equal(r.result(2) & 2, 2, "hart 0 got its own IPI");
    assert.deepEqual([r.result(3), r.result(4), r.result(5)], Array(3).fill(SBI_ERR_INVALID_PARAM));
    assert.equal(r.result(6), 0);
    assert.deepEqual([r.result(7), r.result(8), r.result(9)], [0, 0, 1]);
    assert.equal(r.result(10) & 2, 0);
  });

  test("a legacy send_ipi whose mask address faults is redirected to S-mode with sepc at the ecall", () => {
    const r = run(`
      la t0, handler
      csrw stvec, t0
      li a0, 0x1000          # not RAM, not a device
    call:
      SBI 0x04, 0
      SHUTDOWN
    handler:
      csrr t0, scause
      RESULT t0, 0
      csrr t0, stval
      RESULT t0, 1
      csrr t0, sepc
      RESULT t0, 2
      la t0, call
      addi t0, t0, 8         # the ecall after the two li of the SBI macro
      RESULT t0, 3
      SHUTDOWN`);
    assertCleanExit(r);
    assert.equal(r.result(0), 5, "load access fault");
    assert.equal(hex(r.result(1)), "0x1000");
    assert.equal(hex(r.result(2)), hex(r.result(3)));
  });

  test("a CLINT msip written by S-mode reaches the target as a supervisor software interrupt, msip cleared", () => {
    const r = run(
      `
      li a0, 1
      la a1, secondary
      li a2, 0
      SBI ${EID_HSM}, 0
      WAIT_FLAG flag1
      li t0, 0x02000004      # CLINT msip[1]
      li t1, 1
      sw t1, 0(t0)
      WAIT_FLAG flag2
      SHUTDOWN
    secondary:
      la t0, ipi
      csrw stvec, t0
      csrsi sie, 2
      csrsi sstatus, 2
      SET_FLAG flag1
    idle:
      wfi
      j idle
    ipi:
      csrr t0, scause
      RESULT t0, 0
      li t0, 0x02000004
      lw t0, 0(t0)
      RESULT t0, 1
      csrci sip, 2
      SET_FLAG flag2
      sret`,
      { harts: 2 },
    );
    assertCleanExit(r);
    assert.equal(hex(r.result(0)), "0x80000001");
    assert.equal(r.result(1), 0, "the firmware cleared msip");
  });

  // ── HSM ───────────────────────────────────────────────────────────────────────────────────

  test("HSM start, stop and get_status follow the state machine, with the specified errors", () => {
    const r = run(
      `
      li a0, 1
      SBI ${EID_HSM}, 2
      RESULT a1, 0           # STOPPED
      li a0, 2
      la a1, secondary
      SBI ${EID_HSM}, 0      # hart 2 of 2
      RESULT a0, 1
      li a0, 0
      la a1, secondary
      SBI ${EID_HSM}, 0      # hart 0 runs already
      RESULT a0, 2
      li a0, 1
      li a1, 0x1000
      SBI ${EID_HSM}, 0      # not RAM
      RESULT a0, 3
      li a0, 1
      la a1, secondary
      addi a1, a1, 1
      SBI ${EID_HSM}, 0      # odd address
      RESULT a0, 4
      li a0, 1
      la a1, secondary
      li a2, 7
      SBI ${EID_HSM}, 0
      RESULT a0, 5
      li a0, 1
      SBI ${EID_HSM}, 2
      RESULT a1, 6           # STARTED
      li a0, 1
      la a1, secondary
      SBI ${EID_HSM}, 0      # again, while it runs
      RESULT a0, 7
      WAIT_FLAG flag1
    poll:
      li a0, 1
      SBI ${EID_HSM}, 2
      li t0, 1
      bne a1, t0, poll       # until STOPPED
      RESULT a1, 8
      li a0, 1
      la a1, secondary
      li a2, 8
      SBI ${EID_HSM}, 0      # a stopped hart starts again
      RESULT a0, 9
      WAIT_FLAG flag2
      li a0, 99
      SBI ${EID_HSM}, 2
      RESULT a0, 10
      SHUTDOWN
    secondary:
      li t0, 7
      beq a1, t0, first
      RESULT a1, 12          # the second start's opaque
      SET_FLAG flag2
      j stop
    first:
      SET_FLAG flag1
    stop:
      SBI ${EID_HSM}, 1      # hart_stop does not return
      li t0, 1
      RESULT t0, 11`,
      { harts: 2 },
    );
    assertCleanExit(r);
    assert.equal(r.result(0), 1);
    assert.deepEqual(
      [r.result(1), r.result(2), r.result(3), r.result(4), r.result(5)],
      [SBI_ERR_INVALID_PARAM, SBI_ERR_ALREADY_AVAILABLE, SBI_ERR_INVALID_ADDRESS, SBI_ERR_INVALID_ADDRESS, 0],
    );
    assert.equal(r.result(6), 0, "STARTED");
    assert.equal(r.result(7), SBI_ERR_ALREADY_AVAILABLE);
    assert.equal(r.result(8), 1, "STOPPED after hart_stop");
    assert.equal(r.result(9), 0);
    assert.equal(r.result(10), SBI_ERR_INVALID_PARAM);
    assert.equal(r.result(11), 0, "hart_stop never returned");
    assert.equal(r.result(12), 8);
    assert.equal(r.machine.harts[1].stopped, true);
  });

  test("hart_suspend waits for an interrupt: retentive returns 0, non-retentive resumes at resume_addr; bad types and addresses are errors", () => {
    const r = run(
      `
      li a0, 1
      SBI ${EID_HSM}, 3      # reserved suspend type
      RESULT a0, 0
      li a0, 0x10000000
      SBI ${EID_HSM}, 3      # platform-specific, none here
      RESULT a0, 1
      li a0, 0x80000000
      li a1, 0x1000
      SBI ${EID_HSM}, 3      # non-retentive, resume_addr not RAM
      RESULT a0, 2
      li a0, 1
      la a1, secondary
      SBI ${EID_HSM}, 0
    poll1:
      li a0, 1
      SBI ${EID_HSM}, 2
      li t0, 4
      bne a1, t0, poll1      # until SUSPENDED
      RESULT a1, 3
      li a0, 0b10
      li a1, 0
      SBI ${EID_IPI}, 0      # wake it
      WAIT_FLAG flag1
    poll2:
      li a0, 1
      SBI ${EID_HSM}, 2
      li t0, 4
      bne a1, t0, poll2      # suspended again, non-retentively
      li a0, 0b10
      li a1, 0
      SBI ${EID_IPI}, 0
      WAIT_FLAG flag2
      li a0, 1
      SBI ${EID_HSM}, 2
      RESULT a1, 4           # STARTED
      SHUTDOWN
    secondary:
      csrsi sie, 2           # SSIE, with SIE off: the IPI wakes it but is not taken
      li a0, 0
      SBI ${EID_HSM}, 3      # default retentive
      RESULT a0, 5
      csrr t0, sip
      RESULT t0, 6
      csrci sip, 2
      li s1, 0x5a5a
      SET_FLAG flag1
      li a0, 0x80000000
      la a1, resume
      li a2, 0xabc
      SBI ${EID_HSM}, 3      # default non-retentive
      li t0, 1
      RESULT t0, 7           # never reached
    resume:
      RESULT a0, 8
      RESULT a1, 9
      csrr t0, sstatus
      RESULT t0, 10
      csrci sip, 2
      SET_FLAG flag2
    idle:
      wfi
      j idle`,
      { harts: 2 },
    );
    assertCleanExit(r);
    assert.deepEqual(
      [r.result(0), r.result(1), r.result(2)],
      [SBI_ERR_INVALID_PARAM, SBI_ERR_INVALID_PARAM, SBI_ERR_INVALID_ADDRESS],
    );
    assert.equal(r.result(3), 4, "SUSPENDED while it waits");
    assert.equal(r.result(4), 0, "STARTED once it runs");
    assert.equal(r.result(5), 0, "retentive suspend returns SBI_SUCCESS");
    assert.equal(r.result(6) & 2, 2, "woken by the pending SSIP");
    assert.equal(r.result(7), 0, "non-retentive suspend does not return");
    assert.deepEqual([r.result(8), r.result(9)], [1, 0xabc]);
    assert.equal(r.result(10) & 2, 0, "sstatus.SIE = 0 on resume");
  });

  // ── RFENCE ────────────────────────────────────────────────────────────────────────────────

  const rfenceProgram = (fence: boolean) => `
      li a0, 1
      la a1, secondary
      SBI ${EID_HSM}, 0
      WAIT_FLAG flag1
      li t0, 100             # let hart 1 settle into wfi
    spin:
      addi t0, t0, -1
      bnez t0, spin
      ${
        fence
          ? `
      li a0, 0b10
      li a1, 0
      SBI ${EID_RFENCE}, 0   # remote_fence_i
      RESULT a0, 0
      li a0, 0b10
      li a1, 0
      li a2, 0
      li a3, 0
      SBI ${EID_RFENCE}, 1   # remote_sfence_vma, whole address space
      RESULT a0, 1
      li a0, 0b11
      li a1, 0
      li a2, 0x1000
      li a3, 0x1000
      li a4, 3
      SBI ${EID_RFENCE}, 2   # remote_sfence_vma_asid
      RESULT a0, 2
      li a0, 0b100
      li a1, 0
      SBI ${EID_RFENCE}, 0   # hart 2 of 2
      RESULT a0, 3`
          : ""
      }
      SHUTDOWN
    secondary:
      SET_FLAG flag1
    idle:
      wfi                    # no interrupt enabled: it waits for good
      j idle`;

  test("remote fences run FENCE.I's hook and empty the TLBs of the targets", () => {
    let fenceIs = 0;
    const r = run(rfenceProgram(true), {
      harts: 2,
      prepare: (m) => {
        m.harts[1].onFenceI = () => fenceIs++;
      },
    });
    assertCleanExit(r);
    assert.deepEqual([r.result(0), r.result(1), r.result(2), r.result(3)], [0, 0, 0, SBI_ERR_INVALID_PARAM]);
    assert.equal(fenceIs, 1);
    assert.ok(
      r.machine.harts[1].tlbTag.every((t) => t === -1),
      "hart 1's TLB is empty",
    );

    // Without the fences, the waiting hart keeps the translations it used.
    const control = run(rfenceProgram(false), { harts: 2 });
    assertCleanExit(control);
    assert.ok(control.machine.harts[1].tlbTag.some((t) => t !== -1));
  });
});
