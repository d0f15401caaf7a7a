/**
 * Hostile guests that trap: crashers (a fault with nowhere to deliver it — no handler, a handler outside
 * RAM or itself illegal, a root table outside RAM — must end the domain `crashed` with a reason naming
 * the vCPU and the cause, never the host), privileged instructions (each illegal for a deprivileged
 * kernel, delivered back as such, host state untouched) and a storm of 3000 faults, each delivered to
 * the guest's handler.
 */
import assert from "node:assert/strict";
import { encode } from "../../../machine/isa/encode.js";
import { DRAM_BASE } from "../../../machine/memory-map.js";
import {
  A0,
  A6,
  A7,
  Asm,
  assemble,
  CSRS,
  type DataBlock,
  EID_PV,
  type Mode,
  PV_REGISTER_SHARED,
  PV_SET_TRAP_HANDLER,
  probeGuest,
  RESULTS,
  S1,
  S3,
  S4,
  S5,
  SH_MASK,
  SHARED,
  shutdown,
  T0,
  T1,
  T2,
  TABLE,
} from "../hostile.js";
import {
  assertSetupOk,
  assertShutdownClean,
  CAUSE_ILLEGAL,
  CLINT,
  gfnOf,
  type Hostile,
  MiB,
  MODES,
  pairs,
  results,
  SATP_SV32,
  setupWords,
} from "./arena.js";
import { ptAttack } from "./memory.js";

/** A guest that faults with nowhere to deliver the fault; `reason` is what its crash must say. */
function crasher(
  name: string,
  modes: readonly Mode[],
  reason: RegExp,
  body: (asm: Asm, mode: Mode) => void,
  data: DataBlock[] = [],
): Hostile {
  return {
    name,
    modes,
    build(arena) {
      const asm = new Asm();
      body(asm, arena.mode);
      shutdown(asm); // never reached
      return arena.add({ name, kernel: assemble(name, asm, data) });
    },
    check(d) {
      assert.equal(d.state, "crashed", `${name}: ${JSON.stringify(d.end)}`);
      assert.equal(d.end?.code, 1);
      assert.match(d.end?.reason ?? "", /^vCPU 0: /);
      assert.match(d.end?.reason ?? "", reason);
    },
  };
}

export const crashers: Hostile[] = [
  // Trap mode with stvec = 0: the fault goes to 0, which faults again at the vector itself.
  crasher("no-handler", ["trap"], /cause 1 at the trap vector itself \(0x0\): double fault/, (asm) => {
    asm.li(T1, DRAM_BASE + 8 * MiB).op("lw", { rd: T2, rs1: T1, imm: 0 });
  }),
  // Page tables pointing outside RAM and no handler: the access fault has nowhere to go.
  crasher(
    "page-tables-no-handler",
    ["trap"],
    /double fault/,
    (asm) => {
      asm.li(T0, (SATP_SV32 | gfnOf(TABLE(0))) >>> 0).csrw(CSRS.satp, T0);
      asm.li(T1, 0x0080_0000).op("sw", { rs1: T1, rs2: T1, imm: 0 });
    },
    ptAttack([]).data,
  ),
  // A root table outside RAM: the next fetch cannot be translated, nor can the handler's.
  crasher("root-outside-ram", ["trap"], /cause 1 at the trap vector itself.*double fault/, (asm) => {
    asm.li(T0, DRAM_BASE + 0x100).csrw(CSRS.stvec, T0);
    asm.li(T0, (SATP_SV32 | 0x9_0000) >>> 0).csrw(CSRS.satp, T0);
    asm.op("addi", { rd: 0, rs1: 0, imm: 0 });
  }),
  // A PV kernel that faults before registering a trap handler.
  crasher(
    "pv-no-handler",
    ["pv"],
    /cause 7 at 0x.* before a PV trap handler and shared page were registered/,
    (asm) => {
      asm.li(T1, CLINT).op("sw", { rs1: T1, rs2: T1, imm: 0 });
    },
  ),
  // A PV trap handler outside RAM.
  crasher("pv-handler-outside", ["pv"], /at the trap handler itself \(0x90000000\): double fault/, (asm) => {
    asm
      .sbi(EID_PV, PV_REGISTER_SHARED, [SHARED], false)
      .sbi(EID_PV, PV_SET_TRAP_HANDLER, [0x9000_0000], false);
    asm.li(T1, CLINT).op("lw", { rd: T1, rs1: T1, imm: 0 });
  }),
  // A handler that is itself an illegal instruction.
  crasher(
    "illegal-handler",
    MODES,
    /cause 2 at the trap (vector|handler) itself.*double fault/,
    (asm, mode) => {
      const handler = DRAM_BASE + 0x1_f000; // zeroed RAM: the all-zero word is illegal
      if (mode !== "pv") asm.li(T0, handler).csrw(CSRS.stvec, T0);
      else
        asm
          .sbi(EID_PV, PV_REGISTER_SHARED, [SHARED], false)
          .sbi(EID_PV, PV_SET_TRAP_HANDLER, [handler], false);
      asm.word(0);
    },
  ),
];

/** Privileged instructions: illegal for a deprivileged kernel, reflected as such; host state untouched. */
const UNMODIFIED_PRIVILEGED: number[] = [
  encode("mret"),
  encode("csrrw", { rd: 0, rs1: T1, csr: 0x300 }), // mstatus
  encode("csrrw", { rd: 0, rs1: T1, csr: 0x305 }), // mtvec
  encode("csrrw", { rd: 0, rs1: T1, csr: 0x302 }), // medeleg
  encode("csrrw", { rd: 0, rs1: T1, csr: 0x3a0 }), // pmpcfg0
  encode("csrrw", { rd: 0, rs1: T1, csr: 0x3b0 }), // pmpaddr0
  encode("csrrs", { rd: T2, rs1: 0, csr: 0xf14 }), // mhartid
  encode("csrrw", { rd: 0, rs1: T1, csr: 0x340 }), // mscratch
  encode("csrrw", { rd: 0, rs1: T1, csr: 0x7b0 }), // dcsr (debug)
  encode("csrrw", { rd: 0, rs1: T1, csr: 0xc01 }), // time (read-only)
  encode("csrrw", { rd: 0, rs1: T1, csr: 0x5c0 }), // a custom S CSR that does not exist
];

/** bt calls the monitor directly for CSR operations: what is illegal stays illegal all the same. */
const PRIVILEGED: Record<Mode, number[]> = {
  trap: UNMODIFIED_PRIVILEGED,
  bt: UNMODIFIED_PRIVILEGED,
  pv: [
    encode("mret"),
    encode("sret"),
    encode("wfi"),
    encode("sfence.vma", { rs1: 0, rs2: 0 }),
    encode("csrrw", { rd: 0, rs1: T1, csr: 0x300 }),
    encode("csrrw", { rd: 0, rs1: T1, csr: 0x305 }),
    encode("csrrw", { rd: 0, rs1: T1, csr: 0x3a0 }),
    encode("csrrs", { rd: T2, rs1: 0, csr: 0x100 }), // sstatus
    encode("csrrw", { rd: 0, rs1: T1, csr: 0x180 }), // satp
    encode("csrrw", { rd: 0, rs1: T1, csr: 0x105 }), // stvec
  ],
};

export const privileged: Hostile = {
  name: "privileged",
  modes: MODES,
  build(arena) {
    const img = probeGuest("privileged", arena.mode, (asm) => {
      asm.li(T1, -1);
      for (const insn of PRIVILEGED[arena.mode]) asm.probe(insn);
    });
    return arena.add({ name: "privileged", kernel: img });
  },
  check(d, arena) {
    assertSetupOk(d, arena.mode);
    const list = PRIVILEGED[arena.mode];
    const got = pairs(d, list.length, setupWords(arena.mode));
    for (const [i, insn] of list.entries())
      assert.deepEqual(got[i], [CAUSE_ILLEGAL, insn >>> 0], `0x${(insn >>> 0).toString(16)} must be illegal`);
    assertShutdownClean(d);
  },
};

/** A storm of faults, each delivered to the guest's handler; the domain stops itself after N. */
const STORM = 3000;
export const storm: Hostile = {
  name: "trap-storm",
  modes: MODES,
  build(arena) {
    const asm = new Asm();
    asm.li(S1, RESULTS).li(S3, SHARED).li(S4, 0).li(S5, STORM);
    if (arena.mode !== "pv") asm.la(T0, "handler").csrw(CSRS.stvec, T0);
    else {
      asm.sbi(EID_PV, PV_REGISTER_SHARED, [SHARED], false);
      asm.la(A0, "handler").li(A7, EID_PV).li(A6, PV_SET_TRAP_HANDLER).op("ecall");
    }
    asm
      .label("loop")
      .li(T1, CLINT + 0xbff8)
      .op("lw", { rd: T2, rs1: T1, imm: 0 }); // the host's mtime
    asm.j("loop");
    asm.label("handler").op("addi", { rd: S4, rs1: S4, imm: 1 }).branch("bgeu", S4, S5, "done");
    if (arena.mode !== "pv") asm.op("sret");
    else asm.op("sw", { rs1: S3, rs2: 0, imm: SH_MASK }).j("loop");
    asm.label("done").rec(S4);
    shutdown(asm);
    return arena.add({ name: "trap-storm", kernel: assemble("trap-storm", asm) });
  },
  check(d) {
    assert.deepEqual(results(d, 1), [STORM]);
    assert.equal(d.exits.get("guest-fault"), STORM);
    assertShutdownClean(d);
  },
};
