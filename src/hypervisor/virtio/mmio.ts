/**
 * The virtio-mmio transport, version 2 (virtio 1.2 §4.2.2: no legacy interface), as one MMIO Device
 * in a domain's slot 0x1000_1000 + 0x1000·i with PLIC source 1 + i, as on QEMU `virt`. Every register
 * is a 32-bit little-endian access; the device configuration space from 0x100 takes any natural size.
 *
 *   0x000 MagicValue "virt"     0x030 QueueSel            0x080/0x084 QueueDescLow/High
 *   0x004 Version 2             0x034 QueueNumMax         0x090/0x094 QueueDriverLow/High (avail)
 *   0x008 DeviceID              0x038 QueueNum            0x0a0/0x0a4 QueueDeviceLow/High (used)
 *   0x00c VendorID              0x044 QueueReady          0x0ac SHMSel, 0x0b0.. SHMLen/Base (-1: none)
 *   0x010 DeviceFeatures        0x050 QueueNotify         0x0c0 QueueReset (not offered: reads 0)
 *   0x014 DeviceFeaturesSel     0x060 InterruptStatus     0x0fc ConfigGeneration
 *   0x020 DriverFeatures        0x064 InterruptACK        0x100 device configuration space
 *   0x024 DriverFeaturesSel     0x070 Status
 *
 * Status (§2.1): ACKNOWLEDGE 1, DRIVER 2, DRIVER_OK 4, FEATURES_OK 8, DEVICE_NEEDS_RESET 64, FAILED 128.
 * Writing 0 resets the device. FEATURES_OK sticks only if the driver's features include VERSION_1 and
 * nothing the device did not offer; DRIVER_OK without FEATURES_OK is an error. A queue's registers are
 * ignored while it is ready; QueueReady = 1 checks the setup (power-of-2 size within QueueNumMax,
 * alignment, rings in the domain's RAM) and a bad one is an error. Notifications before DRIVER_OK, or
 * after an error, are ignored (and counted). An error sets DEVICE_NEEDS_RESET, interrupts with the
 * configuration-change bit once DRIVER_OK is set, and the device is quiet until the driver resets it.
 *
 * The interrupt line is level: high while InterruptStatus is non-zero (bit 0 used buffers, bit 1
 * configuration change), low once the driver has acknowledged both.
 */
import type { AccessSize, Device, IrqLine } from "../../machine/bus.js";
import { DeviceStateError, stateInt, stateInts } from "../../machine/devices/snapshot.js";
import type { GuestMemory } from "../memory/guest-memory.js";
import {
  featureBits,
  hasFeature,
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_VERSION_1,
  type VirtioDevice,
  VirtioError,
  type VirtioTransport,
} from "./device.js";
import { checkQueueSetup, Virtqueue, type VirtqueueCursor } from "./queue.js";

export const VIRTIO_MMIO_MAGIC = 0x7472_6976; // "virt", little-endian
export const VIRTIO_MMIO_VERSION = 2;
/** "rvsr", little-endian, as QEMU's VendorID spells "QEMU". */
export const VIRTIO_MMIO_VENDOR = 0x7273_7672;

export const REG_MAGIC = 0x000;
export const REG_VERSION = 0x004;
export const REG_DEVICE_ID = 0x008;
export const REG_VENDOR_ID = 0x00c;
export const REG_DEVICE_FEATURES = 0x010;
export const REG_DEVICE_FEATURES_SEL = 0x014;
export const REG_DRIVER_FEATURES = 0x020;
export const REG_DRIVER_FEATURES_SEL = 0x024;
export const REG_QUEUE_SEL = 0x030;
export const REG_QUEUE_NUM_MAX = 0x034;
export const REG_QUEUE_NUM = 0x038;
export const REG_QUEUE_READY = 0x044;
export const REG_QUEUE_NOTIFY = 0x050;
export const REG_INTERRUPT_STATUS = 0x060;
export const REG_INTERRUPT_ACK = 0x064;
export const REG_STATUS = 0x070;
export const REG_QUEUE_DESC_LOW = 0x080;
export const REG_QUEUE_DESC_HIGH = 0x084;
export const REG_QUEUE_DRIVER_LOW = 0x090;
export const REG_QUEUE_DRIVER_HIGH = 0x094;
export const REG_QUEUE_DEVICE_LOW = 0x0a0;
export const REG_QUEUE_DEVICE_HIGH = 0x0a4;
export const REG_SHM_SEL = 0x0ac;
export const REG_SHM_LEN_LOW = 0x0b0;
export const REG_SHM_LEN_HIGH = 0x0b4;
export const REG_SHM_BASE_LOW = 0x0b8;
export const REG_SHM_BASE_HIGH = 0x0bc;
export const REG_QUEUE_RESET = 0x0c0;
export const REG_CONFIG_GENERATION = 0x0fc;
export const REG_CONFIG = 0x100;
/** The size of one transport's register window (a slot's stride). */
export const VIRTIO_MMIO_SIZE = 0x1000;

export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 64;
export const STATUS_FAILED = 128;

export const INT_USED_BUFFER = 1;
export const INT_CONFIG_CHANGE = 2;

/** Feature bits every device gets from the transport. */
const TRANSPORT_FEATURES = featureBits(VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC);

interface QueueRegs {
  num: number;
  desc: [number, number];
  driver: [number, number];
  device: [number, number];
  ready: Virtqueue | undefined;
}

/** One queue's registers and, once ready, where the device is in its rings. */
export interface VirtioQueueState {
  num: number;
  desc: [number, number];
  driver: [number, number];
  device: [number, number];
  ready: VirtqueueCursor | null;
}

/**
 * A transport's state for save/restore: its registers, its queues, the device's own part (`model`,
 * VirtioDevice.saveState's). Features are [low, high] 32-bit halves.
 */
export interface VirtioMmioState {
  /** The device's name ("virtio-balloon"): a restore puts it back only into the same kind of device. */
  device: string;
  status: number;
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  driverFeatures: [number, number];
  negotiated: [number, number];
  queueSel: number;
  queues: VirtioQueueState[];
  interruptStatus: number;
  generation: number;
  lastError: string | null;
  model: unknown;
}

/** What the transport counts (per device; the domain's `--stats` may print them). */
export interface VirtioMmioStats {
  notifies: number;
  /** Notifications ignored: before DRIVER_OK, after an error, or for a queue that is not ready. */
  ignoredNotifies: number;
  interrupts: number;
  errors: number;
}

export class VirtioMmio implements Device, VirtioTransport {
  readonly offered: bigint;
  readonly stats: VirtioMmioStats = { notifies: 0, ignoredNotifies: 0, interrupts: 0, errors: 0 };
  /** The last error that set DEVICE_NEEDS_RESET (until the next reset). */
  lastError: string | undefined;
  /**
   * Told each time the status register changes (driver writes, a reset, DEVICE_NEEDS_RESET), from
   * inside the exit that changed it: a toolstack mirroring device states (Xen's XenbusState nodes)
   * listens here instead of polling.
   */
  onStatus: ((status: number) => void) | undefined;
  private statusReg = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = [0, 0];
  private negotiated = 0n;
  private queueSel = 0;
  private queues: QueueRegs[];
  private interruptStatus = 0;
  private generation = 0;

  constructor(
    readonly name: string,
    readonly mem: GuestMemory,
    readonly device: VirtioDevice,
    private readonly irq: IrqLine,
  ) {
    this.offered = device.features | TRANSPORT_FEATURES;
    this.queues = device.queueSizes.map(freshQueue);
  }

  // ── VirtioTransport ─────────────────────────────────────────────────────────────────────────

  get features(): bigint {
    return this.negotiated;
  }

  get live(): boolean {
    return (this.status & (STATUS_DRIVER_OK | STATUS_DEVICE_NEEDS_RESET)) === STATUS_DRIVER_OK;
  }

  queue(index: number): Virtqueue | undefined {
    return this.queues[index]?.ready;
  }

  usedBuffers(q: Virtqueue): void {
    let want: boolean;
    try {
      want = q.wantsInterrupt;
    } catch (e) {
      if (!(e instanceof VirtioError)) throw e;
      this.fail(e.message);
      return;
    }
    if (want) this.interrupt(INT_USED_BUFFER);
  }

  configChanged(): void {
    this.generation = (this.generation + 1) >>> 0;
    if ((this.status & STATUS_DRIVER_OK) !== 0) this.interrupt(INT_CONFIG_CHANGE);
  }

  fail(why: string): void {
    if ((this.status & STATUS_DEVICE_NEEDS_RESET) !== 0) return;
    this.stats.errors++;
    this.lastError = why;
    this.status |= STATUS_DEVICE_NEEDS_RESET;
    if ((this.status & STATUS_DRIVER_OK) !== 0) this.interrupt(INT_CONFIG_CHANGE);
  }

  // ── host side ────────────────────────────────────────────────────────────────────────────────

  /** Host-side work of the device (input to deliver), while it is live. */
  poll(): void {
    if (this.live && this.device.poll !== undefined) this.guarded(() => this.device.poll?.());
  }

  /** The domain is gone: reset the device and release what it holds on the host. */
  close(): void {
    this.device.reset();
    this.device.close?.();
  }

  /** The status register, as the driver reads it. */
  get statusBits(): number {
    return this.statusReg;
  }

  private get status(): number {
    return this.statusReg;
  }

  private set status(v: number) {
    if (v === this.statusReg) return;
    this.statusReg = v;
    this.onStatus?.(v);
  }

  // ── save/restore ────────────────────────────────────────────────────────────────────────────

  /** Whether the device can be saved (it has VirtioDevice.saveState). */
  get saveable(): boolean {
    return this.device.saveState !== undefined && this.device.restoreState !== undefined;
  }

  /** The transport's and the device's state; throws if the device cannot be saved (see saveable). */
  snapshot(): VirtioMmioState {
    if (this.device.saveState === undefined) throw new Error(`${this.name}: its state cannot be saved`);
    return {
      device: this.device.name,
      status: this.status,
      deviceFeaturesSel: this.deviceFeaturesSel,
      driverFeaturesSel: this.driverFeaturesSel,
      driverFeatures: [this.driverFeatures[0], this.driverFeatures[1]],
      negotiated: [Number(this.negotiated & 0xffff_ffffn), Number(this.negotiated >> 32n)],
      queueSel: this.queueSel,
      queues: this.queues.map((q) => ({
        num: q.num,
        desc: [q.desc[0], q.desc[1]],
        driver: [q.driver[0], q.driver[1]],
        device: [q.device[0], q.device[1]],
        ready: q.ready === undefined ? null : q.ready.cursor,
      })),
      interruptStatus: this.interruptStatus,
      generation: this.generation,
      lastError: this.lastError ?? null,
      model: this.device.saveState(),
    };
  }

  /**
   * Takes back a snapshot into a fresh transport of the same device (the domain's memory is restored
   * already: ready queues are checked against it as QueueReady checks them). The registers are checked
   * before any changes; then the device is activated if the driver had set DRIVER_OK, and given its
   * own part back. Throws DeviceStateError naming the first bad field.
   */
  restore(s: VirtioMmioState): void {
    const restoreModel = this.device.restoreState?.bind(this.device);
    if (restoreModel === undefined) throw new DeviceStateError(`${this.name}: its state cannot be restored`);
    if (s.device !== this.device.name)
      throw new DeviceStateError(
        `device: the image has ${JSON.stringify(s.device)} here, the domain ${this.device.name}`,
      );
    const u32 = (f: string, v: unknown) => stateInt(f, v, 0, 0xffff_ffff);
    const status = stateInt("status", s.status, 0, 0xff);
    const deviceFeaturesSel = u32("deviceFeaturesSel", s.deviceFeaturesSel);
    const driverFeaturesSel = u32("driverFeaturesSel", s.driverFeaturesSel);
    const driverFeatures = stateInts("driverFeatures", s.driverFeatures, 2, 0xffff_ffff);
    const [lo, hi] = stateInts("negotiated", s.negotiated, 2, 0xffff_ffff);
    const negotiated = BigInt(lo) | (BigInt(hi) << 32n);
    if ((negotiated & ~this.offered) !== 0n)
      throw new DeviceStateError("negotiated: features this device does not offer");
    const queueSel = u32("queueSel", s.queueSel);
    const interruptStatus = stateInt(
      "interruptStatus",
      s.interruptStatus,
      0,
      INT_USED_BUFFER | INT_CONFIG_CHANGE,
    );
    const generation = u32("generation", s.generation);
    if (s.lastError !== null && typeof s.lastError !== "string")
      throw new DeviceStateError("lastError: not a string or null");
    if (!Array.isArray(s.queues) || s.queues.length !== this.device.queueSizes.length)
      throw new DeviceStateError(`queues: want ${this.device.queueSizes.length} of them`);
    const queues = s.queues.map((x: VirtioQueueState, i): QueueRegs => {
      const at = `queues[${i}]`;
      if (typeof x !== "object" || x === null) throw new DeviceStateError(`${at}: not an object`);
      const q: QueueRegs = {
        num: u32(`${at}.num`, x.num),
        desc: stateInts(`${at}.desc`, x.desc, 2, 0xffff_ffff) as [number, number],
        driver: stateInts(`${at}.driver`, x.driver, 2, 0xffff_ffff) as [number, number],
        device: stateInts(`${at}.device`, x.device, 2, 0xffff_ffff) as [number, number],
        ready: undefined,
      };
      if (x.ready === null) return q;
      if (typeof x.ready !== "object") throw new DeviceStateError(`${at}.ready: not an object or null`);
      const cursor = {
        lastAvail: stateInt(`${at}.ready.lastAvail`, x.ready.lastAvail, 0, 0xffff),
        usedIdx: stateInt(`${at}.ready.usedIdx`, x.ready.usedIdx, 0, 0xffff),
      };
      const why =
        q.desc[1] !== 0 || q.driver[1] !== 0 || q.device[1] !== 0
          ? "ring addresses above 4 GiB"
          : checkQueueSetup(this.mem, q.num, this.device.queueSizes[i], q.desc[0], q.driver[0], q.device[0]);
      if (why !== undefined) throw new DeviceStateError(`${at}: ${why}`);
      q.ready = new Virtqueue(
        this.mem,
        i,
        q.num,
        q.desc[0],
        q.driver[0],
        q.device[0],
        hasFeature(negotiated, VIRTIO_F_INDIRECT_DESC),
      );
      q.ready.cursor = cursor;
      return q;
    });
    this.status = status;
    this.deviceFeaturesSel = deviceFeaturesSel;
    this.driverFeaturesSel = driverFeaturesSel;
    this.driverFeatures = driverFeatures;
    this.negotiated = negotiated;
    this.queueSel = queueSel;
    this.queues = queues;
    this.interruptStatus = interruptStatus;
    this.generation = generation;
    this.lastError = s.lastError ?? undefined;
    if ((status & (STATUS_DRIVER_OK | STATUS_FEATURES_OK)) === (STATUS_DRIVER_OK | STATUS_FEATURES_OK))
      this.device.activate(this);
    try {
      restoreModel(s.model);
    } catch (e) {
      if (e instanceof VirtioError) throw new DeviceStateError(`model: ${e.message}`);
      if (e instanceof DeviceStateError) throw new DeviceStateError(`model.${e.message}`);
      throw e;
    }
    this.irq(interruptStatus !== 0);
  }

  // ── Device (MMIO) ────────────────────────────────────────────────────────────────────────────

  read(offset: number, size: AccessSize): number {
    if (offset >= REG_CONFIG) return this.device.readConfig(offset - REG_CONFIG, size) >>> 0;
    if (size !== 4 || offset % 4 !== 0) return 0;
    const q = this.queues[this.queueSel];
    switch (offset) {
      case REG_MAGIC:
        return VIRTIO_MMIO_MAGIC;
      case REG_VERSION:
        return VIRTIO_MMIO_VERSION;
      case REG_DEVICE_ID:
        return this.device.deviceId;
      case REG_VENDOR_ID:
        return VIRTIO_MMIO_VENDOR;
      case REG_DEVICE_FEATURES:
        return this.deviceFeaturesSel > 1
          ? 0
          : Number((this.offered >> BigInt(32 * this.deviceFeaturesSel)) & 0xffff_ffffn);
      case REG_QUEUE_NUM_MAX:
        return q === undefined ? 0 : this.device.queueSizes[this.queueSel];
      case REG_QUEUE_NUM:
        return q?.num ?? 0;
      case REG_QUEUE_READY:
        return q?.ready === undefined ? 0 : 1;
      case REG_INTERRUPT_STATUS:
        return this.interruptStatus;
      case REG_STATUS:
        return this.status;
      case REG_QUEUE_DESC_LOW:
        return q?.desc[0] ?? 0;
      case REG_QUEUE_DESC_HIGH:
        return q?.desc[1] ?? 0;
      case REG_QUEUE_DRIVER_LOW:
        return q?.driver[0] ?? 0;
      case REG_QUEUE_DRIVER_HIGH:
        return q?.driver[1] ?? 0;
      case REG_QUEUE_DEVICE_LOW:
        return q?.device[0] ?? 0;
      case REG_QUEUE_DEVICE_HIGH:
        return q?.device[1] ?? 0;
      case REG_SHM_LEN_LOW:
      case REG_SHM_LEN_HIGH:
        return 0xffff_ffff; // no shared memory regions
      case REG_CONFIG_GENERATION:
        return this.generation;
      default:
        return 0;
    }
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (offset >= REG_CONFIG) {
      this.guarded(() => this.device.writeConfig(offset - REG_CONFIG, size, value));
      return;
    }
    if (size !== 4 || offset % 4 !== 0) return;
    value >>>= 0;
    const q = this.queues[this.queueSel];
    const settable = q !== undefined && q.ready === undefined;
    switch (offset) {
      case REG_DEVICE_FEATURES_SEL:
        this.deviceFeaturesSel = value;
        break;
      case REG_DRIVER_FEATURES_SEL:
        this.driverFeaturesSel = value;
        break;
      case REG_DRIVER_FEATURES:
        if (this.driverFeaturesSel <= 1 && (this.status & STATUS_FEATURES_OK) === 0)
          this.driverFeatures[this.driverFeaturesSel] = value;
        break;
      case REG_QUEUE_SEL:
        this.queueSel = value;
        break;
      case REG_QUEUE_NUM:
        if (settable) q.num = value;
        break;
      case REG_QUEUE_DESC_LOW:
      case REG_QUEUE_DESC_HIGH:
        if (settable) q.desc[(offset - REG_QUEUE_DESC_LOW) / 4] = value;
        break;
      case REG_QUEUE_DRIVER_LOW:
      case REG_QUEUE_DRIVER_HIGH:
        if (settable) q.driver[(offset - REG_QUEUE_DRIVER_LOW) / 4] = value;
        break;
      case REG_QUEUE_DEVICE_LOW:
      case REG_QUEUE_DEVICE_HIGH:
        if (settable) q.device[(offset - REG_QUEUE_DEVICE_LOW) / 4] = value;
        break;
      case REG_QUEUE_READY:
        if (q !== undefined) this.setQueueReady(this.queueSel, q, value !== 0);
        break;
      case REG_QUEUE_NOTIFY:
        this.notify(value);
        break;
      case REG_INTERRUPT_ACK:
        this.interruptStatus &= ~value;
        if (this.interruptStatus === 0) this.irq(false);
        break;
      case REG_STATUS:
        this.setStatus(value & 0xff);
        break;
      default:
        break; // read-only or unimplemented registers ignore writes
    }
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────────

  private setStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    const old = this.status;
    let next = (value & ~STATUS_DEVICE_NEEDS_RESET) | (old & STATUS_DEVICE_NEEDS_RESET);
    if ((next & STATUS_FEATURES_OK) !== 0 && (old & STATUS_FEATURES_OK) === 0) {
      const wanted = BigInt(this.driverFeatures[0]) | (BigInt(this.driverFeatures[1]) << 32n);
      if ((wanted & ~this.offered) !== 0n || !hasFeature(wanted, VIRTIO_F_VERSION_1))
        next &= ~STATUS_FEATURES_OK;
      else this.negotiated = wanted;
    }
    this.status = next;
    if ((next & STATUS_DRIVER_OK) !== 0 && (old & STATUS_DRIVER_OK) === 0) {
      if ((next & STATUS_FEATURES_OK) === 0) this.fail("DRIVER_OK without FEATURES_OK");
      else this.guarded(() => this.device.activate(this));
    }
  }

  private setQueueReady(index: number, q: QueueRegs, ready: boolean): void {
    if (!ready) {
      q.ready = undefined;
      return;
    }
    if (q.ready !== undefined) return;
    if (q.desc[1] !== 0 || q.driver[1] !== 0 || q.device[1] !== 0) {
      this.fail(`queue ${index}: ring addresses above 4 GiB are not RAM`);
      return;
    }
    const why = checkQueueSetup(
      this.mem,
      q.num,
      this.device.queueSizes[index],
      q.desc[0],
      q.driver[0],
      q.device[0],
    );
    if (why !== undefined) {
      this.fail(`queue ${index}: ${why}`);
      return;
    }
    q.ready = new Virtqueue(
      this.mem,
      index,
      q.num,
      q.desc[0],
      q.driver[0],
      q.device[0],
      hasFeature(this.negotiated, VIRTIO_F_INDIRECT_DESC),
    );
  }

  private notify(index: number): void {
    if (!this.live || this.queues[index]?.ready === undefined) {
      this.stats.ignoredNotifies++;
      return;
    }
    this.stats.notifies++;
    this.guarded(() => this.device.notify(index));
  }

  /** Runs device code, turning a VirtioError into DEVICE_NEEDS_RESET. */
  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof VirtioError)) throw e;
      this.fail(e.message);
    }
  }

  private interrupt(bit: number): void {
    this.stats.interrupts++;
    this.interruptStatus |= bit;
    this.irq(true);
  }

  private reset(): void {
    this.status = 0;
    this.deviceFeaturesSel = this.driverFeaturesSel = this.queueSel = 0;
    this.driverFeatures = [0, 0];
    this.negotiated = 0n;
    this.queues = this.device.queueSizes.map(freshQueue);
    this.interruptStatus = 0;
    this.lastError = undefined;
    this.irq(false);
    this.device.reset();
  }
}

function freshQueue(max: number): QueueRegs {
  return { num: max, desc: [0, 0], driver: [0, 0], device: [0, 0], ready: undefined };
}
