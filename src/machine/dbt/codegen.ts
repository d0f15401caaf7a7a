/**
 * Code generation: a guest basic block becomes the source of one JavaScript function `(h, x) => npc`.
 *
 * Each instruction contributes its row's `sem` from the instruction table (isa/table.ts) — the same text
 * the interpreter runs — with the operand fields, `pc` and `insn` replaced by constants, so V8 sees
 * `x[5] = (x[6] + 12) | 0` instead of a decode. Around the semantics the block adds only bookkeeping:
 *
 *   h.pc = PC;                          before an instruction that calls into the hart (it may trap or
 *                                       read the clock: the hart then knows which instruction it is)
 *   h.retired = h.blockBase + k;        before CSR instructions (counters must be exact)
 *   if (h.exitBlock) return -1;         after a memory access, when a slow path asked to leave
 *   x[0] = 0;                           after an instruction with side effects that named x0 as rd
 *   return NPC | 0;                     at the end: the next pc, as a signed 32-bit value (a small
 *                                       integer to V8, so returning it allocates nothing)
 *   if (npc !== FALL) { … return npc; } a conditional branch in mid-block (a superblock's side exit):
 *                                       the counters are shifted back by the instructions not run
 *
 * A return of 1 (odd, so never a pc) means "left early after the instruction at h.pc"; the engine
 * finishes the accounting.
 */
import { FIELD, FORMAT_FIELDS, type InsnDef } from "../isa/table.js";

export interface DecodedInsn {
  /** Virtual address (as seen when translated; for comments and the engine's accounting). */
  readonly pc: number;
  /** The 32-bit instruction (compressed ones already expanded). */
  readonly insn: number;
  /** 2 or 4. */
  readonly len: number;
  readonly def: InsnDef;
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** What a block returns when it leaves early (see above). */
export const LEFT_EARLY = 1;

/** Compiled decoders of the operand fields, by field expression. */
const extractors = new Map<string, (insn: number) => number>();
function field(expr: string, insn: number): number {
  let f = extractors.get(expr);
  if (f === undefined) {
    f = new Function("insn", `return ${expr};`) as (insn: number) => number;
    extractors.set(expr, f);
  }
  return f(insn);
}

const nameRegexps = new Map<string, RegExp>();

/** Replaces a read-only name (`rd`, `pc`, …) by a constant; `h.pc` and `npc` are other names. */
function substitute(sem: string, name: string, value: string): string {
  let re = nameRegexps.get(name);
  if (re === undefined) {
    re = new RegExp(`(?<![.\\w])${name}(?!\\w)`, "g");
    nameRegexps.set(name, re);
  }
  return sem.replace(re, value);
}

/**
 * The JavaScript for one instruction at position `k` of a block; `last` ends the function. `loop`
 * (for the last instruction of a block that can branch back to its own start) is the block's length:
 * the jump back then goes round a JavaScript loop instead of through the engine, as long as the budget
 * holds another pass and no interrupt is pending — the accounting the engine would do, done in place.
 */
export function instructionSource(
  d: DecodedInsn,
  k: number,
  n: number,
  loop?: { start: number; n: number },
): string {
  const last = k === n - 1;
  const def = d.def;
  let sem = def.sem;
  let rd = -1;
  for (const [name, expr] of FORMAT_FIELDS[def.fmt]) {
    const value = field(expr, d.insn);
    if (name === "rd") rd = value;
    sem = substitute(sem, name, String(value));
  }
  sem = sem.replace(/x\[0\](?!\s*=[^=])/g, "0"); // x0 reads as zero
  sem = substitute(sem, "insn", String(d.insn | 0));
  sem = substitute(sem, "pc", hex(d.pc));
  const npc = (d.pc + d.len) >>> 0;
  const callsHart = sem.includes("h.");
  const jumps = /\bnpc\b/.test(sem);
  const lines: string[] = [`// ${hex(d.pc)}: ${def.name}`];
  if (callsHart) lines.push(`h.pc = ${hex(d.pc)};`);
  if (/csrRead|csrWrite/.test(sem)) lines.push(`h.retired = h.blockBase + ${k};`);
  if (jumps) lines.push(`let npc = ${hex(npc)};`);
  // An instruction whose only effect is writing x0 is a no-op (nop, HINTs): emit nothing.
  const pureWriteToX0 = rd === 0 && !callsHart && !jumps;
  if (!pureWriteToX0) lines.push(sem);
  if (rd === 0 && !pureWriteToX0 && /x\[0\] =/.test(sem)) lines.push("x[0] = 0;");
  if (!last && jumps) {
    // A taken conditional branch in mid-block is a side exit. The engine will account the whole block
    // (n instructions) on return, so shift the counters by what did not run.
    lines.push(
      `if (npc !== ${hex(npc)}) { h.blockBase -= ${n - k - 1}; h.remaining += ${n - k - 1}; return npc | 0; }`,
    );
  } else if (last && loop !== undefined) {
    lines.push(
      `if (npc !== ${hex(loop.start)} || h.remaining < ${2 * loop.n} || ((h.mipSw | h.mipHw) & h.mie) !== 0) return npc | 0;`,
      `h.blockBase += ${loop.n}; h.remaining -= ${loop.n};`,
    );
  } else if (last) lines.push(`return ${jumps ? "npc" : hex(npc)} | 0;`);
  else if (callsHart) lines.push(`if (h.exitBlock) return ${LEFT_EARLY};`);
  // Rows that declare names (`const t = …`) get a scope of their own.
  const scoped = jumps || /\b(const|let)\b/.test(sem);
  return scoped ? `{\n${lines.map((l) => `  ${l}`).join("\n")}\n}` : lines.join("\n");
}

/** Where a direct branch or jump goes (B and J formats), or undefined. */
function directTarget(d: DecodedInsn): number | undefined {
  if (d.def.fmt !== "B" && d.def.fmt !== "J") return undefined;
  const imm = field(d.def.fmt === "B" ? FIELD.immB : FIELD.immJ, d.insn);
  return (d.pc + imm) >>> 0;
}

/** The body of the block function `(h, x) => npc`, mulh/mulhu/mulhsu in scope. */
export function blockSource(insns: readonly DecodedInsn[]): string {
  const n = insns.length;
  const start = insns[0].pc;
  const loops = directTarget(insns[n - 1]) === start;
  const body = insns
    .map((d, k) => instructionSource(d, k, n, loops && k === n - 1 ? { start, n } : undefined))
    .join("\n");
  return loops ? `for (;;) {\n${body}\n}` : body;
}
