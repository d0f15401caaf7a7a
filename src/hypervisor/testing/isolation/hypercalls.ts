/**
 * Hypercalls with garbage arguments: DBCN buffers outside RAM or wrapping 4 GiB, PV IRET frames and
 * shared pages outside RAM or unaligned, HSM starts of harts that do not exist or at addresses outside
 * RAM, IPIs to absent harts, unknown extensions and functions, the legacy calls. Each must get exactly
 * the SBI error (or answer) it is owed, per mode — the PV extension exists only in pv mode.
 */
import assert from "node:assert/strict";
import type { ElfImage } from "../../../machine/elf.js";
import {
  A0,
  A1,
  A2,
  A6,
  A7,
  type Asm,
  CODE,
  DATA,
  EID_BASE,
  EID_DBCN,
  EID_HSM,
  EID_IPI,
  EID_PV,
  EID_RFENCE,
  EID_SRST,
  EID_TIME,
  type Mode,
  PV_IRET,
  PV_REGISTER_SHARED,
  PV_SET_TRAP_HANDLER,
  probeGuest,
  RESULTS,
  SHARED,
  T1,
} from "../hostile.js";
import {
  assertSetupOk,
  assertShutdownClean,
  CLINT,
  type Hostile,
  MODES,
  pairs,
  RAM_END,
  SBI_ERR_ALREADY_AVAILABLE,
  SBI_ERR_NOT_SUPPORTED,
  setupWords,
} from "./arena.js";

// ── hypercalls with garbage arguments ──────────────────────────────────────────────────────────────

interface Call {
  what: string;
  eid: number;
  fid: number;
  args: number[];
  /** a0 (and a1 when given) the guest must see. */
  expect: (mode: Mode) => [number, number?];
}

const only =
  (m: Mode, a0: number, a1?: number) =>
  (mode: Mode): [number, number?] =>
    mode === m ? [a0, a1] : [SBI_ERR_NOT_SUPPORTED];
const always = (a0: number, a1?: number) => (): [number, number?] => [a0, a1];

/** A trap frame (34 words) with an odd epc, at DATA + 0x800. */
const ODD_FRAME = DATA + 0x8000;

const CALLS: Call[] = [
  { what: "DBCN write outside RAM", eid: EID_DBCN, fid: 0, args: [16, 0x9000_0000, 0], expect: always(-3) },
  {
    what: "DBCN write past RAM's end",
    eid: EID_DBCN,
    fid: 0,
    args: [16, RAM_END - 8, 0],
    expect: always(-3),
  },
  {
    what: "DBCN write, high address bits",
    eid: EID_DBCN,
    fid: 0,
    args: [16, RESULTS, 1],
    expect: always(-3),
  },
  {
    what: "DBCN write wrapping 4 GiB",
    eid: EID_DBCN,
    fid: 0,
    args: [32, 0xffff_fff0, 0],
    expect: always(-3),
  },
  { what: "DBCN write in the CLINT", eid: EID_DBCN, fid: 0, args: [8, CLINT, 0], expect: always(-3) },
  {
    what: "DBCN write 4 GiB-1 bytes",
    eid: EID_DBCN,
    fid: 0,
    args: [0xffff_ffff, CODE, 0],
    expect: always(0, 65536),
  },
  { what: "DBCN read outside RAM", eid: EID_DBCN, fid: 1, args: [16, 0x9000_0000, 0], expect: always(-3) },
  { what: "DBCN read past RAM's end", eid: EID_DBCN, fid: 1, args: [64, RAM_END - 8, 0], expect: always(-3) },
  { what: "DBCN unknown function", eid: EID_DBCN, fid: 7, args: [], expect: always(-2) },
  { what: "IRET frame outside RAM", eid: EID_PV, fid: PV_IRET, args: [0x9000_0000], expect: only("pv", -5) },
  {
    what: "IRET frame past RAM's end",
    eid: EID_PV,
    fid: PV_IRET,
    args: [RAM_END - 64],
    expect: only("pv", -5),
  },
  { what: "IRET frame at 4 GiB", eid: EID_PV, fid: PV_IRET, args: [0xffff_ff00], expect: only("pv", -5) },
  { what: "IRET frame unaligned", eid: EID_PV, fid: PV_IRET, args: [DATA + 2], expect: only("pv", -3) },
  { what: "IRET to an odd epc", eid: EID_PV, fid: PV_IRET, args: [ODD_FRAME], expect: only("pv", -3) },
  {
    what: "shared page unaligned",
    eid: EID_PV,
    fid: PV_REGISTER_SHARED,
    args: [SHARED + 4],
    expect: only("pv", -5),
  },
  {
    what: "shared page outside RAM",
    eid: EID_PV,
    fid: PV_REGISTER_SHARED,
    args: [0x9000_0000],
    expect: only("pv", -5),
  },
  {
    what: "shared page past RAM",
    eid: EID_PV,
    fid: PV_REGISTER_SHARED,
    args: [RAM_END],
    expect: only("pv", -5),
  },
  {
    what: "shared page at 4 GiB",
    eid: EID_PV,
    fid: PV_REGISTER_SHARED,
    args: [0xffff_f000],
    expect: only("pv", -5),
  },
  {
    what: "shared page in the CLINT",
    eid: EID_PV,
    fid: PV_REGISTER_SHARED,
    args: [CLINT],
    expect: only("pv", -5),
  },
  {
    what: "odd trap handler",
    eid: EID_PV,
    fid: PV_SET_TRAP_HANDLER,
    args: [CODE + 1],
    expect: only("pv", -3),
  },
  { what: "PV function 99", eid: EID_PV, fid: 99, args: [], expect: only("pv", -2) },
  { what: "PV function 2^32-1", eid: EID_PV, fid: 0xffff_ffff, args: [], expect: only("pv", -2) },
  { what: "HSM start hart 2 (of 2)", eid: EID_HSM, fid: 0, args: [2, CODE, 0], expect: always(-3) },
  { what: "HSM start hart 2^32-1", eid: EID_HSM, fid: 0, args: [0xffff_ffff, CODE, 0], expect: always(-3) },
  { what: "HSM start hart 1000", eid: EID_HSM, fid: 0, args: [1000, CODE, 0], expect: always(-3) },
  {
    what: "HSM start itself",
    eid: EID_HSM,
    fid: 0,
    args: [0, CODE, 0],
    expect: always(SBI_ERR_ALREADY_AVAILABLE),
  },
  { what: "HSM start outside RAM", eid: EID_HSM, fid: 0, args: [1, 0x9000_0000, 0], expect: always(-5) },
  { what: "HSM start in the CLINT", eid: EID_HSM, fid: 0, args: [1, CLINT, 0], expect: always(-5) },
  { what: "HSM start at an odd address", eid: EID_HSM, fid: 0, args: [1, CODE + 1, 0], expect: always(-5) },
  {
    what: "HSM start straddling RAM's end",
    eid: EID_HSM,
    fid: 0,
    args: [1, RAM_END - 2, 0],
    expect: always(-5),
  },
  { what: "HSM status of hart 7", eid: EID_HSM, fid: 2, args: [7], expect: always(-3) },
  { what: "HSM status of hart 1", eid: EID_HSM, fid: 2, args: [1], expect: always(0, 1) },
  { what: "HSM suspend", eid: EID_HSM, fid: 3, args: [0, 0, 0], expect: always(-2) },
  { what: "IPI to hart 5", eid: EID_IPI, fid: 0, args: [1 << 5, 0], expect: always(-3) },
  { what: "IPI with a huge base", eid: EID_IPI, fid: 0, args: [1, 0x7fff_ffff], expect: always(-3) },
  { what: "IPI to a stopped hart", eid: EID_IPI, fid: 0, args: [2, 0], expect: always(-3) },
  { what: "IPI function 9", eid: EID_IPI, fid: 9, args: [], expect: always(-2) },
  {
    what: "remote sfence, bad mask",
    eid: EID_RFENCE,
    fid: 1,
    args: [0xffff_0000, 3, 0, 0xffff_ffff],
    expect: always(-3),
  },
  { what: "RFENCE function 7", eid: EID_RFENCE, fid: 7, args: [], expect: always(-2) },
  { what: "SRST type 5", eid: EID_SRST, fid: 0, args: [5, 0], expect: always(-3) },
  { what: "SRST reason 7", eid: EID_SRST, fid: 0, args: [0, 7], expect: always(-3) },
  { what: "SRST function 1", eid: EID_SRST, fid: 1, args: [0, 0], expect: always(-2) },
  { what: "TIME function 1", eid: EID_TIME, fid: 1, args: [], expect: always(-2) },
  { what: "BASE function 99", eid: EID_BASE, fid: 99, args: [], expect: always(-2) },
  {
    what: "probe the PV extension",
    eid: EID_BASE,
    fid: 3,
    args: [EID_PV],
    expect: (mode) => [0, mode === "pv" ? 1 : 0],
  },
  { what: "probe an unknown extension", eid: EID_BASE, fid: 3, args: [0x1234_5678], expect: always(0, 0) },
  { what: "vendor EID 0x09000001", eid: 0x0900_0001, fid: 0, args: [], expect: always(-2) },
  { what: "EID 2^32-1", eid: 0xffff_ffff, fid: 0xffff_ffff, args: [], expect: always(-2) },
  { what: "legacy send_ipi", eid: 0x04, fid: 0, args: [RESULTS, 77], expect: always(-2, 77) },
  { what: "legacy remote sfence", eid: 0x06, fid: 0, args: [0x9000_0000, 78], expect: always(-2, 78) },
  { what: "legacy getchar, no input", eid: 0x02, fid: 0, args: [0, 79], expect: always(-1, 79) },
  { what: "HSM start hart 1 properly", eid: EID_HSM, fid: 0, args: [1, 0, 0], expect: always(0, 0) },
];

/** Where the properly started hart 1 goes: it stops itself. */
function hypercallGuest(mode: Mode): ElfImage {
  const frame = new Array<number>(34).fill(0);
  frame[32] = CODE + 0x1001; // odd epc
  return probeGuest(
    "hypercalls",
    mode,
    (asm) => {
      for (const c of CALLS) {
        if (c.what === "HSM start hart 1 properly") {
          asm.la(A1, "secondary").li(A7, EID_HSM).li(A6, 0).li(A0, 1).li(A2, 0).op("ecall").rec(A0).rec(A1);
        } else asm.sbi(c.eid, c.fid, c.args);
      }
      asm.sbi(EID_HSM, 2, [1]); // hart 1's status afterwards: started, or stopped again
      shutdownAfterSecondary(asm);
      asm.j("calls-done");
      asm.label("secondary").sbi(EID_HSM, 1, [], false).label("stuck").j("stuck");
      asm.label("calls-done");
    },
    [{ addr: ODD_FRAME, words: frame }],
  );
}

/** Waits (a bounded spin) so hart 1 gets to run and stop itself before the domain powers off. */
function shutdownAfterSecondary(asm: Asm): void {
  asm.li(T1, 2000).label("spin").op("addi", { rd: T1, rs1: T1, imm: -1 }).branch("bne", T1, 0, "spin");
}

export const hypercalls: Hostile = {
  name: "hypercalls",
  modes: MODES,
  build(arena) {
    return arena.add({ name: "hypercalls", kernel: hypercallGuest(arena.mode), vcpus: 2 });
  },
  check(d, arena) {
    assertSetupOk(d, arena.mode);
    const got = pairs(d, CALLS.length + 1, setupWords(arena.mode));
    for (const [i, c] of CALLS.entries()) {
      const [a0, a1] = c.expect(arena.mode);
      assert.equal(got[i][0], a0, `${c.what}: a0`);
      if (a1 !== undefined) assert.equal(got[i][1], a1 >>> 0, `${c.what}: a1`);
    }
    assert.equal(got[CALLS.length][0], 0);
    assertShutdownClean(d);
    assert.ok(got[CALLS.length][1] === 0 || got[CALLS.length][1] === 1, "hart 1: started, or stopped itself");
  },
};
