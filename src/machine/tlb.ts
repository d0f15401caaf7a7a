/**
 * The software TLB's banks: one per recently used translation context, so that going back to a context
 * (a trap and its return, a switch between virtual machines) finds its translations still there.
 *
 * A context is everything a translation depends on besides page-table memory, reduced to four numbers:
 *
 *   mode    how fetches and data accesses translate (each: none, U, S, VU or VS — data may differ from
 *           fetch under mstatus.MPRV), and the status bits that matter for those: SUM and MXR of
 *           mstatus, SUM and MXR of vsstatus
 *   satp    when some access translates with V = 0 (else 0)
 *   vsatp   when some access translates with V = 1 (else 0)
 *   hgatp   likewise; it holds the VMID
 *
 * An entry is used only under exactly the context it was filled in, so a change of satp, vsatp, hgatp,
 * privilege or V needs no flush: the hart just selects another bank (the least recently used one is
 * emptied and retagged when no bank holds the context). This is stricter than the privileged spec's
 * tagging (by ASID and VMID), so every staleness the banks allow is one the spec allows too: the only
 * thing that can make an entry stale is a store to page-table memory, and the fences flush a superset of
 * what they order —
 *
 *   SFENCE.VMA with V = 0          every bank where some access translates with V = 0 (any satp, any ASID)
 *   SFENCE.VMA with V = 1,         every bank where some access translates with V = 1 under the current
 *     HFENCE.VVMA                    hgatp.VMID (any vsatp, any ASID)
 *   HFENCE.GVMA                    every bank with V = 1 under that VMID (or under any), whatever the
 *                                    guest-physical address: the spec's note allows it, and a combined
 *                                    entry does not record the G-stage page (or megapage) it came through
 *
 * Within a bank the layout is the hart's: three direct-mapped arrays (fetch, load, store) of TLB_ENTRIES
 * each, back to back. Swapping banks swaps which arrays the hart's fast path reads (hart.tlbTag/tlbOff),
 * so the fast path costs what it did with one bank.
 */
import type { Hart } from "./hart.js";
import {
  HGATP_VMID_MASK,
  HGATP_VMID_SHIFT,
  MSTATUS_MPP,
  MSTATUS_MPP_SHIFT,
  MSTATUS_MPRV,
  MSTATUS_MXR,
  MSTATUS_SUM,
  MSTATUSH_MPV,
  PRIV_M,
  PRIV_S,
  SATP_MODE_SV32,
} from "./isa/csr-defs.js";
import { TLB_BANKS, TLB_ENTRIES } from "./params.js";

/** How one kind of access (fetch, or data) translates: a part of the mode word. */
export const PART_NONE = 0; // M-mode, or satp Bare: physical = virtual
export const PART_U = 1;
export const PART_S = 2;
export const PART_VU = 3;
export const PART_VS = 4;

/** Mode word: fetch part (bits 0–2), data part (3–5), then the status bits that matter. */
export const MODE_SUM = 1 << 6;
export const MODE_MXR = 1 << 7;
export const MODE_VSUM = 1 << 8;
export const MODE_VMXR = 1 << 9;

const STORE = 2 * TLB_ENTRIES;

export class TlbBank {
  /** Virtual page number per slot (−1: empty). */
  readonly tag = new Int32Array(3 * TLB_ENTRIES).fill(-1);
  /** RAM byte offset of the frame per slot. */
  readonly off = new Int32Array(3 * TLB_ENTRIES);
  /** The context (−1: none yet). */
  mode = -1;
  satp = 0;
  vsatp = 0;
  hgatp = 0;
  /** Some access translates with V = 0 through satp. */
  hs = false;
  /** Some access translates with V = 1; then `vmid` is hgatp's VMID (else −1). */
  guest = false;
  vmid = -1;
  /** When it was last selected (for LRU). */
  used = 0;
  /**
   * The 4 MiB regions (vpn >>> 10) holding entries made from a megapage leaf, and how many: a fence of
   * one address in such a region concerns the whole megapage, every 4 KiB entry of it.
   */
  private readonly megaRegion = new Uint8Array(1024);
  private megas = 0;

  flush(): void {
    this.tag.fill(-1);
    if (this.megas !== 0) {
      this.megaRegion.fill(0);
      this.megas = 0;
    }
  }

  /** Notes that the entry for `vpn` came from a megapage. */
  markMega(vpn: number): void {
    const r = vpn >>> 10;
    if (this.megaRegion[r] === 0) {
      this.megaRegion[r] = 1;
      this.megas++;
    }
  }

  flushPage(vpn: number): void {
    if (this.megas !== 0 && this.megaRegion[vpn >>> 10] !== 0) {
      this.flush(); // the whole bank: simpler than finding the megapage's entries, and as rare
      return;
    }
    const i = vpn & (TLB_ENTRIES - 1);
    const t = this.tag;
    if (t[i] === vpn) t[i] = -1;
    if (t[i + TLB_ENTRIES] === vpn) t[i + TLB_ENTRIES] = -1;
    if (t[i + STORE] === vpn) t[i + STORE] = -1;
  }
}

export class Tlb {
  readonly banks: TlbBank[] = Array.from({ length: TLB_BANKS }, () => new TlbBank());
  current: TlbBank = this.banks[0];
  private clock = 0;
  /** Contexts that found no bank (a bank was emptied for them): a benchmark figure. */
  evictions = 0;

  /**
   * Makes the bank of context (mode, satp, vsatp, hgatp) current — the one that holds it, or the least
   * recently used one, emptied — and returns it. The caller zeroes the registers the mode does not use.
   */
  select(mode: number, satp: number, vsatp: number, hgatp: number): TlbBank {
    const c = this.current;
    if (c.mode === mode && c.satp === satp && c.vsatp === vsatp && c.hgatp === hgatp) return c;
    let victim = this.banks[0];
    for (const b of this.banks) {
      if (b.mode === mode && b.satp === satp && b.vsatp === vsatp && b.hgatp === hgatp) {
        b.used = ++this.clock;
        this.current = b;
        return b;
      }
      if (b.used < victim.used) victim = b;
    }
    if (victim.mode !== -1) this.evictions++;
    victim.flush();
    victim.mode = mode;
    victim.satp = satp;
    victim.vsatp = vsatp;
    victim.hgatp = hgatp;
    const fetch = mode & 7;
    const data = (mode >>> 3) & 7;
    victim.hs = fetch === PART_U || fetch === PART_S || data === PART_U || data === PART_S;
    victim.guest = fetch >= PART_VU || data >= PART_VU;
    victim.vmid = victim.guest ? (hgatp >>> HGATP_VMID_SHIFT) & HGATP_VMID_MASK : -1;
    victim.used = ++this.clock;
    this.current = victim;
    return victim;
  }

  /** Empties every bank (they keep their contexts). */
  flushAll(): void {
    for (const b of this.banks) b.flush();
  }

  /** SFENCE.VMA with V = 0: the banks that translate through satp; one page of them, or (vpn −1) all. */
  flushHs(vpn: number): void {
    for (const b of this.banks) if (b.hs) this.flushBank(b, vpn);
  }

  /**
   * The two-stage entries of virtual machine `vmid` (−1: of every one); one guest page (vpn) or all (−1).
   * SFENCE.VMA with V = 1, HFENCE.VVMA and HFENCE.GVMA.
   */
  flushGuest(vmid: number, vpn: number): void {
    for (const b of this.banks) if (b.guest && (vmid === -1 || b.vmid === vmid)) this.flushBank(b, vpn);
  }

  /** Store entries of every bank (a frame became watched, or the dirty log was taken). */
  flushStores(): void {
    for (const b of this.banks) b.tag.fill(-1, STORE, STORE + TLB_ENTRIES);
  }

  private flushBank(b: TlbBank, vpn: number): void {
    if (vpn === -1) b.flush();
    else b.flushPage(vpn);
  }
}

/**
 * Makes the bank of `h`'s current translation context current in its TLB and returns it. The context
 * names how fetches and (under MPRV) data accesses translate, and only the registers those read.
 */
export function selectBank(h: Hart): TlbBank {
  const s = h.mstatus;
  const x = h.hx;
  const fetch = part(h, h.priv, h.virt);
  let data = fetch;
  if (h.priv === PRIV_M && (s & MSTATUS_MPRV) !== 0) {
    const mpp = (s & MSTATUS_MPP) >>> MSTATUS_MPP_SHIFT;
    data = part(h, mpp, mpp !== PRIV_M && x !== undefined && (x.mstatush & MSTATUSH_MPV) !== 0);
  }
  let mode = fetch | (data << 3);
  let satp = 0;
  let vsatp = 0;
  let hgatp = 0;
  if (fetch === PART_U || fetch === PART_S || data === PART_U || data === PART_S) {
    satp = h.satp;
    if ((s & MSTATUS_MXR) !== 0) mode |= MODE_MXR;
    if ((fetch === PART_S || data === PART_S) && (s & MSTATUS_SUM) !== 0) mode |= MODE_SUM;
  }
  if (x !== undefined && (fetch >= PART_VU || data >= PART_VU)) {
    vsatp = x.vsatp;
    hgatp = x.hgatp;
    if ((s & MSTATUS_MXR) !== 0) mode |= MODE_MXR; // the G-stage's MXR
    if ((x.vsstatus & MSTATUS_MXR) !== 0) mode |= MODE_VMXR;
    if ((fetch === PART_VS || data === PART_VS) && (x.vsstatus & MSTATUS_SUM) !== 0) mode |= MODE_VSUM;
  }
  return h.tlb.select(mode, satp, vsatp, hgatp);
}

/** How accesses at privilege `priv` with V = `virt` translate on `h`. */
function part(h: Hart, priv: number, virt: boolean): number {
  if (virt) return priv === PRIV_S ? PART_VS : PART_VU;
  if (priv === PRIV_M || (h.satp & SATP_MODE_SV32) === 0) return PART_NONE;
  return priv === PRIV_S ? PART_S : PART_U;
}
