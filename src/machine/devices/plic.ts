/**
 * The PLIC (SiFive platform-level interrupt controller) as QEMU `virt` lays it out:
 *
 *   0x00_0000 + 4·s             priority[s]          0..7, source 0 does not exist
 *   0x00_1000 + 4·(s/32)        pending bits         read-only
 *   0x00_2000 + 0x80·c + 4·(s/32)  enable bits of context c
 *   0x20_0000 + 0x1000·c        threshold of context c  0..7
 *   0x20_0004 + 0x1000·c        claim (read) / complete (write) of context c
 *
 * Contexts: 2h is hart h's M-mode (drives mip.MEIP), 2h+1 its S-mode (drives mip.SEIP).
 *
 * Each source has a gateway that turns a level-triggered line into requests:
 *
 *   line high ──► pending ──claim──► claimed ──complete──► (line still high? pending again)
 *                   ▲ line low while pending and unclaimed drops the request (as QEMU does)
 *
 * An edge-triggered source (edge(), the spec's other gateway kind, for event notifications) has no
 * level: each trigger is a request; one arriving while the source is claimed is remembered and becomes
 * pending at its completion, so no trigger is lost (several coalesce into one, as Xen's event channels'
 * pending bit does).
 *
 * A claimed source is not pending again until it is completed. A context's interrupt is asserted
 * while some enabled, pending source has priority > the context's threshold; claim returns the one with
 * the highest priority (ties go to the lowest id), or 0.
 *
 * Registers are 32 bits wide. QEMU faults narrower accesses; our bus cannot fault a device access, so
 * a narrower read returns its lanes of the word and a narrower write is ignored (a read-modify-write of
 * claim/complete would claim).
 */
import type { AccessSize, Device, InterruptTarget, IrqLine } from "../bus.js";
import { MIP_MEIP, MIP_SEIP } from "../isa/csr-defs.js";
import { PLIC_SOURCES } from "../params.js";
import { readLanes } from "./lanes.js";
import { stateInts } from "./snapshot.js";

const PRIORITY_BASE = 0x00_0000;
const PENDING_BASE = 0x00_1000;
const ENABLE_BASE = 0x00_2000;
const ENABLE_STRIDE = 0x80;
const CONTEXT_BASE = 0x20_0000;
const CONTEXT_STRIDE = 0x1000;
const PRIORITY_MASK = 7;

const WORDS = Math.ceil(PLIC_SOURCES / 32);

/**
 * Everything a PLIC holds, as plain data (save/restore, migration). Per source: priority, the level its
 * device drives, pending, claimed and latched (edge-triggered, triggered while claimed) bits (one word
 * per 32 sources); per context: enable words, threshold, and the level last driven into the hart's mip.
 */
export interface PlicState {
  priority: number[];
  level: number[];
  pending: number[];
  claimed: number[];
  latched: number[];
  enable: number[];
  threshold: number[];
  asserted: number[];
}

export class Plic implements Device {
  readonly name = "plic";
  private readonly contexts: number;
  private readonly priority = new Uint8Array(PLIC_SOURCES);
  /** The level each source's device drives now. */
  private readonly level = new Uint8Array(PLIC_SOURCES);
  private readonly pending = new Uint32Array(WORDS);
  private readonly claimed = new Uint32Array(WORDS);
  /** Edge-triggered sources triggered while claimed: pending again at completion. */
  private readonly latched = new Uint32Array(WORDS);
  /** enable[c·WORDS + w]: bits 32w..32w+31 of context c. */
  private readonly enable: Uint32Array;
  private readonly threshold: Uint8Array;
  /** Last level driven into each context's mip bit, so unchanged levels are not re-sent. */
  private readonly asserted: Uint8Array;

  constructor(private readonly harts: InterruptTarget[]) {
    this.contexts = 2 * harts.length;
    this.enable = new Uint32Array(this.contexts * WORDS);
    this.threshold = new Uint8Array(this.contexts);
    this.asserted = new Uint8Array(this.contexts);
  }

  snapshot(): PlicState {
    return {
      priority: [...this.priority],
      level: [...this.level],
      pending: [...this.pending],
      claimed: [...this.claimed],
      latched: [...this.latched],
      enable: [...this.enable],
      threshold: [...this.threshold],
      asserted: [...this.asserted],
    };
  }

  /**
   * Takes back a snapshot's state (of a PLIC with as many harts). Every field is checked first: a bad one
   * throws DeviceStateError and changes nothing. No interrupt level is re-sent: `asserted` says what the
   * harts were last told, and their saved state holds it.
   */
  restore(s: PlicState): void {
    const words = 0xffff_ffff;
    const priority = stateInts("priority", s.priority, PLIC_SOURCES, PRIORITY_MASK);
    const level = stateInts("level", s.level, PLIC_SOURCES, 1);
    const pending = stateInts("pending", s.pending, WORDS, words);
    const claimed = stateInts("claimed", s.claimed, WORDS, words);
    const latched = stateInts("latched", s.latched, WORDS, words);
    const enable = stateInts("enable", s.enable, this.contexts * WORDS, words);
    const threshold = stateInts("threshold", s.threshold, this.contexts, PRIORITY_MASK);
    const asserted = stateInts("asserted", s.asserted, this.contexts, 1);
    this.priority.set(priority);
    this.level.set(level);
    this.pending.set(pending);
    this.claimed.set(claimed);
    this.latched.set(latched);
    this.enable.set(enable);
    this.threshold.set(threshold);
    this.asserted.set(asserted);
  }

  /** The interrupt input a device drives for `source` (1..PLIC_SOURCES-1). */
  line(source: number): IrqLine {
    if (!(Number.isInteger(source) && source >= 1 && source < PLIC_SOURCES)) {
      throw new Error(`plic: source ${source} is outside 1..${PLIC_SOURCES - 1}`);
    }
    return (level: boolean) => {
      this.level[source] = level ? 1 : 0;
      if (!this.isSet(this.claimed, source)) this.setBit(this.pending, source, level);
      this.updateHarts();
    };
  }

  /**
   * The trigger of an edge-triggered `source`: each call is one request (pending now, or at the
   * completion of the claim in progress).
   */
  edge(source: number): () => void {
    this.line(source); // the same range check
    return () => {
      if (this.isSet(this.claimed, source)) this.setBit(this.latched, source, true);
      else this.setBit(this.pending, source, true);
      this.updateHarts();
    };
  }

  read(offset: number, size: AccessSize): number {
    return readLanes(this.readWord(offset & ~3), offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (size !== 4 || (offset & 3) !== 0) return;
    value >>>= 0;
    if (offset < PENDING_BASE) {
      const s = (offset - PRIORITY_BASE) >> 2;
      if (s >= 1 && s < PLIC_SOURCES) this.priority[s] = value & PRIORITY_MASK;
    } else if (offset >= ENABLE_BASE && offset < ENABLE_BASE + this.contexts * ENABLE_STRIDE) {
      const c = (offset - ENABLE_BASE) >> 7;
      const w = ((offset - ENABLE_BASE) & (ENABLE_STRIDE - 1)) >> 2;
      if (w >= WORDS) return;
      this.enable[c * WORDS + w] = value & this.validBits(w);
    } else if (offset >= CONTEXT_BASE && offset < CONTEXT_BASE + this.contexts * CONTEXT_STRIDE) {
      const c = (offset - CONTEXT_BASE) >> 12;
      const reg = (offset - CONTEXT_BASE) & (CONTEXT_STRIDE - 1);
      if (reg === 0) this.threshold[c] = value & PRIORITY_MASK;
      else if (reg === 4) this.complete(c, value);
      else return;
    } else {
      return; // pending bits are read-only; the rest is reserved
    }
    this.updateHarts();
  }

  private readWord(offset: number): number {
    if (offset < PENDING_BASE) {
      const s = (offset - PRIORITY_BASE) >> 2;
      return s < PLIC_SOURCES ? this.priority[s] : 0;
    }
    if (offset < PENDING_BASE + 4 * WORDS) return this.pending[(offset - PENDING_BASE) >> 2];
    if (offset >= ENABLE_BASE && offset < ENABLE_BASE + this.contexts * ENABLE_STRIDE) {
      const c = (offset - ENABLE_BASE) >> 7;
      const w = ((offset - ENABLE_BASE) & (ENABLE_STRIDE - 1)) >> 2;
      return w < WORDS ? this.enable[c * WORDS + w] : 0;
    }
    if (offset >= CONTEXT_BASE && offset < CONTEXT_BASE + this.contexts * CONTEXT_STRIDE) {
      const c = (offset - CONTEXT_BASE) >> 12;
      const reg = (offset - CONTEXT_BASE) & (CONTEXT_STRIDE - 1);
      if (reg === 0) return this.threshold[c];
      if (reg === 4) return this.claim(c);
    }
    return 0;
  }

  /** Claims the best request for context `c`: it stops being pending until completed. */
  private claim(c: number): number {
    const s = this.best(c);
    if (s !== 0) {
      this.setBit(this.pending, s, false);
      this.setBit(this.claimed, s, true);
      this.updateHarts();
    }
    return s;
  }

  /** Completes `source` for context `c`; ignored unless the source is enabled for `c` (as the spec says). */
  private complete(c: number, source: number): void {
    if (!(source >= 1 && source < PLIC_SOURCES)) return;
    if ((this.enable[c * WORDS + (source >> 5)] & (1 << (source & 31))) === 0) return;
    this.setBit(this.claimed, source, false);
    // The gateway forwards a new request if the device still holds its line high.
    if (this.level[source] === 1) this.setBit(this.pending, source, true);
    if (this.isSet(this.latched, source)) {
      this.setBit(this.latched, source, false);
      this.setBit(this.pending, source, true);
    }
  }

  /** The pending, enabled source with the highest priority above c's threshold; 0 if none. */
  private best(c: number): number {
    let best = 0;
    let bestPriority = this.threshold[c];
    for (let w = 0; w < WORDS; w++) {
      let bits = this.pending[w] & this.enable[c * WORDS + w];
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const s = 32 * w + b;
        if (this.priority[s] > bestPriority) {
          best = s;
          bestPriority = this.priority[s];
        }
      }
    }
    return best;
  }

  private updateHarts(): void {
    for (let c = 0; c < this.contexts; c++) {
      const level = this.best(c) !== 0 ? 1 : 0;
      if (level === this.asserted[c]) continue;
      this.asserted[c] = level;
      this.harts[c >> 1].setInterruptLevel((c & 1) === 0 ? MIP_MEIP : MIP_SEIP, level === 1);
    }
  }

  /** Bits of enable/pending word `w` that name real sources (source 0 and those past the end are not). */
  private validBits(w: number): number {
    let mask = 0xffff_ffff;
    if (w === 0) mask &= ~1;
    const past = PLIC_SOURCES - 32 * w;
    if (past < 32) mask &= (1 << past) - 1;
    return mask >>> 0;
  }

  private isSet(bits: Uint32Array, s: number): boolean {
    return (bits[s >> 5] & (1 << (s & 31))) !== 0;
  }

  private setBit(bits: Uint32Array, s: number, on: boolean): void {
    if (on) bits[s >> 5] |= 1 << (s & 31);
    else bits[s >> 5] &= ~(1 << (s & 31));
  }
}
