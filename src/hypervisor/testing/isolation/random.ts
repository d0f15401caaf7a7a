/**
 * Generators for the random isolation tests (fast-check): instruction streams of random words and
 * random valid instructions, run in guest kernel mode with no trap handler, one that re-enters them or
 * one that skips what trapped, every register given a random, often pointed value (RAM's end, host
 * devices, SBI extension numbers); and lists of random SBI calls whose answers the guest records.
 */
import fc from "fast-check";
import type { ElfImage } from "../../../machine/elf.js";
import { encode } from "../../../machine/isa/encode.js";
import { INSNS } from "../../../machine/isa/table.js";
import { DRAM_BASE } from "../../../machine/memory-map.js";
import {
  A0,
  A6,
  A7,
  Asm,
  assemble,
  CODE,
  CSRS,
  EID_BASE,
  EID_DBCN,
  EID_HSM,
  EID_IPI,
  EID_LEGACY_SHUTDOWN,
  EID_PV,
  EID_RFENCE,
  EID_SRST,
  EID_TIME,
  type Mode,
  PV_REGISTER_SHARED,
  PV_SET_TRAP_HANDLER,
  RESULTS,
  S1,
  SH_MASK,
  SHARED,
  shutdown,
  T0,
  TABLE,
} from "../hostile.js";
import { CLINT, gfnOf, MiB, PLIC, RAM_END, SATP_SV32, TEST_DEVICE, UART } from "./arena.js";

// ── random guests ───────────────────────────────────────────────────────────────────────────────────

const INSN_NAMES = INSNS.map((d) => d.name);
const INTERESTING = [
  0,
  CODE,
  RESULTS,
  SHARED,
  TABLE(0),
  RAM_END - 4,
  RAM_END,
  DRAM_BASE + 8 * MiB,
  DRAM_BASE + 16 * MiB - 4,
  CLINT,
  CLINT + 0x4000,
  CLINT + 0xbff8,
  PLIC,
  UART,
  TEST_DEVICE,
  0xffff_f000,
  0xffff_fffc,
  0x7fff_fffc,
  (SATP_SV32 | gfnOf(TABLE(0))) >>> 0,
  (SATP_SV32 | 0x9_0000) >>> 0,
  EID_PV,
  EID_SRST,
  EID_DBCN,
  EID_HSM,
  EID_TIME,
  EID_LEGACY_SHUTDOWN,
  0x5555,
];
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const regValue = fc.oneof(
  fc.constantFrom(...INTERESTING),
  u32,
  fc.integer({ min: DRAM_BASE, max: RAM_END - 1 }),
  fc.integer({ min: 0, max: 12 }),
);
const CSR_PICKS = [
  0x100, 0x104, 0x105, 0x140, 0x141, 0x142, 0x143, 0x144, 0x180, 0x106, 0x10a, 0x300, 0x305, 0xc00, 0xc01,
];
/** Random words and instructions; none writes x30 or x31 (the skipping handler's registers). */
const keepScratch = (w: number): number => (((w >>> 7) & 31) >= 30 ? w ^ (0x10 << 7) : w) >>> 0;
const validInsn = fc
  .record({
    name: fc.constantFrom(...INSN_NAMES),
    rd: fc.nat(29),
    rs1: fc.nat(31),
    rs2: fc.nat(31),
    imm: fc.integer({ min: -2048, max: 2047 }),
    csr: fc.oneof(fc.constantFrom(...CSR_PICKS), fc.nat(0xfff)),
  })
  .map((r) => encode(r.name, { ...r, shamt: r.imm & 31 }) >>> 0);
export const randomStream = fc.record({
  kind: fc.constantFrom("bare" as const, "reenter" as const, "skip" as const),
  regs: fc.array(regValue, { minLength: 30, maxLength: 30 }),
  body: fc.array(
    fc.oneof({ weight: 1, arbitrary: u32.map(keepScratch) }, { weight: 3, arbitrary: validInsn }),
    {
      minLength: 8,
      maxLength: 160,
    },
  ),
});

interface RandomStream {
  /** bare: no trap handler; reenter: traps re-enter the body; skip: a handler skips what trapped. */
  kind: "bare" | "reenter" | "skip";
  regs: number[];
  body: number[];
}

const T5 = 30;
const T6 = 31;

/**
 * A kernel of random words, run over and over. Unless `bare`, a prologue first points trap delivery at
 * the body or at a handler that resumes after the trapping instruction (using only x30 and x31, which
 * the body never writes), and gives every other register a random, often pointed, value.
 */
export function randomImage(mode: Mode, s: RandomStream): ElfImage {
  const asm = new Asm();
  if (s.kind !== "bare") {
    const handler = s.kind === "skip" ? "skip" : "body";
    if (mode !== "pv") asm.la(T0, handler).csrw(CSRS.stvec, T0);
    else {
      asm.li(A0, SHARED).li(A7, EID_PV).li(A6, PV_REGISTER_SHARED).op("ecall");
      asm.la(A0, handler).li(A7, EID_PV).li(A6, PV_SET_TRAP_HANDLER).op("ecall");
    }
    for (let r = 30; r >= 1; r--) asm.li(r, s.regs[r - 1]);
    asm.li(T6, SHARED).j("body");
    asm.label("skip");
    if (mode !== "pv") asm.csrr(T5, 0x141).op("addi", { rd: T5, rs1: T5, imm: 4 }).csrw(0x141, T5).op("sret");
    else
      asm
        .op("lw", { rd: T5, rs1: T6, imm: 8 })
        .op("addi", { rd: T5, rs1: T5, imm: 4 })
        .op("sw", { rs1: T6, rs2: 0, imm: SH_MASK })
        .op("jalr", { rd: 0, rs1: T5, imm: 0 });
  }
  asm.label("body");
  for (const w of s.body) asm.word(w);
  asm.j("body");
  return assemble("random", asm);
}

/** Random SBI calls, their answers recorded; the guest powers off at the end if it gets there. */
export const randomCall = fc.record({
  eid: fc.oneof(
    // SRST and the legacy shutdown end the guest at once: rarer, so the calls after them run too.
    {
      weight: 8,
      arbitrary: fc.constantFrom(EID_BASE, EID_TIME, EID_IPI, EID_RFENCE, EID_HSM, EID_DBCN, EID_PV),
    },
    { weight: 3, arbitrary: fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7) },
    { weight: 1, arbitrary: fc.constantFrom(EID_SRST, EID_LEGACY_SHUTDOWN) },
    { weight: 2, arbitrary: u32 },
  ),
  fid: fc.oneof(fc.nat(10), u32),
  args: fc.array(regValue, { minLength: 6, maxLength: 6 }),
});
type RandomCall = { eid: number; fid: number; args: number[] };

/** Calls after which the guest may no longer be running its own code straight on. */
export function mayDivert(c: RandomCall, mode: Mode): boolean {
  if (c.eid === EID_SRST || c.eid === EID_LEGACY_SHUTDOWN || c.eid === EID_PV) return true;
  if (c.eid === EID_HSM) return c.fid === 1;
  // Timer and IPI events reach a PV guest through the shared page a random call may have registered.
  return mode === "pv" && (c.eid === EID_TIME || c.eid === EID_IPI || c.eid === 0 || c.eid === 3);
}

export const SENTINEL = 0xdead_beef;

export function randomCallImage(calls: readonly RandomCall[]): ElfImage {
  const asm = new Asm();
  asm.li(S1, RESULTS);
  for (const c of calls) asm.sbi(c.eid, c.fid, c.args);
  shutdown(asm);
  asm.label("hang").j("hang");
  return assemble("random-calls", asm, [
    { addr: RESULTS, words: new Array<number>(2 * calls.length).fill(SENTINEL) },
  ]);
}
