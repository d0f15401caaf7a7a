/**
 * virtio-balloon (virtio 1.2 §5.5): how a domain gives RAM back to the host and takes it again.
 *
 *   config   +0 num_pages (le32, device → driver): how many 4 KiB pages the host wants the balloon
 *            to hold; +4 actual (le32, driver → device): how many it holds now
 *   inflateq (0)  chains of le32 page numbers (gpa >> 12) the driver has taken out of use: each is
 *                 checked, removed from the P2M and its host frame goes back to the free pool
 *   deflateq (1)  page numbers the driver wants back: each gets a fresh zeroed host frame (up to the
 *                 domain's maxmem) before the chain is used, so with MUST_TELL_HOST the guest never
 *                 touches a page that is not there; when the host is out of frames the chain waits
 *                 (poll retries it) instead of failing
 *   statsq (2)    VIRTIO_BALLOON_F_STATS_VQ: the driver keeps one buffer of { le16 tag, le64 val }
 *                 there; the device returns it (requestStats) to ask for fresh figures, which arrive
 *                 when the driver makes it available again
 *
 * What a page number may be is the host's call (BalloonHost.check): the domain's RAM, mapped, and none
 * of the pages the hypervisor itself relies on (a pinned PV page table, the store ring). A page that
 * fails the check is skipped and counted (`refused`), never removed; the rest of the chain goes on.
 * The chain is malformed (a device error) only when its length is not a whole number of page numbers
 * or it is not in the domain's RAM.
 */
import type { AccessSize } from "../../machine/bus.js";
import { DeviceStateError, stateInt, stateInts } from "../../machine/devices/snapshot.js";
import {
  featureBits,
  hasFeature,
  VIRTIO_ID_BALLOON,
  type VirtioDevice,
  VirtioError,
  type VirtioTransport,
} from "./device.js";
import type { Chain } from "./queue.js";

export const VIRTIO_BALLOON_F_MUST_TELL_HOST = 0;
export const VIRTIO_BALLOON_F_STATS_VQ = 1;
export const BALLOON_INFLATEQ = 0;
export const BALLOON_DEFLATEQ = 1;
export const BALLOON_STATSQ = 2;
export const BALLOON_QUEUE_SIZE = 64;
/** The balloon's page size, whatever the guest's (§5.5.6). */
export const BALLOON_PAGE = 4096;

/** Statistics tags (§5.5.6.3). */
export const BALLOON_STAT_TAGS: Record<number, string> = {
  0: "swap-in",
  1: "swap-out",
  2: "major-faults",
  3: "minor-faults",
  4: "free",
  5: "total",
  6: "available",
  7: "caches",
  8: "hugetlb-allocations",
  9: "hugetlb-failures",
};
const STAT_SIZE = 10;

/** What the balloon asks of the hypervisor, for one domain. */
export interface BalloonHost {
  /** Why page number `pfn` may not be ballooned out, or undefined when it may. */
  check(pfn: number): string | undefined;
  /** Removes these (checked) pages from the P2M and frees their host frames. */
  remove(pfns: readonly number[]): void;
  /** Whether `pfn` is one the balloon may give back (in the domain's RAM span, not mapped). */
  absent(pfn: number): boolean;
  /** Frames the domain may still take before its maxmem, and the host can give. */
  room(): number;
  /** Backs these pages with fresh zeroed frames again. */
  addBack(pfns: readonly number[]): void;
}

export interface BalloonStats {
  /** Pages taken out by inflate / given back by deflate, since creation. */
  inflated: number;
  deflated: number;
  /** Page numbers the host refused to remove (and why, the last one). */
  refused: number;
  lastRefusal?: string;
  /** The guest's last statistics (tag name → value, bytes for memory figures), and when they came. */
  guest: Record<string, number>;
  guestUpdates: number;
}

/**
 * The balloon's own state for save/restore: the target and the driver's count, the pages it holds
 * (holes in the domain's P2M, which the memory section leaves out), the chains it holds across the
 * save (the statistics buffer, a deflate waiting for frames) by head, and its counters.
 */
export interface BalloonState {
  numPages: number;
  actualPages: number;
  held: number[];
  statsHead: number | null;
  waitingHead: number | null;
  stats: BalloonStats;
}

export class VirtioBalloon implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_BALLOON;
  readonly name = "virtio-balloon";
  readonly features = featureBits(VIRTIO_BALLOON_F_MUST_TELL_HOST, VIRTIO_BALLOON_F_STATS_VQ);
  readonly queueSizes = [BALLOON_QUEUE_SIZE, BALLOON_QUEUE_SIZE, BALLOON_QUEUE_SIZE];
  readonly stats: BalloonStats = { inflated: 0, deflated: 0, refused: 0, guest: {}, guestUpdates: 0 };
  /** The pages the balloon holds now (as the host counts them: removed from the P2M). */
  private readonly held = new Set<number>();
  private numPages = 0;
  private actualPages = 0;
  private transport: VirtioTransport | undefined;
  /** The statistics buffer the device holds between two requests. */
  private statsChain: Chain | undefined;
  /** A deflate chain waiting for frames. */
  private waiting: Chain | undefined;

  constructor(private readonly host: BalloonHost) {}

  /** The pages the host wants the balloon to hold (config num_pages). */
  get target(): number {
    return this.numPages;
  }

  /** The pages the driver says it holds (config actual). */
  get actual(): number {
    return this.actualPages;
  }

  /** Pages removed from the domain by this balloon and not given back. */
  get heldPages(): number {
    return this.held.size;
  }

  /** Whether the driver has the device live (else a target stays unanswered). */
  get live(): boolean {
    return this.transport?.live ?? false;
  }

  /** Asks the driver to hold `pages` pages: config num_pages, and a configuration-change interrupt. */
  setTarget(pages: number): void {
    if (!Number.isInteger(pages) || pages < 0) throw new RangeError(`balloon target ${pages}`);
    if (pages === this.numPages) return;
    this.numPages = pages;
    this.transport?.configChanged();
  }

  /** Returns the statistics buffer to the driver, which refills it with fresh figures. */
  requestStats(): boolean {
    const t = this.transport;
    const q = t?.queue(BALLOON_STATSQ);
    const c = this.statsChain;
    if (t === undefined || q === undefined || c === undefined || !t.live) return false;
    this.statsChain = undefined;
    q.push(c.head, 0);
    t.usedBuffers(q);
    return true;
  }

  readConfig(offset: number, size: AccessSize): number {
    const bytes = new Uint8Array(8);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, this.numPages, true);
    view.setUint32(4, this.actualPages, true);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (offset + i < 8 ? bytes[offset + i] : 0);
    return v >>> 0;
  }

  writeConfig(offset: number, size: AccessSize, value: number): void {
    if (offset === 4 && size === 4) this.actualPages = value >>> 0;
  }

  activate(transport: VirtioTransport): void {
    this.transport = transport;
  }

  reset(): void {
    // The pages stay with the host: a driver that resets and comes back starts with an empty balloon
    // as far as it knows, so they would be lost to the guest. Give them back (Linux's driver does the
    // same by deflating everything on removal; here the host does it, so a crash loses nothing).
    this.transport = undefined;
    this.statsChain = undefined;
    this.waiting = undefined;
    this.actualPages = 0;
    if (this.held.size > 0 && this.host.room() >= this.held.size) {
      const pfns = [...this.held];
      this.host.addBack(pfns);
      this.held.clear();
      this.stats.deflated += pfns.length;
    }
  }

  notify(queue: number): void {
    if (queue === BALLOON_INFLATEQ) this.inflate();
    else if (queue === BALLOON_DEFLATEQ) this.deflate();
    else if (queue === BALLOON_STATSQ) this.takeStats();
  }

  poll(): void {
    if (this.waiting !== undefined) this.deflate();
  }

  private pfnsOf(c: Chain, what: string): number[] {
    if (c.readableLength % 4 !== 0)
      throw new VirtioError(`${what} chain ${c.head}: ${c.readableLength} bytes is not a list of le32`);
    const bytes = c.read(0, c.readableLength);
    if (bytes === undefined) throw new VirtioError(`${what} chain ${c.head} is not in the domain's RAM`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(i * 4, true));
  }

  private inflate(): void {
    const t = this.transport;
    const q = t?.queue(BALLOON_INFLATEQ);
    if (t === undefined || q === undefined) return;
    let used = false;
    for (let c = q.pop(); c !== undefined; c = q.pop()) {
      const ok: number[] = [];
      const seen = new Set<number>();
      for (const pfn of this.pfnsOf(c, "inflate")) {
        const why = seen.has(pfn)
          ? "listed twice"
          : this.held.has(pfn)
            ? "already ballooned"
            : this.host.check(pfn);
        if (why !== undefined) {
          this.stats.refused++;
          this.stats.lastRefusal = `page 0x${pfn.toString(16)}: ${why}`;
          continue;
        }
        seen.add(pfn);
        ok.push(pfn);
      }
      this.host.remove(ok);
      for (const pfn of ok) this.held.add(pfn);
      this.stats.inflated += ok.length;
      q.push(c.head, 0);
      used = true;
    }
    if (used) t.usedBuffers(q);
  }

  private deflate(): void {
    const t = this.transport;
    const q = t?.queue(BALLOON_DEFLATEQ);
    if (t === undefined || q === undefined || !t.live) return;
    let used = false;
    for (;;) {
      const c = this.waiting ?? q.pop();
      if (c === undefined) break;
      // Only pages this balloon took (a guest cannot conjure RAM it never had, nor a second frame).
      const pfns = [...new Set(this.pfnsOf(c, "deflate"))].filter(
        (p) => this.held.has(p) && this.host.absent(p),
      );
      if (pfns.length > this.host.room()) {
        this.waiting = c; // the guest keeps waiting for this chain; frames may come back (poll)
        break;
      }
      this.waiting = undefined;
      this.host.addBack(pfns);
      for (const pfn of pfns) this.held.delete(pfn);
      this.stats.deflated += pfns.length;
      q.push(c.head, 0);
      used = true;
    }
    if (used) t.usedBuffers(q);
  }

  private takeStats(): void {
    const t = this.transport;
    const q = t?.queue(BALLOON_STATSQ);
    if (t === undefined || q === undefined) return;
    let used = false;
    for (let c = q.pop(); c !== undefined; c = q.pop()) {
      if (this.statsChain !== undefined) {
        q.push(this.statsChain.head, 0); // only the latest is kept
        used = true;
      }
      this.statsChain = c;
      const n = Math.floor(Math.min(c.readableLength, 64 * STAT_SIZE) / STAT_SIZE);
      const bytes = c.read(0, n * STAT_SIZE);
      if (bytes === undefined) throw new VirtioError(`stats chain ${c.head} is not in the domain's RAM`);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const guest: Record<string, number> = {};
      for (let i = 0; i < n; i++) {
        const tag = view.getUint16(i * STAT_SIZE, true);
        const value = Number(view.getBigUint64(i * STAT_SIZE + 2, true));
        guest[BALLOON_STAT_TAGS[tag] ?? `tag-${tag}`] = value;
      }
      this.stats.guest = guest;
      this.stats.guestUpdates++;
    }
    if (used) t.usedBuffers(q);
  }

  saveState(): BalloonState {
    return {
      numPages: this.numPages,
      actualPages: this.actualPages,
      held: [...this.held].sort((a, b) => a - b),
      statsHead: this.statsChain?.head ?? null,
      waitingHead: this.waiting?.head ?? null,
      stats: { ...this.stats, guest: { ...this.stats.guest } },
    };
  }

  /**
   * Takes back saveState's value, once the transport is restored (and activated if it was live).
   * Every held page must be a hole of the domain's P2M (the host's `absent`), and a held chain needs
   * its queue ready.
   */
  restoreState(state: unknown): void {
    if (typeof state !== "object" || state === null) throw new DeviceStateError("not an object");
    const s = state as BalloonState;
    const numPages = stateInt("numPages", s.numPages, 0, 0xffff_ffff);
    const actualPages = stateInt("actualPages", s.actualPages, 0, 0xffff_ffff);
    const held = stateInts("held", s.held, { atMost: 0x8_0000 }, 0xffff_ffff);
    for (const [i, pfn] of held.entries()) {
      if (i > 0 && pfn <= held[i - 1]) throw new DeviceStateError(`held[${i}]: not ascending`);
      if (!this.host.absent(pfn))
        throw new DeviceStateError(
          `held[${i}]: page 0x${pfn.toString(16)} is not a hole of the domain's RAM`,
        );
    }
    const chain = (field: string, head: unknown, queue: number): Chain | undefined => {
      if (head === null) return undefined;
      const q = this.transport?.queue(queue);
      if (q === undefined) throw new DeviceStateError(`${field}: a held chain, but its queue is not live`);
      return q.chainAt(stateInt(field, head, 0, BALLOON_QUEUE_SIZE - 1));
    };
    const statsChain = chain("statsHead", s.statsHead, BALLOON_STATSQ);
    const waiting = chain("waitingHead", s.waitingHead, BALLOON_DEFLATEQ);
    const st = s.stats;
    if (typeof st !== "object" || st === null) throw new DeviceStateError("stats: not an object");
    const count = (f: keyof BalloonStats) => stateInt(`stats.${f}`, st[f], 0, Number.MAX_SAFE_INTEGER);
    const stats: BalloonStats = {
      inflated: count("inflated"),
      deflated: count("deflated"),
      refused: count("refused"),
      guest: {},
      guestUpdates: count("guestUpdates"),
    };
    if (st.lastRefusal !== undefined) {
      if (typeof st.lastRefusal !== "string") throw new DeviceStateError("stats.lastRefusal: not a string");
      stats.lastRefusal = st.lastRefusal;
    }
    if (typeof st.guest !== "object" || st.guest === null)
      throw new DeviceStateError("stats.guest: not an object");
    for (const [k, v] of Object.entries(st.guest))
      stats.guest[k] = stateInt(`stats.guest.${k}`, v, 0, Number.MAX_SAFE_INTEGER);
    this.numPages = numPages;
    this.actualPages = actualPages;
    this.held.clear();
    for (const pfn of held) this.held.add(pfn);
    this.statsChain = statsChain;
    this.waiting = waiting;
    Object.assign(this.stats, stats);
    if (stats.lastRefusal === undefined) delete this.stats.lastRefusal;
  }

  /** Whether the negotiated features include the statistics queue. */
  get hasStats(): boolean {
    const t = this.transport;
    return t !== undefined && hasFeature(t.features, VIRTIO_BALLOON_F_STATS_VQ);
  }
}
