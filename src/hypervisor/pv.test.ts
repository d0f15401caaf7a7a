/**
 * The PV extension's trap return, events and small calls (docs/pv-abi.md; the environment:
 * testing/pv-env.ts): PV_IRET from a trap frame in guest memory, PV_BLOCK, the shared page and the
 * calls that only set a vCPU's state. The page-table calls: pv-tables.test.ts; batches:
 * pv-multicall.test.ts.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  NO_RETURN,
  SBI_ERR_DENIED,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
} from "../machine/firmware/sbi-defs.js";
import { MSTATUS_SPIE, MSTATUS_SPP, PRIV_S, PRIV_U } from "../machine/isa/csr-defs.js";
import { DRAM_BASE, UART0_BASE } from "../machine/memory-map.js";
import { PAGE_SIZE } from "../machine/params.js";
import {
  PV_BLOCK,
  PV_EVENT_CHECK,
  PV_IRET,
  PV_REGISTER_SHARED,
  PV_SET_TRAP_HANDLER,
  PV_USER_ACCESS,
  SH_MASK,
  SH_PENDING,
} from "./pv.js";
import { Env, err, FRAME, GUEST_FRAMES, L0A, OK, OUTSIDE, SHARED } from "./testing/pv-env.js";

describe("PV_IRET", () => {
  let e: Env;
  beforeEach(() => {
    e = new Env();
    assert.deepEqual(e.call(PV_REGISTER_SHARED, SHARED), OK);
    for (let r = 0; r < 32; r++) e.mem.write32(FRAME + 4 * r, 0x1000 + r);
  });
  const frame = (epc: number, status: number): void => {
    e.mem.write32(FRAME + 32 * 4, epc);
    e.mem.write32(FRAME + 33 * 4, status);
  };

  it("loads x1..x31, pc, kernel mode and unmasked events from a frame with SPP and SPIE", () => {
    frame(DRAM_BASE + 0x4444, MSTATUS_SPP | MSTATUS_SPIE);
    e.v.vpriv = PRIV_U;
    e.mem.write32(SHARED + SH_MASK, 1);
    assert.equal(e.call(PV_IRET, FRAME), NO_RETURN);
    assert.equal(e.h.x[0], 0, "x0 is not loaded");
    for (let r = 1; r < 32; r++) assert.equal(e.h.x[r], 0x1000 + r, `x${r}`);
    assert.equal(e.h.pc, DRAM_BASE + 0x4444);
    assert.equal(e.v.vpriv, PRIV_S);
    assert.equal(e.mem.read32(SHARED + SH_MASK), 0);
    assert.equal(e.host.loads, 1);
  });

  it("returns to user mode with events masked when SPP and SPIE are clear", () => {
    frame(0x1_0000, 0);
    assert.equal(e.call(PV_IRET, FRAME), NO_RETURN);
    assert.equal(e.v.vpriv, PRIV_U);
    assert.equal(e.h.pc, 0x1_0000);
    assert.equal(e.mem.read32(SHARED + SH_MASK), 1);
  });

  it("refuses an odd epc, an unaligned frame and a frame not wholly in RAM, changing nothing", () => {
    frame(0x1_0001, MSTATUS_SPP);
    const pc = e.h.pc;
    assert.deepEqual(e.call(PV_IRET, FRAME), err(SBI_ERR_INVALID_PARAM));
    frame(0x1_0000, MSTATUS_SPP);
    assert.deepEqual(e.call(PV_IRET, FRAME + 2), err(SBI_ERR_INVALID_PARAM));
    assert.deepEqual(e.call(PV_IRET, OUTSIDE * PAGE_SIZE), err(SBI_ERR_INVALID_ADDRESS));
    assert.deepEqual(
      e.call(PV_IRET, DRAM_BASE + GUEST_FRAMES * PAGE_SIZE - 64),
      err(SBI_ERR_INVALID_ADDRESS),
    );
    assert.equal(e.h.pc, pc);
    assert.equal(e.h.x[5], 0);
    assert.equal(e.v.vpriv, PRIV_S);
    assert.equal(e.host.loads, 0);
  });
});

describe("PV_BLOCK, the shared page and the small calls", () => {
  it("PV_BLOCK unmasks events and blocks only when no PV event is pending", () => {
    const e = new Env();
    assert.deepEqual(e.call(PV_REGISTER_SHARED, SHARED), OK);
    e.mem.write32(SHARED + SH_MASK, 1);
    assert.deepEqual(e.call(PV_BLOCK), OK);
    assert.equal(e.mem.read32(SHARED + SH_MASK), 0);
    assert.deepEqual(e.host.blocked, [e.v]);
    e.mem.write32(SHARED + SH_PENDING, 1 << 5); // timer
    assert.deepEqual(e.call(PV_BLOCK), OK);
    e.mem.write32(SHARED + SH_PENDING, 1 << 1); // software
    assert.deepEqual(e.call(PV_BLOCK), OK);
    assert.equal(e.host.blocked.length, 1);
    e.mem.write32(SHARED + SH_PENDING, 1 << 7); // not a PV event (an M-level bit)
    assert.deepEqual(e.call(PV_BLOCK), OK);
    assert.equal(e.host.blocked.length, 2);
  });

  it("PV_BLOCK without a shared page sees nothing pending", () => {
    const e = new Env();
    assert.deepEqual(e.call(PV_BLOCK), OK);
    assert.equal(e.host.blocked.length, 1);
  });

  it("PV_REGISTER_SHARED takes an aligned page of the domain's RAM only", () => {
    const e = new Env();
    assert.deepEqual(e.call(PV_REGISTER_SHARED, SHARED + 4), err(SBI_ERR_INVALID_ADDRESS));
    assert.deepEqual(e.call(PV_REGISTER_SHARED, OUTSIDE * PAGE_SIZE), err(SBI_ERR_INVALID_ADDRESS));
    assert.deepEqual(e.call(PV_REGISTER_SHARED, UART0_BASE), err(SBI_ERR_INVALID_ADDRESS));
    assert.equal(e.v.sharedGpa, -1);
    assert.deepEqual(e.call(PV_REGISTER_SHARED, SHARED), OK);
    assert.equal(e.v.sharedGpa, SHARED);
    assert.deepEqual(e.pin(L0A, 0), OK);
    assert.deepEqual(e.call(PV_REGISTER_SHARED, L0A * PAGE_SIZE), err(SBI_ERR_DENIED), "not a page table");
    assert.equal(e.v.sharedGpa, SHARED);
  });

  it("PV_SET_TRAP_HANDLER refuses an odd address; PV_USER_ACCESS flips SUM and reloads the shadow", () => {
    const e = new Env();
    assert.deepEqual(e.call(PV_SET_TRAP_HANDLER, DRAM_BASE + 1), err(SBI_ERR_INVALID_PARAM));
    assert.equal(e.v.trapHandler, 0);
    assert.deepEqual(e.call(PV_SET_TRAP_HANDLER, DRAM_BASE + 0x100), OK);
    assert.equal(e.v.trapHandler, DRAM_BASE + 0x100);
    assert.deepEqual(e.call(PV_USER_ACCESS, 1), OK);
    assert.equal(e.v.userAccess, true);
    assert.deepEqual(e.call(PV_USER_ACCESS, 0), OK);
    assert.equal(e.v.userAccess, false);
    assert.equal(e.host.loads, 2);
    assert.deepEqual(e.call(PV_EVENT_CHECK), OK);
  });

  it("answers NOT_SUPPORTED to an unknown function and to a domain that is not pv", () => {
    const e = new Env();
    assert.deepEqual(e.call(11), err(SBI_ERR_NOT_SUPPORTED));
    e.d.pv = undefined;
    assert.deepEqual(e.call(PV_SET_TRAP_HANDLER, DRAM_BASE), err(SBI_ERR_NOT_SUPPORTED));
    assert.equal(e.v.trapHandler, 0);
  });
});
