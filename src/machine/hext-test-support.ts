/**
 * Shorthands for the H extension's tests (hext*.test.ts): a machine whose harts have the extension (H),
 * CSR instructions and the privileged ones as words, a hart put straight into a mode (V and the nominal
 * privilege), and runCode (test-support.ts) with a trap handler at HANDLER, for the trap-routing tests.
 */
import assert from "node:assert/strict";
import type { Hart } from "./hart.js";
import type { Priv } from "./isa/csr-defs.js";
import { encode } from "./isa/encode.js";
import type { MachineOptions } from "./machine.js";
import { DRAM_BASE } from "./memory-map.js";
import { type CodeRun, poke, runCode } from "./test-support.js";

export const H: { machine: MachineOptions } = { machine: { hExtension: true } };
export const csrr = (rd: number, csr: number): number => encode("csrrs", { rd, rs1: 0, csr });
export const csrw = (csr: number, rs1: number): number => encode("csrrw", { rd: 0, rs1, csr });
export const NOP = encode("addi", { rd: 0, rs1: 0, imm: 0 });
export const SRET = 0x1020_0073;
export const MRET = 0x3020_0073;
export const WFI = 0x1050_0073;
export const SELF_LOOP = encode("jal", { rd: 0, imm: 0 });

export function hx(h: Hart) {
  assert.ok(h.hx !== undefined);
  return h.hx;
}

/** Puts the hart in a mode: V and the nominal privilege. */
export function mode(h: Hart, priv: Priv, virt: boolean): void {
  h.priv = priv;
  h.virt = virt;
  h.flushTlb();
}

export const HANDLER = DRAM_BASE + 0x100;

/** Runs `code` in a mode with a handler at HANDLER (its words `handler`), for trap-routing tests. */
export function runWithHandler(code: number[], handler: number[], setup: (h: Hart) => void): CodeRun {
  return runCode(
    code,
    (m) => {
      poke(m, HANDLER, handler);
      setup(m.harts[0]);
    },
    H,
  );
}
