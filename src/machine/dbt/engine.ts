/**
 * The translating engine: the dispatch loop that runs guest code block by block.
 *
 *   while budget remains:
 *     interrupt pending and enabled?  → take it (as the interpreter does, before the next instruction)
 *     pc ──fetch TLB──► RAM offset ──translator──► block
 *     no block here (cold code not yet worth translating, an illegal or page-straddling instruction)
 *                                      → interpret along the straight line
 *     fewer instructions left in the budget than the block has → interpret the rest of the slice (so
 *                                        slices end on the same instruction as in the interpreter and
 *                                        icount timing is identical)
 *     run the block: it returns the next pc, or LEFT_EARLY after the instruction at h.pc
 *
 * Accounting is exact at every observable point: `retired` is brought up to date before anything can
 * observe it (CSR instructions, device accesses, traps), and a trap in the middle of a block retires
 * exactly the instructions before it. The loop never returns to the board between blocks, which is the
 * "chaining" that matters here: a block costs one fast-map lookup, not a trip through the board.
 */
import { EXIT_BUDGET, EXIT_STOPPED, EXIT_WFI, type ExitReason, type Hart, TRAP } from "../hart.js";
import { enterTrap, executeOne } from "../interpreter.js";
import { TLB_ENTRIES } from "../params.js";
import type { Ram } from "../ram.js";
import { LEFT_EARLY } from "./codegen.js";
import { Translator } from "./translator.js";

const TLB_MASK = TLB_ENTRIES - 1;
const translators = new WeakMap<Ram, Translator>();

/** The translation cache of a machine (one per RAM: blocks are shared by its harts). */
export function translatorFor(ram: Ram): Translator {
  let t = translators.get(ram);
  if (t === undefined) {
    t = new Translator(ram);
    translators.set(ram, t);
  }
  return t;
}

/**
 * Gives a machine a translator with its own settings (before it runs): a smaller cache bound, or
 * `hotAfter: 1` to translate every block at its first visit (tests use it to exercise translated code).
 */
export function useTranslator(ram: Ram, opts: { maxBlocks?: number; hotAfter?: number }): Translator {
  const t = new Translator(ram, opts.maxBlocks, opts.hotAfter);
  translators.set(ram, t);
  return t;
}

/**
 * Cold code: interprets from h.pc along the straight line — until a jump or taken branch, a trap, a
 * pending interrupt, the end of the budget or 64 instructions — so the next dispatch starts at a block
 * boundary, where the translator counts visits.
 */
function interpretStraightLine(h: Hart, x: Int32Array): void {
  for (let n = 0; n < 64 && h.remaining > 0; n++) {
    const pc = h.pc;
    executeOne(h, x);
    const step = (h.pc - pc) | 0;
    if ((step !== 2 && step !== 4) || ((h.mipSw | h.mipHw) & h.mie) !== 0 || h.waiting || h.stopped) return;
  }
}

/**
 * The dispatch loop proper, without a try/catch of its own (V8 optimizes the hot loop better so).
 * Returns when the budget is spent; traps unwind through it to `run`.
 */
function dispatch(h: Hart, t: Translator, x: Int32Array): void {
  while (h.remaining > 0) {
    if ((h.mipSw | h.mipHw) & h.mie && h.checkInterrupts()) continue;
    // The fetch TLB (the first TLB_ENTRIES slots) of the current bank: a block may have switched banks.
    const tlbTag = h.tlbTag;
    const tlbOff = h.tlbOff;
    const pc = h.pc;
    const vpn = pc >>> 12;
    const i = vpn & TLB_MASK;
    if (tlbTag[i] !== vpn) h.fetch(pc); // fills the fetch TLB, or raises the fetch fault
    const b = tlbTag[i] === vpn ? t.get(tlbOff[i] + (pc & 0xfff), pc) : undefined;
    if (b === undefined) {
      interpretStraightLine(h, x);
      continue;
    }
    const n = b.n;
    if (n > h.remaining) {
      while (h.remaining > 0) {
        if ((h.mipSw | h.mipHw) & h.mie && h.checkInterrupts()) continue;
        executeOne(h, x);
      }
      return;
    }
    h.exitBlock = false;
    const base = h.retired;
    h.blockBase = base;
    h.curBlock = b;
    const next = b.fn(h, x);
    h.curBlock = undefined;
    if (next !== LEFT_EARLY) {
      h.pc = next >>> 0;
      h.retired = h.blockBase + n;
      h.remaining -= n;
    } else {
      const k = b.pcs.indexOf(h.pc);
      h.pc = (h.pc + b.lens[k]) >>> 0;
      h.retired = h.blockBase + k + 1;
      h.remaining -= k + 1;
    }
  }
}

export function run(h: Hart, budget: number): ExitReason {
  if (h.stopped) return EXIT_STOPPED;
  const t = translatorFor(h.bus.ram);
  t.onInvalidate = () => {
    h.exitBlock = true; // a store rewrote translated code: leave the block, retranslate
  };
  h.remaining = budget;
  const x = h.x;
  for (;;) {
    try {
      dispatch(h, t, x);
      if (h.stopped) return EXIT_STOPPED;
      return h.waiting ? EXIT_WFI : EXIT_BUDGET;
    } catch (e) {
      if (e !== TRAP) throw e;
      const b = h.curBlock;
      if (b !== undefined) {
        h.curBlock = undefined;
        const k = b.pcs.indexOf(h.pc);
        h.retired = h.blockBase + k;
        h.remaining -= k;
      }
      enterTrap(h);
    }
  }
}
