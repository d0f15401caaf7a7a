/**
 * The H extension (hypervisor) of the privileged spec, for harts built with it (MachineOptions.hExtension):
 * the virtualization mode V, trap routing between M, HS and VS, VS-level interrupts, the privileged
 * instructions' V-mode rules (virtual-instruction exceptions), the hypervisor loads and stores
 * (HLV/HLVX/HSV), HFENCE, and address translation while V = 1 (the two-stage walk is in mmu-g.ts). Its
 * CSR file — the hypervisor and virtual-supervisor CSRs, and what it changes in the base ones — is
 * hext-csr.ts.
 *
 * How it hangs off the hart: `hart.hx` holds this state (undefined without the extension) and `hart.virt`
 * is V. The hart's slow paths (CSR access, trap entry, interrupt selection, TLB fill, sret/mret/wfi/…)
 * hand over to the functions here (and in hext-csr.ts) when `hx` is set, and to trap.ts and csr.ts
 * when it is not; its fast paths (the TLB probe, the interpreter loop, translated blocks) are untouched,
 * so a hart without the extension runs exactly as before.
 *
 * Registers kept elsewhere: hvip's bits (VSSIP, VSTIP, VSEIP) live in the hart's software-written mip
 * bits (mipSw), where the engines' "anything pending?" test `(mipSw | mipHw) & mie` already sees them;
 * hie is the VS bits of mie. The vs* CSRs are separate registers: while V = 1 the hart reads the S CSR
 * numbers as the vs* ones (CSR remapping), VS trap entry and sret use vsstatus/vsepc/…, and HS-mode's
 * sstatus/sepc/… are left alone — the spec's "swap", done by indirection instead of copying.
 *
 * TLB: entries made while V = 1 hold the combined (two-stage) translation, in banks tagged by the whole
 * context (tlb.ts): V, the privilege, vsatp, hgatp (so the VMID) and the SUM/MXR bits. Changing any of
 * them selects another bank instead of flushing, so a switch between virtual machines keeps each one's
 * translations, and V = 0's (HS/U) entries are apart from V = 1's. The fences flush by VMID: SFENCE.VMA
 * in VS and HFENCE.VVMA the current hgatp.VMID's two-stage entries (one guest page, or all; any ASID:
 * banks are not selected by ASID, so that is conservative), HFENCE.GVMA those of the VMID in rs2 (or of
 * every VMID) whatever the guest-physical address in rs1, as the spec's note allows.
 */
import type { Hart } from "./hart.js";
import {
  CAUSE_ECALL_U,
  CAUSE_INSN_GUEST_PAGE_FAULT,
  CAUSE_INTERRUPT,
  CAUSE_LOAD_ACCESS,
  CAUSE_LOAD_GUEST_PAGE_FAULT,
  CAUSE_STORE_ACCESS,
  CAUSE_STORE_GUEST_PAGE_FAULT,
  CAUSE_VIRTUAL_INSN,
  HGATP_VMID_MASK,
  HGATP_VMID_SHIFT,
  HSTATUS_GVA,
  HSTATUS_HU,
  HSTATUS_SPV,
  HSTATUS_SPVP,
  HSTATUS_VTSR,
  HSTATUS_VTVM,
  HSTATUS_VTW,
  MIP_SGEIP,
  MSTATUS_MIE,
  MSTATUS_MPIE,
  MSTATUS_MPP,
  MSTATUS_MPP_SHIFT,
  MSTATUS_MPRV,
  MSTATUS_MXR,
  MSTATUS_SIE,
  MSTATUS_SPIE,
  MSTATUS_SPP,
  MSTATUS_SUM,
  MSTATUS_TSR,
  MSTATUS_TVM,
  MSTATUS_TW,
  MSTATUSH_GVA,
  MSTATUSH_MPV,
  PRIV_M,
  PRIV_S,
  PRIV_U,
  type Priv,
  SATP_MODE_SV32,
} from "./isa/csr-defs.js";
import { ACCESS_FETCH, ACCESS_LOAD, ACCESS_STORE, type Access, walkSv32 } from "./mmu.js";
import { twoStageContext, walkTwoStage } from "./mmu-g.js";
import { trapVector } from "./trap.js";

/** The VS-level interrupts (VSSI, VSTI, VSEI) and SGEI: read-only one in mideleg. */
export const VS_IRQS = 0x444;
export const MIDELEG_FORCED = VS_IRQS | MIP_SGEIP;
/** Causes whose tval is an address: with V = 1 (or from HLV/HSV) it is a guest virtual one (GVA). */
const ADDRESS_CAUSES =
  (1 << 0) |
  (1 << 1) |
  (1 << 4) |
  (1 << 5) |
  (1 << 6) |
  (1 << 7) |
  (1 << 12) |
  (1 << 13) |
  (1 << 15) |
  (0xb << 20);
/** htinst pseudoinstructions for a guest-page fault in an implicit VS-stage PTE read / write (RV32). */
export const TINST_PTE_READ = 0x2000;
export const TINST_PTE_WRITE = 0x2020;
/** Interrupt priority with H: MEI MSI MTI SEI SSI STI SGEI VSEI VSSI VSTI. */
const IRQ_PRIORITY_H = [11, 3, 7, 9, 1, 5, 12, 10, 2, 6] as const;

/** The H-extension state of a hart. */
export class HState {
  hstatus = 0;
  hedeleg = 0;
  hideleg = 0;
  hcounteren = 0;
  htval = 0;
  htinst = 0;
  hgatp = 0;
  henvcfg = 0;
  /** htimedelta as two 32-bit halves. */
  htimedelta = 0;
  htimedeltah = 0;
  vsstatus = 0;
  vstvec = 0;
  vsscratch = 0;
  vsepc = 0;
  vscause = 0;
  vstval = 0;
  vsatp = 0;
  /** RV32 mstatush: MPV and GVA. */
  mstatush = 0;
  mtval2 = 0;
  mtinst = 0;
  // Set just before a guest-page fault is raised, read by trap entry.
  trapGpa = 0;
  trapTinst = 0;
  /** A hypervisor load/store is running (its faults carry guest virtual addresses: GVA = 1). */
  hlsv = false;
  readonly walk = twoStageContext();

  reset(): void {
    this.hstatus = this.hedeleg = this.hideleg = this.hcounteren = this.htval = this.htinst = 0;
    this.hgatp = this.henvcfg = this.htimedelta = this.htimedeltah = 0;
    this.vsstatus = this.vstvec = this.vsscratch = this.vsepc = this.vscause = this.vstval = this.vsatp = 0;
    this.mstatush = this.mtval2 = this.mtinst = 0;
    this.trapGpa = this.trapTinst = 0;
    this.hlsv = false;
  }
}

/** Gives `hart` the H extension (misa.H = 1). */
export function enableH(h: Hart): void {
  h.hx = new HState();
}

/** The hart's H-extension state (only for a hart that has it). */
export const hx = (h: Hart): HState => h.hx as HState;

/** Sets V, selecting the TLB bank of the new context. */
export function setVirt(h: Hart, v: boolean): void {
  if (h.virt !== v) {
    h.virt = v;
    h.retagTlb();
  }
}

/** hgatp's VMID. */
export function vmidOf(hgatp: number): number {
  return (hgatp >>> HGATP_VMID_SHIFT) & HGATP_VMID_MASK;
}

export function virtualInsn(h: Hart, insn: number): never {
  return h.raise(CAUSE_VIRTUAL_INSN, insn);
}

// ── traps and interrupts ─────────────────────────────────────────────────────────────────────

/**
 * Trap entry with the H extension. Routing: a trap from M stays in M; otherwise medeleg/mideleg (VS
 * interrupts always delegated) send it to HS-mode, and from there, when it came from V = 1,
 * hedeleg/hideleg send it on to VS-mode (VS interrupts arrive there as the S interrupt of the same
 * kind: cause − 1). Entering M or HS clears V and records it (mstatush.MPV, hstatus.SPV/SPVP), with
 * GVA (a guest virtual address in xtval), and htval/mtval2 = guest-physical address >> 2 and
 * htinst/mtinst for guest-page faults.
 */
export function hTakeTrap(h: Hart, cause: number, tval: number): void {
  const x = hx(h);
  const interrupt = (cause & CAUSE_INTERRUPT) !== 0;
  const code = cause & 0x7fff_ffff;
  const virt = h.virt;
  const gva = !interrupt && (virt || x.hlsv) && ((ADDRESS_CAUSES >>> code) & 1) !== 0;
  x.hlsv = false;
  const gpf =
    !interrupt &&
    (code === CAUSE_INSN_GUEST_PAGE_FAULT ||
      code === CAUSE_LOAD_GUEST_PAGE_FAULT ||
      code === CAUSE_STORE_GUEST_PAGE_FAULT);
  const gpaField = gpf ? Math.floor(x.trapGpa / 4) | 0 : 0;
  const tinst = gpf ? x.trapTinst : 0;
  h.reservation = -1;
  const mdeleg = interrupt ? h.mideleg | MIDELEG_FORCED : h.medeleg;
  if (h.priv <= PRIV_S && ((mdeleg >>> code) & 1) !== 0) {
    const hdeleg = interrupt ? x.hideleg : x.hedeleg;
    if (virt && ((hdeleg >>> code) & 1) !== 0) {
      const vcode = interrupt && (VS_IRQS >>> code) & 1 ? code - 1 : code;
      x.vscause = interrupt ? CAUSE_INTERRUPT | vcode | 0 : vcode;
      x.vsepc = h.pc;
      x.vstval = tval >>> 0;
      let s = x.vsstatus & ~(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE);
      if (h.priv === PRIV_S) s |= MSTATUS_SPP;
      if ((x.vsstatus & MSTATUS_SIE) !== 0) s |= MSTATUS_SPIE;
      x.vsstatus = s;
      h.setPriv(PRIV_S);
      h.pc = trapVector(x.vstvec, interrupt, vcode);
      return;
    }
    let hs = x.hstatus & ~(HSTATUS_SPV | HSTATUS_GVA);
    if (virt) {
      hs = (hs & ~HSTATUS_SPVP) | HSTATUS_SPV | (h.priv === PRIV_S ? HSTATUS_SPVP : 0);
    }
    if (gva) hs |= HSTATUS_GVA;
    x.hstatus = hs;
    x.htval = gpaField;
    x.htinst = tinst;
    h.scause = cause;
    h.sepc = h.pc;
    h.stval = tval >>> 0;
    let s = h.mstatus & ~(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE);
    if (h.priv === PRIV_S) s |= MSTATUS_SPP;
    if ((h.mstatus & MSTATUS_SIE) !== 0) s |= MSTATUS_SPIE;
    h.mstatus = s;
    setVirt(h, false);
    h.setPriv(PRIV_S);
    h.pc = trapVector(h.stvec, interrupt, code);
    return;
  }
  if (h.mTrapHook?.(h, cause, tval)) return;
  x.mstatush = (virt ? MSTATUSH_MPV : 0) | (gva ? MSTATUSH_GVA : 0);
  x.mtval2 = gpaField;
  x.mtinst = tinst;
  h.mcause = cause;
  h.mepc = h.pc;
  h.mtval = tval >>> 0;
  let s = h.mstatus & ~(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE);
  s |= h.priv << MSTATUS_MPP_SHIFT;
  if ((h.mstatus & MSTATUS_MIE) !== 0) s |= MSTATUS_MPIE;
  h.mstatus = s;
  setVirt(h, false);
  h.setPriv(PRIV_M);
  h.pc = trapVector(h.mtvec, interrupt, code);
}

/**
 * The interrupt to take now, or 0. Three levels, highest first: M (not delegated; enabled below M or
 * with MIE), HS (delegated by mideleg, not by hideleg; enabled when V = 1, below S, or in HS with
 * sstatus.SIE) and VS (delegated by hideleg; enabled only while V = 1: in VU, or in VS with vsstatus.SIE).
 */
export function hPendingInterrupt(h: Hart): number {
  const pending = h.mip & h.mie;
  if (pending === 0) return 0;
  const x = hx(h);
  const mideleg = h.mideleg | MIDELEG_FORCED;
  const m = pending & ~mideleg;
  if (m !== 0 && (h.priv < PRIV_M || (h.mstatus & MSTATUS_MIE) !== 0)) return pick(m);
  const hs = pending & mideleg & ~x.hideleg;
  const hsEnabled = h.virt || h.priv < PRIV_S || (h.priv === PRIV_S && (h.mstatus & MSTATUS_SIE) !== 0);
  if (hs !== 0 && hsEnabled) return pick(hs);
  const vs = pending & x.hideleg;
  const vsEnabled = h.virt && (h.priv === PRIV_U || (x.vsstatus & MSTATUS_SIE) !== 0);
  if (vs !== 0 && vsEnabled) return pick(vs);
  return 0;
}

function pick(set: number): number {
  for (const irq of IRQ_PRIORITY_H) if ((set >>> irq) & 1) return CAUSE_INTERRUPT | irq | 0;
  return 0;
}

// ── privileged instructions ──────────────────────────────────────────────────────────────────

export function hEcall(h: Hart): never {
  return h.raise(CAUSE_ECALL_U + h.priv + (h.virt && h.priv === PRIV_S ? 1 : 0), 0);
}

export function hMret(h: Hart, insn: number): number {
  if (h.priv < PRIV_M) h.illegal(insn);
  const x = hx(h);
  const s = h.mstatus;
  const mpp = ((s & MSTATUS_MPP) >>> MSTATUS_MPP_SHIFT) as Priv;
  const mpv = (x.mstatush & MSTATUSH_MPV) !== 0;
  let n = s & ~(MSTATUS_MPP | MSTATUS_MIE);
  if ((s & MSTATUS_MPIE) !== 0) n |= MSTATUS_MIE;
  n |= MSTATUS_MPIE;
  if (mpp !== PRIV_M) n &= ~MSTATUS_MPRV;
  h.mstatus = n;
  x.mstatush &= ~MSTATUSH_MPV;
  setVirt(h, mpp !== PRIV_M && mpv);
  h.setPriv(mpp);
  return h.mepc >>> 0;
}

/**
 * SRET: in VS-mode it returns within the guest (vsstatus, vsepc; a virtual-instruction exception with
 * hstatus.VTSR); in VU a virtual-instruction exception; in HS/M it returns to hstatus.SPV and SPP.
 */
export function hSret(h: Hart, insn: number): number {
  const x = hx(h);
  if (h.virt) {
    if (h.priv === PRIV_U || (x.hstatus & HSTATUS_VTSR) !== 0) virtualInsn(h, insn);
    const s = x.vsstatus;
    const spp: Priv = (s & MSTATUS_SPP) !== 0 ? PRIV_S : PRIV_U;
    let n = s & ~(MSTATUS_SPP | MSTATUS_SIE);
    if ((s & MSTATUS_SPIE) !== 0) n |= MSTATUS_SIE;
    x.vsstatus = n | MSTATUS_SPIE;
    h.mstatus &= ~MSTATUS_MPRV;
    h.setPriv(spp);
    return x.vsepc >>> 0;
  }
  if (h.priv < PRIV_S || (h.priv === PRIV_S && (h.mstatus & MSTATUS_TSR) !== 0)) h.illegal(insn);
  const s = h.mstatus;
  const spp: Priv = (s & MSTATUS_SPP) !== 0 ? PRIV_S : PRIV_U;
  let n = s & ~(MSTATUS_SPP | MSTATUS_SIE | MSTATUS_MPRV);
  if ((s & MSTATUS_SPIE) !== 0) n |= MSTATUS_SIE;
  h.mstatus = n | MSTATUS_SPIE;
  const spv = (x.hstatus & HSTATUS_SPV) !== 0;
  x.hstatus &= ~HSTATUS_SPV;
  setVirt(h, spv);
  h.setPriv(spp);
  return h.sepc >>> 0;
}

export function hWfi(h: Hart, insn: number): void {
  if (h.virt) {
    if ((h.mstatus & MSTATUS_TW) !== 0) h.illegal(insn);
    if (h.priv === PRIV_U || (hx(h).hstatus & HSTATUS_VTW) !== 0) virtualInsn(h, insn);
  } else if (h.priv === PRIV_U || (h.priv === PRIV_S && (h.mstatus & MSTATUS_TW) !== 0)) h.illegal(insn);
  if ((h.mip & h.mie) !== 0) return;
  h.waiting = true;
  h.remaining = 0;
}

export function hSfenceVma(h: Hart, vaddr: number, insn: number): void {
  if (h.virt) {
    if (h.priv === PRIV_U || (hx(h).hstatus & HSTATUS_VTVM) !== 0) virtualInsn(h, insn);
  } else if (h.priv === PRIV_U || (h.priv === PRIV_S && (h.mstatus & MSTATUS_TVM) !== 0)) h.illegal(insn);
  // With V = 1 it orders the VS-stage of the current virtual machine only (as HFENCE.VVMA would).
  if (h.virt) h.flushTlbGuest(vmidOf(hx(h).hgatp), vaddr);
  else h.flushTlbHs(vaddr);
}

/**
 * HFENCE.VVMA and HFENCE.GVMA (HS/M only); `rs1`, `rs2` are the operands' values, −1 for x0. VVMA: the
 * current VMID's two-stage entries, of guest virtual page rs1 or all, of every ASID (rs2 is not looked
 * at: conservative). GVMA: the entries of VMID rs2 (its VMIDLEN bits) or of every VMID; rs1, a guest-
 * physical address >> 2, is not looked at — a combined entry does not record the G-stage page it went
 * through, so all of the VMID's go, which the spec's note allows.
 */
export function hFence(h: Hart, gvma: boolean, rs1: number, rs2: number, insn: number): void {
  if (h.hx === undefined) h.illegal(insn);
  if (h.virt) virtualInsn(h, insn);
  if (h.priv === PRIV_U) h.illegal(insn);
  if (gvma && h.priv === PRIV_S && (h.mstatus & MSTATUS_TVM) !== 0) h.illegal(insn);
  if (gvma) h.flushTlbGuest(rs2 === -1 ? -1 : rs2 & HGATP_VMID_MASK, -1);
  else h.flushTlbGuest(vmidOf(hx(h).hgatp), rs1);
}

// ── address translation ──────────────────────────────────────────────────────────────────────

/**
 * The hart's translate() with the extension: two-stage while V = 1 (or for M-mode loads/stores with
 * MPRV and MPV), Sv32 otherwise. Raises page, guest-page and access faults with tval = va.
 */
export function hTranslate(h: Hart, va: number, access: Access): number {
  let priv: number = h.priv;
  let virt = h.virt;
  if (access !== ACCESS_FETCH && (h.mstatus & MSTATUS_MPRV) !== 0 && priv === PRIV_M) {
    priv = (h.mstatus & MSTATUS_MPP) >>> MSTATUS_MPP_SHIFT;
    virt = priv !== PRIV_M && (hx(h).mstatush & MSTATUSH_MPV) !== 0;
  }
  if (virt) return guestTranslate(h, va, access, priv, false);
  if (priv === PRIV_M || (h.satp & SATP_MODE_SV32) === 0) return va;
  const ctx = {
    satp: h.satp,
    priv,
    sum: (h.mstatus & MSTATUS_SUM) !== 0,
    mxr: (h.mstatus & MSTATUS_MXR) !== 0,
    mega: false,
  };
  const pa = walkSv32(h.bus, ctx, va, access);
  if (pa < 0) h.raise(-pa - 1, va);
  h.walkMega = ctx.mega;
  return pa;
}

function guestTranslate(h: Hart, va: number, access: Access, priv: number, hlvx: boolean): number {
  const x = hx(h);
  const ctx = x.walk;
  ctx.vsatp = x.vsatp;
  ctx.hgatp = x.hgatp;
  ctx.priv = priv;
  ctx.sum = (x.vsstatus & MSTATUS_SUM) !== 0;
  ctx.gmxr = (h.mstatus & MSTATUS_MXR) !== 0;
  ctx.mxr = ctx.gmxr || (x.vsstatus & MSTATUS_MXR) !== 0;
  ctx.hlvx = hlvx;
  const pa = walkTwoStage(h.bus, ctx, va, access);
  if (pa < 0) {
    const cause = -pa - 1;
    if (
      cause === CAUSE_INSN_GUEST_PAGE_FAULT ||
      cause === CAUSE_LOAD_GUEST_PAGE_FAULT ||
      cause === CAUSE_STORE_GUEST_PAGE_FAULT
    ) {
      x.trapGpa = ctx.gpa;
      x.trapTinst = ctx.implicit ? (ctx.implicitWrite ? TINST_PTE_WRITE : TINST_PTE_READ) : 0;
    }
    h.raise(cause, va);
  }
  h.walkMega = ctx.mega;
  return pa;
}

// ── hypervisor loads and stores ──────────────────────────────────────────────────────────────

/** HLV/HLVX/HSV may run in M, HS, and in U with hstatus.HU; in VS/VU they are virtual instructions. */
function hlsvCheck(h: Hart, insn: number): void {
  if (h.hx === undefined) h.illegal(insn);
  if (h.virt) virtualInsn(h, insn);
  if (h.priv === PRIV_U && (hx(h).hstatus & HSTATUS_HU) === 0) h.illegal(insn);
}

/** Load kinds of hlv: 0 b, 1 bu, 2 h, 3 hu, 4 w, 5 hlvx.hu, 6 hlvx.wu. */
export const HLV_SIZE = [1, 1, 2, 2, 4, 2, 4] as const;

/**
 * HLV.*: a load as VS/VU (hstatus.SPVP) would make it, through vsatp and hgatp, with vsstatus.SUM/MXR.
 * Misaligned ones are done byte by byte, like the hart's own loads.
 */
export function hLoad(h: Hart, va: number, kind: number, insn: number): number {
  hlsvCheck(h, insn);
  const x = hx(h);
  const size = HLV_SIZE[kind];
  const hlvx = kind >= 5;
  const priv = (x.hstatus & HSTATUS_SPVP) !== 0 ? PRIV_S : PRIV_U;
  x.hlsv = true;
  let v = 0;
  if ((va & (size - 1)) !== 0) {
    for (let k = 0; k < size; k++) v |= guestRead(h, (va + k) >>> 0, 1, priv, hlvx) << (8 * k);
  } else v = guestRead(h, va >>> 0, size, priv, hlvx);
  x.hlsv = false;
  if (kind === 0) return (v << 24) >> 24;
  if (kind === 2) return (v << 16) >> 16;
  return size === 4 ? v | 0 : v & (size === 2 ? 0xffff : 0xff);
}

function guestRead(h: Hart, va: number, size: 1 | 2 | 4, priv: number, hlvx: boolean): number {
  const pa = guestTranslate(h, va, ACCESS_LOAD, priv, hlvx);
  h.syncProgress();
  const v = h.bus.read(pa, size);
  if (v === undefined) h.raise(CAUSE_LOAD_ACCESS, va);
  return v;
}

/** HSV.*: a store as VS/VU would make it. A misaligned one translates every byte's page first. */
export function hStore(h: Hart, va: number, v: number, size: 1 | 2 | 4, insn: number): void {
  hlsvCheck(h, insn);
  const x = hx(h);
  const priv = (x.hstatus & HSTATUS_SPVP) !== 0 ? PRIV_S : PRIV_U;
  x.hlsv = true;
  va >>>= 0;
  h.reservation = -1;
  if ((va & (size - 1)) !== 0) {
    const pas: number[] = [];
    for (let k = 0; k < size; k++) pas.push(guestTranslate(h, (va + k) >>> 0, ACCESS_STORE, priv, false));
    h.syncProgress();
    for (let k = 0; k < size; k++)
      if (!h.bus.write(pas[k], 1, (v >>> (8 * k)) & 0xff)) h.raise(CAUSE_STORE_ACCESS, (va + k) >>> 0);
  } else {
    const pa = guestTranslate(h, va, ACCESS_STORE, priv, false);
    h.syncProgress();
    if (!h.bus.write(pa, size, size === 4 ? v : v & (size === 2 ? 0xffff : 0xff)))
      h.raise(CAUSE_STORE_ACCESS, va);
  }
  x.hlsv = false;
}
