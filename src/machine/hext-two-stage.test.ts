/**
 * Two-stage translation through the hart (hext.ts, mmu-g.ts): the hypervisor loads and stores
 * (HLV/HLVX/HSV) from HS-mode through vsatp and hgatp, and code running in VS-mode through both stages
 * on both engines (the interpreter and the translator), with guest-page faults carrying the
 * guest-physical address (htval, htinst).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { run as translate } from "./dbt/engine.js";
import type { Hart } from "./hart.js";
import { TINST_PTE_READ } from "./hext.js";
import { csrr, H, HANDLER, hx, mode, runWithHandler, SELF_LOOP } from "./hext-test-support.js";
import { run as interpret } from "./interpreter.js";
import {
  CAUSE_ECALL_M,
  CAUSE_ECALL_S,
  CAUSE_ECALL_U,
  CAUSE_INSN_GUEST_PAGE_FAULT,
  CAUSE_LOAD_GUEST_PAGE_FAULT,
  CAUSE_LOAD_PAGE_FAULT,
  CAUSE_STORE_GUEST_PAGE_FAULT,
  CSR,
  HGATP_MODE_SV32X4,
  HSTATUS_GVA,
  HSTATUS_HU,
  HSTATUS_SPV,
  HSTATUS_SPVP,
  MSTATUS_MPRV,
  MSTATUSH_GVA,
  MSTATUSH_MPV,
  PRIV_M,
  PRIV_S,
  PRIV_U,
  type Priv,
  SATP_MODE_SV32,
} from "./isa/csr-defs.js";
import { encode } from "./isa/encode.js";
import { DRAM_BASE } from "./memory-map.js";
import { PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from "./mmu.js";
import { ECALL, poke, runCode } from "./test-support.js";

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
