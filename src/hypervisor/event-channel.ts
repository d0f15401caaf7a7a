/**
 * Event channels and shared pages: how a guest and a backend in domain 0 talk without polling, after
 * Xen's event channels and shared ring pages, reduced to what the store ring needs (docs/store-ring.md).
 *
 *   guest ── ecall EVTCHN_SEND(port) ──▶ hypercalls.ts ──▶ channel.send() ──▶ the backend's handler
 *   backend ── channel.notify() ──▶ the port's PLIC source, edge-triggered ──▶ the guest's interrupt
 *
 * The SBI extension EID_RVISOR_EVTCHN is there in every mode — trap, bt, pv and hvm guests all reach
 * it with an ecall from (virtual) S-mode. FID 0, EVTCHN_SEND(a0 = port): SBI_SUCCESS, or
 * SBI_ERR_INVALID_PARAM for a port the domain does not have. A send before a backend is attached is
 * remembered and delivered when it attaches, as Xen's pending bit would be.
 *
 * A SharedPage is one page of the guest's own RAM that a backend reads and writes through the domain's
 * P2M (GuestMemory): never anything the domain does not own, and never a frame a PV guest has pinned
 * as a page table (what the hypervisor writes for a guest must not change a pinned table, as for DBCN).
 *
 * The hypervisor knows nothing of what travels over them: the store's ring protocol lives in
 * control/store/ring-backend.ts.
 */
import { PAGE_SIZE } from "../machine/params.js";
import type { Domain } from "./domain.js";
import { touchesPinned } from "./pv.js";

/** rvisor's event-channel SBI extension ("RVE" in the vendor range, beside the PV extension "RVP"). */
export const EID_RVISOR_EVTCHN = 0x0952_5645;
export const EVTCHN_SEND = 0;

/** The store ring's event channel: its port, and the PLIC source the backend raises. */
export const STORE_RING_PORT = 1;
/** Unused on QEMU virt (virtio 1..8, UART 10, RTC 11, PCIe 32..35). */
export const STORE_RING_IRQ = 16;

export class EventChannel {
  private handler: (() => void) | undefined;
  private pending = false;
  /** Sends the guest made, for statistics and tests. */
  sends = 0;

  constructor(
    readonly port: number,
    readonly irq: number,
    private readonly raise: () => void,
  ) {}

  /** The guest signalled the channel (EVTCHN_SEND). */
  send(): void {
    this.sends++;
    if (this.handler === undefined) this.pending = true;
    else this.handler();
  }

  /** The backend's end: `handler` runs for every send, at once for one made before it attached. */
  attach(handler: () => void): void {
    this.handler = handler;
    if (this.pending) {
      this.pending = false;
      handler();
    }
  }

  detach(): void {
    this.handler = undefined;
  }

  /** Signals the guest: its PLIC source is triggered (edge: several signals may make one interrupt). */
  notify(): void {
    this.raise();
  }
}

export class SharedPage {
  constructor(
    private readonly domain: Domain,
    readonly gpa: number,
  ) {}

  /** `n` bytes at `offset` in the page, or undefined when the page is no longer the domain's RAM. */
  read(offset: number, n: number): Uint8Array | undefined {
    if (offset < 0 || n < 0 || offset + n > PAGE_SIZE) throw new RangeError(`shared page: ${offset}+${n}`);
    return this.domain.mem.read(this.gpa + offset, n);
  }

  /** Writes `bytes` at `offset`; false (nothing written) when the page is not writable for the guest. */
  write(offset: number, bytes: Uint8Array): boolean {
    if (offset < 0 || offset + bytes.length > PAGE_SIZE)
      throw new RangeError(`shared page: ${offset}+${bytes.length}`);
    if (touchesPinned(this.domain, this.gpa + offset, bytes.length)) return false;
    return this.domain.mem.write(this.gpa + offset, bytes);
  }
}

/** A domain's store ring, as the domain builder reserved and announced it. */
export interface StoreRing {
  readonly page: SharedPage;
  readonly channel: EventChannel;
}
