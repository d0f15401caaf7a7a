/**
 * The reference engine: fetch, decode, execute, one instruction at a time.
 *
 * `execute` is generated once from the instruction table (isa/table.ts): a switch on the major opcode,
 * then on each encoding mask, whose cases bind the row's operand fields and run the row's `sem`. The
 * binary translator emits the very same `sem` text, so the two engines cannot disagree about meaning.
 *
 * `run(hart, budget)` is the whole engine loop; traps unwind to it as the TRAP sentinel.
 */
import { EXIT_BUDGET, EXIT_STOPPED, EXIT_WFI, type ExitReason, type Hart, TRAP } from "./hart.js";
import { mulh, mulhsu, mulhu } from "./isa/alu.js";
import { EXPANDED } from "./isa/compressed.js";
import { FORMAT_FIELDS, INSNS, type InsnDef } from "./isa/table.js";

/** Executes the 32-bit instruction `insn` at `pc`; returns the next pc. Raises traps through the hart. */
export type ExecuteFn = (h: Hart, x: Int32Array, insn: number, pc: number, npc: number) => number;

const popcount = (v: number): number => {
  let n = 0;
  for (let b = v >>> 0; b !== 0; b >>>= 1) n += b & 1;
  return n;
};

/** The source of one table row as a `case` body. */
export function caseBody(d: InsnDef): string {
  const fields = FORMAT_FIELDS[d.fmt].map(([name, expr]) => `const ${name} = ${expr};`).join(" ");
  return `{ /* ${d.name} */ ${fields} ${d.sem} return npc; }`;
}

/** JavaScript source of the generated `execute` function. */
export function generateExecuteSource(insns: readonly InsnDef[] = INSNS): string {
  const byOpcode = new Map<number, InsnDef[]>();
  for (const d of insns) {
    const op = d.match & 0x7f;
    const list = byOpcode.get(op) ?? [];
    list.push(d);
    byOpcode.set(op, list);
  }
  const out: string[] = ["switch (insn & 0x7f) {"];
  for (const [op, rows] of [...byOpcode].sort((a, b) => a[0] - b[0])) {
    out.push(`case 0x${op.toString(16)}: {`);
    // Most specific masks first, so exact encodings (ecall, mret…) win over their opcode's wider rows.
    const masks = [...new Set(rows.map((d) => d.mask))].sort((a, b) => popcount(b) - popcount(a));
    for (const mask of masks) {
      out.push(`switch (insn & 0x${(mask >>> 0).toString(16)}) {`);
      for (const d of rows.filter((row) => row.mask === mask)) {
        out.push(`case ${d.match}: ${caseBody(d)}`);
      }
      out.push("}");
    }
    out.push("break; }");
  }
  out.push("}", "return h.illegal(insn);");
  return out.join("\n");
}

export const execute: ExecuteFn = new Function(
  "mulh",
  "mulhu",
  "mulhsu",
  `return function execute(h, x, insn, pc, npc) {\n${generateExecuteSource()}\n};`,
)(mulh, mulhu, mulhsu);

/** Fetches, decodes and executes the instruction at `h.pc`, and retires it. Traps unwind as TRAP. */
export function executeOne(h: Hart, x: Int32Array): void {
  const pc = h.pc;
  let insn = h.fetch(pc);
  let npc: number;
  if ((insn & 3) !== 3) {
    const full = EXPANDED[insn];
    if (full === 0) h.illegal(insn);
    insn = full;
    npc = (pc + 2) >>> 0;
  } else {
    npc = (pc + 4) >>> 0;
  }
  h.pc = execute(h, x, insn, pc, npc);
  x[0] = 0;
  h.retired++;
  h.remaining--;
}

/** Enters the trap the hart raised; a trap costs a slot of the budget, so a trap storm still ends a slice. */
export function enterTrap(h: Hart): void {
  h.x[0] = 0;
  h.takeTrap(h.trapCause, h.trapTval);
  h.remaining--;
}

/**
 * Runs `hart` for at most `budget` instructions (fewer if it waits, stops, or something sets
 * `hart.remaining = 0`). Interrupts are checked before every instruction.
 */
export function run(h: Hart, budget: number): ExitReason {
  if (h.stopped) return EXIT_STOPPED;
  h.remaining = budget;
  const x = h.x;
  for (;;) {
    try {
      while (h.remaining > 0) {
        if (((h.mipSw | h.mipHw) & h.mie) !== 0 && h.checkInterrupts()) continue;
        // executeOne, written out: this is the interpreter's hot loop.
        const pc = h.pc;
        let insn = h.fetch(pc);
        let npc: number;
        if ((insn & 3) !== 3) {
          const full = EXPANDED[insn];
          if (full === 0) h.illegal(insn);
          insn = full;
          npc = (pc + 2) >>> 0;
        } else {
          npc = (pc + 4) >>> 0;
        }
        h.pc = execute(h, x, insn, pc, npc);
        x[0] = 0;
        h.retired++;
        h.remaining--;
      }
      if (h.stopped) return EXIT_STOPPED;
      return h.waiting ? EXIT_WFI : EXIT_BUDGET;
    } catch (e) {
      if (e !== TRAP) throw e;
      enterTrap(h);
    }
  }
}
