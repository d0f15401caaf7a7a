/**
 * The contract between a virtio device model (blk.ts, console.ts, a network device) and its transport
 * (mmio.ts), as the virtio 1.2 specification splits them: the transport owns the registers, feature
 * negotiation, the status field, the virtqueues' addresses and the interrupt line; a device owns its
 * configuration space and what it does with the buffers the driver makes available.
 *
 *   driver (guest)          transport: VirtioMmio                  device: VirtioDevice
 *   ──────────────          ─────────────────────                  ────────────────────
 *   status ← 0              reset queues, features, interrupt ──▶  reset()
 *   ACKNOWLEDGE, DRIVER
 *   features ⊆ offered      checks them on FEATURES_OK: VERSION_1 required, nothing not offered
 *   FEATURES_OK, queues     QueueNum/Desc/Driver/Device/Ready, checked (alignment, RAM, size)
 *   DRIVER_OK               ─────────────────────────────────────▶  activate(transport)
 *   QueueNotify ← i         ─────────────────────────────────────▶  notify(i): pop chains, do the work,
 *                           ◀────────── usedBuffers(q) ────────────  push them used
 *   interrupt (IRQ 1+slot)  InterruptStatus bit 0 (used buffers), bit 1 (config change), level line
 *   InterruptACK            clears bits; the line drops at 0
 *
 * A device runs inside the MMIO exit that notified it (synchronously: deterministic under icount), or
 * from `poll()` for work that starts on the host side (console input, a received packet), which the
 * hypervisor calls on every exit and while pCPUs idle.
 *
 * Errors. A device throws `VirtioError` for anything only a reset can recover from (a malformed ring,
 * a chain it cannot complete): the transport catches it, sets DEVICE_NEEDS_RESET, raises a
 * configuration-change interrupt, and stops passing notifications until the driver resets the device.
 * A request the device can complete with an error status (a data buffer outside the domain's RAM, a
 * read-only disk) is completed that way instead. Nothing a guest writes makes the host throw.
 */
import type { AccessSize } from "../../machine/bus.js";
import type { GuestMemory } from "../memory/guest-memory.js";
import type { Virtqueue } from "./queue.js";

/** Device IDs (virtio 1.2 §5). */
export const VIRTIO_ID_NET = 1;
export const VIRTIO_ID_BLOCK = 2;
export const VIRTIO_ID_CONSOLE = 3;
export const VIRTIO_ID_BALLOON = 5;

/** Device-independent feature bits (§6). Feature sets are bigints: bit n is 1n << BigInt(n). */
export const VIRTIO_F_INDIRECT_DESC = 28;
export const VIRTIO_F_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;

/** The feature set with these bits. */
export const featureBits = (...bits: number[]): bigint => bits.reduce((s, b) => s | (1n << BigInt(b)), 0n);
/** Whether `set` has feature `bit`. */
export const hasFeature = (set: bigint, bit: number): boolean => ((set >> BigInt(bit)) & 1n) === 1n;

/** Thrown by a device (or a virtqueue) for an error only a device reset recovers from. */
export class VirtioError extends Error {
  override name = "VirtioError";
}

/** A device type: what the transport asks of it. */
export interface VirtioDevice {
  /** The DeviceID register (VIRTIO_ID_*). */
  readonly deviceId: number;
  /** For messages and the device tree's comments: "virtio-blk", "virtio-console". */
  readonly name: string;
  /** Device-type feature bits offered; the transport adds VERSION_1 and INDIRECT_DESC. */
  readonly features: bigint;
  /** QueueNumMax of each virtqueue (a power of 2, at most 32768); the length is the number of queues. */
  readonly queueSizes: readonly number[];
  /** The device configuration space at 0x100 (little-endian). Reads past its end read 0. */
  readConfig(offset: number, size: AccessSize): number;
  /** Driver writes to the configuration space (most devices ignore them). */
  writeConfig(offset: number, size: AccessSize, value: number): void;
  /** The driver set DRIVER_OK: features are negotiated and the queues it enabled are live. */
  activate(transport: VirtioTransport): void;
  /** The driver wrote `queue` to QueueNotify (only while live). May throw VirtioError. */
  notify(queue: number): void;
  /** Work that starts on the host side (input to deliver). Called often: cheap when there is none. */
  poll?(): void;
  /** The device is reset (status 0, or the domain ends): forget the transport's queues. */
  reset(): void;
  /** The domain is gone: release host resources (files). */
  close?(): void;
  /**
   * Its own state beyond the transport's, as plain data, for save/restore. A device without it
   * cannot be saved (the domain's save is refused, naming it).
   */
  saveState?(): unknown;
  /**
   * Takes back saveState's value, after the transport has put its queues back and activated it (if
   * the driver had). Throws DeviceStateError naming a bad field, or VirtioError for a held chain that
   * no longer walks.
   */
  restoreState?(state: unknown): void;
}

/** What a device sees of its transport once activated. */
export interface VirtioTransport {
  /** The domain's memory: every buffer access goes through it (and so through the domain's P2M). */
  readonly mem: GuestMemory;
  /** The negotiated feature set. */
  readonly features: bigint;
  /** Whether DRIVER_OK is set and DEVICE_NEEDS_RESET is not: the device may use its queues. */
  readonly live: boolean;
  /** Virtqueue `index` if the driver enabled it (QueueReady), else undefined. */
  queue(index: number): Virtqueue | undefined;
  /** Chains were pushed used on `q`: interrupt the driver unless it asked not to be. */
  usedBuffers(q: Virtqueue): void;
  /** The configuration space changed: ConfigGeneration moves on and the driver is interrupted. */
  configChanged(): void;
  /** An error only a reset recovers from (the same as throwing VirtioError from notify). */
  fail(why: string): void;
}
