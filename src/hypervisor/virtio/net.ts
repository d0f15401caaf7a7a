/**
 * virtio-net (virtio 1.2 §5.1): a network device on the virtio-mmio transport, connected to a NetBackend
 * (a port of domain 0's virtual switch). Two queues, no control queue:
 *
 *   queue 0 receiveq   the driver posts device-writable buffers; a frame from the backend fills one:
 *                      virtio_net_hdr (12 bytes, all 0 but num_buffers = 1) then the frame
 *   queue 1 transmitq  the driver posts device-readable chains: the same header, then the frame;
 *                      the device sends the frame to the backend and returns the chain (0 bytes written)
 *
 *   struct virtio_net_hdr {            (VIRTIO_F_VERSION_1: num_buffers is always there)
 *     u8 flags; u8 gso_type; le16 hdr_len; le16 gso_size; le16 csum_start; le16 csum_offset;
 *     le16 num_buffers;
 *   }
 *   config space: u8 mac[6] (VIRTIO_NET_F_MAC); nothing else is offered (no STATUS, MQ, MTU)
 *
 * Features: VIRTIO_NET_F_MAC and VERSION_1 (which the transport adds). No checksum offload or GSO is
 * offered, so the header of a transmitted frame carries nothing the device must act on, and a received
 * one says nothing either. Without MRG_RXBUF every receive chain must hold a whole frame: a chain too
 * small for the one at hand is returned with 0 bytes and the frame dropped (counted).
 *
 * Backpressure: a frame offered while the driver has posted no receive buffer is refused (counted as
 * `rxNoBuffer`); the switch port keeps it in its bounded queue and offers it again when the driver
 * notifies the receive queue, and drops what does not fit there. Before DRIVER_OK (or after a reset)
 * frames are dropped here at once (`rxDropped`), so a domain without a driver holds nothing.
 *
 * Hostile drivers: a malformed ring is the transport's VirtioError (DEVICE_NEEDS_RESET); a transmit
 * chain shorter than the header, longer than a frame may be, writable, or outside the domain's RAM is
 * returned unsent and counted (`txErrors`); a receive buffer outside RAM is returned with 0 bytes.
 */
import type { AccessSize } from "../../machine/bus.js";
import { DeviceStateError } from "../../machine/devices/snapshot.js";
import {
  featureBits,
  VIRTIO_ID_NET,
  type VirtioDevice,
  VirtioError,
  type VirtioTransport,
} from "./device.js";
import type { NetBackend, NetFrontend } from "./net-backend.js";

export const VIRTIO_NET_F_MAC = 5;
/** sizeof(struct virtio_net_hdr) with VERSION_1. */
export const VIRTIO_NET_HDR_SIZE = 12;
export const NET_RX_QUEUE = 0;
export const NET_TX_QUEUE = 1;
/** The largest frame either way: 1500 bytes of payload, the 14-byte header, no FCS or VLAN tag. */
export const NET_MAX_FRAME = 1514;
const QUEUE_SIZE = 256;

export interface VirtioNetCounters {
  rxFrames: number;
  rxBytes: number;
  /** Offers refused because the driver had no receive buffer posted (the port queued the frame). */
  rxNoBuffer: number;
  /** Frames dropped here: the device was not live, or the buffer was too small or not RAM. */
  rxDropped: number;
  txFrames: number;
  txBytes: number;
  /** Transmit chains returned unsent: malformed (see the header comment). */
  txErrors: number;
}

/** "00:16:3e:12:34:56" → its six bytes. */
export function macBytes(mac: string): Uint8Array {
  const parts = mac.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p)))
    throw new RangeError(`MAC "${mac}": six two-digit hex groups expected`);
  return Uint8Array.from(parts.map((p) => Number.parseInt(p, 16)));
}

/**
 * The MAC an interface gets when its configuration names none: Xen's OUI 00:16:3e, then the interface's
 * index (0..127) and the domain id's low 16 bits — so domain 1's first interface is 00:16:3e:00:00:01.
 * Deterministic, unlike libxl's random one, so a guest can derive its address from it (10.0.0.1).
 */
export function vifMac(domId: number, index: number): string {
  const bytes = [0x00, 0x16, 0x3e, index & 0x7f, (domId >>> 8) & 0xff, domId & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

export class VirtioNet implements VirtioDevice, NetFrontend {
  readonly deviceId = VIRTIO_ID_NET;
  readonly name = "virtio-net";
  readonly features = featureBits(VIRTIO_NET_F_MAC);
  readonly queueSizes = [QUEUE_SIZE, QUEUE_SIZE] as const;
  readonly counters: VirtioNetCounters = {
    rxFrames: 0,
    rxBytes: 0,
    rxNoBuffer: 0,
    rxDropped: 0,
    txFrames: 0,
    txBytes: 0,
    txErrors: 0,
  };
  readonly mac: Uint8Array;
  private transport: VirtioTransport | undefined;

  constructor(
    mac: string,
    private readonly backend: NetBackend,
  ) {
    this.mac = macBytes(mac);
    backend.connect(this);
  }

  get macText(): string {
    return [...this.mac].map((b) => b.toString(16).padStart(2, "0")).join(":");
  }

  readConfig(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (offset + i < 6 ? this.mac[offset + i] : 0);
    return v >>> 0;
  }

  writeConfig(): void {
    // The MAC is read-only with VERSION_1 (§5.1.4.1: the driver MUST NOT write it).
  }

  activate(transport: VirtioTransport): void {
    this.transport = transport;
    this.backend.rxReady();
  }

  notify(queue: number): void {
    if (queue === NET_TX_QUEUE) this.transmit();
    else if (queue === NET_RX_QUEUE) this.backend.rxReady();
  }

  reset(): void {
    this.transport = undefined;
  }

  /**
   * Nothing beyond the transport and the MAC (the domain's definition gives it again): frames are sent
   * within the notify, received into buffers as they arrive; a restored domain's port is a new one.
   */
  saveState(): { mac: string } {
    return { mac: this.macText };
  }

  restoreState(state: unknown): void {
    const mac = (state as { mac?: unknown } | null)?.mac;
    if (mac !== this.macText)
      throw new DeviceStateError(`mac: the image has ${JSON.stringify(mac)}, the domain ${this.macText}`);
  }

  close(): void {
    this.transport = undefined;
    this.backend.disconnect();
  }

  /** NetFrontend: a frame from the switch for this guest. */
  receive(frame: Uint8Array): boolean {
    const t = this.transport;
    const q = t?.live ? t.queue(NET_RX_QUEUE) : undefined;
    if (t === undefined || q === undefined) {
      this.counters.rxDropped++;
      return true;
    }
    let chain: ReturnType<typeof q.pop>;
    try {
      chain = q.pop();
    } catch (e) {
      if (!(e instanceof VirtioError)) throw e;
      t.fail(e.message);
      this.counters.rxDropped++;
      return true;
    }
    if (chain === undefined) {
      this.counters.rxNoBuffer++;
      return false;
    }
    const buf = new Uint8Array(VIRTIO_NET_HDR_SIZE + frame.length);
    buf[10] = 1; // num_buffers, le16
    buf.set(frame, VIRTIO_NET_HDR_SIZE);
    let written = 0;
    if (frame.length <= NET_MAX_FRAME && chain.write(0, buf)) {
      written = buf.length;
      this.counters.rxFrames++;
      this.counters.rxBytes += frame.length;
    } else {
      this.counters.rxDropped++;
    }
    q.push(chain.head, written);
    t.usedBuffers(q);
    return true;
  }

  /** Sends every chain the driver made available on the transmit queue. */
  private transmit(): void {
    const t = this.transport;
    const q = t?.queue(NET_TX_QUEUE);
    if (t === undefined || q === undefined) return;
    let used = 0;
    for (let chain = q.pop(); chain !== undefined; chain = q.pop()) {
      const len = chain.readableLength - VIRTIO_NET_HDR_SIZE;
      const frame =
        len >= 14 && len <= NET_MAX_FRAME && chain.writable.length === 0
          ? chain.read(VIRTIO_NET_HDR_SIZE, len)
          : undefined;
      q.push(chain.head, 0);
      used++;
      if (frame === undefined) {
        this.counters.txErrors++;
        continue;
      }
      this.counters.txFrames++;
      this.counters.txBytes += frame.length;
      this.backend.send(frame);
    }
    if (used > 0) t.usedBuffers(q);
  }
}
