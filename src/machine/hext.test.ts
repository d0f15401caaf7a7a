/**
 * The H extension's CSRs and its exceptions (hext.ts, hext-csr.ts): the hypervisor and virtual-
 * supervisor CSRs' WARL behaviour, VS-mode's S CSRs remapped to their vs* twins, and, for every
 * privileged instruction and CSR access in every mode, whether it runs, raises a virtual-instruction
 * exception or an illegal-instruction one. Trap routing and V mode: hext-traps.test.ts; two-stage
 * translation and HLV/HSV: hext-two-stage.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Hart } from "./hart.js";
import { csrr, csrw, H, hx, MRET, mode, SRET, WFI } from "./hext-test-support.js";
import {
  CAUSE_ECALL_M,
  CAUSE_ECALL_S,
  CAUSE_ECALL_VS,
  CAUSE_ILLEGAL_INSN,
  CAUSE_VIRTUAL_INSN,
  CSR,
  HCSR,
  HSTATUS_VTSR,
  HSTATUS_VTVM,
  HSTATUS_VTW,
  MIP_VSSIP,
  MIP_VSTIP,
  MSTATUS_SIE,
  MSTATUS_SUM,
  MSTATUS_TVM,
  MSTATUS_TW,
  MSTATUSH_GVA,
  MSTATUSH_MPV,
  PRIV_S,
  PRIV_U,
  type Priv,
} from "./isa/csr-defs.js";
import { encode } from "./isa/encode.js";
import { DRAM_BASE } from "./memory-map.js";
import { ECALL, runCode } from "./test-support.js";

describe("H extension CSRs", () => {
  test("misa.H and the hypervisor CSRs exist only with the machine option", () => {
    const code = [csrr(10, CSR.misa), csrr(11, HCSR.hstatus), ECALL];
    const off = runCode(code);
    assert.equal(off.trap?.cause, CAUSE_ILLEGAL_INSN);
    assert.equal(off.trap?.pc, DRAM_BASE + 4);
    assert.equal(off.machine.harts[0].x[10] & (1 << 7), 0);
    const on = runCode(code, undefined, H);
    assert.equal(on.trap?.cause, CAUSE_ECALL_M);
    assert.equal(on.machine.harts[0].x[10] & (1 << 7), 1 << 7);
    // hypervisor instructions are illegal without it
    const hlv = runCode([encode("hlv.w", { rd: 10, rs1: 11 }), ECALL]);
    assert.equal(hlv.trap?.cause, CAUSE_ILLEGAL_INSN);
    const fence = runCode([encode("hfence.gvma", {}), ECALL]);
    assert.equal(fence.trap?.cause, CAUSE_ILLEGAL_INSN);
  });

  test("WARL masks: all-ones written, the implemented fields read back", () => {
    const csrs: [number, number][] = [
      [HCSR.hstatus, 0x7003c0],
      [HCSR.hedeleg, 0xb1ff],
      [HCSR.hideleg, 0x444],
      [HCSR.hgatp, 0x9fff_fffc],
      [HCSR.hgeie, 0],
      [HCSR.hvip, 0x444],
      [HCSR.hie, 0x1444],
      [HCSR.vsstatus, 0xc0122],
      [CSR.mideleg, 0x1666],
      [CSR.medeleg, 0xf0b7ff],
      [CSR.mstatush, MSTATUSH_MPV | MSTATUSH_GVA],
    ];
    const code = csrs.flatMap(([c], i) => [csrw(c, 5), csrr(10 + i, c)]);
    const { machine, trap } = runCode(
      [...code, ECALL],
      (m) => {
        m.harts[0].x[5] = -1;
      },
      H,
    );
    assert.equal(trap?.cause, CAUSE_ECALL_M);
    csrs.forEach(([c, want], i) => {
      assert.equal(machine.harts[0].x[10 + i] >>> 0, want, `csr 0x${c.toString(16)}`);
    });
  });

  test("while V = 1 the S CSRs are the vs* ones; HS's own stay untouched", () => {
    const code = [
      csrr(10, CSR.sscratch),
      csrw(CSR.sepc, 5),
      csrr(11, CSR.sstatus),
      csrw(CSR.stvec, 5),
      ECALL,
    ];
    const { machine, trap } = runCode(
      code,
      (m) => {
        const h = m.harts[0];
        mode(h, PRIV_S, true);
        hx(h).vsscratch = 0x1234;
        h.sscratch = 0x5678;
        hx(h).vsstatus = MSTATUS_SUM;
        h.mstatus = MSTATUS_SIE;
        h.x[5] = 0xabc;
      },
      H,
    );
    const h = machine.harts[0];
    assert.equal(trap?.cause, CAUSE_ECALL_VS);
    assert.equal(h.x[10], 0x1234);
    assert.equal(h.x[11], MSTATUS_SUM);
    assert.equal(hx(h).vsepc, 0xabc);
    assert.equal(hx(h).vstvec, 0xabc);
    assert.equal(h.sepc, 0);
    assert.equal(h.stvec, 0);
  });

  test("vsip/vsie show hideleg'd VS interrupts at the S positions; vsip.SSIP writes hvip.VSSIP", () => {
    const { machine } = runCode(
      [
        csrw(HCSR.hideleg, 5),
        csrw(HCSR.hie, 5),
        csrw(HCSR.vsip, 6),
        csrr(10, HCSR.vsie),
        csrr(11, HCSR.vsip),
        csrr(12, HCSR.hvip),
        ECALL,
      ],
      (m) => {
        m.harts[0].x[5] = MIP_VSSIP | MIP_VSTIP;
        m.harts[0].x[6] = 2;
      },
      H,
    );
    const h = machine.harts[0];
    assert.equal(h.x[10], 0x22);
    assert.equal(h.x[11], 0x2);
    assert.equal(h.x[12], MIP_VSSIP);
  });
});

interface Case {
  name: string;
  priv: Priv;
  virt: boolean;
  insn: number;
  cause: number;
  setup?: (h: Hart) => void;
}

const VIRTUAL_CASES: Case[] = [
  {
    name: "hstatus from VS",
    priv: PRIV_S,
    virt: true,
    insn: csrr(10, HCSR.hstatus),
    cause: CAUSE_VIRTUAL_INSN,
  },
  {
    name: "vsstatus from VS",
    priv: PRIV_S,
    virt: true,
    insn: csrr(10, HCSR.vsstatus),
    cause: CAUSE_VIRTUAL_INSN,
  },
  {
    name: "mstatus from VS",
    priv: PRIV_S,
    virt: true,
    insn: csrr(10, CSR.mstatus),
    cause: CAUSE_ILLEGAL_INSN,
  },
  {
    name: "sstatus from VU",
    priv: PRIV_U,
    virt: true,
    insn: csrr(10, CSR.sstatus),
    cause: CAUSE_VIRTUAL_INSN,
  },
  {
    name: "hstatus from U",
    priv: PRIV_U,
    virt: false,
    insn: csrr(10, HCSR.hstatus),
    cause: CAUSE_ILLEGAL_INSN,
  },
  { name: "hstatus from HS", priv: PRIV_S, virt: false, insn: csrr(10, HCSR.hstatus), cause: CAUSE_ECALL_S },
  { name: "mie write from HS", priv: PRIV_S, virt: false, insn: csrw(CSR.mie, 0), cause: CAUSE_ILLEGAL_INSN },
  { name: "misa from HS", priv: PRIV_S, virt: false, insn: csrr(10, CSR.misa), cause: CAUSE_ILLEGAL_INSN },
  {
    name: "mstatush from VS",
    priv: PRIV_S,
    virt: true,
    insn: csrr(10, CSR.mstatush),
    cause: CAUSE_ILLEGAL_INSN,
  },
  {
    name: "time from VS: mcounteren no",
    priv: PRIV_S,
    virt: true,
    insn: csrr(10, CSR.time),
    cause: CAUSE_ILLEGAL_INSN,
  },
  {
    name: "hgeip write from HS",
    priv: PRIV_S,
    virt: false,
    insn: csrw(HCSR.hgeip, 0),
    cause: CAUSE_ILLEGAL_INSN,
  },
  {
    name: "satp from VS with VTVM",
    priv: PRIV_S,
    virt: true,
    insn: csrr(10, CSR.satp),
    cause: CAUSE_VIRTUAL_INSN,
    setup: (h) => {
      hx(h).hstatus = HSTATUS_VTVM;
    },
  },
  { name: "satp from VS", priv: PRIV_S, virt: true, insn: csrr(10, CSR.satp), cause: CAUSE_ECALL_VS },
  {
    name: "hgatp from HS with TVM",
    priv: PRIV_S,
    virt: false,
    insn: csrr(10, HCSR.hgatp),
    cause: CAUSE_ILLEGAL_INSN,
    setup: (h) => {
      h.mstatus = MSTATUS_TVM;
    },
  },
  {
    name: "sret from VS with VTSR",
    priv: PRIV_S,
    virt: true,
    insn: SRET,
    cause: CAUSE_VIRTUAL_INSN,
    setup: (h) => {
      hx(h).hstatus = HSTATUS_VTSR;
    },
  },
  { name: "sret from VU", priv: PRIV_U, virt: true, insn: SRET, cause: CAUSE_VIRTUAL_INSN },
  { name: "mret from VS", priv: PRIV_S, virt: true, insn: MRET, cause: CAUSE_ILLEGAL_INSN },
  {
    name: "wfi from VS with VTW",
    priv: PRIV_S,
    virt: true,
    insn: WFI,
    cause: CAUSE_VIRTUAL_INSN,
    setup: (h) => {
      hx(h).hstatus = HSTATUS_VTW;
    },
  },
  {
    name: "wfi from VS with TW",
    priv: PRIV_S,
    virt: true,
    insn: WFI,
    cause: CAUSE_ILLEGAL_INSN,
    setup: (h) => {
      h.mstatus = MSTATUS_TW;
    },
  },
  { name: "wfi from VU", priv: PRIV_U, virt: true, insn: WFI, cause: CAUSE_VIRTUAL_INSN },
  {
    name: "sfence.vma from VS with VTVM",
    priv: PRIV_S,
    virt: true,
    insn: encode("sfence.vma", {}),
    cause: CAUSE_VIRTUAL_INSN,
    setup: (h) => {
      hx(h).hstatus = HSTATUS_VTVM;
    },
  },
  {
    name: "sfence.vma from VU",
    priv: PRIV_U,
    virt: true,
    insn: encode("sfence.vma", {}),
    cause: CAUSE_VIRTUAL_INSN,
  },
  {
    name: "hfence.vvma from VS",
    priv: PRIV_S,
    virt: true,
    insn: encode("hfence.vvma", {}),
    cause: CAUSE_VIRTUAL_INSN,
  },
  {
    name: "hfence.gvma from U",
    priv: PRIV_U,
    virt: false,
    insn: encode("hfence.gvma", {}),
    cause: CAUSE_ILLEGAL_INSN,
  },
  {
    name: "hfence.gvma from HS with TVM",
    priv: PRIV_S,
    virt: false,
    insn: encode("hfence.gvma", {}),
    cause: CAUSE_ILLEGAL_INSN,
    setup: (h) => {
      h.mstatus = MSTATUS_TVM;
    },
  },
  {
    name: "hfence.vvma from HS",
    priv: PRIV_S,
    virt: false,
    insn: encode("hfence.vvma", {}),
    cause: CAUSE_ECALL_S,
  },
  {
    name: "hlv.w from VS",
    priv: PRIV_S,
    virt: true,
    insn: encode("hlv.w", { rd: 10, rs1: 0 }),
    cause: CAUSE_VIRTUAL_INSN,
  },
  {
    name: "hsv.w from VU",
    priv: PRIV_U,
    virt: true,
    insn: encode("hsv.w", { rs1: 0, rs2: 0 }),
    cause: CAUSE_VIRTUAL_INSN,
  },
  {
    name: "hlv.w from U",
    priv: PRIV_U,
    virt: false,
    insn: encode("hlv.w", { rd: 10, rs1: 0 }),
    cause: CAUSE_ILLEGAL_INSN,
  },
  {
    name: "cycle from VS: mcounteren yes, hcounteren no",
    priv: PRIV_S,
    virt: true,
    insn: csrr(10, CSR.cycle),
    cause: CAUSE_VIRTUAL_INSN,
    setup: (h) => {
      h.mcounteren = 1;
    },
  },
  {
    name: "cycle from VS: mcounteren no",
    priv: PRIV_S,
    virt: true,
    insn: csrr(10, CSR.cycle),
    cause: CAUSE_ILLEGAL_INSN,
  },
  {
    name: "cycle from VU: scounteren no",
    priv: PRIV_U,
    virt: true,
    insn: csrr(10, CSR.cycle),
    cause: CAUSE_VIRTUAL_INSN,
    setup: (h) => {
      h.mcounteren = 1;
      hx(h).hcounteren = 1;
    },
  },
];

describe("virtual-instruction and illegal-instruction exceptions by mode", () => {
  for (const c of VIRTUAL_CASES) {
    test(c.name, () => {
      const { trap } = runCode(
        [c.insn, ECALL],
        (m) => {
          const h = m.harts[0];
          mode(h, c.priv, c.virt);
          c.setup?.(h);
        },
        H,
      );
      assert.equal(trap?.cause, c.cause);
      if (c.cause === CAUSE_VIRTUAL_INSN || c.cause === CAUSE_ILLEGAL_INSN) {
        assert.equal(trap?.pc, DRAM_BASE);
        assert.equal(trap?.tval, c.insn >>> 0);
      }
    });
  }
});
