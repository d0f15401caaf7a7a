/**
 * Hostile guests that reach for memory that is not theirs (every mode unless noted): loads and stores
 * at addresses outside their RAM — host devices, other domains' host RAM, the ends of the address
 * space — which must fault; a store sweep that must succeed exactly up to the end of RAM; and, in trap
 * mode, Sv32 tables whose entries point outside guest RAM (page-tables), every access through them an
 * access fault. Also the shadow-hog guest, which makes the hypervisor build as many shadow tables as it
 * can (host memory the guest does not own).
 */
import assert from "node:assert/strict";
import type { ElfImage } from "../../../machine/elf.js";
import { DRAM_BASE } from "../../../machine/memory-map.js";
import { PAGE_SIZE } from "../../../machine/params.js";
import {
  A,
  Asm,
  assemble,
  CSRS,
  D,
  type DataBlock,
  EID_PV,
  type Mode,
  PV_PIN_TABLE,
  PV_SET_BASEPTR,
  PV_USER_ACCESS,
  probeGuest,
  pte,
  R,
  RESULTS,
  S1,
  S4,
  S5,
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
  CAUSE_STORE_ACCESS,
  CLINT,
  gfnOf,
  type Hostile,
  L0,
  MiB,
  MODES,
  pairs,
  probeAccesses,
  RAM_END,
  ROOT,
  RW,
  SATP_SV32,
  setupWords,
  TEST_DEVICE,
  WPAGE,
} from "./arena.js";

/** Guest-physical addresses outside the guest's RAM, most of them host devices or host RAM. */
const OUTSIDE = [
  RAM_END,
  RAM_END + 0x1000,
  DRAM_BASE + 8 * MiB,
  DRAM_BASE + 15 * MiB,
  CLINT,
  CLINT + 0x4000,
  TEST_DEVICE,
  0xffff_fffc,
  0,
  0x7fff_fffc,
];

/** Loads and stores with paging off: everything outside RAM is an access fault; RAM's last word is not. */
const SWEEP: Access[] = [
  ...OUTSIDE.flatMap((a) => both(a, "access")),
  ...both(RAM_END - 4, "ok"),
  ...both(DRAM_BASE + 0x5_0000, "ok"),
];

export const outsideRam: Hostile = {
  name: "outside-ram",
  modes: MODES,
  build(arena) {
    return arena.add({
      name: "outside-ram",
      kernel: probeGuest("outside-ram", arena.mode, (asm) => probeAccesses(asm, SWEEP)),
    });
  },
  check(d, arena) {
    assertSetupOk(d, arena.mode);
    assertAccesses(d, SWEEP, setupWords(arena.mode));
    assertShutdownClean(d);
  },
};

/** Stores to every page from 1 MiB into its RAM upwards: all succeed, until exactly the end of RAM. */
export const ramSweep: Hostile = {
  name: "ram-sweep",
  modes: MODES,
  build(arena) {
    const img = probeGuest("ram-sweep", arena.mode, (asm) => {
      asm.li(S4, TABLE(0)).li(S5, PAGE_SIZE).la(18, "swept");
      asm.label("sweep").op("sw", { rs1: S4, rs2: S5, imm: 0 }).op("add", { rd: S4, rs1: S4, rs2: S5 });
      asm.j("sweep").label("swept");
    });
    return arena.add({ name: "ram-sweep", kernel: img });
  },
  check(d, arena) {
    assertSetupOk(d, arena.mode);
    assert.deepEqual(pairs(d, 1, setupWords(arena.mode)), [[CAUSE_STORE_ACCESS, RAM_END]]);
    for (let a = TABLE(0); a < RAM_END; a += PAGE_SIZE) assert.equal(d.mem.read32(a), PAGE_SIZE);
    assertShutdownClean(d);
  },
};

/**
 * Trap mode: Sv32 tables whose entries point outside guest RAM — at the next guest-physical megabytes
 * (host RAM of other domains, if the hypervisor took them for host addresses), at host devices, at
 * PPNs beyond 32 bits, at the victim's host frames by number — and tables that are themselves outside.
 */
interface PtAttack {
  data: DataBlock[];
  accesses: Access[];
}

export function ptAttack(victimFrames: readonly number[]): PtAttack {
  const ROOT = TABLE(0);
  const L0 = TABLE(1);
  const VL0 = TABLE(2);
  const root = new Array<number>(1024).fill(0);
  const l0 = new Array<number>(1024).fill(0);
  const vl0 = new Array<number>(1024).fill(0);
  const leaf = V | R | W | X | A | D;
  root[0x200] = pte(DRAM_BASE >>> 12, leaf); // the guest's own 4 MiB, identity-mapped (code, results)
  root[1] = pte(gfnOf(L0), V); // VA 0x0040_0000: 4 KiB pages below
  root[2] = pte(gfnOf(RAM_END), leaf); // VA 0x0080_0000: the 4 MiB after its RAM
  root[3] = pte(0x3f_fc00, leaf); // VA 0x00c0_0000: a megapage at 0x3_ff00_0000 (beyond 32 bits)
  root[4] = pte(0x9_0000, V); // VA 0x0100_0000: a table at 0x9000_0000 (outside RAM)
  root[5] = pte(0x3f_ffff, V); // VA 0x0140_0000: a table beyond 32 bits
  root[6] = pte(0, leaf); // VA 0x0180_0000: the megapage at 0 (the host's test device, poweroff)
  root[7] = pte(CLINT >>> 12, leaf); // VA 0x01c0_0000: the host's CLINT
  root[8] = pte(gfnOf(VL0), V); // VA 0x0200_0000: the victim's host frames, taken as guest frames
  const targets = [
    gfnOf(RAM_END),
    gfnOf(DRAM_BASE + 8 * MiB),
    0xf_ffff,
    0x3f_ffff,
    TEST_DEVICE >>> 12,
    CLINT >>> 12,
  ];
  for (const [i, t] of targets.entries()) l0[i] = pte(t, leaf);
  l0[8] = pte(gfnOf(DRAM_BASE + 0x5_0000), leaf); // control: its own RAM
  const hostile = victimFrames.filter((f) => f >= gfnOf(RAM_END)).slice(0, 4);
  for (const [i, f] of hostile.entries()) vl0[i] = pte(f, leaf);

  const accesses: Access[] = [];
  for (const [i] of targets.entries()) accesses.push(...both(0x0040_0000 + i * 0x1000, "access"));
  accesses.push(...both(0x0040_8000, "ok"));
  accesses.push(...both(0x0080_0000, "access"), ...both(0x0080_0ff0, "access"));
  accesses.push(...both(0x00c0_0000, "access"));
  accesses.push(...both(0x0100_0000, "access"), ...both(0x0140_0000, "access"));
  accesses.push(...both(0x0180_0000 + TEST_DEVICE, "access"));
  accesses.push(...both(0x01c0_0000, "access"), ...both(0x01c0_4000, "access"));
  for (const [i] of hostile.entries()) accesses.push(...both(0x0200_0000 + i * 0x1000, "access"));
  accesses.push(...both(DRAM_BASE + 0x5_0004, "ok"));
  return {
    data: [
      { addr: ROOT, words: root },
      { addr: L0, words: l0 },
      { addr: VL0, words: vl0 },
    ],
    accesses,
  };
}

export const pageTables: Hostile & { attack?: PtAttack } = {
  name: "page-tables",
  modes: ["trap"],
  build(arena) {
    const attack = ptAttack(arena.victim.p2m.hostFrames());
    this.attack = attack;
    const img = probeGuest(
      "page-tables",
      "trap",
      (asm) => {
        asm.li(T0, (SATP_SV32 | gfnOf(TABLE(0))) >>> 0).csrw(CSRS.satp, T0);
        asm.op("sfence.vma", { rs1: 0, rs2: 0 });
        probeAccesses(asm, attack.accesses);
      },
      attack.data,
    );
    return arena.add({ name: "page-tables", kernel: img });
  },
  check(d) {
    assertAccesses(d, this.attack?.accesses ?? [], 0);
    assertShutdownClean(d);
  },
};

/**
 * Shadow tables cost host memory the guest does not own: a root whose 1023 other entries all point at
 * one leaf table makes every 4 MiB of the address space need its own shadow L0 table, once per kind
 * (S, then S with SUM). Touching one word in each makes the hypervisor build ~2000 of them: more than
 * a 16 MiB host has left once two 4 MiB domains are in.
 */
export function shadowHogImage(mode: Mode): ElfImage {
  const root = new Array<number>(1024).fill(pte(gfnOf(L0), V));
  root[0x200] = pte(gfnOf(DRAM_BASE), V | R | W | X | A | D);
  const l0 = new Array<number>(1024).fill(0);
  l0[0] = pte(gfnOf(WPAGE), RW | A | D);
  const asm = new Asm();
  asm.li(S1, RESULTS);
  if (mode !== "pv") asm.li(T0, (SATP_SV32 | gfnOf(ROOT)) >>> 0).csrw(CSRS.satp, T0);
  else {
    asm.sbi(EID_PV, PV_PIN_TABLE, [L0, 0], false).sbi(EID_PV, PV_PIN_TABLE, [ROOT, 1], false);
    asm.sbi(EID_PV, PV_SET_BASEPTR, [ROOT], false);
  }
  for (const sum of [false, true]) {
    if (sum && mode !== "pv") asm.li(T0, 1 << 18).op("csrrs", { rd: 0, rs1: T0, csr: CSRS.sstatus });
    if (sum && mode === "pv") asm.sbi(EID_PV, PV_USER_ACCESS, [1], false);
    const loop = asm.fresh("touch");
    const skip = asm.fresh("skip");
    asm
      .li(S4, 0)
      .li(S5, 1 << 22)
      .li(T2, DRAM_BASE);
    asm.label(loop).branch("beq", S4, T2, skip).op("lw", { rd: T1, rs1: S4, imm: 0 });
    asm.label(skip).op("add", { rd: S4, rs1: S4, rs2: S5 }).branch("bne", S4, 0, loop);
    asm.li(T1, sum ? 2 : 1).rec(T1);
  }
  shutdown(asm);
  return assemble("shadow-hog", asm, [
    { addr: ROOT, words: root },
    { addr: L0, words: l0 },
  ]);
}
