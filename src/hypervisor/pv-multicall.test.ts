/**
 * PV_MULTICALL (docs/pv-abi.md; the environment: testing/pv-env.ts): a batch of PV calls in guest
 * memory, run in order until one fails or does not return, each entry's result written back beside it;
 * a refused entry must leave everything as the same call alone would, and stop the batch there.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  NO_RETURN,
  SBI_ERR_DENIED,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_SUCCESS,
  type SbiRet,
} from "../machine/firmware/sbi-defs.js";
import { MSTATUS_SPIE, PRIV_S, PRIV_U, SATP_MODE_SV32 } from "../machine/isa/csr-defs.js";
import { DRAM_BASE } from "../machine/memory-map.js";
import { ACCESS_LOAD, ACCESS_STORE, PTE_A, PTE_D, PTE_R, PTE_V, PTE_W, PTE_X } from "../machine/mmu.js";
import { PAGE_SIZE } from "../machine/params.js";
import { hostPhysOf } from "./memory/addresses.js";
import {
  PV_BLOCK,
  PV_EVENT_CHECK,
  PV_IRET,
  PV_MMU_BATCH_MAX,
  PV_MMU_UPDATE,
  PV_MULTICALL,
  PV_MULTICALL_MAX,
  PV_PIN_TABLE,
  PV_REGISTER_SHARED,
  PV_SET_BASEPTR,
  PV_SET_TRAP_HANDLER,
  PV_UNPIN_TABLE,
  PV_USER_ACCESS,
  SH_MASK,
} from "./pv.js";
import {
  at,
  DATA,
  Env,
  err,
  FRAME,
  G,
  GUEST_FRAMES,
  L0A,
  L0B,
  LIST,
  OK,
  OUTSIDE,
  pte,
  REQS,
  REQS2,
  RESULT_MARK,
  ROOT,
  ROOT2,
  SHARED,
  va,
} from "./testing/pv-env.js";

describe("PV_MULTICALL", () => {
  let e: Env;
  beforeEach(() => {
    e = new Env();
    assert.deepEqual(e.call(PV_REGISTER_SHARED, SHARED), OK);
  });
  const leaf = (gfn: number): number => pte(gfn, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);

  it("runs its entries in order in one call, each as if alone, and writes each one's value", () => {
    e.set(ROOT, 0, pte(L0A, PTE_V));
    const r = e.multicall([
      [PV_PIN_TABLE, L0A * PAGE_SIZE, 0],
      e.requests(REQS, [[at(L0A, 3), leaf(DATA + 3)]]),
      [PV_PIN_TABLE, ROOT * PAGE_SIZE, 1],
      e.requests(REQS2, [
        [at(L0A, 4), leaf(DATA + 4)],
        [at(ROOT, 4), pte(G, PTE_V | PTE_R | PTE_X | PTE_A)],
      ]),
      [PV_SET_BASEPTR, ROOT * PAGE_SIZE, 0],
      [PV_USER_ACCESS, 1, 0],
    ]);
    assert.deepEqual(r, { error: SBI_SUCCESS, value: 6 });
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((k) => e.result(k)),
      [0, 1, 0, 2, 0, 0],
    );
    assert.equal(e.pv.pinned.get(L0A), 0);
    assert.equal(e.pv.pinned.get(ROOT), 1);
    assert.equal(e.get(L0A, 4), leaf(DATA + 4));
    assert.equal(e.pv.updates, 3);
    assert.equal(e.v.satp, (SATP_MODE_SV32 | ROOT) >>> 0);
    assert.equal(e.v.userAccess, true);
    // The shadow was built at the switch: both pages reachable with no fill.
    assert.equal(e.hw(va(0, 3), ACCESS_STORE), hostPhysOf(e.hostFrame(DATA + 3)));
    assert.equal(e.hw(va(4, 9), ACCESS_LOAD), hostPhysOf(e.hostFrame(G + 9)));
    assert.equal(e.v.shadow.stats.fills, 0);
  });

  it("may end with PV_IRET, which does not return once the entries before it are done", () => {
    e.standardTables();
    for (let r = 0; r < 32; r++) e.mem.write32(FRAME + 4 * r, 0x2000 + r);
    e.mem.write32(FRAME + 32 * 4, 0x1_0000);
    e.mem.write32(FRAME + 33 * 4, MSTATUS_SPIE);
    const r = e.multicall([
      [PV_SET_BASEPTR, ROOT * PAGE_SIZE, 0],
      [PV_IRET, FRAME, 0],
    ]);
    assert.equal(r, NO_RETURN);
    assert.equal(e.v.satp, (SATP_MODE_SV32 | ROOT) >>> 0);
    assert.equal(e.v.vpriv, PRIV_U);
    assert.equal(e.h.pc, 0x1_0000);
    assert.equal(e.h.x[7], 0x2007);
    assert.equal(e.mem.read32(SHARED + SH_MASK), 0);
  });

  it("a refused PV_IRET at the end returns its error, the entries before it done", () => {
    e.standardTables();
    const pc = e.h.pc;
    const r = e.multicall([
      [PV_SET_BASEPTR, ROOT * PAGE_SIZE, 0],
      [PV_IRET, OUTSIDE * PAGE_SIZE, 0],
    ]);
    assert.deepEqual(r, err(SBI_ERR_INVALID_ADDRESS, 1));
    assert.equal(e.v.satp, (SATP_MODE_SV32 | ROOT) >>> 0);
    assert.equal(e.h.pc, pc);
    assert.equal(e.v.vpriv, PRIV_S);
  });

  it("may end with PV_BLOCK, which blocks the vCPU after the entries before it", () => {
    e.standardTables();
    assert.deepEqual(
      e.multicall([
        [PV_SET_BASEPTR, ROOT * PAGE_SIZE, 0],
        [PV_BLOCK, 0, 0],
      ]),
      { error: SBI_SUCCESS, value: 2 },
    );
    assert.deepEqual(e.host.blocked, [e.v]);
    assert.equal(e.v.satp, (SATP_MODE_SV32 | ROOT) >>> 0);
  });

  it("stops at the first refused entry: a0 its error, a1 its index, its value written, nothing after it run", () => {
    e.standardTables();
    const r = e.multicall([
      e.requests(REQS, [[at(L0A, 1), leaf(DATA + 1)]]),
      e.requests(REQS2, [
        [at(L0A, 2), leaf(DATA + 2)],
        [at(L0A, 3), pte(OUTSIDE, PTE_V | PTE_R)],
        [at(L0A, 4), leaf(DATA + 4)],
      ]),
      [PV_PIN_TABLE, L0B * PAGE_SIZE, 0],
    ]);
    assert.deepEqual(r, err(SBI_ERR_DENIED, 1));
    assert.deepEqual([e.result(0), e.result(1), e.result(2)], [1, 1, RESULT_MARK]);
    assert.equal(e.get(L0A, 1), leaf(DATA + 1));
    assert.equal(
      e.get(L0A, 2),
      leaf(DATA + 2),
      "the refused entry's requests before the refused one are done",
    );
    assert.equal(e.get(L0A, 3), 0);
    assert.equal(e.get(L0A, 4), 0);
    assert.equal(e.pv.pinned.has(L0B), false, "the entry after it did not run");
  });

  it("refuses in a batch exactly what each call refuses alone, and changes nothing", () => {
    const cases: [string, [number, number, number]][] = [
      ["an update of an unpinned page", [PV_MMU_UPDATE, REQS, 1]],
      ["a pin of a table mapping outside RAM", [PV_PIN_TABLE, (G + 0x120) * PAGE_SIZE, 0]],
      ["a pin of a misaligned frame", [PV_PIN_TABLE, L0B * PAGE_SIZE + 4, 0]],
      ["an unpin of a frame that is not pinned", [PV_UNPIN_TABLE, DATA * PAGE_SIZE, 0]],
      ["an unpin of the current root", [PV_UNPIN_TABLE, ROOT * PAGE_SIZE, 0]],
      ["a switch to an unpinned root", [PV_SET_BASEPTR, ROOT2 * PAGE_SIZE, 0]],
      ["a batch of requests too long", [PV_MMU_UPDATE, REQS, PV_MMU_BATCH_MAX + 1]],
    ];
    for (const [what, call] of cases) {
      const alone = new Env();
      const inBatch = new Env();
      for (const x of [alone, inBatch]) {
        x.standardTables();
        x.v.power = "started";
        assert.deepEqual(x.call(PV_SET_BASEPTR, ROOT * PAGE_SIZE), OK);
        x.set(G + 0x120, 5, pte(OUTSIDE, PTE_V | PTE_R));
        x.mem.write32(REQS, at(DATA, 0));
        x.mem.write32(REQS + 4, leaf(DATA));
      }
      const want = alone.call(...call);
      assert.notEqual(want, NO_RETURN);
      assert.notEqual((want as SbiRet).error, SBI_SUCCESS, what);
      // The list, with the results the two entries run will get: anything else changing shows.
      const list = [
        PV_USER_ACCESS,
        0,
        0,
        0,
        ...call,
        (want as SbiRet).value,
        PV_USER_ACCESS,
        1,
        0,
        RESULT_MARK,
      ];
      for (const [i, w] of list.entries()) inBatch.mem.write32(LIST + 4 * i, w);
      const before = inBatch.snapshot();
      const got = inBatch.call(PV_MULTICALL, LIST, 3);
      assert.deepEqual(got, err((want as SbiRet).error, 1), what);
      assert.equal(inBatch.v.userAccess, false, `${what}: nothing after it`);
      assert.equal(inBatch.snapshot(), before, `${what}: nothing changed (the results aside)`);
    }
  });

  it("refuses entries a batch may not hold, and IRET or BLOCK anywhere but last", () => {
    e.standardTables();
    const cases: [number, number][] = [
      [PV_REGISTER_SHARED, SBI_ERR_NOT_SUPPORTED],
      [PV_SET_TRAP_HANDLER, SBI_ERR_NOT_SUPPORTED],
      [PV_EVENT_CHECK, SBI_ERR_NOT_SUPPORTED],
      [PV_MULTICALL, SBI_ERR_NOT_SUPPORTED],
      [99, SBI_ERR_NOT_SUPPORTED],
      [PV_IRET, SBI_ERR_INVALID_PARAM],
      [PV_BLOCK, SBI_ERR_INVALID_PARAM],
    ];
    for (const [fid, error] of cases) {
      const r = e.multicall([
        [PV_USER_ACCESS, 1, 0],
        [fid, LIST, 1],
        [PV_USER_ACCESS, 0, 0],
      ]);
      assert.deepEqual(r, err(error, 1), `fid ${fid}`);
      assert.equal(e.v.userAccess, true, `fid ${fid}: the entry after it did not run`);
    }
    assert.equal(e.v.sharedGpa, SHARED);
    assert.deepEqual(e.host.blocked, []);
  });

  it("refuses a batch it cannot read or may not write into, running none of it", () => {
    e.standardTables();
    e.mem.write32(L0B * PAGE_SIZE, PV_USER_ACCESS); // [PV_USER_ACCESS, 0, 0, 0]: an invalid entry, pinnable
    const before = e.snapshot();
    assert.deepEqual(e.pin(L0B, 0), OK);
    e.v.userAccess = true;
    assert.deepEqual(e.call(PV_MULTICALL, LIST, PV_MULTICALL_MAX + 1), err(SBI_ERR_INVALID_PARAM));
    assert.deepEqual(e.call(PV_MULTICALL, LIST, -1), err(SBI_ERR_INVALID_PARAM));
    assert.deepEqual(e.call(PV_MULTICALL, LIST + 2, 1), err(SBI_ERR_INVALID_ADDRESS));
    assert.deepEqual(e.call(PV_MULTICALL, OUTSIDE * PAGE_SIZE, 1), err(SBI_ERR_INVALID_ADDRESS));
    assert.deepEqual(
      e.call(PV_MULTICALL, DRAM_BASE + GUEST_FRAMES * PAGE_SIZE - 16, 2),
      err(SBI_ERR_INVALID_ADDRESS),
    );
    assert.deepEqual(e.call(PV_MULTICALL, L0B * PAGE_SIZE, 1), err(SBI_ERR_DENIED), "in a pinned table");
    assert.equal(e.v.userAccess, true, "none of it ran");
    assert.deepEqual(e.unpin(L0B), OK);
    assert.equal(e.snapshot(), before);
    assert.deepEqual(e.call(PV_MULTICALL, LIST, 0), { error: SBI_SUCCESS, value: 0 });
  });

  it("refuses to pin the page the batch is in (the hypervisor writes the results there)", () => {
    const r = e.multicall([
      [PV_USER_ACCESS, 1, 0],
      [PV_PIN_TABLE, LIST, 0],
    ]);
    assert.deepEqual(r, err(SBI_ERR_DENIED, 1));
    assert.equal(e.pv.pinned.size, 0);
    assert.equal(e.result(1), 0);
  });
});
