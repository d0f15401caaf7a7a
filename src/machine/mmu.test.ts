import assert from "node:assert/strict";
import { test } from "node:test";
import { Bus } from "./bus.js";
import {
  CAUSE_INSN_PAGE_FAULT,
  CAUSE_LOAD_ACCESS,
  CAUSE_LOAD_PAGE_FAULT,
  CAUSE_STORE_PAGE_FAULT,
  CSR,
  MSTATUS_MPRV,
  MSTATUS_MXR,
  MSTATUS_SUM,
  PRIV_S,
  PRIV_U,
  SATP_MODE_SV32,
} from "./isa/csr-defs.js";
import { encode } from "./isa/encode.js";
import { DRAM_BASE } from "./memory-map.js";
import {
  ACCESS_FETCH,
  ACCESS_LOAD,
  ACCESS_STORE,
  PTE_A,
  PTE_D,
  PTE_R,
  PTE_U,
  PTE_V,
  PTE_W,
  PTE_X,
  type WalkContext,
  walkSv32,
} from "./mmu.js";
import { Ram } from "./ram.js";
import { ECALL, poke, runCode } from "./test-support.js";

const ROOT = DRAM_BASE + 0x10000; // root table
const L0 = DRAM_BASE + 0x11000; // second-level table
const VA = 0x4000_1234; // VPN[1] = 0x100, VPN[0] = 0x001
const FRAME = DRAM_BASE + 0x20000;

function setup(leaf: number): { bus: Bus; ctx: WalkContext; leafAddr: number } {
  const bus = new Bus(new Ram(DRAM_BASE, 1 << 20));
  bus.write(ROOT + (VA >>> 22) * 4, 4, ((L0 / 4096) << 10) | PTE_V);
  const leafAddr = L0 + ((VA >>> 12) & 0x3ff) * 4;
  bus.write(leafAddr, 4, ((FRAME / 4096) << 10) | leaf);
  return {
    bus,
    ctx: { satp: SATP_MODE_SV32 | (ROOT / 4096), priv: PRIV_S, sum: false, mxr: false },
    leafAddr,
  };
}

const fault = (cause: number) => -(cause + 1);

test("a two-level walk maps the page and sets A on a load, A and D on a store", () => {
  const { bus, ctx, leafAddr } = setup(PTE_V | PTE_R | PTE_W);
  assert.equal(walkSv32(bus, ctx, VA, ACCESS_LOAD), FRAME + 0x234);
  assert.equal(bus.read(leafAddr, 4)! & (PTE_A | PTE_D), PTE_A);
  assert.equal(walkSv32(bus, ctx, VA, ACCESS_STORE), FRAME + 0x234);
  assert.equal(bus.read(leafAddr, 4)! & (PTE_A | PTE_D), PTE_A | PTE_D);
});

test("permissions: R/W/X by access, W without R is reserved, invalid entries fault", () => {
  assert.equal(
    walkSv32(setup(PTE_V | PTE_R).bus, setup(PTE_V | PTE_R).ctx, VA, ACCESS_STORE),
    fault(CAUSE_STORE_PAGE_FAULT),
  );
  const x = setup(PTE_V | PTE_X);
  assert.equal(walkSv32(x.bus, x.ctx, VA, ACCESS_LOAD), fault(CAUSE_LOAD_PAGE_FAULT));
  assert.equal(walkSv32(x.bus, x.ctx, VA, ACCESS_FETCH), FRAME + 0x234);
  const w = setup(PTE_V | PTE_W);
  assert.equal(walkSv32(w.bus, w.ctx, VA, ACCESS_STORE), fault(CAUSE_STORE_PAGE_FAULT));
  const inv = setup(PTE_R | PTE_W);
  assert.equal(walkSv32(inv.bus, inv.ctx, VA, ACCESS_FETCH), fault(CAUSE_INSN_PAGE_FAULT));
});

test("MXR makes execute-only pages readable", () => {
  const { bus, ctx } = setup(PTE_V | PTE_X);
  assert.equal(walkSv32(bus, { ...ctx, mxr: true }, VA, ACCESS_LOAD), FRAME + 0x234);
});

test("U pages: U-mode may use them; S-mode only loads/stores with SUM, and never executes", () => {
  const { bus, ctx } = setup(PTE_V | PTE_R | PTE_W | PTE_X | PTE_U);
  assert.equal(walkSv32(bus, { ...ctx, priv: PRIV_U }, VA, ACCESS_FETCH), FRAME + 0x234);
  assert.equal(walkSv32(bus, ctx, VA, ACCESS_LOAD), fault(CAUSE_LOAD_PAGE_FAULT));
  assert.equal(walkSv32(bus, { ...ctx, sum: true }, VA, ACCESS_LOAD), FRAME + 0x234);
  assert.equal(walkSv32(bus, { ...ctx, sum: true }, VA, ACCESS_FETCH), fault(CAUSE_INSN_PAGE_FAULT));
  const s = setup(PTE_V | PTE_R);
  assert.equal(walkSv32(s.bus, { ...s.ctx, priv: PRIV_U }, VA, ACCESS_LOAD), fault(CAUSE_LOAD_PAGE_FAULT));
});

test("megapages map 4 MiB and must be aligned", () => {
  const bus = new Bus(new Ram(DRAM_BASE, 1 << 20));
  const ctx: WalkContext = { satp: SATP_MODE_SV32 | (ROOT / 4096), priv: PRIV_S, sum: false, mxr: false };
  bus.write(ROOT + (VA >>> 22) * 4, 4, ((DRAM_BASE / 4096) << 10) | PTE_V | PTE_R);
  assert.equal(walkSv32(bus, ctx, VA, ACCESS_LOAD), DRAM_BASE + (VA & 0x3fffff));
  bus.write(ROOT + (VA >>> 22) * 4, 4, ((DRAM_BASE / 4096 + 1) << 10) | PTE_V | PTE_R);
  assert.equal(walkSv32(bus, ctx, VA, ACCESS_LOAD), fault(CAUSE_LOAD_PAGE_FAULT));
});

test("a page table outside memory is an access fault of the access type", () => {
  const bus = new Bus(new Ram(DRAM_BASE, 1 << 20));
  const ctx: WalkContext = { satp: SATP_MODE_SV32 | 0x10, priv: PRIV_S, sum: false, mxr: false };
  assert.equal(walkSv32(bus, ctx, VA, ACCESS_LOAD), fault(CAUSE_LOAD_ACCESS));
});

test("the hart translates through the TLB, and sees a changed PTE after sfence.vma", () => {
  // M-mode code; loads go through translation with MPRV = 1 and MPP = S.
  const leafAddr = L0 + ((VA >>> 12) & 0x3ff) * 4;
  const { machine, trap } = runCode(
    [
      encode("lw", { rd: 7, rs1: 5, imm: 0 }),
      encode("csrrc", { rd: 0, rs1: 14, csr: CSR.mstatus }), // MPRV off: the PTE is written physically
      encode("sw", { rs1: 12, rs2: 13, imm: 0 }), // point the PTE at another frame
      encode("csrrs", { rd: 0, rs1: 14, csr: CSR.mstatus }),
      encode("sfence.vma", { rs1: 0, rs2: 0 }),
      encode("lw", { rd: 9, rs1: 5, imm: 0 }),
      ECALL,
    ],
    (m) => {
      const h = m.harts[0];
      m.bus.write(ROOT + (VA >>> 22) * 4, 4, ((L0 / 4096) << 10) | PTE_V);
      m.bus.write(leafAddr, 4, ((FRAME / 4096) << 10) | PTE_V | PTE_R | PTE_W);
      m.bus.write(FRAME + 0x234, 4, 111);
      m.bus.write(FRAME + 0x1234, 4, 222);
      h.csrWrite(CSR.satp, SATP_MODE_SV32 | (ROOT / 4096), 0);
      h.csrWrite(CSR.mstatus, MSTATUS_MPRV | (PRIV_S << 11), 0);
      h.x[5] = VA;
      h.x[12] = leafAddr;
      h.x[14] = MSTATUS_MPRV;
      h.x[13] = (((FRAME + 0x1000) / 4096) << 10) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
    },
  );
  assert.equal(trap?.cause, 11);
  const x = machine.harts[0].x;
  assert.equal(x[7], 111);
  assert.equal(x[9], 222);
});

test("a store page fault reports the virtual address as tval", () => {
  const { trap } = runCode([encode("sw", { rs1: 5, rs2: 0, imm: 0 })], (m) => {
    const h = m.harts[0];
    poke(m, ROOT, [0]);
    h.csrWrite(CSR.satp, SATP_MODE_SV32 | (ROOT / 4096), 0);
    h.csrWrite(CSR.mstatus, MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | (PRIV_S << 11), 0);
    h.x[5] = VA;
  });
  assert.equal(trap?.cause, CAUSE_STORE_PAGE_FAULT);
  assert.equal(trap?.tval, VA);
});
