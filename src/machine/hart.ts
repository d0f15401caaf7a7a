/**
 * One RV32IMAC hart: its architectural state and its memory path (software TLB fast path in front of
 * the Sv32 walker). Instruction semantics are not here: they come from the instruction table
 * (isa/table.ts) through the interpreter (interpreter.ts) or the translator (dbt/); CSR read/write rules
 * are in csr.ts, trap entry, interrupt selection and xRET/WFI/SFENCE.VMA in trap.ts, and everything the
 * H extension changes in hext.ts and hext-csr.ts. The methods here that the instruction table calls for
 * those choose between the base and the H-extension functions once per call, off the per-instruction
 * path.
 *
 * A trap is raised by `raise(cause, tval)`, which records the cause and throws the TRAP sentinel; the
 * engine's loop catches it and calls `takeTrap`. Every instruction checks what can trap before it has any
 * side effect, so the hart's state at the catch is the state before the faulting instruction.
 *
 * Software TLB: three direct-mapped arrays (fetch, load, store) of TLB_ENTRIES each, mapping a virtual
 * page number to the byte offset of its frame in RAM. An entry is filled only after a successful walk
 * (so it carries the permission check, and A/D were already set); a store entry only for frames that are
 * not watched, marking the frame dirty at fill time. The arrays belong to one of a few banks, one per
 * recently used translation context (tlb.ts): a change of context (satp, privilege, MPRV/MPP/SUM/MXR,
 * and with the H extension V, vsatp, hgatp and vsstatus) selects another bank instead of flushing, and
 * the fences flush the banks they concern (sfence.vma: those translating through satp).
 */
import type { Bus } from "./bus.js";
import { csrRead, csrWrite } from "./csr.js";
import {
  type HState,
  hEcall,
  hFence,
  hLoad,
  hMret,
  hPendingInterrupt,
  hSfenceVma,
  hSret,
  hStore,
  hTakeTrap,
  hTranslate,
  hWfi,
} from "./hext.js";
import { hCsrRead, hCsrWrite } from "./hext-csr.js";
import {
  CAUSE_BREAKPOINT,
  CAUSE_ECALL_U,
  CAUSE_ILLEGAL_INSN,
  CAUSE_INSN_ACCESS,
  CAUSE_LOAD_ACCESS,
  CAUSE_LOAD_MISALIGNED,
  CAUSE_STORE_ACCESS,
  CAUSE_STORE_MISALIGNED,
  MSTATUS_MPP,
  MSTATUS_MPP_SHIFT,
  MSTATUS_MPRV,
  MSTATUS_MXR,
  MSTATUS_SUM,
  PRIV_M,
  type Priv,
  SATP_MODE_SV32,
} from "./isa/csr-defs.js";
import { ACCESS_FETCH, ACCESS_LOAD, ACCESS_STORE, type Access, walkSv32 } from "./mmu.js";
import { PAGE_SHIFT, TLB_ENTRIES } from "./params.js";
import type { Ram } from "./ram.js";
import { selectBank, Tlb } from "./tlb.js";
import { baseMret, basePendingInterrupt, baseSfenceVma, baseSret, baseTakeTrap, baseWfi } from "./trap.js";

/** Thrown (never as an Error: it is cheap) when an instruction traps; see Hart.raise. */
export const TRAP = Symbol("trap");
/** What the hart needs to know about the translated block it is running. */
export interface RunningBlock {
  /** Address of each instruction of the block, in order. */
  readonly pcs: readonly number[];
}

/** Why `step` returned. */
export const EXIT_BUDGET = 0; // ran its budget, or was asked to stop the slice early
export const EXIT_WFI = 1; // waiting for an interrupt
export const EXIT_STOPPED = 2; // stopped (SBI HSM), runs again only when started
export type ExitReason = 0 | 1 | 2;

const TLB_MASK = TLB_ENTRIES - 1;
const TLB_FETCH = 0;
const TLB_LOAD = TLB_ENTRIES;
const TLB_STORE = 2 * TLB_ENTRIES;

/**
 * Handles a trap that would enter M-mode, for firmware written in TypeScript (the SBI). Returns true when
 * it handled the trap; the hart then goes on at `hart.pc` (for an ECALL, still the ecall's address: the
 * handler advances it).
 */
export type MTrapHook = (hart: Hart, cause: number, tval: number) => boolean;

/**
 * Direct calls into a virtual machine monitor, for binary-translation-style virtualization: while set
 * and the hart runs in U-mode, the privileged instructions a deprivileged guest kernel executes (CSR
 * operations, SRET, SFENCE.VMA) call these instead of raising an illegal-instruction trap. Each either
 * performs the instruction on the guest's virtual state or raises the trap itself (h.illegal).
 */
export interface VmmCalls {
  /** A CSR instruction with source value `src`: returns the CSR's old value (for rd). */
  csr(insn: number, src: number): number;
  /** SRET: returns the pc to continue at. */
  sret(insn: number): number;
  /** SFENCE.VMA of `vaddr` (-1: all). */
  sfence(insn: number, vaddr: number): void;
}

export class Hart {
  // ── architectural state ────────────────────────────────────────────────────────────────────
  readonly x = new Int32Array(32);
  /** Address of the next instruction, unsigned. */
  pc = 0;
  priv: Priv = PRIV_M;
  /** Virtualization mode V of the H extension (VS/VU when set); always false without it. */
  virt = false;
  /** H-extension state (hext.ts), or undefined for a hart without it: then none of its paths run. */
  hx: HState | undefined;

  mstatus = 0;
  medeleg = 0;
  mideleg = 0;
  mie = 0;
  /** mip bits written by software (SSIP, STIP, SEIP). */
  mipSw = 0;
  /** mip bits driven by devices (MSIP, MTIP, MEIP from CLINT/PLIC, SEIP from the PLIC's S context). */
  mipHw = 0;
  mtvec = 0;
  stvec = 0;
  mscratch = 0;
  sscratch = 0;
  mepc = 0;
  sepc = 0;
  mcause = 0;
  scause = 0;
  mtval = 0;
  stval = 0;
  satp = 0;
  mcounteren = 0;
  scounteren = 0;
  mcountinhibit = 0;
  menvcfg = 0;
  menvcfgh = 0;
  senvcfg = 0;
  readonly pmpcfg = new Int32Array(4);
  readonly pmpaddr = new Int32Array(16);
  /** Instructions retired since reset (a JS number: exact up to 2^53). */
  retired = 0;
  /** minstret = retired + instretOffset; mcycle = retired + cycleOffset (one instruction per cycle). */
  instretOffset = 0;
  cycleOffset = 0;
  /** TLB misses: translations the slow path made (a benchmark figure; nothing depends on it). */
  tlbFills = 0;
  /** The last translation's leaf (Sv32, or the VS-stage) was a megapage: see TlbBank.markMega. */
  walkMega = false;
  /** LR/SC reservation: the reserved virtual address, or -1. */
  reservation = -1;

  // ── run state ──────────────────────────────────────────────────────────────────────────────
  /** Instructions left in the current slice; setting it to 0 ends the slice after this instruction. */
  remaining = 0;
  /** Set by WFI; cleared when an interrupt becomes pending. */
  waiting = false;
  /** The translated block running now (undefined in the interpreter); see exitBlock. */
  curBlock: RunningBlock | undefined;
  /** `retired` when the running block was entered. */
  blockBase = 0;
  /**
   * Something happened in a slow path that a translated block must not run past: a device ended the
   * slice, an interrupt became pending, or a store hit translated code. Blocks test it after every
   * memory access and leave; the interpreter needs no such thing (it re-checks before each instruction).
   */
  exitBlock = false;
  /** Stopped by SBI HSM (or not yet started); the board skips it. */
  stopped = false;
  /** Firmware for traps into M-mode (undefined: M-mode code handles them, as on bare metal). */
  mTrapHook: MTrapHook | undefined;
  /** A monitor's direct calls for U-mode privileged instructions (binary translation); see VmmCalls. */
  vmm: VmmCalls | undefined;
  /**
   * The `sensitive-unprivileged` quirk: a pure read of sstatus (csrr) in U-mode returns the hart's real
   * sstatus instead of trapping — a sensitive instruction that is not privileged, like x86's pushf, so
   * trap-and-emulate no longer sees everything it must (Popek and Goldberg's condition broken).
   */
  quirkSensitiveRead = false;
  /** Called by FENCE.I and on code invalidation (the translator hooks it). */
  onFenceI: (() => void) | undefined;
  /** Current mtime, for the `time` CSR (set by the board). */
  readTime: () => number = () => 0;

  // Pending trap, set by raise() just before it throws TRAP.
  trapCause = 0;
  trapTval = 0;

  // ── memory path ────────────────────────────────────────────────────────────────────────────
  readonly mem8: Uint8Array;
  readonly mem16: Uint16Array;
  readonly mem32: Int32Array;
  /** The TLB's banks, one per recently used translation context (tlb.ts). */
  readonly tlb = new Tlb();
  /**
   * The current bank's arrays, which the fast paths read: virtual page number per TLB slot (−1: empty),
   * fetch, load and store arrays back to back. Reassigned when the context changes (retagTlb).
   */
  tlbTag: Int32Array = this.tlb.current.tag;
  /** RAM byte offset of the frame per TLB slot (the current bank's). */
  tlbOff: Int32Array = this.tlb.current.off;
  private readonly walkCtx = { satp: 0, priv: 0, sum: false, mxr: false, mega: false };

  constructor(
    readonly hartId: number,
    readonly bus: Bus,
  ) {
    const ram: Ram = bus.ram;
    this.mem8 = ram.u8;
    this.mem16 = ram.u16;
    this.mem32 = ram.i32;
    ram.onStoreTlbInvalidate(() => this.tlb.flushStores());
  }

  /** Resets to the state the privileged spec defines at reset: M-mode, MIE = 0, MPRV = 0, satp bare. */
  reset(pc: number): void {
    this.x.fill(0);
    this.pc = pc >>> 0;
    this.priv = PRIV_M;
    this.mstatus = 0;
    this.medeleg = this.mideleg = this.mie = this.mipSw = 0;
    this.mtvec = this.stvec = this.mscratch = this.sscratch = 0;
    this.mepc = this.sepc = this.mcause = this.scause = this.mtval = this.stval = this.satp = 0;
    this.mcounteren = this.scounteren = this.mcountinhibit = 0;
    this.menvcfg = this.menvcfgh = this.senvcfg = 0;
    this.pmpcfg.fill(0);
    this.pmpaddr.fill(0);
    this.reservation = -1;
    this.waiting = false;
    this.virt = false;
    this.hx?.reset();
    this.flushTlb();
  }

  get mip(): number {
    return this.mipSw | this.mipHw;
  }

  /** Interrupt-controller side of mip (InterruptTarget). */
  setInterruptLevel(mask: number, level: boolean): void {
    this.mipHw = level ? this.mipHw | mask : this.mipHw & ~mask;
    if (level && (this.mip & this.mie) !== 0) this.waiting = false;
    if (level) this.exitBlock = true;
  }

  /** Software side of mip (what M-mode firmware writes: SSIP, STIP, SEIP). */
  setSoftwareInterrupt(mask: number, level: boolean): void {
    this.mipSw = level ? this.mipSw | mask : this.mipSw & ~mask;
    if (level && (this.mip & this.mie) !== 0) this.waiting = false;
    if (level) this.exitBlock = true;
  }

  /** Inside a translated block, brings `retired` up to the instruction at `pc` (for counters and mtime). */
  syncProgress(): void {
    const b = this.curBlock;
    if (b !== undefined) this.retired = this.blockBase + b.pcs.indexOf(this.pc);
  }

  // ── traps ──────────────────────────────────────────────────────────────────────────────────

  /** Raises a synchronous exception: records it and unwinds the current instruction. */
  raise(cause: number, tval: number): never {
    this.trapCause = cause;
    this.trapTval = tval;
    throw TRAP;
  }

  illegal(insn: number): never {
    return this.raise(CAUSE_ILLEGAL_INSN, insn);
  }

  /**
   * Enters the trap handler for `cause` (interrupts have CAUSE_INTERRUPT set): trap.ts, or hext.ts's
   * routing between M, HS and VS. `this.pc` is the trapping instruction (exceptions) or the next one to
   * run (interrupts).
   */
  takeTrap(cause: number, tval: number): void {
    if (this.hx !== undefined) hTakeTrap(this, cause, tval);
    else baseTakeTrap(this, cause, tval);
  }

  /** The interrupt to take now, or 0 (trap.ts; hext.ts with the H extension). */
  pendingInterrupt(): number {
    return this.hx !== undefined ? hPendingInterrupt(this) : basePendingInterrupt(this);
  }

  /** Takes a pending enabled interrupt, if any. Returns true when it did. */
  checkInterrupts(): boolean {
    const cause = this.pendingInterrupt();
    if (cause === 0) return false;
    this.waiting = false;
    this.takeTrap(cause, 0);
    return true;
  }

  /** Sets the privilege and selects the TLB bank of the resulting context (also when MPRV/MPP changed). */
  setPriv(p: Priv): void {
    this.priv = p;
    this.retagTlb();
  }

  // ── privileged instructions (called from the instruction table; trap.ts, hext.ts) ─────────

  ecall(): never {
    if (this.hx !== undefined) hEcall(this);
    return this.raise(CAUSE_ECALL_U + this.priv, 0);
  }

  ebreak(): never {
    return this.raise(CAUSE_BREAKPOINT, this.pc);
  }

  mret(insn: number): number {
    return this.hx !== undefined ? hMret(this, insn) : baseMret(this, insn);
  }

  sret(insn: number): number {
    return this.hx !== undefined ? hSret(this, insn) : baseSret(this, insn);
  }

  wfi(insn: number): void {
    if (this.hx !== undefined) hWfi(this, insn);
    else baseWfi(this, insn);
  }

  sfenceVma(vaddr: number, _asid: number, insn: number): void {
    if (this.hx !== undefined) hSfenceVma(this, vaddr, insn);
    else baseSfenceVma(this, vaddr, insn);
  }

  fenceI(): void {
    this.onFenceI?.();
  }

  csrRead(csr: number, insn: number): number {
    return this.hx === undefined ? csrRead(this, csr, insn) : hCsrRead(this, csr, insn);
  }

  csrWrite(csr: number, value: number, insn: number): void {
    if (this.hx === undefined) csrWrite(this, csr, value, insn);
    else hCsrWrite(this, csr, value, insn);
  }

  // H extension (hext.ts): illegal instructions on a hart without it.

  /** HLV.B/BU/H/HU/W, HLVX.HU/WU (kind: see hext.ts HLV_SIZE). */
  hlv(va: number, kind: number, insn: number): number {
    return hLoad(this, va, kind, insn);
  }

  /** HSV.B/H/W. */
  hsv(va: number, v: number, size: 1 | 2 | 4, insn: number): void {
    hStore(this, va, v, size, insn);
  }

  /** HFENCE.VVMA (gvma = 0) and HFENCE.GVMA (1); rs1 and rs2 are −1 for x0. */
  hfence(gvma: number, rs1: number, rs2: number, insn: number): void {
    hFence(this, gvma !== 0, rs1, rs2, insn);
  }

  // ── TLB ────────────────────────────────────────────────────────────────────────────────────

  /** Empties every bank, and selects the current context's (callers may have set CSR fields directly). */
  flushTlb(): void {
    this.tlb.flushAll();
    this.retagTlb();
  }

  /**
   * What SFENCE.VMA does with V = 0: the entries that translate through satp (any satp), of page `vaddr`
   * or (−1) all; two-stage entries stay. Then selects the current context's bank.
   */
  flushTlbHs(vaddr: number): void {
    this.tlb.flushHs(vaddr === -1 ? -1 : vaddr >>> PAGE_SHIFT);
    this.retagTlb();
  }

  /**
   * What HFENCE.VVMA/GVMA do: the two-stage entries of virtual machine `vmid` (−1: of all), of guest page
   * `vaddr` or (−1) all.
   */
  flushTlbGuest(vmid: number, vaddr: number): void {
    this.tlb.flushGuest(vmid, vaddr === -1 ? -1 : vaddr >>> PAGE_SHIFT);
  }

  /**
   * Selects the TLB bank of the current translation context (tlb.ts): after anything that changes it —
   * the privilege, V, MPRV/MPP/MPV, satp, vsatp, hgatp, SUM/MXR of mstatus or vsstatus.
   */
  retagTlb(): void {
    const b = selectBank(this);
    this.tlbTag = b.tag;
    this.tlbOff = b.off;
  }

  /** Translates `va` for `access` under the current context; raises page/access faults (tval = va). */
  translate(va: number, access: Access): number {
    va >>>= 0;
    this.walkMega = false;
    if (this.hx !== undefined) return hTranslate(this, va, access);
    let priv: number = this.priv;
    if (access !== ACCESS_FETCH && (this.mstatus & MSTATUS_MPRV) !== 0 && priv === PRIV_M) {
      priv = (this.mstatus & MSTATUS_MPP) >>> MSTATUS_MPP_SHIFT;
    }
    if (priv === PRIV_M || (this.satp & SATP_MODE_SV32) === 0) return va;
    const ctx = this.walkCtx;
    ctx.satp = this.satp;
    ctx.priv = priv;
    ctx.sum = (this.mstatus & MSTATUS_SUM) !== 0;
    ctx.mxr = (this.mstatus & MSTATUS_MXR) !== 0;
    const pa = walkSv32(this.bus, ctx, va, access);
    if (pa < 0) this.raise(-pa - 1, va);
    this.walkMega = ctx.mega === true;
    return pa;
  }

  /** The physical address the last `fill` translated (what a device access then uses). */
  private filledPa = 0;

  /**
   * Translates and, when the frame is RAM, fills the TLB. Returns the RAM offset, or −1 for a device,
   * whose physical address is then in `filledPa` (so the slow path does not walk the tables twice).
   */
  private fill(va: number, access: Access): number {
    this.tlbFills++;
    const pa = this.translate(va, access);
    this.filledPa = pa;
    const ram = this.bus.ram;
    const off = pa - ram.base;
    if (off < 0 || off >= ram.size) return -1;
    const frameOff = off & ~0xfff;
    if (access === ACCESS_STORE) {
      ram.markDirty(frameOff);
      if (ram.watched[frameOff >>> PAGE_SHIFT] !== 0) return off; // never cached: stores get reported
    }
    const vpn = va >>> PAGE_SHIFT;
    if (this.walkMega) this.tlb.current.markMega(vpn);
    const slot = access * TLB_ENTRIES + (vpn & TLB_MASK);
    this.tlbTag[slot] = vpn;
    this.tlbOff[slot] = frameOff;
    return off;
  }

  // ── instruction fetch ──────────────────────────────────────────────────────────────────────

  /** The instruction parcel at `pc`: a 16-bit compressed instruction, or a full 32-bit one. */
  fetch(pc: number): number {
    const vpn = pc >>> PAGE_SHIFT;
    const i = TLB_FETCH + (vpn & TLB_MASK);
    if (this.tlbTag[i] === vpn && (pc & 0xfff) !== 0xffe) {
      const off = this.tlbOff[i] + (pc & 0xfff);
      const lo = this.mem16[off >> 1];
      if ((lo & 3) !== 3) return lo;
      return lo | (this.mem16[(off >> 1) + 1] << 16);
    }
    return this.fetchSlow(pc);
  }

  private fetchSlow(pc: number): number {
    const lo = this.fetchHalf(pc);
    if ((lo & 3) !== 3) return lo;
    return lo | (this.fetchHalf((pc + 2) >>> 0) << 16);
  }

  private fetchHalf(va: number): number {
    const vpn = va >>> PAGE_SHIFT;
    const i = TLB_FETCH + (vpn & TLB_MASK);
    if (this.tlbTag[i] === vpn) return this.mem16[(this.tlbOff[i] + (va & 0xfff)) >> 1];
    const off = this.fill(va, ACCESS_FETCH);
    if (off < 0) this.raise(CAUSE_INSN_ACCESS, va);
    return this.mem16[off >> 1];
  }

  // ── loads ──────────────────────────────────────────────────────────────────────────────────

  lw(va: number): number {
    const vpn = va >>> PAGE_SHIFT;
    const i = TLB_LOAD + (vpn & TLB_MASK);
    if (this.tlbTag[i] === vpn && (va & 3) === 0) return this.mem32[(this.tlbOff[i] + (va & 0xfff)) >> 2];
    return this.loadSlow(va, 4) | 0;
  }

  lh(va: number): number {
    return (this.lhu(va) << 16) >> 16;
  }

  lhu(va: number): number {
    const vpn = va >>> PAGE_SHIFT;
    const i = TLB_LOAD + (vpn & TLB_MASK);
    if (this.tlbTag[i] === vpn && (va & 1) === 0) return this.mem16[(this.tlbOff[i] + (va & 0xfff)) >> 1];
    return this.loadSlow(va, 2);
  }

  lb(va: number): number {
    return (this.lbu(va) << 24) >> 24;
  }

  lbu(va: number): number {
    const vpn = va >>> PAGE_SHIFT;
    const i = TLB_LOAD + (vpn & TLB_MASK);
    if (this.tlbTag[i] === vpn) return this.mem8[this.tlbOff[i] + (va & 0xfff)];
    return this.loadSlow(va, 1);
  }

  /** The load slow path: misaligned accesses (byte by byte, so a page-crossing fault names the byte's page), TLB misses, devices. */
  loadSlow(va: number, size: 1 | 2 | 4): number {
    if ((va & (size - 1)) !== 0) {
      let v = 0;
      for (let k = 0; k < size; k++) v |= this.lbu((va + k) | 0) << (8 * k);
      return size === 4 ? v : v >>> 0;
    }
    const off = this.fill(va, ACCESS_LOAD);
    if (off >= 0) {
      if (size === 4) return this.mem32[off >> 2];
      return size === 2 ? this.mem16[off >> 1] : this.mem8[off];
    }
    this.syncProgress(); // a device may read the clock
    const v = this.bus.read(this.filledPa, size);
    if (v === undefined) this.raise(CAUSE_LOAD_ACCESS, va >>> 0);
    return v;
  }

  // ── stores ─────────────────────────────────────────────────────────────────────────────────

  sw(va: number, v: number): void {
    const vpn = va >>> PAGE_SHIFT;
    const i = TLB_STORE + (vpn & TLB_MASK);
    if (this.tlbTag[i] === vpn && (va & 3) === 0) {
      this.mem32[(this.tlbOff[i] + (va & 0xfff)) >> 2] = v;
      return;
    }
    this.storeSlow(va, 4, v);
  }

  sh(va: number, v: number): void {
    const vpn = va >>> PAGE_SHIFT;
    const i = TLB_STORE + (vpn & TLB_MASK);
    if (this.tlbTag[i] === vpn && (va & 1) === 0) {
      this.mem16[(this.tlbOff[i] + (va & 0xfff)) >> 1] = v;
      return;
    }
    this.storeSlow(va, 2, v & 0xffff);
  }

  sb(va: number, v: number): void {
    const vpn = va >>> PAGE_SHIFT;
    const i = TLB_STORE + (vpn & TLB_MASK);
    if (this.tlbTag[i] === vpn) {
      this.mem8[this.tlbOff[i] + (va & 0xfff)] = v;
      return;
    }
    this.storeSlow(va, 1, v & 0xff);
  }

  /** The store slow path: misaligned (both pages translated before any byte is written), misses, devices, watched frames. */
  storeSlow(va: number, size: 1 | 2 | 4, v: number): void {
    // A plain store by this hart leaves its reservation alone (the spec lets an SC after it succeed or
    // fail); clearing it here, on the slow path only, made an SC's outcome depend on the TLB's state
    // and so differ between the interpreter and the translator.
    if ((va & (size - 1)) !== 0) {
      const last = (va + size - 1) | 0;
      this.translate(va, ACCESS_STORE);
      if (last >>> PAGE_SHIFT !== va >>> PAGE_SHIFT) this.translate(last & ~0xfff, ACCESS_STORE);
      for (let k = 0; k < size; k++) this.sb((va + k) | 0, v >>> (8 * k));
      return;
    }
    const off = this.fill(va, ACCESS_STORE);
    if (off >= 0) {
      if (size === 4) this.mem32[off >> 2] = v;
      else if (size === 2) this.mem16[off >> 1] = v;
      else this.mem8[off] = v;
      const ram = this.bus.ram;
      if (ram.watched[off >>> PAGE_SHIFT] !== 0) {
        this.syncProgress();
        ram.notifyStore(off, size, v);
      }
      return;
    }
    this.syncProgress(); // a device may read the clock
    if (!this.bus.write(this.filledPa, size, v)) this.raise(CAUSE_STORE_ACCESS, va >>> 0);
  }

  // ── atomics ────────────────────────────────────────────────────────────────────────────────

  lr(va: number): number {
    if ((va & 3) !== 0) this.raise(CAUSE_LOAD_MISALIGNED, va >>> 0);
    const v = this.lw(va);
    this.reservation = va >>> 0;
    return v;
  }

  /** SC.W: succeeds (returns 0) only with a valid reservation on this address; always clears it. */
  sc(va: number, v: number): number {
    if ((va & 3) !== 0) this.raise(CAUSE_STORE_MISALIGNED, va >>> 0);
    const ok = this.reservation === va >>> 0;
    if (!ok) {
      this.reservation = -1;
      return 1;
    }
    this.sw(va, v);
    this.reservation = -1;
    return 0;
  }

  /** Word index in RAM of an AMO's operand: aligned, writable, in RAM (or the matching fault). */
  amoIndex(va: number): number {
    if ((va & 3) !== 0) this.raise(CAUSE_STORE_MISALIGNED, va >>> 0);
    const vpn = va >>> PAGE_SHIFT;
    const i = TLB_STORE + (vpn & TLB_MASK);
    if (this.tlbTag[i] === vpn) return (this.tlbOff[i] + (va & 0xfff)) >> 2;
    const off = this.fill(va, ACCESS_STORE);
    // Write permission implies read permission in Sv32 (W without R is a reserved encoding).
    if (off < 0) this.raise(CAUSE_STORE_ACCESS, va >>> 0);
    return off >> 2;
  }

  amoWrite(index: number, v: number): void {
    this.mem32[index] = v;
    this.reservation = -1;
    const ram = this.bus.ram;
    if (ram.watched[index >>> (PAGE_SHIFT - 2)] !== 0) {
      this.syncProgress();
      ram.notifyStore(index << 2, 4, v);
    }
  }
}
