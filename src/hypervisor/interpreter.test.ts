/**
 * The trap-mode interpreter on one vCPU: its virtual CSRs, sret, wfi and sfence.vma, with a real Hart
 * holding pc and the registers and a fake host that records what the interpreter asks of it.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { Bus } from "../machine/bus.js";
import { BufferConsole } from "../machine/devices/console.js";
import { Hart } from "../machine/hart.js";
import {
  CSR,
  MIP_SEIP,
  MIP_SSIP,
  MIP_STIP,
  MSTATUS_MXR,
  MSTATUS_SIE,
  MSTATUS_SPIE,
  MSTATUS_SPP,
  MSTATUS_SUM,
  PRIV_S,
  PRIV_U,
  SATP_MODE_SV32,
} from "../machine/isa/csr-defs.js";
import { encode } from "../machine/isa/encode.js";
import { DRAM_BASE } from "../machine/memory-map.js";
import { ACCESS_LOAD, PTE_R, PTE_V } from "../machine/mmu.js";
import { PAGE_SIZE } from "../machine/params.js";
import { Ram } from "../machine/ram.js";
import { Domain } from "./domain.js";
import { emulate, type InterpreterHost, SSTATUS_MASK } from "./interpreter.js";
import { FrameAllocator } from "./memory/frames.js";
import { GuestMemory } from "./memory/guest-memory.js";
import { P2m } from "./memory/p2m.js";
import { KIND_S, ShadowMmu, ShadowPool } from "./memory/shadow.js";
import { Vcpu } from "./vcpu.js";

const PC = DRAM_BASE + 0x1000;
const T0 = 5;
const T1 = 6;

class FakeHost implements InterpreterHost {
  readonly loads: { v: Vcpu; h: Hart }[] = [];
  readonly blocks: Vcpu[] = [];
  loadShadow(v: Vcpu, h: Hart): void {
    this.loads.push({ v, h });
  }
  block(v: Vcpu): void {
    this.blocks.push(v);
  }
}

interface Env {
  host: FakeHost;
  v: Vcpu;
  h: Hart;
  pool: ShadowPool;
}

function makeEnv(): Env {
  const ram = new Ram(DRAM_BASE, 256 * PAGE_SIZE);
  const bus = new Bus(ram);
  const allocator = new FrameAllocator(ram, { reservedFrames: 8 });
  const p2m = new P2m(1, allocator, 64);
  p2m.populate(64);
  const mem = new GuestMemory(p2m, ram);
  const pool = new ShadowPool(allocator, ram);
  const d = new Domain(1, "dom1", "trap", p2m, mem, new BufferConsole());
  const v = new Vcpu(0, 0, d, new ShadowMmu(pool, mem, { maxSets: 1 }));
  d.vcpus.push(v);
  const h = new Hart(0, bus);
  h.priv = PRIV_U;
  h.pc = PC;
  return { host: new FakeHost(), v, h, pool };
}

const csrrw = (rd: number, csr: number, rs1: number) => encode("csrrw", { rd, rs1, csr });
const csrrs = (rd: number, csr: number, rs1: number) => encode("csrrs", { rd, rs1, csr });
const csrrc = (rd: number, csr: number, rs1: number) => encode("csrrc", { rd, rs1, csr });
const csrrwi = (rd: number, csr: number, uimm: number) => encode("csrrwi", { rd, rs1: uimm, csr });
const csrrsi = (rd: number, csr: number, uimm: number) => encode("csrrsi", { rd, rs1: uimm, csr });
const csrrci = (rd: number, csr: number, uimm: number) => encode("csrrci", { rd, rs1: uimm, csr });

describe("trap-mode interpreter: CSR instructions", () => {
  let e: Env;
  beforeEach(() => {
    e = makeEnv();
  });
  const run = (insn: number) => emulate(e.host, e.v, e.h, insn);

  it("csrrw on sstatus keeps only the fields sstatus has (WARL) and returns the old value", () => {
    e.v.sstatus = MSTATUS_SIE;
    e.h.x[T0] = -1;
    assert.equal(run(csrrw(T1, CSR.sstatus, T0)), "csr");
    assert.equal(e.v.sstatus, SSTATUS_MASK);
    assert.equal(SSTATUS_MASK, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR);
    assert.equal(e.h.x[T1], MSTATUS_SIE);
    assert.equal(e.h.pc, PC + 4);
  });

  it("an sstatus write reloads the shadow when SUM or MXR changes, and flushes it when MXR does", () => {
    const flushes = () => e.v.shadow.stats.flushes;
    e.h.x[T0] = MSTATUS_SIE | MSTATUS_SPP;
    run(csrrs(0, CSR.sstatus, T0));
    assert.equal(e.host.loads.length, 0, "SIE and SPP do not change translation");
    e.h.x[T0] = MSTATUS_SUM;
    run(csrrs(0, CSR.sstatus, T0));
    assert.equal(e.host.loads.length, 1);
    assert.equal(e.host.loads[0].v, e.v);
    assert.equal(e.host.loads[0].h, e.h);
    assert.equal(flushes(), 0, "SUM picks another shadow kind: nothing to flush");
    e.h.x[T0] = MSTATUS_MXR;
    run(csrrs(0, CSR.sstatus, T0));
    assert.equal(e.host.loads.length, 2);
    assert.equal(flushes(), 1, "leaves were built for the old MXR");
    run(csrrc(0, CSR.sstatus, T0));
    assert.equal(flushes(), 2);
    assert.equal(e.v.sstatus, MSTATUS_SIE | MSTATUS_SPP | MSTATUS_SUM);
  });

  it("csrrs / csrrc / the immediate forms set and clear bits of sie, which holds SSIE, STIE and SEIE only", () => {
    e.h.x[T0] = 0xffff;
    run(csrrs(T1, CSR.sie, T0));
    assert.equal(e.v.sie, MIP_SSIP | MIP_STIP | MIP_SEIP);
    assert.equal(e.h.x[T1], 0);
    e.h.x[T0] = MIP_STIP;
    run(csrrc(T1, CSR.sie, T0));
    assert.equal(e.v.sie, MIP_SSIP | MIP_SEIP);
    assert.equal(e.h.x[T1], MIP_SSIP | MIP_STIP | MIP_SEIP);
    run(csrrci(T1, CSR.sie, MIP_SSIP));
    assert.equal(e.v.sie, MIP_SEIP);
    run(csrrwi(T1, CSR.sie, 0x1f));
    assert.equal(e.v.sie, MIP_SSIP, "uimm is 5 bits: STIE and SEIE are out of its reach");
    assert.equal(e.h.x[T1], MIP_SEIP);
    run(csrrsi(T1, CSR.sie, 0x1e));
    assert.equal(e.v.sie, MIP_SSIP);
  });

  it("sip: only SSIP is writable, and reads show the S-level bits only", () => {
    e.v.sip = MIP_STIP | MIP_SEIP | (1 << 7);
    e.h.x[T0] = -1;
    run(csrrw(T1, CSR.sip, T0));
    assert.equal(e.h.x[T1], MIP_STIP | MIP_SEIP, "no M-level bits in sip");
    assert.equal(e.v.sip & (MIP_SSIP | MIP_STIP | MIP_SEIP), MIP_SSIP | MIP_STIP | MIP_SEIP);
    run(csrrc(T1, CSR.sip, T0));
    assert.equal(e.v.sip & (MIP_SSIP | MIP_STIP | MIP_SEIP), MIP_STIP | MIP_SEIP, "STIP and SEIP stay");
    run(csrrsi(T1, CSR.sip, MIP_SSIP));
    assert.equal(e.v.sip & MIP_SSIP, MIP_SSIP);
  });

  it("stvec clears bit 1, sepc clears bit 0; sscratch, scause, stval keep every bit", () => {
    e.h.x[T0] = 0x8000_0003 | 0;
    run(csrrw(0, CSR.stvec, T0));
    assert.equal(e.v.stvec >>> 0, 0x8000_0001);
    e.h.x[T0] = 0x8000_0007 | 0;
    run(csrrw(0, CSR.sepc, T0));
    assert.equal(e.v.sepc >>> 0, 0x8000_0006);
    for (const csr of [CSR.sscratch, CSR.scause, CSR.stval]) {
      e.h.x[T0] = 0xdead_beef | 0;
      run(csrrw(0, csr, T0));
      e.h.x[T1] = 0;
      run(csrrs(T1, csr, 0));
      assert.equal(e.h.x[T1] >>> 0, 0xdead_beef, `csr 0x${csr.toString(16)}`);
    }
    e.h.x[T0] = -1;
    run(csrrw(0, CSR.scounteren, T0));
    assert.equal(e.v.scounteren, 7);
    run(csrrw(0, CSR.senvcfg, T0));
    assert.equal(e.v.senvcfg, 1);
  });

  it("a satp write selects the shadow set of the new root and reloads the shadow", () => {
    const satp = (SATP_MODE_SV32 | (DRAM_BASE >>> 12) | 0x10) >>> 0;
    e.h.x[T0] = satp | 0;
    assert.equal(run(csrrw(T1, CSR.satp, T0)), "csr");
    assert.equal(e.v.satp >>> 0, satp);
    assert.equal(e.h.x[T1], 0);
    assert.equal(e.v.shadow.stats.setSwitches, 1);
    assert.equal(e.host.loads.length, 1);
    run(csrrs(T1, CSR.satp, 0));
    assert.equal(e.h.x[T1] >>> 0, satp);
    assert.equal(e.host.loads.length, 1, "a read is not a switch");
  });

  it("rd = x0 writes no register; rs1 = x0 (or uimm 0) on csrrs/csrrc means no write at all", () => {
    e.v.sscratch = 0x1234;
    e.h.x[T0] = 0x5678;
    run(csrrw(0, CSR.sscratch, T0));
    assert.equal(e.v.sscratch, 0x5678);
    assert.equal(e.h.x[0], 0, "x0 stays zero");
    e.v.sstatus = MSTATUS_SUM;
    e.h.x[T1] = 0;
    run(csrrs(T1, CSR.sstatus, 0));
    run(csrrc(T1, CSR.sstatus, 0));
    run(csrrsi(T1, CSR.sstatus, 0));
    run(csrrci(T1, CSR.sstatus, 0));
    assert.equal(e.v.sstatus, MSTATUS_SUM);
    assert.equal(e.h.x[T1], MSTATUS_SUM);
    assert.equal(e.host.loads.length, 0, "no write, so no shadow reload");
    run(csrrwi(T1, CSR.sstatus, 0));
    assert.equal(e.v.sstatus, 0, "csrrwi with uimm 0 does write");
    assert.equal(e.host.loads.length, 1);
  });

  it("rs1 ≠ x0 makes csrrs a write even when the register holds 0 (a satp write reloads the shadow)", () => {
    e.h.x[T0] = 0;
    assert.equal(run(csrrs(T1, CSR.satp, T0)), "csr");
    assert.equal(e.host.loads.length, 1);
    assert.equal(run(csrrs(T1, CSR.satp, 0)), "csr");
    assert.equal(e.host.loads.length, 1);
  });

  it("returns null, changing nothing, for read-only CSR writes, M-mode CSRs and unknown CSRs", () => {
    e.h.x[T0] = -1;
    e.h.x[T1] = 77;
    for (const insn of [
      csrrw(T1, CSR.cycle, T0),
      csrrs(T1, CSR.time, T0),
      csrrwi(T1, CSR.instret, 1),
      csrrw(T1, CSR.mstatus, T0),
      csrrs(T1, CSR.mstatus, 0),
      csrrw(T1, CSR.mtvec, T0),
      csrrs(T1, CSR.mhartid, 0),
      csrrw(T1, 0x5c0, T0),
      encode("mret"),
      encode("ecall"),
      encode("addi", { rd: T1, rs1: T0, imm: 1 }),
      (csrrw(T1, CSR.sscratch, T0) & ~0x7000) | 0x4000, // funct3 = 4: no such CSR op
    ]) {
      assert.equal(run(insn), null, `0x${(insn >>> 0).toString(16)}`);
      assert.equal(e.h.pc, PC);
      assert.equal(e.h.x[T1], 77);
    }
    assert.equal(e.v.sstatus, 0);
    assert.equal(e.host.loads.length, 0);
  });

  it("returns null for everything when the vCPU is in virtual U-mode", () => {
    e.v.vpriv = PRIV_U;
    e.h.x[T0] = 5;
    assert.equal(run(csrrw(T1, CSR.sscratch, T0)), null);
    assert.equal(run(encode("sret")), null);
    assert.equal(run(encode("wfi")), null);
    assert.equal(run(encode("sfence.vma", { rs1: 0, rs2: 0 })), null);
    assert.equal(e.v.sscratch, 0);
    assert.equal(e.h.pc, PC);
    assert.equal(e.v.vpriv, PRIV_U);
  });
});

describe("trap-mode interpreter: sret, wfi, sfence.vma", () => {
  let e: Env;
  beforeEach(() => {
    e = makeEnv();
  });
  const run = (insn: number) => emulate(e.host, e.v, e.h, insn);

  it("sret returns to S with SPP set: SIE ← SPIE, SPIE ← 1, SPP ← 0, pc ← sepc", () => {
    e.v.sstatus = MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SUM;
    e.v.sepc = DRAM_BASE + 0x2000;
    assert.equal(run(encode("sret")), "sret");
    assert.equal(e.v.vpriv, PRIV_S);
    assert.equal(e.v.sstatus, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SUM);
    assert.equal(e.h.pc, DRAM_BASE + 0x2000);
    assert.equal(e.host.loads.length, 1, "the shadow kind may change");
  });

  it("sret returns to U with SPP clear, and SIE ← SPIE = 0", () => {
    e.v.sstatus = MSTATUS_SIE;
    e.v.sepc = 0x1_0000;
    assert.equal(run(encode("sret")), "sret");
    assert.equal(e.v.vpriv, PRIV_U);
    assert.equal(e.v.sstatus, MSTATUS_SPIE);
    assert.equal(e.h.pc, 0x1_0000);
    assert.equal(e.host.loads.length, 1);
  });

  it("wfi advances pc and blocks only when no enabled interrupt is pending (whatever SIE says)", () => {
    e.v.sie = MIP_STIP;
    assert.equal(run(encode("wfi")), "wfi");
    assert.equal(e.h.pc, PC + 4);
    assert.deepEqual(e.host.blocks, [e.v]);
    e.v.sip = MIP_SSIP; // pending, but not enabled
    run(encode("wfi"));
    assert.equal(e.host.blocks.length, 2);
    e.v.sip = MIP_STIP;
    e.v.sstatus = 0; // globally disabled: WFI still wakes on it
    run(encode("wfi"));
    assert.equal(e.host.blocks.length, 2);
    assert.equal(e.h.pc, PC + 12);
  });

  it("sfence.vma x0 flushes the whole shadow and the hart's TLB", () => {
    e.v.shadow.fill(DRAM_BASE, ACCESS_LOAD, KIND_S, false, 0);
    const inUse = e.pool.inUse;
    e.h.tlbTag.fill(3);
    assert.equal(run(encode("sfence.vma", { rs1: 0, rs2: 0 })), "sfence.vma");
    assert.equal(e.v.shadow.stats.flushes, 1);
    assert.equal(e.pool.inUse, inUse - 1, "the shadow L0 went back to the pool");
    assert.ok(e.h.tlbTag.every((t) => t === -1));
    assert.equal(e.h.pc, PC + 4);
  });

  it("sfence.vma rs1 flushes only that page (any rs2)", () => {
    // A guest table with two 4 KiB pages: root (gfn +0x10) entry 0 → L0 (gfn +0x11), entries 3 and 4.
    const g = DRAM_BASE >>> 12;
    const mem = e.v.domain.mem;
    mem.write32((g + 0x10) * PAGE_SIZE, ((g + 0x11) << 10) | PTE_V);
    for (const j of [3, 4])
      mem.write32((g + 0x11) * PAGE_SIZE + j * 4, ((g + 0x20 + j) << 10) | PTE_V | PTE_R);
    const satp = (SATP_MODE_SV32 | (g + 0x10)) >>> 0;
    e.v.satp = satp;
    e.v.shadow.select(satp);
    for (const j of [3, 4])
      assert.deepEqual(e.v.shadow.fill(j * PAGE_SIZE, ACCESS_LOAD, KIND_S, false, satp), { kind: "mapped" });
    const hostSatp = e.v.shadow.hostSatp(KIND_S);
    const leaf = (addr: number): number => {
      const bus = e.h.bus;
      const root = (hostSatp & 0x3f_ffff) * PAGE_SIZE;
      const r = bus.read(root + (addr >>> 22) * 4, 4)!;
      return (r & PTE_V) === 0 ? 0 : bus.read((r >>> 10) * PAGE_SIZE + ((addr >>> 12) & 1023) * 4, 4)!;
    };
    assert.notEqual(leaf(0x3000), 0);
    assert.notEqual(leaf(0x4000), 0);
    e.h.x[T0] = 0x3abc;
    e.h.tlbTag.fill(3);
    assert.equal(run(encode("sfence.vma", { rs1: T0, rs2: T1 })), "sfence.vma");
    assert.equal(leaf(0x3000), 0);
    assert.notEqual(leaf(0x4000), 0);
    assert.equal(e.v.shadow.stats.flushes, 0, "not a full flush");
    assert.ok(e.h.tlbTag.every((t) => t === -1));
    assert.equal(e.h.pc, PC + 4);
  });

  it("sfence.vma with rd ≠ 0 is not sfence.vma", () => {
    assert.equal(run(encode("sfence.vma", { rs1: 0, rs2: 0 }) | (1 << 7)), null);
    assert.equal(e.h.pc, PC);
  });
});
