/**
 * Hostile PV guests (pv mode only; the contract they attack is docs/pv-abi.md). `pv-tables` sends every
 * unsafe page-table request — a frame outside its RAM, a pinned table mapped writable, a root pointing
 * at an unpinned table, requests outside RAM, pins and unpins that break the rules — among a few good
 * ones, each answered by exactly the SBI error it must get, and then probes the result: the tables hold
 * the prepared and accepted entries and nothing else. `pv-tables-multicall` sends the same requests
 * inside PV_MULTICALL batches, which must stop at the refused entry. `pinned-writes` makes the
 * hypervisor itself write into a pinned table (a shared page or a console read registered on it).
 */
import assert from "node:assert/strict";
import { BufferConsole } from "../../../machine/devices/console.js";
import type { ElfImage } from "../../../machine/elf.js";
import { encode } from "../../../machine/isa/encode.js";
import { DRAM_BASE } from "../../../machine/memory-map.js";
import type { Domain } from "../../domain.js";
import {
  A,
  A0,
  A1,
  A6,
  A7,
  Asm,
  assemble,
  D,
  DATA,
  type DataBlock,
  EID_DBCN,
  EID_PV,
  PV_MMU_UPDATE,
  PV_MULTICALL,
  PV_PIN_TABLE,
  PV_REGISTER_SHARED,
  PV_SET_BASEPTR,
  PV_SET_TRAP_HANDLER,
  PV_UNPIN_TABLE,
  PV_USER_ACCESS,
  probeGuest,
  pte,
  R,
  RESULTS,
  S1,
  S3,
  SHARED,
  SP,
  shutdown,
  T0,
  T1,
  T2,
  TABLE,
  V,
  W,
  X,
} from "../hostile.js";
import {
  type Access,
  assertAccesses,
  assertSetupOk,
  assertShutdownClean,
  both,
  CAUSE_ILLEGAL,
  CAUSE_STORE_ACCESS,
  CAUSE_STORE_PAGE,
  CLINT,
  gfnOf,
  type Hostile,
  L0,
  pairs,
  probeAccesses,
  RAM_END,
  ROOT,
  RW,
  results,
  SBI_ERR_DENIED,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_INVALID_PARAM,
  WPAGE,
} from "./arena.js";

// ── page-table requests the hypervisor must refuse ─────────────────────────────────────────────────────

interface PvCall {
  what: string;
  /** A request refused inside the batch loop (counted in PvState.refused). */
  counted?: boolean;
  fid: number;
  args: number[];
  /** Expected a0, and a1 (requests done, for MMU_UPDATE) when given. */
  error: number;
  value?: number;
}

/** Besides ROOT, L0 and WPAGE (arena.ts): a table never pinned, and two that must not be. */
const UNPINNED = TABLE(2);
const BAD_L0 = TABLE(4);
const BAD_ROOT = TABLE(5);

/** MMU_UPDATE request batches, each at DATA + 0x100 * k. */
const BATCHES: [number, number][][] = [];
function batch(...reqs: [number, number][]): number {
  BATCHES.push(reqs);
  return DATA + 0x100 * (BATCHES.length - 1);
}
const update = (what: string, reqs: [number, number][], error: number, value = 0): PvCall => ({
  what,
  fid: PV_MMU_UPDATE,
  args: [batch(...reqs), reqs.length],
  error,
  value,
  counted: error !== 0,
});

const PV_CALLS: PvCall[] = [
  { what: "pin the leaf table", fid: PV_PIN_TABLE, args: [L0, 0], error: 0 },
  { what: "pin the root", fid: PV_PIN_TABLE, args: [ROOT, 1], error: 0 },
  update("map a frame past RAM", [[L0 + 4 * 5, pte(gfnOf(RAM_END), RW)]], SBI_ERR_DENIED),
  update("map a 34-bit frame", [[L0 + 4 * 5, pte(0x3f_ffff, V | R)]], SBI_ERR_DENIED),
  update("map the host CLINT", [[L0 + 4 * 5, pte(CLINT >>> 12, V | R)]], SBI_ERR_DENIED),
  update("map a megapage past RAM", [[ROOT + 4 * 1, pte(gfnOf(RAM_END), V | R)]], SBI_ERR_DENIED),
  update(
    "map a misaligned megapage",
    [[ROOT + 4 * 1, pte(gfnOf(DRAM_BASE) + 1, V | R)]],
    SBI_ERR_INVALID_PARAM,
  ),
  update("map the pinned root writable", [[L0 + 4 * 6, pte(gfnOf(ROOT), RW)]], SBI_ERR_DENIED),
  update("map a pinned table writable", [[L0 + 4 * 6, pte(gfnOf(L0), RW)]], SBI_ERR_DENIED),
  update("point the root at an unpinned table", [[ROOT + 4 * 2, pte(gfnOf(UNPINNED), V)]], SBI_ERR_DENIED),
  update("point the root at the root", [[ROOT + 4 * 2, pte(gfnOf(ROOT), V)]], SBI_ERR_DENIED),
  update("a non-leaf entry in a leaf table", [[L0 + 4 * 7, pte(gfnOf(L0), V)]], SBI_ERR_INVALID_PARAM),
  update("W without R", [[L0 + 4 * 8, pte(gfnOf(WPAGE), V | W)]], SBI_ERR_INVALID_PARAM),
  update("ptr in an unpinned page", [[UNPINNED, pte(gfnOf(WPAGE), V | R)]], SBI_ERR_DENIED),
  update("ptr unaligned", [[L0 + 2, pte(gfnOf(WPAGE), V | R)]], SBI_ERR_INVALID_PARAM),
  update("ptr outside RAM", [[0x9000_0000, pte(gfnOf(WPAGE), V | R)]], SBI_ERR_DENIED),
  update("ptr in the host's CLINT", [[CLINT, 0]], SBI_ERR_DENIED),
  {
    what: "requests outside RAM",
    fid: PV_MMU_UPDATE,
    args: [0x9000_0000, 1],
    error: SBI_ERR_INVALID_ADDRESS,
  },
  {
    what: "requests past RAM's end",
    fid: PV_MMU_UPDATE,
    args: [RAM_END - 8, 2],
    error: SBI_ERR_INVALID_ADDRESS,
  },
  { what: "requests unaligned", fid: PV_MMU_UPDATE, args: [DATA + 2, 1], error: SBI_ERR_INVALID_ADDRESS },
  { what: "513 requests", fid: PV_MMU_UPDATE, args: [DATA, 513], error: SBI_ERR_INVALID_PARAM },
  { what: "2^32-1 requests", fid: PV_MMU_UPDATE, args: [DATA, 0xffff_ffff], error: SBI_ERR_INVALID_PARAM },
  update(
    "a good request, then a bad one",
    [
      [L0 + 4 * 9, pte(gfnOf(WPAGE), RW | A | D)],
      [L0 + 4 * 10, pte(gfnOf(RAM_END), RW)],
    ],
    SBI_ERR_DENIED,
    1,
  ),
  { what: "pin a page mapped writable", fid: PV_PIN_TABLE, args: [WPAGE, 0], error: SBI_ERR_DENIED },
  {
    what: "pin a leaf table mapping outside RAM",
    fid: PV_PIN_TABLE,
    args: [BAD_L0, 0],
    error: SBI_ERR_DENIED,
  },
  { what: "pin a root pointing at unpinned", fid: PV_PIN_TABLE, args: [BAD_ROOT, 1], error: SBI_ERR_DENIED },
  { what: "pin outside RAM", fid: PV_PIN_TABLE, args: [0x9000_0000, 0], error: SBI_ERR_INVALID_ADDRESS },
  {
    what: "pin the last page of 4 GiB",
    fid: PV_PIN_TABLE,
    args: [0xffff_f000, 1],
    error: SBI_ERR_INVALID_ADDRESS,
  },
  { what: "pin unaligned", fid: PV_PIN_TABLE, args: [UNPINNED + 4, 0], error: SBI_ERR_INVALID_PARAM },
  { what: "pin at level 2", fid: PV_PIN_TABLE, args: [UNPINNED, 2], error: SBI_ERR_INVALID_PARAM },
  { what: "pin a pinned table again", fid: PV_PIN_TABLE, args: [L0, 0], error: SBI_ERR_DENIED },
  { what: "pin a pinned leaf table as a root", fid: PV_PIN_TABLE, args: [L0, 1], error: SBI_ERR_DENIED },
  update("point the root at the leaf table", [[ROOT + 4 * 1, pte(gfnOf(L0), V)]], 0, 1),
  { what: "base pointer unpinned", fid: PV_SET_BASEPTR, args: [UNPINNED], error: SBI_ERR_DENIED },
  { what: "base pointer a leaf table", fid: PV_SET_BASEPTR, args: [L0], error: SBI_ERR_DENIED },
  { what: "base pointer unaligned", fid: PV_SET_BASEPTR, args: [ROOT + 4], error: SBI_ERR_INVALID_PARAM },
  { what: "base pointer outside RAM", fid: PV_SET_BASEPTR, args: [0x9000_0000], error: SBI_ERR_DENIED },
  { what: "base pointer the root", fid: PV_SET_BASEPTR, args: [ROOT], error: 0 },
  { what: "unpin the current root", fid: PV_UNPIN_TABLE, args: [ROOT], error: SBI_ERR_DENIED },
  { what: "unpin a leaf table in use", fid: PV_UNPIN_TABLE, args: [L0], error: SBI_ERR_DENIED },
  { what: "unpin an unpinned page", fid: PV_UNPIN_TABLE, args: [UNPINNED], error: SBI_ERR_INVALID_PARAM },
  { what: "unpin outside RAM", fid: PV_UNPIN_TABLE, args: [0x9000_0000], error: SBI_ERR_INVALID_PARAM },
];

/** After the calls, with the root installed: stores into pinned tables fault, the rest as mapped. */
const PV_ACCESSES: Access[] = [
  ...both(L0, "page").filter((a) => a.store),
  { addr: L0 + 4 * 9, store: false, cause: undefined },
  ...both(ROOT + 4 * 0x200, "page").filter((a) => a.store),
  { addr: ROOT, store: false, cause: undefined },
  ...both(WPAGE, "ok"),
  ...both(0x0040_0000 + 9 * 0x1000, "ok"), // through L0[9]: the one update that was applied
  ...both(0x0040_0000 + 5 * 0x1000, "page"), // L0[5]: every request for it was refused
  ...both(0x0040_0000 + 10 * 0x1000, "page"),
  ...both(0x0080_0000, "page"), // root[2]: refused
];

function pvTablesData(): DataBlock[] {
  const root = new Array<number>(1024).fill(0);
  root[0x200] = pte(gfnOf(DRAM_BASE), V | R | W | X | A | D);
  const data: DataBlock[] = [
    { addr: ROOT, words: root },
    { addr: BAD_L0, words: [pte(gfnOf(RAM_END), V | R)] },
    { addr: BAD_ROOT, words: [pte(gfnOf(UNPINNED), V)] },
  ];
  for (const [k, reqs] of BATCHES.entries()) data.push({ addr: DATA + 0x100 * k, words: reqs.flat() });
  return data;
}

export const pvTables: Hostile = {
  name: "pv-tables",
  modes: ["pv"],
  build(arena) {
    const img = probeGuest(
      "pv-tables",
      "pv",
      (asm) => {
        for (const c of PV_CALLS) asm.sbi(EID_PV, c.fid, c.args);
        probeAccesses(asm, PV_ACCESSES);
      },
      pvTablesData(),
    );
    return arena.add({ name: "pv-tables", kernel: img });
  },
  check(d) {
    assertSetupOk(d, "pv");
    const got = pairs(d, PV_CALLS.length, 4);
    for (const [i, c] of PV_CALLS.entries()) {
      assert.equal(got[i][0], c.error, `${c.what}: a0`);
      if (c.value !== undefined) assert.equal(got[i][1], c.value, `${c.what}: a1`);
    }
    assertAccesses(d, PV_ACCESSES, 4 + 2 * PV_CALLS.length);
    assertPvTables(d);
  },
};

/**
 * The same requests, each the middle entry of a PV_MULTICALL [USER_ACCESS 1, call, USER_ACCESS 0]:
 * every entry must be refused exactly as it was alone, the batch must stop there (a0 = the error, a1 = 1),
 * and the tables must end exactly as pv-tables leaves them.
 */
const MC_LISTS = DATA + 0x8000;
const mcList = (k: number): number => MC_LISTS + 0x40 * k;
/** A result word the hypervisor has not written. */
const MARK = 0xa5a5_a5a5;

export const pvTablesMulticall: Hostile = {
  name: "pv-tables-multicall",
  modes: ["pv"],
  build(arena) {
    const data = pvTablesData();
    for (const [k, c] of PV_CALLS.entries())
      data.push({
        addr: mcList(k),
        words: [
          PV_USER_ACCESS,
          1,
          0,
          MARK,
          c.fid,
          c.args[0] ?? 0,
          c.args[1] ?? 0,
          MARK,
          PV_USER_ACCESS,
          0,
          0,
          MARK,
        ],
      });
    const img = probeGuest(
      "pv-tables-multicall",
      "pv",
      (asm) => {
        for (const k of PV_CALLS.keys()) asm.sbi(EID_PV, PV_MULTICALL, [mcList(k), 3]);
        asm.sbi(EID_PV, PV_USER_ACCESS, [0], false);
        probeAccesses(asm, PV_ACCESSES);
      },
      data,
    );
    return arena.add({ name: "pv-tables-multicall", kernel: img });
  },
  check(d) {
    assertSetupOk(d, "pv");
    const got = pairs(d, PV_CALLS.length, 4);
    for (const [i, c] of PV_CALLS.entries()) {
      assert.deepEqual(got[i], c.error === 0 ? [0, 3] : [c.error, 1], `${c.what}: a0, a1`);
      const result = (d.mem.read32(mcList(i) + 28) ?? 0) >>> 0;
      if (c.value !== undefined) assert.equal(result, c.value, `${c.what}: the entry's result`);
      const after = (d.mem.read32(mcList(i) + 44) ?? 0) >>> 0;
      assert.equal(after, c.error === 0 ? 0 : MARK, `${c.what}: the entry after it ran only if it passed`);
    }
    assertAccesses(d, PV_ACCESSES, 4 + 2 * PV_CALLS.length);
    assertPvTables(d);
  },
};

/** What pv-tables and pv-tables-multicall leave: the prepared and the accepted entries, nothing else. */
function assertPvTables(d: Domain): void {
  {
    // Nothing refused changed anything: the tables hold exactly the prepared and the accepted entries
    // (the A and D bits aside, which the hypervisor sets as hardware would).
    const pv = d.pv;
    assert.ok(pv !== undefined);
    assert.deepEqual(
      [...pv.pinned].sort((a, b) => a[0] - b[0]),
      [
        [gfnOf(ROOT), 1],
        [gfnOf(L0), 0],
      ],
    );
    const table = (gpa: number): number[] => {
      const out: number[] = [];
      for (let i = 0; i < 1024; i++) out.push((d.mem.read32(gpa + 4 * i) ?? 0) & ~(A | D));
      return out;
    };
    const wantRoot = new Array<number>(1024).fill(0);
    wantRoot[0x200] = pte(gfnOf(DRAM_BASE), V | R | W | X);
    wantRoot[1] = pte(gfnOf(L0), V);
    assert.deepEqual(table(ROOT), wantRoot, "the pinned root holds what was prepared and accepted");
    const wantL0 = new Array<number>(1024).fill(0);
    wantL0[9] = pte(gfnOf(WPAGE), RW);
    assert.deepEqual(table(L0), wantL0, "the pinned leaf table holds what was accepted");
    assert.deepEqual(table(UNPINNED), new Array<number>(1024).fill(0));
    assert.equal(pv.updates, 2);
    assert.equal(pv.refused, PV_CALLS.filter((c) => c.counted).length);
    assert.deepEqual([...pv.writable], [[gfnOf(WPAGE), 1]]);
    assertShutdownClean(d);
  }
}

/**
 * pv mode: the hypervisor itself writes guest memory — trap delivery fills the shared page, and
 * DBCN_CONSOLE_READ stores console input — so a guest can ask it to write into a pinned table: the
 * shared page registered on the pinned root (the trapped sp, saved at offset 24, lands in entry 6) and
 * a console read into entry 7, both a pointer to an unpinned table the guest writes freely. Whether or
 * not the hypervisor lets those writes happen (see the test below), every access through them
 * must stay inside the guest's RAM and leave pinned tables read-only.
 */
const PLANT = pte(gfnOf(UNPINNED), V);
const plantBytes = String.fromCharCode(
  PLANT & 0xff,
  (PLANT >>> 8) & 0xff,
  (PLANT >>> 16) & 0xff,
  PLANT >>> 24,
);

/** The accesses after the plant, through root entries 6 and 7 (VA 0x0180_0000 and 0x01c0_0000). */
const PLANTED_STORES = [0x0180_0000, 0x0180_1000, 0x0180_2000, 0x01c0_0000, 0x01c0_1000];

function plantImage(): ElfImage {
  const root = new Array<number>(1024).fill(0);
  root[0x200] = pte(gfnOf(DRAM_BASE), V | R | W | X | A | D);
  const asm = new Asm();
  asm.li(S1, RESULTS).li(S3, SHARED);
  asm.sbi(EID_PV, PV_REGISTER_SHARED, [SHARED]); // 0: a proper shared page first
  asm.sbi(EID_PV, PV_PIN_TABLE, [SHARED, 0]); // 2: pinning the shared page
  asm.sbi(EID_PV, PV_UNPIN_TABLE, [SHARED]); // 4: and unpinning it if that worked
  asm.sbi(EID_PV, PV_PIN_TABLE, [L0, 0]); // 6
  asm.sbi(EID_PV, PV_PIN_TABLE, [ROOT, 1]); // 8
  asm.sbi(EID_DBCN, 1, [4, ROOT + 4 * 7, 0]); // 10: console input into root entry 7
  asm.sbi(EID_PV, PV_REGISTER_SHARED, [ROOT]); // 12: the pinned root as the shared page
  asm.branch("bne", A0, 0, "kept").li(S3, ROOT).label("kept");
  asm.la(A0, "handler").li(A7, EID_PV).li(A6, PV_SET_TRAP_HANDLER).op("ecall").rec(A0).rec(A1); // 14
  asm.sbi(EID_PV, PV_SET_BASEPTR, [ROOT]); // 16
  // The unpinned table the plant points at: its root's 4 MiB would map the root writable, RAM's end
  // and the host's CLINT.
  const table = [
    pte(gfnOf(ROOT), RW | A | D),
    pte(gfnOf(RAM_END), RW | A | D),
    pte(CLINT >>> 12, RW | A | D),
  ];
  for (const [i, e] of table.entries())
    asm
      .li(T1, UNPINNED + 4 * i)
      .li(T2, e)
      .op("sw", { rs1: T1, rs2: T2, imm: 0 });
  asm.li(SP, PLANT);
  asm.probe(0); // 18: an illegal instruction: its delivery saves sp into the shared page
  asm.li(T2, 0x5555);
  for (const va of PLANTED_STORES) asm.li(T1, va).probe(encode("sw", { rs1: T1, rs2: T2, imm: 0 })); // 20..
  shutdown(asm);
  asm.label("handler");
  // Records (cause, tval) from whichever page is the shared page, and resumes; never stores into it.
  asm.op("lw", { rd: T0, rs1: S3, imm: 12 }).rec(T0).op("lw", { rd: T0, rs1: S3, imm: 16 }).rec(T0);
  asm.op("jalr", { rd: 0, rs1: 18, imm: 0 });
  return assemble("pinned-writes", asm, [{ addr: ROOT, words: root }]);
}

export const PLANT_WORDS = 20 + 2 * PLANTED_STORES.length;

export const pinnedWrites: Hostile = {
  name: "pinned-writes",
  modes: ["pv"],
  build(arena) {
    return arena.add({ name: "pinned-writes", kernel: plantImage(), console: new BufferConsole(plantBytes) });
  },
  check(d) {
    const r = results(d, PLANT_WORDS);
    assert.deepEqual(r.slice(0, 2), [0, 0], "shared page registered");
    assert.deepEqual(r.slice(6, 10), [0, 0, 0, 0], "tables pinned");
    assert.deepEqual(r.slice(14, 18), [0, 0, 0, 0], "trap handler set, root installed");
    assert.deepEqual(r.slice(18, 20), [CAUSE_ILLEGAL, 0], "the illegal instruction was delivered");
    for (const [i, va] of PLANTED_STORES.entries()) {
      const [cause, tval] = r.slice(20 + 2 * i, 22 + 2 * i);
      assert.ok(
        cause === CAUSE_STORE_PAGE || cause === CAUSE_STORE_ACCESS,
        `store to 0x${va.toString(16)}: ${cause}`,
      );
      assert.equal(tval >>> 0, va);
    }
    const pv = d.pv;
    assert.ok(pv !== undefined);
    assert.equal(pv.pinned.get(gfnOf(ROOT)), 1);
    assert.equal(pv.pinned.get(gfnOf(L0)), 0);
    assertShutdownClean(d);
  },
};
