/**
 * virtio-blk (virtio 1.2 §5.2): one request queue over a BlockBackend.
 *
 *   request chain:  device-readable { type: le32, reserved: le32, sector: le64 } [data for OUT]
 *                   device-writable [data for IN / GET_ID] { status: u8 }
 *   types: IN 0 (read), OUT 1 (write), FLUSH 4, GET_ID 8 (20 bytes of serial); anything else UNSUPP
 *   status: OK 0, IOERR 1, UNSUPP 2
 *
 *   config space:   +0 capacity (le64, 512-byte sectors)  +8 size_max  +12 seg_max  +16 geometry (0)
 *                   +20 blk_size (512)
 *
 * Features: SIZE_MAX and SEG_MAX (the limits below), BLK_SIZE, FLUSH, and RO for a read-only disk,
 * whose writes complete with IOERR and write nothing (§5.2.6.2). A request is completed with IOERR,
 * never a host exception, when its sectors are beyond the capacity, its data is not a multiple of 512
 * bytes or larger than the limits, a buffer is not the domain's RAM, data is on the wrong side, or the
 * host's I/O fails. Only a chain whose status byte cannot be written is a device error (NEEDS_RESET).
 * Requests are served synchronously, in the exit of the notification.
 */
import type { AccessSize } from "../../machine/bus.js";
import type { BlockBackend } from "./block-backend.js";
import {
  featureBits,
  VIRTIO_ID_BLOCK,
  type VirtioDevice,
  VirtioError,
  type VirtioTransport,
} from "./device.js";
import type { Chain, Virtqueue } from "./queue.js";

export const VIRTIO_BLK_F_SIZE_MAX = 1;
export const VIRTIO_BLK_F_SEG_MAX = 2;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_BLK_SIZE = 6;
export const VIRTIO_BLK_F_FLUSH = 9;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;

export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

export const SECTOR_SIZE = 512;
/** Queue size offered (QueueNumMax). */
export const BLK_QUEUE_SIZE = 128;
/** The largest data segment (size_max) and the most data segments per request (seg_max). */
export const BLK_SIZE_MAX = 64 * 1024;
export const BLK_SEG_MAX = BLK_QUEUE_SIZE - 2;
/** The most data one request may move: what size_max and seg_max allow. */
export const BLK_MAX_REQUEST = BLK_SIZE_MAX * BLK_SEG_MAX;
const HEADER = 16;
const ID_BYTES = 20;

export interface BlkStats {
  reads: number;
  writes: number;
  flushes: number;
  bytesRead: number;
  bytesWritten: number;
  /** Requests completed with IOERR or UNSUPP. */
  errors: number;
}

export class VirtioBlk implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly name = "virtio-blk";
  readonly features: bigint;
  readonly queueSizes = [BLK_QUEUE_SIZE];
  readonly capacity: number;
  readonly stats: BlkStats = { reads: 0, writes: 0, flushes: 0, bytesRead: 0, bytesWritten: 0, errors: 0 };
  private readonly config = new Uint8Array(24);
  private readonly serial: Uint8Array;
  private transport: VirtioTransport | undefined;

  constructor(
    readonly backend: BlockBackend,
    /** GET_ID's answer (at most 20 bytes are sent): the guest's name for the disk by default. */
    serial = "",
  ) {
    this.features = featureBits(
      VIRTIO_BLK_F_SIZE_MAX,
      VIRTIO_BLK_F_SEG_MAX,
      VIRTIO_BLK_F_BLK_SIZE,
      VIRTIO_BLK_F_FLUSH,
      ...(backend.readOnly ? [VIRTIO_BLK_F_RO] : []),
    );
    this.capacity = Math.floor(backend.size / SECTOR_SIZE);
    const v = new DataView(this.config.buffer);
    v.setUint32(0, this.capacity >>> 0, true);
    v.setUint32(4, Math.floor(this.capacity / 2 ** 32), true);
    v.setUint32(8, BLK_SIZE_MAX, true);
    v.setUint32(12, BLK_SEG_MAX, true);
    v.setUint32(20, SECTOR_SIZE, true);
    this.serial = new TextEncoder().encode(serial).subarray(0, ID_BYTES);
  }

  readConfig(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (this.config[offset + i] ?? 0);
    return v >>> 0;
  }

  writeConfig(): void {} // nothing in the config space is writable without CONFIG_WCE

  activate(transport: VirtioTransport): void {
    this.transport = transport;
  }

  reset(): void {
    this.transport = undefined;
  }

  close(): void {
    this.backend.close();
  }

  /** Nothing beyond the transport: requests complete within the notify that made them available. */
  saveState(): Record<string, never> {
    return {};
  }

  restoreState(): void {}

  notify(queue: number): void {
    const t = this.transport;
    const q = t?.queue(queue);
    if (t === undefined || q === undefined || queue !== 0) return;
    let used = false;
    for (let c = q.pop(); c !== undefined; c = q.pop()) {
      this.serve(q, c);
      used = true;
    }
    if (used) t.usedBuffers(q);
  }

  /** Completes one request: status byte last, the used length counting what was written. */
  private serve(q: Virtqueue, c: Chain): void {
    if (c.writableLength < 1) throw new VirtioError(`request ${c.head}: no device-writable status byte`);
    const dataIn = c.writableLength - 1; // writable bytes before the status byte
    let status: number;
    let written = 0;
    const header = c.read(0, HEADER);
    if (header === undefined) {
      status = VIRTIO_BLK_S_IOERR;
    } else {
      const h = new DataView(header.buffer);
      const type = h.getUint32(0, true);
      const sector = h.getUint32(8, true) + h.getUint32(12, true) * 2 ** 32;
      const dataOut = c.readableLength - HEADER;
      [status, written] = this.request(c, type, sector, dataOut, dataIn);
    }
    if (status !== VIRTIO_BLK_S_OK) this.stats.errors++;
    if (!c.write(c.writableLength - 1, Uint8Array.of(status)))
      throw new VirtioError(`request ${c.head}: the status byte is not in RAM`);
    q.push(c.head, written + 1);
  }

  /** [status, data bytes written to the driver] for one request. */
  private request(c: Chain, type: number, sector: number, dataOut: number, dataIn: number): [number, number] {
    const IOERR: [number, number] = [VIRTIO_BLK_S_IOERR, 0];
    switch (type) {
      case VIRTIO_BLK_T_IN: {
        if (dataOut !== 0 || !this.inRange(sector, dataIn)) return IOERR;
        const data = new Uint8Array(dataIn);
        if (!this.io(() => this.backend.read(sector * SECTOR_SIZE, data))) return IOERR;
        if (!c.write(0, data)) return IOERR;
        this.stats.reads++;
        this.stats.bytesRead += dataIn;
        return [VIRTIO_BLK_S_OK, dataIn];
      }
      case VIRTIO_BLK_T_OUT: {
        if (this.backend.readOnly || dataIn !== 0 || !this.inRange(sector, dataOut)) return IOERR;
        const data = c.read(HEADER, dataOut);
        if (data === undefined) return IOERR;
        if (!this.io(() => this.backend.write(sector * SECTOR_SIZE, data))) return IOERR;
        this.stats.writes++;
        this.stats.bytesWritten += dataOut;
        return [VIRTIO_BLK_S_OK, 0];
      }
      case VIRTIO_BLK_T_FLUSH:
        if (!this.io(() => this.backend.flush())) return IOERR;
        this.stats.flushes++;
        return [VIRTIO_BLK_S_OK, 0];
      case VIRTIO_BLK_T_GET_ID: {
        const id = new Uint8Array(Math.min(dataIn, ID_BYTES));
        id.set(this.serial.subarray(0, id.length));
        if (!c.write(0, id)) return IOERR;
        return [VIRTIO_BLK_S_OK, id.length];
      }
      default:
        return [VIRTIO_BLK_S_UNSUPP, 0];
    }
  }

  /** Whether `bytes` of data at `sector` is a whole number of sectors within the disk and the limits. */
  private inRange(sector: number, bytes: number): boolean {
    return (
      bytes % SECTOR_SIZE === 0 && bytes <= BLK_MAX_REQUEST && sector + bytes / SECTOR_SIZE <= this.capacity
    );
  }

  /** Runs host I/O; false when it failed (the request gets IOERR). */
  private io(fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch {
      return false;
    }
  }
}
