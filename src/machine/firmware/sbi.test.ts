import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { boot } from "../boot.js";
import { BufferConsole } from "../devices/console.js";
import { type ElfImage, readElfFile } from "../elf.js";
import { PRIV_S } from "../isa/csr-defs.js";
import { Machine, type MachineExit } from "../machine.js";
import { KERNEL_BASE } from "../memory-map.js";
import { SBI_MEDELEG, SBI_MIDELEG, sbiFirmware } from "./sbi.js";
import {
  EID_BASE,
  EID_DBCN,
  EID_HSM,
  EID_IPI,
  EID_RFENCE,
  EID_SRST,
  EID_TIME,
  SBI_ERR_ALREADY_AVAILABLE,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_IMPL_ID_RVISOR,
  SBI_IMPL_VERSION,
} from "./sbi-defs.js";

// ── the harness: S-mode programs in assembly, built by clang, booted on a real Machine ────────────

const hasClang = (() => {
  try {
    execFileSync("sh", ["-c", "command -v clang && command -v ld.lld"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/**
 * Every program starts with these macros. SBI eid, fid: an SBI call. RESULT reg, i: results[i] = reg
 * (uses t6). SHUTDOWN: SRST shutdown, no reason. WAIT_FLAG sym: spin until the word at sym is non-zero.
 */
const PRELUDE = String.raw`
  .option norvc
  .macro SBI eid, fid
    li a7, \eid
    li a6, \fid
    ecall
  .endm
  .macro RESULT reg, idx
    la t6, results
    sw \reg, (4*\idx)(t6)
  .endm
  .macro SHUTDOWN
    li a0, 0
    li a1, 0
    SBI 0x53525354, 0
  .endm
  .macro WAIT_FLAG sym
  1:
    la t6, \sym
    lw t6, 0(t6)
    beqz t6, 1b
  .endm
  .macro SET_FLAG sym
    la t6, \sym
    li t5, 1
    sw t5, 0(t6)
  .endm
  .text
  .globl _start
_start:
`;

const DATA = `
  .data
  .balign 4
  .globl results
results: .space 256
flag1: .word 0
flag2: .word 0
flag3: .word 0
`;

const images = new Map<string, ElfImage>();

/** Assembles `body` (after PRELUDE, before the DATA section) into an S-mode ELF at KERNEL_BASE. */
function assemble(body: string): ElfImage {
  const cached = images.get(body);
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(join(tmpdir(), "rvisor-sbi-"));
  try {
    const [src, out] = [join(dir, "prog.S"), join(dir, "prog.elf")];
    writeFileSync(src, `${PRELUDE}\n${body}\n${DATA}\n`);
    execFileSync("clang", [
      "--target=riscv32-unknown-elf",
      "-march=rv32imac",
      "-mabi=ilp32",
      "-nostdlib",
      "-fuse-ld=lld",
      "-Wl,-N",
      `-Wl,-Ttext=0x${KERNEL_BASE.toString(16)}`,
      "-o",
      out,
      src,
    ]);
    const image = readElfFile(out);
    images.set(body, image);
    return image;
  } finally {
    rmSync(dir, { recursive: true });
  }
}

const RAM_BYTES = 16 * 1024 * 1024;

interface Run {
  machine: Machine;
  exit: MachineExit;
  fdtAddr: number;
  image: ElfImage;
  /** results[i] as a signed word. */
  result(i: number): number;
  /** The console's output so far. */
  out(): string;
}

/** Boots `body` with the SBI firmware and runs it to its end. `prepare` runs after boot, before the run. */
function run(
  body: string,
  opts: { harts?: number; input?: string; prepare?: (m: Machine) => void } = {},
): Run {
  const image = assemble(body);
  const console = new BufferConsole(opts.input ?? "");
  const machine = new Machine({ harts: opts.harts ?? 1, ramBytes: RAM_BYTES, console });
  const { fdtAddr } = boot(machine, image, { firmware: sbiFirmware });
  opts.prepare?.(machine);
  const exit = machine.runSync({ maxInsns: 5_000_000 });
  const results = image.symbols.get("results");
  assert.ok(results !== undefined, "the program has a results array");
  const base = (results - machine.ram.base) >>> 2;
  return {
    machine,
    exit,
    fdtAddr,
    image,
    result: (i) => machine.ram.i32[base + i],
    out: () => console.text(),
  };
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
const CLEAN_EXIT: MachineExit = { kind: "poweroff", code: 0 };

/** Asserts the run ended by a clean SRST shutdown, showing the exit otherwise. */
function assertCleanExit(r: Run): void {
  assert.deepEqual(r.exit, CLEAN_EXIT, `exit: ${JSON.stringify(r.exit)}`);
}

describe("the SBI firmware", {
  skip: hasClang ? false : "clang and ld.lld are needed to build the test programs",
}, () => {
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

  // ── DBCN and the legacy console ───────────────────────────────────────────────────────────

  test("console_write prints guest physical memory, console_write_byte one byte, and out-of-RAM ranges are SBI_ERR_INVALID_PARAM", () => {
    const ramEnd = 0x8000_0000 + RAM_BYTES;
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
