/**
 * The translation cache: guest basic blocks, compiled to JavaScript functions, keyed by the physical
 * address (RAM offset) and the virtual address of their first instruction.
 *
 * Why physical: a block's code does not depend on privilege or on satp — every check that does (CSR
 * access, page permissions, interrupts) happens at run time inside the hart — so one translation serves
 * every address space and mode that maps the page at the same virtual address. The engine finds the
 * block through the hart's fetch TLB (which also performs the execute-permission check), so satp writes
 * and privilege changes need no invalidation at all. The virtual address is part of the key because
 * the generated code has its pcs (link values, branch targets) as constants: the same frame mapped at
 * two virtual addresses (an identity map and a high kernel map, say) gets two translations.
 *
 * What does invalidate: a write to a frame that holds translated code. Such frames are marked
 * WATCH_CODE in RAM, so stores to them leave the TLB fast path and reach `invalidate`, which drops the
 * blocks whose bytes overlap the store (data sharing the page with code costs a slow path, not a
 * retranslation). ELF loading and device DMA go through the same hook. FENCE.I therefore has nothing
 * left to do. The cache is bounded: past MAX_BLOCKS it is flushed whole, as QEMU flushes its code buffer.
 *
 *   lookup:  fast[(off >> 1) & FAST_MASK] ──hit──► Block
 *                         │ miss
 *                         ▼
 *            blocks.get(off) ──miss──► decode from RAM ─► blockSource ─► new Function ─► Block
 *
 * A block runs from its first instruction to a jump, a system instruction, the end of the page or
 * MAX_BLOCK_INSNS; conditional branches inside it are side exits (a superblock along the fall-through).
 */
import { mulh, mulhsu, mulhu } from "../isa/alu.js";
import { EXPANDED } from "../isa/compressed.js";
import { lookup as decodeInsn } from "../isa/table.js";
import { PAGE_SHIFT } from "../params.js";
import type { Ram } from "../ram.js";
import { blockSource, type DecodedInsn } from "./codegen.js";

/** Longest block, in instructions. */
export const MAX_BLOCK_INSNS = 64;
/** Past this many blocks the whole cache is flushed. */
export const MAX_BLOCKS = 32_768;
/** A block start is translated when reached this many times; until then the interpreter runs it. */
export const HOT_AFTER = 16;
const FAST_SIZE = 1 << 14;
const FAST_MASK = FAST_SIZE - 1;

export type BlockFn = (h: unknown, x: Int32Array) => number;

export class Block {
  /** Virtual address of the first instruction. */
  readonly pc: number;
  /** Number of instructions. */
  readonly n: number;

  constructor(
    /** RAM offset of the first instruction. */
    readonly off: number,
    /** RAM offset just past the last instruction. */
    readonly end: number,
    /** Virtual address of each instruction when translated (for the hart's accounting). */
    readonly pcs: readonly number[],
    /** Length in bytes of each instruction. */
    readonly lens: readonly number[],
    readonly fn: BlockFn,
    readonly source: string,
  ) {
    this.pc = pcs[0];
    this.n = pcs.length;
  }
}

export interface TranslatorStats {
  blocks: number;
  translations: number;
  invalidations: number;
  flushes: number;
  /** Characters of generated JavaScript held by the cache (its memory, roughly). */
  sourceChars: number;
}

export class Translator {
  /** Blocks by RAM offset; more than one when the frame is mapped at several virtual addresses. */
  private readonly blocks = new Map<number, Block[]>();
  private count = 0;
  private readonly fast: (Block | undefined)[] = new Array(FAST_SIZE).fill(undefined);
  private readonly byFrame = new Map<number, Block[]>();
  private readonly counters = { translations: 0, invalidations: 0, flushes: 0, sourceChars: 0 };
  /** Set when an invalidation happened (the engine tells the running hart to leave its block). */
  onInvalidate: (() => void) | undefined;

  /** Times a not-yet-translated block start was reached (cleared on translation and flush). */
  private readonly visits = new Map<number, number>();

  constructor(
    private readonly ram: Ram,
    private readonly maxBlocks = MAX_BLOCKS,
    /** Translate a block the n-th time it is reached (1: at once). */
    private readonly hotAfter = HOT_AFTER,
  ) {
    ram.codeWriteHook = (off, size) => this.invalidate(off, size);
  }

  /**
   * The block starting at RAM offset `off` (virtual address `pc`). It is translated once it has been
   * asked for `hotAfter` times; before that (cold code: start-up, one-off paths) this returns undefined
   * and the engine interprets, which costs less than translating code that runs a few times.
   */
  get(off: number, pc: number): Block | undefined {
    const slot = (off >>> 1) & FAST_MASK;
    const hit = this.fast[slot];
    if (hit !== undefined && hit.off === off && hit.pc === pc) return hit;
    let b = this.blocks.get(off)?.find((c) => c.pc === pc);
    if (b === undefined) {
      const key = off * 2 ** 32 + pc;
      const seen = (this.visits.get(key) ?? 0) + 1;
      if (seen < this.hotAfter) {
        this.visits.set(key, seen);
        return undefined;
      }
      this.visits.delete(key);
      b = this.translate(off, pc);
      if (b === undefined) return undefined;
    }
    this.fast[slot] = b;
    return b;
  }

  /**
   * Decodes from `off` to the first instruction that ends a block, the end of the page, or the
   * length limit. Returns undefined when not even one instruction can be translated (an illegal
   * instruction, or a 32-bit one that straddles a page): the engine interprets those.
   */
  private translate(off: number, pc: number): Block | undefined {
    const ram = this.ram;
    const pageEnd = (off | 0xfff) + 1;
    const insns: DecodedInsn[] = [];
    let o = off;
    let va = pc;
    while (insns.length < MAX_BLOCK_INSNS && o < pageEnd) {
      const lo = ram.u16[o >>> 1];
      let insn: number;
      let len: number;
      if ((lo & 3) !== 3) {
        insn = EXPANDED[lo];
        len = 2;
      } else {
        if (o + 4 > pageEnd) break; // straddles the page: the interpreter fetches it
        insn = lo | (ram.u16[(o >>> 1) + 1] << 16);
        len = 4;
      }
      const def = insn === 0 ? undefined : decodeInsn(insn);
      if (def === undefined) break; // illegal: the interpreter raises it with the right tval
      insns.push({ pc: va, insn, len, def });
      o += len;
      va = (va + len) >>> 0;
      // Conditional branches do not end a block: it goes on along the fall-through path and leaves
      // through a side exit when the branch is taken (a superblock), so a dispatch covers more code.
      if (def.endsBlock && def.fmt !== "B") break;
    }
    if (insns.length === 0) return undefined;
    if (this.count >= this.maxBlocks) this.flush();
    const source = blockSource(insns);
    const fn = new Function("mulh", "mulhu", "mulhsu", `return function block(h, x) {\n${source}\n};`)(
      mulh,
      mulhu,
      mulhsu,
    ) as BlockFn;
    const b = new Block(
      off,
      o,
      insns.map((d) => d.pc),
      insns.map((d) => d.len),
      fn,
      source,
    );
    const same = this.blocks.get(off);
    if (same === undefined) this.blocks.set(off, [b]);
    else same.push(b);
    this.count++;
    const frame = off >>> PAGE_SHIFT;
    const list = this.byFrame.get(frame);
    if (list === undefined) {
      this.byFrame.set(frame, [b]);
      ram.markCode(frame);
    } else {
      list.push(b);
    }
    this.counters.translations++;
    this.counters.sourceChars += source.length;
    return b;
  }

  /** Drops every block whose bytes overlap RAM [off, off + size). */
  invalidate(off: number, size: number): void {
    const end = off + size;
    for (let frame = off >>> PAGE_SHIFT; frame <= (end - 1) >>> PAGE_SHIFT; frame++) {
      const list = this.byFrame.get(frame);
      if (list === undefined) continue;
      const keep = list.filter((b) => b.end <= off || b.off >= end);
      if (keep.length === list.length) continue;
      for (const b of list) if (!keep.includes(b)) this.drop(b);
      if (keep.length === 0) {
        this.byFrame.delete(frame);
        this.ram.unmarkCode(frame);
      } else {
        this.byFrame.set(frame, keep);
      }
      this.onInvalidate?.();
    }
  }

  private drop(b: Block): void {
    const same = this.blocks.get(b.off) ?? [];
    const rest = same.filter((c) => c !== b);
    if (rest.length === 0) this.blocks.delete(b.off);
    else this.blocks.set(b.off, rest);
    this.count--;
    const slot = (b.off >>> 1) & FAST_MASK;
    if (this.fast[slot] === b) this.fast[slot] = undefined;
    this.counters.invalidations++;
    this.counters.sourceChars -= b.source.length;
  }

  /** Forgets every translation. */
  flush(): void {
    for (const frame of this.byFrame.keys()) this.ram.unmarkCode(frame);
    this.byFrame.clear();
    this.blocks.clear();
    this.visits.clear();
    this.count = 0;
    this.fast.fill(undefined);
    this.counters.flushes++;
    this.counters.sourceChars = 0;
  }

  stats(): TranslatorStats {
    return { blocks: this.count, ...this.counters };
  }
}
