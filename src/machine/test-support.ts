/**
 * Running hand-encoded instruction words on a real board, for the CPU's unit tests: the code goes at
 * the start of RAM, the hart starts there in M-mode, and the run ends at the first trap into M-mode
 * (an `ecall` is the usual way to stop), which is recorded instead of handled.
 */
import { PRIV_M, type Priv } from "./isa/csr-defs.js";
import { Machine, type MachineOptions } from "./machine.js";
import { DRAM_BASE } from "./memory-map.js";

export interface TrapRecord {
  cause: number;
  tval: number;
  pc: number;
  priv: Priv;
}

export interface CodeRun {
  machine: Machine;
  trap: TrapRecord | undefined;
}

export const ECALL = 0x0000_0073;

/** Writes 32-bit words at `addr` (physical). */
export function poke(m: Machine, addr: number, words: readonly number[]): void {
  const bytes = new Uint8Array(new Int32Array(words.map((w) => w | 0)).buffer);
  m.ram.load(addr, bytes);
}

/**
 * Runs `words` from DRAM_BASE until the first trap that reaches M-mode (not delegated), or `maxInsns`.
 * `setup` may prepare registers, CSRs and memory first.
 */
export function runCode(
  words: readonly number[],
  setup?: (m: Machine) => void,
  opts: { maxInsns?: number; stopOnTrap?: boolean; machine?: MachineOptions } = {},
): CodeRun {
  const m = new Machine({ ramBytes: 4 * 1024 * 1024, ...opts.machine });
  poke(m, DRAM_BASE, words);
  const h = m.harts[0];
  h.reset(DRAM_BASE);
  const run: CodeRun = { machine: m, trap: undefined };
  h.mTrapHook = (hart, cause, tval) => {
    if (opts.stopOnTrap === false) return false;
    run.trap = { cause: cause >>> 0, tval: tval >>> 0, pc: hart.pc, priv: hart.priv };
    m.requestExit({ kind: "poweroff", code: 0 });
    return true;
  };
  setup?.(m);
  m.runSync({ maxInsns: opts.maxInsns ?? 100_000 });
  return run;
}

export { PRIV_M };
