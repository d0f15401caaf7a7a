/**
 * The H extension's trap routing (hext.ts): exceptions and interrupts from each of M, HS, VS and VU go
 * to M, HS or VS as medeleg/mideleg and hedeleg/hideleg say, with V, SPV/SPVP, MPV and GVA recorded on
 * the way; and the ways into and out of V mode (mret with MPV, sret with SPV, sret within the guest).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  csrr,
  H,
  HANDLER,
  hx,
  MRET,
  mode,
  NOP,
  runWithHandler,
  SELF_LOOP,
  SRET,
} from "./hext-test-support.js";
import {
  CAUSE_ECALL_S,
  CAUSE_ECALL_U,
  CAUSE_ECALL_VS,
  CAUSE_INTERRUPT,
  CAUSE_VIRTUAL_INSN,
  CSR,
  HCSR,
  HSTATUS_SPV,
  HSTATUS_SPVP,
  MIP_VSSIP,
  MIP_VSTIP,
  MSTATUS_MPP,
  MSTATUS_SIE,
  MSTATUS_SPIE,
  MSTATUS_SPP,
  MSTATUSH_MPV,
  PRIV_M,
  PRIV_S,
  PRIV_U,
  type Priv,
} from "./isa/csr-defs.js";
import { DRAM_BASE } from "./memory-map.js";
import { ECALL, poke, runCode } from "./test-support.js";

describe("trap routing: M, HS, VS", () => {
  test("an ecall from VU delegated by medeleg and hedeleg goes to VS (vscause, vsepc, vsstatus.SPP)", () => {
    const { machine, trap } = runWithHandler(
      [ECALL],
      [csrr(10, CSR.scause), csrr(11, CSR.sstatus), ECALL],
      (h) => {
        mode(h, PRIV_U, true);
        h.medeleg = 1 << CAUSE_ECALL_U;
        hx(h).hedeleg = 1 << CAUSE_ECALL_U;
        hx(h).vstvec = HANDLER;
        hx(h).vsstatus = MSTATUS_SIE;
      },
    );
    const h = machine.harts[0];
    assert.equal(trap?.cause, CAUSE_ECALL_VS); // the handler's ecall, from VS
    assert.equal(h.x[10], CAUSE_ECALL_U);
    assert.equal(h.x[11], MSTATUS_SPIE); // SPP = 0 (from VU), SIE → SPIE
    assert.equal(hx(h).vsepc, DRAM_BASE);
    assert.equal(h.virt, true);
    assert.equal(h.scause, 0);
  });

  test("delegated by medeleg only, it goes to HS: hstatus.SPV = 1, SPVP = the guest's privilege, V = 0", () => {
    for (const priv of [PRIV_U, PRIV_S] as Priv[]) {
      const cause = priv === PRIV_U ? CAUSE_ECALL_U : CAUSE_ECALL_VS;
      const { machine, trap } = runWithHandler(
        [ECALL],
        [csrr(10, CSR.scause), csrr(11, HCSR.hstatus), ECALL],
        (h) => {
          mode(h, priv, true);
          h.medeleg = 1 << cause;
          h.stvec = HANDLER;
        },
      );
      const h = machine.harts[0];
      assert.equal(trap?.cause, CAUSE_ECALL_S);
      assert.equal(h.x[10], cause);
      assert.equal(h.x[11], HSTATUS_SPV | (priv === PRIV_S ? HSTATUS_SPVP : 0));
      assert.equal(h.virt, false);
      assert.equal(h.sepc, DRAM_BASE);
    }
  });

  test("undelegated, it goes to M with mstatush.MPV = 1 and mstatus.MPP = the guest's privilege", () => {
    const { machine } = runCode(
      [ECALL],
      (m) => {
        const h = m.harts[0];
        poke(m, HANDLER, [SELF_LOOP]);
        mode(h, PRIV_S, true);
        h.mtvec = HANDLER;
      },
      { ...H, stopOnTrap: false, maxInsns: 50 },
    );
    const h = machine.harts[0];
    assert.equal(h.mcause, CAUSE_ECALL_VS);
    assert.equal(hx(h).mstatush, MSTATUSH_MPV);
    assert.equal((h.mstatus & MSTATUS_MPP) >>> 11, PRIV_S);
    assert.equal(h.virt, false);
    assert.equal(h.priv, PRIV_M);
  });

  test("virtual-instruction exceptions cannot be delegated to VS (hedeleg bit 22 is read-only zero)", () => {
    const { machine } = runWithHandler([csrr(10, HCSR.hstatus)], [csrr(10, CSR.scause), ECALL], (h) => {
      mode(h, PRIV_S, true);
      h.medeleg = 1 << CAUSE_VIRTUAL_INSN;
      h.stvec = HANDLER;
      hx(h).vstvec = HANDLER + 0x40;
    });
    assert.equal(machine.harts[0].x[10], CAUSE_VIRTUAL_INSN);
    assert.equal(machine.harts[0].virt, false);
  });

  test("a VS timer interrupt (hvip.VSTIP) goes to VS as STI with hideleg, to HS as VSTI without", () => {
    for (const delegated of [true, false]) {
      const { machine, trap } = runWithHandler([NOP, NOP, ECALL], [csrr(10, CSR.scause), ECALL], (h) => {
        mode(h, PRIV_S, true);
        hx(h).hideleg = delegated ? MIP_VSTIP : 0;
        h.mie = MIP_VSTIP;
        h.setSoftwareInterrupt(MIP_VSTIP, true);
        hx(h).vsstatus = MSTATUS_SIE;
        hx(h).vstvec = HANDLER;
        h.stvec = HANDLER;
      });
      const h = machine.harts[0];
      assert.equal(h.x[10] >>> 0, (CAUSE_INTERRUPT | (delegated ? 5 : 6)) >>> 0);
      assert.equal(trap?.cause, delegated ? CAUSE_ECALL_VS : CAUSE_ECALL_S);
      assert.equal(trap?.pc, HANDLER + 4);
    }
  });

  test("VS interrupts wait while V = 0, and in VS while vsstatus.SIE = 0", () => {
    for (const [virt, sie] of [
      [false, true],
      [true, false],
    ]) {
      const { trap } = runWithHandler([NOP, ECALL], [SELF_LOOP], (h) => {
        mode(h, PRIV_S, virt);
        hx(h).hideleg = MIP_VSSIP;
        h.mie = MIP_VSSIP;
        h.setSoftwareInterrupt(MIP_VSSIP, true);
        hx(h).vsstatus = sie ? MSTATUS_SIE : 0;
        hx(h).vstvec = HANDLER;
      });
      assert.equal(trap?.cause, virt ? CAUSE_ECALL_VS : CAUSE_ECALL_S);
    }
  });
});

describe("entering and leaving V mode", () => {
  test("mret with MPV = 1 enters VS; sret from VS returns within the guest; sret from HS with SPV enters V", () => {
    const m1 = runCode(
      [MRET, NOP, csrr(10, CSR.sscratch), ECALL],
      (m) => {
        const h = m.harts[0];
        hx(h).mstatush = MSTATUSH_MPV;
        h.mstatus = PRIV_S << 11;
        h.mepc = DRAM_BASE + 8;
        hx(h).vsscratch = 0x77;
      },
      H,
    );
    assert.equal(m1.trap?.cause, CAUSE_ECALL_VS);
    assert.equal(m1.machine.harts[0].x[10], 0x77);
    assert.equal(hx(m1.machine.harts[0]).mstatush & MSTATUSH_MPV, 0);

    const m2 = runCode(
      [SRET, ECALL],
      (m) => {
        const h = m.harts[0];
        mode(h, PRIV_S, true);
        hx(h).vsstatus = MSTATUS_SPIE;
        hx(h).vsepc = DRAM_BASE + 4;
      },
      H,
    );
    assert.equal(m2.trap?.cause, CAUSE_ECALL_U);
    assert.equal(m2.machine.harts[0].virt, true);
    assert.equal(
      hx(m2.machine.harts[0]).vsstatus & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP),
      MSTATUS_SIE | MSTATUS_SPIE,
    );

    const m3 = runCode(
      [SRET, ECALL],
      (m) => {
        const h = m.harts[0];
        mode(h, PRIV_S, false);
        hx(h).hstatus = HSTATUS_SPV;
        h.mstatus = MSTATUS_SPP;
        h.sepc = DRAM_BASE + 4;
      },
      H,
    );
    assert.equal(m3.trap?.cause, CAUSE_ECALL_VS);
    assert.equal(hx(m3.machine.harts[0]).hstatus & HSTATUS_SPV, 0);
  });
});
