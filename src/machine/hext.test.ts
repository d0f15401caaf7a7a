import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { run as translate } from "./dbt/engine.js";
import type { Hart } from "./hart.js";
import { TINST_PTE_READ } from "./hext.js";
import { run as interpret } from "./interpreter.js";
import {
  CAUSE_ECALL_M,
  CAUSE_ECALL_S,
  CAUSE_ECALL_U,
  CAUSE_ECALL_VS,
  CAUSE_ILLEGAL_INSN,
  CAUSE_INSN_GUEST_PAGE_FAULT,
  CAUSE_INTERRUPT,
  CAUSE_LOAD_GUEST_PAGE_FAULT,
  CAUSE_LOAD_PAGE_FAULT,
  CAUSE_STORE_GUEST_PAGE_FAULT,
  CAUSE_VIRTUAL_INSN,
  CSR,
  HCSR,
  HGATP_MODE_SV32X4,
  HSTATUS_GVA,
  HSTATUS_HU,
  HSTATUS_SPV,
  HSTATUS_SPVP,
  HSTATUS_VTSR,
  HSTATUS_VTVM,
  HSTATUS_VTW,
  MIP_VSSIP,
  MIP_VSTIP,
  MSTATUS_MPP,
  MSTATUS_MPRV,
  MSTATUS_SIE,
  MSTATUS_SPIE,
  MSTATUS_SPP,
  MSTATUS_SUM,
  MSTATUS_TVM,
  MSTATUS_TW,
  MSTATUSH_GVA,
  MSTATUSH_MPV,
  PRIV_M,
  PRIV_S,
  PRIV_U,
  type Priv,
  SATP_MODE_SV32,
} from "./isa/csr-defs.js";
import { encode } from "./isa/encode.js";
import type { MachineOptions } from "./machine.js";
import { DRAM_BASE } from "./memory-map.js";
import { PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from "./mmu.js";
import { type CodeRun, ECALL, poke, runCode } from "./test-support.js";

const H: { machine: MachineOptions } = { machine: { hExtension: true } };
const csrr = (rd: number, csr: number): number => encode("csrrs", { rd, rs1: 0, csr });
const csrw = (csr: number, rs1: number): number => encode("csrrw", { rd: 0, rs1, csr });
const NOP = encode("addi", { rd: 0, rs1: 0, imm: 0 });
const SRET = 0x1020_0073;
const MRET = 0x3020_0073;
const WFI = 0x1050_0073;
const SELF_LOOP = encode("jal", { rd: 0, imm: 0 });

function hx(h: Hart) {
  assert.ok(h.hx !== undefined);
  return h.hx;
}

/** Puts the hart in a mode: V and the nominal privilege. */
function mode(h: Hart, priv: Priv, virt: boolean): void {
  h.priv = priv;
  h.virt = virt;
  h.flushTlb();
}

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

const HANDLER = DRAM_BASE + 0x100;

/** Runs `code` in a mode with a handler at HANDLER (its words `handler`), for trap-routing tests. */
function runWithHandler(code: number[], handler: number[], setup: (h: Hart) => void): CodeRun {
  return runCode(
    code,
    (m) => {
      poke(m, HANDLER, handler);
      setup(m.harts[0]);
    },
    H,
  );
}

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

// ── two-stage translation through the hart ──────────────────────────────────────────────────
const G_ROOT = DRAM_BASE + 0x40000; // 16 KiB-aligned
const G_L0 = DRAM_BASE + 0x44000;
const FRAMES = DRAM_BASE + 0x100000; // guest page n (n ≥ 1) lives at FRAMES + n·4096; page 0 is DRAM_BASE
const HGATP = HGATP_MODE_SV32X4 | (G_ROOT / 4096);
const pte = (pa: number, flags: number): number => ((pa / 4096) << 10) | flags;
const ALL = PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D;

/**
 * Guest-physical pages: 0 → DRAM_BASE (the test's code), 1 → data, 2 → execute-only, 3 → no U bit,
 * 4 → a VS-stage root whose entry for 0x4000_0000 is a supervisor megapage onto guest-physical 0,
 * 15 → not mapped.
 */
function guestWorld(h: Hart): void {
  const bus = h.bus;
  bus.write(G_ROOT, 4, pte(G_L0, PTE_V));
  bus.write(G_L0, 4, pte(DRAM_BASE, ALL));
  for (let n = 1; n < 8; n++) bus.write(G_L0 + n * 4, 4, pte(FRAMES + n * 4096, ALL));
  bus.write(G_L0 + 2 * 4, 4, pte(FRAMES + 2 * 4096, PTE_V | PTE_X | PTE_U | PTE_A));
  bus.write(G_L0 + 3 * 4, 4, pte(FRAMES + 3 * 4096, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D));
  bus.write(FRAMES + 4 * 4096 + 0x100 * 4, 4, pte(0, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D));
  bus.write(FRAMES + 0x1010, 4, 0xdeadbeef | 0);
  bus.write(FRAMES + 0x2000, 4, 0x12345678);
  hx(h).hgatp = HGATP;
}

describe("HLV/HLVX/HSV from HS-mode", () => {
  test("loads and stores go through vsatp and hgatp, with sign/zero extension", () => {
    const code = [
      encode("hlv.w", { rd: 10, rs1: 11 }),
      encode("hlv.bu", { rd: 12, rs1: 11 }),
      encode("hlv.b", { rd: 13, rs1: 11 }),
      encode("hlv.hu", { rd: 14, rs1: 11 }),
      encode("hsv.w", { rs1: 15, rs2: 5 }),
      encode("hsv.b", { rs1: 16, rs2: 5 }),
      encode("hlvx.wu", { rd: 17, rs1: 18 }),
      ECALL,
    ];
    const { machine, trap } = runCode(
      code,
      (m) => {
        const h = m.harts[0];
        guestWorld(h);
        mode(h, PRIV_S, false);
        Object.assign(h.x, { 5: 0x0a0b0c0d, 11: 0x1010, 15: 0x1014, 16: 0x1019, 18: 0x2000 });
      },
      H,
    );
    const h = machine.harts[0];
    assert.equal(trap?.cause, CAUSE_ECALL_S);
    assert.equal(h.x[10], 0xdeadbeef | 0);
    assert.equal(h.x[12], 0xef);
    assert.equal(h.x[13], -17);
    assert.equal(h.x[14], 0xbeef);
    assert.equal(h.bus.read(FRAMES + 0x1014, 4), 0x0a0b0c0d);
    assert.equal(h.bus.read(FRAMES + 0x1019, 1), 0x0d);
    assert.equal(h.x[17], 0x12345678);
  });

  test("hstatus.SPVP picks the VS-stage privilege; hstatus.HU lets U-mode use them", () => {
    const va = 0x4000_1010;
    const run = (spvp: boolean, priv: Priv) =>
      runWithHandler([encode("hlv.w", { rd: 10, rs1: 11 }), ECALL], [ECALL], (h) => {
        guestWorld(h);
        mode(h, priv, false);
        hx(h).vsatp = SATP_MODE_SV32 | 4;
        hx(h).hstatus = (spvp ? HSTATUS_SPVP : 0) | HSTATUS_HU;
        h.medeleg = 1 << CAUSE_LOAD_PAGE_FAULT;
        h.stvec = HANDLER;
        h.x[11] = va;
      });
    const ok = run(true, PRIV_U);
    assert.equal(ok.trap?.cause, CAUSE_ECALL_U);
    assert.equal(ok.machine.harts[0].x[10], 0xdeadbeef | 0);
    const pf = run(false, PRIV_S).machine.harts[0];
    assert.equal(pf.scause, CAUSE_LOAD_PAGE_FAULT);
    assert.equal(pf.stval, va);
    assert.equal(hx(pf).hstatus & (HSTATUS_GVA | HSTATUS_SPV), HSTATUS_GVA); // a guest virtual address, from V = 0
    assert.equal(hx(pf).htval, 0);
  });

  test("guest-page faults: cause 21/23, stval = guest virtual, htval = guest-physical >> 2", () => {
    for (const [insn, cause, gpa] of [
      [encode("hlv.w", { rd: 10, rs1: 11 }), CAUSE_LOAD_GUEST_PAGE_FAULT, 0x2000], // execute-only: no read
      [encode("hsv.w", { rs1: 11, rs2: 0 }), CAUSE_STORE_GUEST_PAGE_FAULT, 0x3004], // no U bit
      [encode("hlv.w", { rd: 10, rs1: 11 }), CAUSE_LOAD_GUEST_PAGE_FAULT, 0xf008], // not mapped
    ]) {
      const h = runWithHandler([insn, ECALL], [ECALL], (h) => {
        guestWorld(h);
        mode(h, PRIV_S, false);
        h.medeleg = 1 << cause;
        h.stvec = HANDLER;
        h.x[11] = gpa;
      }).machine.harts[0];
      assert.equal(h.scause, cause);
      assert.equal(h.stval, gpa);
      assert.equal(hx(h).htval, gpa >>> 2);
      assert.equal(hx(h).htinst, 0);
      assert.equal(hx(h).hstatus & HSTATUS_GVA, HSTATUS_GVA);
    }
  });

  test("a guest-page fault in the VS-stage walk reports the PTE's gpa and a pseudoinstruction in htinst", () => {
    const h = runWithHandler([encode("hlv.w", { rd: 10, rs1: 11 }), ECALL], [ECALL], (h) => {
      guestWorld(h);
      mode(h, PRIV_S, false);
      hx(h).vsatp = SATP_MODE_SV32 | 15; // the root in an unmapped guest page
      h.medeleg = 1 << CAUSE_LOAD_GUEST_PAGE_FAULT;
      h.stvec = HANDLER;
      h.x[11] = 0x4000_1010;
    }).machine.harts[0];
    assert.equal(h.scause, CAUSE_LOAD_GUEST_PAGE_FAULT);
    assert.equal(h.stval, 0x4000_1010);
    assert.equal(hx(h).htval, (0xf000 + 0x100 * 4) >>> 2);
    assert.equal(hx(h).htinst, TINST_PTE_READ);
  });
});

describe("running in VS-mode through both stages, on both engines", () => {
  for (const [name, engine] of [
    ["dbt", translate],
    ["interp", interpret],
  ] as const) {
    test(`${name}: guest code and data through hgatp; a guest-page fault to HS with SPV/SPVP/GVA/htval`, () => {
      const code = [
        encode("lw", { rd: 10, rs1: 11, imm: 0x10 }),
        encode("lw", { rd: 12, rs1: 13, imm: 4 }),
        ECALL,
      ];
      const { machine, trap } = runCode(
        code,
        (m) => {
          const h = m.harts[0];
          poke(m, HANDLER, [ECALL]);
          guestWorld(h);
          mode(h, PRIV_S, true);
          h.pc = 0; // guest-physical 0 is this code
          h.medeleg = 1 << CAUSE_LOAD_GUEST_PAGE_FAULT;
          h.stvec = HANDLER;
          Object.assign(h.x, { 11: 0x1000, 13: 0x3000 });
        },
        { machine: { hExtension: true, engine } },
      );
      const h = machine.harts[0];
      assert.equal(trap?.cause, CAUSE_ECALL_S);
      assert.equal(h.x[10], 0xdeadbeef | 0);
      assert.equal(h.scause, CAUSE_LOAD_GUEST_PAGE_FAULT);
      assert.equal(h.sepc, 4);
      assert.equal(h.stval, 0x3004);
      assert.equal(hx(h).htval, 0x3004 >>> 2);
      assert.equal(
        hx(h).hstatus & (HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA),
        HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA,
      );
    });

    test(`${name}: a fetch from an unmapped guest page is an instruction guest-page fault (20)`, () => {
      const { machine, trap } = runCode(
        [ECALL],
        (m) => {
          const h = m.harts[0];
          guestWorld(h);
          mode(h, PRIV_U, true);
          h.pc = 0xf000;
        },
        { machine: { hExtension: true, engine } },
      );
      assert.equal(trap?.cause, CAUSE_INSN_GUEST_PAGE_FAULT);
      assert.equal(trap?.tval, 0xf000);
      assert.equal(machine.harts[0].virt, true);
    });
  }
});

test("M-mode traps record mtval2 and mstatush.GVA for guest-page faults", () => {
  const { machine } = runCode(
    [encode("lw", { rd: 12, rs1: 13, imm: 0 })],
    (m) => {
      const h = m.harts[0];
      poke(m, HANDLER, [SELF_LOOP]);
      guestWorld(h);
      mode(h, PRIV_S, true);
      h.pc = 0;
      h.mtvec = HANDLER;
      h.x[13] = 0xf010;
    },
    { ...H, stopOnTrap: false, maxInsns: 20 },
  );
  const h = machine.harts[0];
  assert.equal(h.mcause, CAUSE_LOAD_GUEST_PAGE_FAULT);
  assert.equal(h.mtval, 0xf010);
  assert.equal(hx(h).mtval2, 0xf010 >>> 2);
  assert.equal(hx(h).mstatush, MSTATUSH_MPV | MSTATUSH_GVA);
  assert.equal(h.priv, PRIV_M);
});

test("M-mode loads with MPRV and mstatush.MPV = 1 go through both stages, as the guest would make them", () => {
  const { machine, trap } = runCode(
    [encode("lw", { rd: 10, rs1: 11, imm: 0x10 }), ECALL],
    (m) => {
      const h = m.harts[0];
      guestWorld(h);
      h.mstatus = MSTATUS_MPRV | (PRIV_S << 11);
      hx(h).mstatush = MSTATUSH_MPV;
      h.x[11] = 0x1000;
    },
    H,
  );
  assert.equal(trap?.cause, CAUSE_ECALL_M);
  assert.equal(machine.harts[0].x[10], 0xdeadbeef | 0);
});

test("time in V-mode is time + htimedelta", () => {
  const { machine } = runCode(
    [csrr(10, CSR.time), ECALL],
    (m) => {
      const h = m.harts[0];
      mode(h, PRIV_S, true);
      h.mcounteren = 2;
      hx(h).hcounteren = 2;
      hx(h).htimedelta = 1000;
      h.readTime = () => 5;
    },
    H,
  );
  assert.equal(machine.harts[0].x[10], 1005);
});
