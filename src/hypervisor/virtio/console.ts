/**
 * virtio-console (virtio 1.2 §5.3) with one port and no MULTIPORT: queue 0 is port 0's receiveq (host
 * → guest), queue 1 its transmitq (guest → host). It is a console of its own — the guest's `hvc0` —
 * on its own ConsoleBackend, beside the UART/SBI console the domain boots with.
 *
 *   transmitq: each chain's device-readable bytes go to the backend; used with length 0
 *   receiveq:  the driver keeps device-writable buffers there; host input fills them as it arrives
 *              (on the notification that adds buffers, and on every poll), used with the bytes written
 *   config:    +0 cols, +2 rows (0: no VIRTIO_CONSOLE_F_SIZE), +4 max_nr_ports (1), +8 emerg_wr
 *
 * EMERG_WRITE is offered: a byte written to emerg_wr goes out at once, without a queue. Input is taken
 * from the backend only when a receive buffer is there for it, so none is lost. A transmit chain of more
 * than 64 KiB, or a buffer outside the domain's RAM, is a device error (DEVICE_NEEDS_RESET).
 */
import type { AccessSize } from "../../machine/bus.js";
import type { ConsoleBackend } from "../../machine/devices/console.js";
import { stateInts } from "../../machine/devices/snapshot.js";
import {
  featureBits,
  VIRTIO_ID_CONSOLE,
  type VirtioDevice,
  VirtioError,
  type VirtioTransport,
} from "./device.js";

export const VIRTIO_CONSOLE_F_SIZE = 0;
export const VIRTIO_CONSOLE_F_MULTIPORT = 1;
export const VIRTIO_CONSOLE_F_EMERG_WRITE = 2;
export const CONSOLE_RECEIVEQ = 0;
export const CONSOLE_TRANSMITQ = 1;
export const CONSOLE_QUEUE_SIZE = 64;
/** The most bytes one transmit chain may carry. */
export const CONSOLE_MAX_TX = 64 * 1024;
const EMERG_WR = 8;

export interface ConsoleStats {
  bytesOut: number;
  bytesIn: number;
}

export class VirtioConsole implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_CONSOLE;
  readonly name = "virtio-console";
  readonly features = featureBits(VIRTIO_CONSOLE_F_EMERG_WRITE);
  readonly queueSizes = [CONSOLE_QUEUE_SIZE, CONSOLE_QUEUE_SIZE];
  readonly stats: ConsoleStats = { bytesOut: 0, bytesIn: 0 };
  private transport: VirtioTransport | undefined;
  /** Input taken from the backend that no receive buffer has taken yet. */
  private pending: number[] = [];

  constructor(readonly backend: ConsoleBackend) {}

  readConfig(offset: number, size: AccessSize): number {
    // cols = rows = 0, max_nr_ports = 1 (le32 at 4), emerg_wr reads 0.
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (offset + i === 4 ? 1 : 0);
    return v >>> 0;
  }

  writeConfig(offset: number, _size: AccessSize, value: number): void {
    if (offset === EMERG_WR) {
      this.backend.write(value & 0xff);
      this.stats.bytesOut++;
    }
  }

  activate(transport: VirtioTransport): void {
    this.transport = transport;
  }

  reset(): void {
    this.transport = undefined;
  }

  /** Input taken from the backend that no receive buffer had taken yet. */
  saveState(): { pending: number[] } {
    return { pending: [...this.pending] };
  }

  restoreState(state: unknown): void {
    const s = state as { pending?: unknown } | null;
    this.pending = stateInts("pending", s?.pending, { atMost: 1 << 20 }, 0xff);
  }

  notify(queue: number): void {
    if (queue === CONSOLE_TRANSMITQ) this.transmit();
    else if (queue === CONSOLE_RECEIVEQ) this.receive();
  }

  poll(): void {
    this.receive();
  }

  private transmit(): void {
    const t = this.transport;
    const q = t?.queue(CONSOLE_TRANSMITQ);
    if (t === undefined || q === undefined) return;
    let used = false;
    for (let c = q.pop(); c !== undefined; c = q.pop()) {
      if (c.readableLength > CONSOLE_MAX_TX)
        throw new VirtioError(
          `transmit chain ${c.head} of ${c.readableLength} bytes (at most ${CONSOLE_MAX_TX})`,
        );
      const bytes = c.read(0, c.readableLength);
      if (bytes === undefined) throw new VirtioError(`transmit chain ${c.head} is not in the domain's RAM`);
      for (const b of bytes) this.backend.write(b);
      this.stats.bytesOut += bytes.length;
      q.push(c.head, 0);
      used = true;
    }
    if (used) t.usedBuffers(q);
  }

  /** Moves waiting input into receive buffers while there are both. */
  private receive(): void {
    const t = this.transport;
    const q = t?.queue(CONSOLE_RECEIVEQ);
    if (t === undefined || q === undefined || !t.live) return;
    let used = false;
    for (;;) {
      if (this.pending.length === 0) {
        const b = this.backend.read();
        if (b < 0) break;
        this.pending.push(b);
      }
      const c = q.pop();
      if (c === undefined) break; // input waits for the driver's next buffer
      const room = Math.min(c.writableLength, CONSOLE_MAX_TX);
      while (this.pending.length < room) {
        const b = this.backend.read();
        if (b < 0) break;
        this.pending.push(b);
      }
      const n = Math.min(room, this.pending.length);
      if (!c.write(0, Uint8Array.from(this.pending.slice(0, n))))
        throw new VirtioError(`receive buffer ${c.head} is not in the domain's RAM`);
      this.pending = this.pending.slice(n);
      this.stats.bytesIn += n;
      q.push(c.head, n);
      used = true;
    }
    if (used) t.usedBuffers(q);
  }
}
