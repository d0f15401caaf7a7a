/**
 * Code generation: a guest basic block becomes the source of one JavaScript function `(h, x) => npc`.
 *
 * Each instruction contributes its row's `sem` from the instruction table (isa/table.ts) — the same text
 * the interpreter runs — with the operand fields, `pc` and `insn` replaced by constants, so V8 sees
 * `x[5] = (x[6] + 12) | 0` instead of a decode. Loads and stores (`h.lw(ea)`, `h.sw(ea, v)` in the
 * table) are expanded into the software TLB's fast path, with the hart's own method as the slow path.
 * Around the semantics the block adds only bookkeeping:
 *
 *   h.pc = PC;                          before an instruction that calls into the hart (it may trap or
 *                                       read the clock: the hart then knows which instruction it is);
 *                                       loads and stores do it on their slow path only
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
import { TLB_ENTRIES } from "../params.js";

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

/** The argument list of the call whose "(" is at `open`, split at top-level commas, and its end. */
function callArgs(s: string, open: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === "(") depth++;
    else if (c === ")" && --depth === 0) {
      args.push(s.slice(start, i).trim());
      return { args, end: i + 1 };
    } else if (c === "," && depth === 1) {
      args.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  throw new Error(`codegen: unbalanced call in ${s}`);
}

const LOAD = TLB_ENTRIES;
const STORE = 2 * TLB_ENTRIES;
const MASK = TLB_ENTRIES - 1;

/** The TLB fast path of a load as an expression (locals: tag, off, m8, m16, m32, a, vp, s). */
function inlineLoad(op: string, ea: string, pc: string): string {
  const probe = `(a = ${ea}, vp = a >>> 12, s = ${LOAD} + (vp & ${MASK}), tag[s] === vp`;
  const slow = `(h.pc = ${pc}, h.${op}(a))`;
  switch (op) {
    case "lw":
      return `${probe} && (a & 3) === 0 ? m32[(off[s] + (a & 4095)) >> 2] : ${slow})`;
    case "lhu":
      return `${probe} && (a & 1) === 0 ? m16[(off[s] + (a & 4095)) >> 1] : ${slow})`;
    case "lh":
      return `${probe} && (a & 1) === 0 ? (m16[(off[s] + (a & 4095)) >> 1] << 16) >> 16 : ${slow})`;
    case "lbu":
      return `${probe} ? m8[off[s] + (a & 4095)] : ${slow})`;
    default: // lb
      return `${probe} ? (m8[off[s] + (a & 4095)] << 24) >> 24 : ${slow})`;
  }
}

/** The TLB fast path of a store as a statement. */
function inlineStore(op: string, ea: string, v: string, pc: string): string {
  const [view, shift, align] =
    op === "sw"
      ? ["m32", " >> 2", " && (a & 3) === 0"]
      : op === "sh"
        ? ["m16", " >> 1", " && (a & 1) === 0"]
        : ["m8", "", ""];
  return (
    `a = ${ea}; vp = a >>> 12; s = ${STORE} + (vp & ${MASK}); ` +
    `if (tag[s] === vp${align}) ${view}[(off[s] + (a & 4095))${shift}] = ${v}; else { h.pc = ${pc}; h.${op}(a, ${v}); }`
  );
}

const LOADS = new Set(["lb", "lbu", "lh", "lhu", "lw"]);
const STORES = new Set(["sb", "sh", "sw"]);

/** Expands the table's `h.lw(…)`/`h.sw(…, …)` calls into inline TLB fast paths (left to right). */
function expandMemory(sem: string, pc: string): string {
  const re = /h\.(lbu|lb|lhu|lh|lw|sb|sh|sw)\(/g;
  let out = sem;
  for (let m = re.exec(out); m !== null; m = re.exec(out)) {
    const op = m[1];
    const { args, end } = callArgs(out, m.index + m[0].length - 1);
    let code: string;
    let stop = end;
    if (LOADS.has(op)) code = inlineLoad(op, args[0], pc);
    else {
      code = inlineStore(op, args[0], args[1], pc); // a statement: it takes the call's `;`
      if (out[end] === ";") stop = end + 1;
    }
    out = out.slice(0, m.index) + code + out.slice(stop);
    re.lastIndex = m.index + code.length; // the slow path inside `code` is not expanded again
  }
  return out;
}

export interface InsnCode {
  /** Statements of the instruction. */
  code: string;
  /** Does it assign `npc` (a jump or branch)? */
  jumps: boolean;
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
  const memory = LOADS.has(def.name) || STORES.has(def.name);
  if (memory) sem = expandMemory(sem, hex(d.pc));
  const callsHart = !memory && sem.includes("h.");
  const jumps = /\bnpc\b/.test(sem);
  const lines: string[] = [`// ${hex(d.pc)}: ${def.name}`];
  if (callsHart) lines.push(`h.pc = ${hex(d.pc)};`);
  if (/csrRead|csrWrite/.test(sem)) lines.push(`h.retired = h.blockBase + ${k};`);
  if (jumps) lines.push(`let npc = ${hex(npc)};`);
  // An instruction whose only effect is writing x0 is a no-op (nop, HINTs): emit nothing.
  const pureWriteToX0 = rd === 0 && !callsHart && !jumps && !memory;
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
  else if (callsHart || memory) lines.push(`if (h.exitBlock) return ${LEFT_EARLY};`);
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
  const prologue = insns.some((d) => LOADS.has(d.def.name) || STORES.has(d.def.name))
    ? "const tag = h.tlbTag, off = h.tlbOff, m8 = h.mem8, m16 = h.mem16, m32 = h.mem32;\nlet a = 0, vp = 0, s = 0;\n"
    : "";
  return prologue + registersInLocals(loops ? `for (;;) {\n${body}\n}` : body);
}

/**
 * `rN = value;` becomes `rN = (value) | 0;`: a store into the Int32Array wraps to 32 bits by itself
 * (`x[5] = x[11] >>> 0` keeps -1), a local does not (it would hold 4294967295 and compare as positive).
 */
function truncateAssignments(code: string): string {
  const re = /\br(\d+) = /g;
  let out = "";
  let from = 0;
  for (let m = re.exec(code); m !== null; m = re.exec(code)) {
    const start = m.index + m[0].length;
    let depth = 0;
    let end = start;
    for (; end < code.length; end++) {
      const c = code[end];
      if (c === "(") depth++;
      else if (c === ")") depth--;
      else if ((c === ";" || c === ",") && depth === 0) break;
      if (depth < 0) break; // `(…, rN = v)` inside a larger expression ends at its closing parenthesis
    }
    out += `${code.slice(from, start)}(${code.slice(start, end)}) | 0`;
    from = end;
    re.lastIndex = end;
  }
  return out + code.slice(from);
}

/**
 * Keeps the guest registers a block uses in JavaScript locals (`r5` for x5), which V8 holds in machine
 * registers, instead of the Int32Array. The array must be current whenever something else can see it:
 * before every call into the hart (each is preceded by `h.pc = …`, and only such calls can trap) and at
 * every return, the registers the block writes are stored back. Nothing the block calls writes x
 * except by trapping, so the locals never go stale.
 */
function registersInLocals(code: string): string {
  const used = new Set<number>();
  const written = new Set<number>();
  for (const m of code.matchAll(/x\[(\d+)\](\s*=[^=])?/g)) {
    const r = Number(m[1]);
    if (r === 0) continue;
    used.add(r);
    if (m[2] !== undefined) written.add(r);
  }
  if (used.size === 0) return code;
  const regs = [...used].sort((a, b) => a - b);
  const back = [...written].sort((a, b) => a - b).map((r) => `x[${r}] = r${r}`);
  let out = code.replace(/x\[(\d+)\]/g, (m, r: string) => (r === "0" ? m : `r${r}`));
  out = truncateAssignments(out);
  if (back.length > 0) {
    const sync = back.join(", ");
    out = out.replace(/h\.pc = /g, `${sync}, h.pc = `).replace(/return ([^;]+);/g, `return (${sync}, $1);`);
  }
  return `let ${regs.map((r) => `r${r} = x[${r}]`).join(", ")};\n${out}`;
}
