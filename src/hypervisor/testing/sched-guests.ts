/**
 * Guests for the scheduling tests, built in memory with hostile.ts's little assembler: a CPU hog that
 * spins forever on every vCPU it has, and an I/O-like guest that works a little, then sleeps on its SBI
 * timer. Both count their progress in guest memory, so a test can check what the scheduler says each
 * domain got against the work the guest actually did.
 *
 *   0x8000_0000  code (entry: vCPU 0; vCPUs 1.. start at `.spin` / `.work` via SBI HSM hart_start)
 *   0x8001_0000  COUNTERS: one word per vCPU (index i at COUNTERS + 4 i), iterations of its loop
 *
 * The hog's loop is three instructions (addi, sw, jal), so a vCPU's counter × SPIN_LOOP_INSNS is the
 * instructions it ran in its loop — under the icount clock, ICOUNT_NS_PER_INSN ns each.
 */
import type { ElfImage } from "../../machine/elf.js";
import { DRAM_BASE } from "../../machine/memory-map.js";
import { A0, A1, A2, A6, A7, Asm, assemble, EID_HSM, EID_TIME, S1, T0, T1, T2 } from "./hostile.js";

export const COUNTERS = DRAM_BASE + 0x1_0000;
/** Instructions per iteration of the hog's loop. */
export const SPIN_LOOP_INSNS = 3;

const CSR_SIE = 0x104;
const CSR_TIME = 0xc01;
const SIE_STIE = 1 << 5;

/** vCPU 0 starts vCPUs 1..n-1 at `entry` (a0 = hart index, as SBI passes it). */
function startOthers(asm: Asm, vcpus: number, entry: string): void {
  for (let i = 1; i < vcpus; i++) {
    asm.li(A7, EID_HSM).li(A6, 0).li(A0, i).la(A1, entry).li(A2, 0).op("ecall");
  }
  asm.li(A0, 0);
}

/** s1 ← this vCPU's counter (a0 = hart index). */
function counterOf(asm: Asm): void {
  asm.op("slli", { rd: T0, rs1: A0, shamt: 2 }).li(S1, COUNTERS).op("add", { rd: S1, rs1: S1, rs2: T0 });
  asm.li(T0, 0);
}

/** A CPU hog on every one of its `vcpus` vCPUs: never blocks, never exits. */
export function spinnerImage(vcpus = 1): ElfImage {
  const asm = new Asm();
  startOthers(asm, vcpus, ".spin");
  asm.label(".spin");
  counterOf(asm);
  asm
    .label(".loop")
    .op("addi", { rd: T0, rs1: T0, imm: 1 })
    .op("sw", { rs1: S1, rs2: T0, imm: 0 })
    .j(".loop");
  return assemble(`spinner ×${vcpus}`, asm);
}

/**
 * An I/O-like guest (one vCPU): `burstIters` iterations of a two-instruction loop, then an SBI timer
 * `sleepTicks` mtime ticks (100 ns) ahead and WFI until it fires (STIE enabled, SIE off: the interrupt
 * only ends the WFI); again, forever. Its counter counts wake-ups.
 */
export function ioImage(burstIters: number, sleepTicks: number): ElfImage {
  const asm = new Asm();
  asm.li(A0, 0);
  counterOf(asm);
  asm.li(T1, SIE_STIE).op("csrrs", { rd: 0, rs1: T1, csr: CSR_SIE });
  asm.label(".work").li(T2, burstIters);
  asm.label(".burst").op("addi", { rd: T2, rs1: T2, imm: -1 }).branch("bne", T2, 0, ".burst");
  asm
    .op("csrrs", { rd: A0, rs1: 0, csr: CSR_TIME })
    .li(T1, sleepTicks)
    .op("add", { rd: A0, rs1: A0, rs2: T1 });
  asm.li(A1, 0).li(A7, EID_TIME).li(A6, 0).op("ecall");
  asm.op("wfi");
  asm.op("addi", { rd: T0, rs1: T0, imm: 1 }).op("sw", { rs1: S1, rs2: T0, imm: 0 });
  asm.j(".work");
  return assemble(`io burst ${burstIters} sleep ${sleepTicks}`, asm);
}

/** Iterations each vCPU of domain memory `mem` has counted. */
export function counters(mem: { read32(gpa: number): number | undefined }, vcpus: number): number[] {
  return Array.from({ length: vcpus }, (_, i) => (mem.read32(COUNTERS + 4 * i) ?? 0) >>> 0);
}

/** An ELF32 file (one PT_LOAD per segment) of an in-memory image, for tests that start the CLI. */
export function elfBytes(image: ElfImage): Uint8Array {
  const PHDR = 52;
  let at = PHDR + 32 * image.segments.length;
  const offsets = image.segments.map((s) => {
    const off = at;
    at = (at + s.data.length + 3) & ~3;
    return off;
  });
  const bytes = new Uint8Array(at);
  const v = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]); // ELF, 32-bit, little-endian, version 1
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 243, true); // EM_RISCV
  v.setUint32(20, 1, true);
  v.setUint32(24, image.entry, true);
  v.setUint32(28, PHDR, true);
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, image.segments.length, true);
  v.setUint16(46, 40, true);
  for (const [i, s] of image.segments.entries()) {
    const ph = PHDR + 32 * i;
    v.setUint32(ph, 1, true); // PT_LOAD
    v.setUint32(ph + 4, offsets[i], true);
    v.setUint32(ph + 8, s.vaddr, true);
    v.setUint32(ph + 12, s.paddr, true);
    v.setUint32(ph + 16, s.data.length, true);
    v.setUint32(ph + 20, s.memsz, true);
    v.setUint32(ph + 24, s.flags, true);
    v.setUint32(ph + 28, 4, true);
    bytes.set(s.data, offsets[i]);
  }
  return bytes;
}
