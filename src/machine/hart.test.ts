import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CAUSE_ECALL_U,
  CAUSE_ILLEGAL_INSN,
  CAUSE_INTERRUPT,
  CSR,
  IRQ_M_EXT,
  IRQ_M_SOFT,
  IRQ_M_TIMER,
  IRQ_S_EXT,
  IRQ_S_SOFT,
  IRQ_S_TIMER,
  MIP_MEIP,
  MIP_MSIP,
  MIP_MTIP,
  MIP_SEIP,
  MIP_SSIP,
  MIP_STIP,
  MSTATUS_MIE,
  MSTATUS_SIE,
  MSTATUS_TSR,
  MSTATUS_TW,
  PRIV_M,
  PRIV_S,
  PRIV_U,
} from "./isa/csr-defs.js";
import { encode } from "./isa/encode.js";
import { DRAM_BASE } from "./memory-map.js";
import { ECALL, runCode } from "./test-support.js";

const NOP = encode("addi", { rd: 0, rs1: 0, imm: 0 });
const ALL = MIP_SSIP | MIP_MSIP | MIP_STIP | MIP_MTIP | MIP_SEIP | MIP_MEIP;

test("pending interrupts are taken in the spec's priority order: MEI, MSI, MTI, SEI, SSI, STI", () => {
  const order = [IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER];
  for (let i = 0; i < order.length; i++) {
    const pending = order.slice(i).reduce((m, irq) => m | (1 << irq), 0);
    const { trap } = runCode([NOP, NOP], (m) => {
      const h = m.harts[0];
      h.mie = ALL;
      h.mstatus = MSTATUS_MIE;
      h.setInterruptLevel(pending & (MIP_MSIP | MIP_MTIP | MIP_MEIP), true);
      h.setSoftwareInterrupt(pending & (MIP_SSIP | MIP_STIP | MIP_SEIP), true);
      h.mtvec = DRAM_BASE + 4;
    });
    assert.equal(trap?.cause, (CAUSE_INTERRUPT | order[i]) >>> 0);
  }
});

test("interrupts to M preempt S-mode even with MIE clear; in M they need MIE", () => {
  const inS = runCode([NOP, NOP], (m) => {
    const h = m.harts[0];
    h.priv = PRIV_S;
    h.mie = MIP_MTIP;
    h.mtvec = DRAM_BASE + 4;
    h.setInterruptLevel(MIP_MTIP, true);
  });
  assert.equal(inS.trap?.cause, (CAUSE_INTERRUPT | IRQ_M_TIMER) >>> 0);
  assert.equal(inS.trap?.pc, DRAM_BASE);
  const inM = runCode([NOP, ECALL], (m) => {
    const h = m.harts[0];
    h.mie = MIP_MTIP;
    h.setInterruptLevel(MIP_MTIP, true);
  });
  assert.equal(inM.trap?.cause, 11); // the ecall, not the masked interrupt
});

test("delegated interrupts go to S; in S they need SIE, in U they are always enabled", () => {
  const setup = (priv: 0 | 1, sie: boolean) =>
    runCode([NOP, NOP, ECALL], (m) => {
      const h = m.harts[0];
      h.priv = priv;
      h.mideleg = MIP_STIP;
      h.mie = MIP_STIP;
      h.mstatus = sie ? MSTATUS_SIE : 0;
      h.stvec = DRAM_BASE + 4;
      h.setSoftwareInterrupt(MIP_STIP, true);
    });
  const u = setup(PRIV_U, false).machine.harts[0];
  assert.equal(u.scause >>> 0, (CAUSE_INTERRUPT | IRQ_S_TIMER) >>> 0);
  assert.equal(u.sepc >>> 0, DRAM_BASE);
  const sOff = setup(PRIV_S, false);
  assert.equal(sOff.machine.harts[0].scause, 0);
  assert.equal(sOff.trap?.cause, 9);
  assert.equal(setup(PRIV_S, true).machine.harts[0].scause >>> 0, (CAUSE_INTERRUPT | IRQ_S_TIMER) >>> 0);
});

test("vectored trap vectors send interrupts to base + 4·cause and exceptions to base", () => {
  const { machine } = runCode([NOP]);
  const h = machine.harts[0];
  h.mTrapHook = undefined;
  h.priv = PRIV_S;
  h.mtvec = (DRAM_BASE + 0x100) | 1;
  h.mie = MIP_MSIP;
  h.setInterruptLevel(MIP_MSIP, true);
  assert.ok(h.checkInterrupts());
  assert.equal(h.pc, DRAM_BASE + 0x100 + 4 * IRQ_M_SOFT);
  assert.equal(h.mcause >>> 0, (CAUSE_INTERRUPT | IRQ_M_SOFT) >>> 0);
  h.pc = DRAM_BASE;
  h.priv = PRIV_S;
  h.takeTrap(CAUSE_ILLEGAL_INSN, 0);
  assert.equal(h.pc, DRAM_BASE + 0x100);
});

test("mret and sret restore privilege and interrupt enables", () => {
  const { machine, trap } = runCode([encode("mret"), NOP], (m) => {
    const h = m.harts[0];
    h.mepc = DRAM_BASE + 0x40;
    h.mstatus = (PRIV_S << 11) | (1 << 7); // MPP = S, MPIE = 1
  });
  void trap;
  const h = machine.harts[0];
  assert.equal(h.priv, PRIV_S);
  assert.equal(h.mstatus & MSTATUS_MIE, MSTATUS_MIE);
  assert.equal((h.mstatus >>> 11) & 3, PRIV_U);
});

test("exceptions from U delegated by medeleg reach S with scause, sepc and stval", () => {
  const { machine } = runCode([ECALL, NOP, NOP], (m) => {
    const h = m.harts[0];
    h.priv = PRIV_U;
    h.medeleg = 1 << CAUSE_ECALL_U;
    h.stvec = DRAM_BASE + 8;
    h.mstatus = MSTATUS_SIE;
  });
  const h = machine.harts[0];
  assert.equal(h.scause, CAUSE_ECALL_U);
  assert.equal(h.sepc >>> 0, DRAM_BASE);
  assert.equal(h.priv, PRIV_S);
  assert.equal(h.mstatus & MSTATUS_SIE, 0);
  assert.equal(h.mstatus & (1 << 5), 1 << 5); // SPIE ← SIE
  assert.equal(h.mstatus & (1 << 8), 0); // SPP ← U
});

test("privileged instructions and CSRs trap from lower privileges; TW, TSR and TVM are honoured", () => {
  const from = (priv: 0 | 1, word: number, mstatus = 0) =>
    runCode([word], (m) => {
      m.harts[0].priv = priv;
      m.harts[0].mstatus = mstatus;
    }).trap;
  assert.equal(from(PRIV_S, encode("mret"))?.cause, CAUSE_ILLEGAL_INSN);
  assert.equal(from(PRIV_U, encode("sret"))?.cause, CAUSE_ILLEGAL_INSN);
  assert.equal(from(PRIV_S, encode("sret"), MSTATUS_TSR)?.cause, CAUSE_ILLEGAL_INSN);
  assert.equal(from(PRIV_U, encode("wfi"))?.cause, CAUSE_ILLEGAL_INSN);
  assert.equal(from(PRIV_S, encode("wfi"), MSTATUS_TW)?.cause, CAUSE_ILLEGAL_INSN);
  assert.equal(from(PRIV_S, encode("csrrs", { rd: 5, csr: CSR.mstatus }))?.cause, CAUSE_ILLEGAL_INSN);
  assert.equal(from(PRIV_S, encode("csrrs", { rd: 5, csr: CSR.satp }), 1 << 20)?.cause, CAUSE_ILLEGAL_INSN);
  assert.equal(from(PRIV_S, encode("sfence.vma"), 1 << 20)?.cause, CAUSE_ILLEGAL_INSN);
  // Writing a read-only CSR is illegal even from M; reading it is fine.
  assert.equal(
    runCode([encode("csrrw", { rd: 5, rs1: 5, csr: CSR.mhartid })]).trap?.cause,
    CAUSE_ILLEGAL_INSN,
  );
  assert.equal(runCode([encode("csrrs", { rd: 5, rs1: 0, csr: CSR.mhartid }), ECALL]).trap?.cause, 11);
});

test("counters are readable from U only when mcounteren and scounteren both allow it", () => {
  const read = (m: number, s: number) =>
    runCode([encode("csrrs", { rd: 5, csr: CSR.instret }), ECALL], (mc) => {
      mc.harts[0].priv = PRIV_U;
      mc.harts[0].mcounteren = m;
      mc.harts[0].scounteren = s;
    }).trap?.cause;
  assert.equal(read(0, 4), CAUSE_ILLEGAL_INSN);
  assert.equal(read(4, 0), CAUSE_ILLEGAL_INSN);
  assert.equal(read(4, 4), CAUSE_ECALL_U);
});

test("WFI waits for an interrupt and wakes on one pending even when it is disabled globally", () => {
  const { machine } = runCode([encode("wfi"), encode("addi", { rd: 7, rs1: 0, imm: 1 }), ECALL], (m) => {
    m.harts[0].mie = MIP_MTIP;
    m.clint.setTimecmp(0, 5);
  });
  assert.equal(machine.harts[0].x[7], 1);
  assert.equal(machine.harts[0].priv, PRIV_M);
});

test("the sstatus, sie and sip views show only their fields of the M registers", () => {
  const { machine } = runCode(
    [
      encode("csrrs", { rd: 5, csr: CSR.sstatus }),
      encode("csrrs", { rd: 6, csr: CSR.sie }),
      encode("csrrs", { rd: 7, csr: CSR.sip }),
      ECALL,
    ],
    (m) => {
      const h = m.harts[0];
      h.mstatus = MSTATUS_SIE | (3 << 11);
      h.mie = ALL;
      h.mideleg = MIP_STIP;
      h.setSoftwareInterrupt(MIP_STIP | MIP_SSIP, true);
    },
  );
  const x = machine.harts[0].x;
  assert.equal(x[5], MSTATUS_SIE);
  assert.equal(x[6], MIP_STIP);
  assert.equal(x[7], MIP_STIP);
  void PRIV_M;
});
