/**
 * A domain's device models, at the addresses QEMU `virt` gives them, so an unmodified guest finds them
 * where it would on the board: a virtual PLIC (external interrupts) and a virtual 16550 UART (a console
 * with receive interrupts) on the domain's console.
 *
 *   guest load/store to 0x1000_0000 ──shadow fault──▶ fill: the P2M says mmio-trap ──▶ dispatcher
 *       ──▶ emulateMmio: decode the instruction at pc, call the model, write rd, step pc
 *   UART irq line ──▶ virtual PLIC ──▶ S-context of vCPU i ──▶ virtual SEIP (sip bit 9 / PV pending bit 9)
 *
 * The models are the board's own (machine/devices): only what they are wired to differs. The PLIC's
 * M-mode contexts exist (the register layout needs them) but reach nothing: a guest has no M-mode.
 *
 * virtio devices (virtio/) are added with `addVirtio`, each in the next free virtio-mmio slot
 * (0x1000_1000 + 0x1000·i, PLIC source 1 + i); `virtioSlots` is what the device tree lists.
 */
import type { AccessSize, Device, InterruptTarget } from "../machine/bus.js";
import { BufferConsole, type ConsoleBackend } from "../machine/devices/console.js";
import { Plic, type PlicState } from "../machine/devices/plic.js";
import { DeviceStateError } from "../machine/devices/snapshot.js";
import { Uart16550, type UartState } from "../machine/devices/uart16550.js";
import type { Hart } from "../machine/hart.js";
import { EXPANDED } from "../machine/isa/compressed.js";
import { MIP_SEIP } from "../machine/isa/csr-defs.js";
import {
  PLIC_BASE,
  PLIC_SIZE,
  UART0_BASE,
  UART0_IRQ,
  UART0_SIZE,
  VIRTIO_BASE,
  VIRTIO_COUNT,
  VIRTIO_STRIDE,
  virtioIrq,
} from "../machine/memory-map.js";
import { ACCESS_LOAD, ACCESS_STORE, type Access } from "../machine/mmu.js";
import { guestPhys } from "./memory/addresses.js";
import type { GuestMemory } from "./memory/guest-memory.js";
import type { P2m } from "./memory/p2m.js";
import type { VirtioDevice } from "./virtio/device.js";
import { VirtioMmio, type VirtioMmioState } from "./virtio/mmio.js";

/** Where the models raise a vCPU's virtual external interrupt. */
export type ExternalIrqSink = (vcpuIndex: number, level: boolean) => void;

/**
 * The models' state, for save/restore: the board's own snapshots, whether the guest uses the UART, and
 * each virtio-mmio slot's transport and device (null: an empty slot).
 */
export interface DomainDevicesState {
  plic: PlicState;
  uart: UartState;
  uartInUse: boolean;
  virtio: (VirtioMmioState | null)[];
}

interface Mapped {
  base: number;
  end: number;
  device: Device;
}

export class DomainDevices {
  readonly plic: Plic;
  readonly uart: Uart16550;
  /** The virtio-mmio transports, by slot (undefined: an empty slot). */
  readonly virtio: (VirtioMmio | undefined)[] = [];
  private readonly map: Mapped[];

  constructor(
    vcpus: number,
    console: ConsoleBackend,
    private readonly p2m: P2m,
    sink: ExternalIrqSink,
  ) {
    const targets: InterruptTarget[] = Array.from({ length: vcpus }, (_, i) => ({
      hartId: i,
      setInterruptLevel: (mask: number, level: boolean) => {
        if ((mask & MIP_SEIP) !== 0) sink(i, level);
      },
    }));
    this.plic = new Plic(targets);
    this.uart = new Uart16550(this.plic.line(UART0_IRQ), console);
    this.map = [
      { base: UART0_BASE, end: UART0_BASE + UART0_SIZE, device: this.uart },
      { base: PLIC_BASE, end: PLIC_BASE + PLIC_SIZE, device: this.plic },
    ];
    for (const m of this.map) p2m.mapMmio(guestPhys(m.base), m.end - m.base, m.device.name);
  }

  /**
   * Pulls console input into the UART (every exit; cheap when nothing waits) — once the guest has used
   * the UART. Until then input stays in the console for the SBI debug console, which a guest reading
   * through DBCN (the guest kernel) would otherwise find empty: the receiver would have taken it.
   */
  poll(): void {
    if (this.uartInUse) this.uart.poll();
    for (const v of this.virtio) v?.poll();
  }

  /** Puts `device` behind a virtio-mmio transport in the first free slot; throws when all are taken. */
  addVirtio(device: VirtioDevice, mem: GuestMemory): VirtioMmio {
    let slot = 0;
    while (slot < VIRTIO_COUNT && this.virtio[slot] !== undefined) slot++;
    if (slot === VIRTIO_COUNT)
      throw new Error(`${device.name}: all ${VIRTIO_COUNT} virtio-mmio slots are taken`);
    const base = VIRTIO_BASE + VIRTIO_STRIDE * slot;
    const t = new VirtioMmio(`virtio${slot} (${device.name})`, mem, device, this.plic.line(virtioIrq(slot)));
    this.virtio[slot] = t;
    this.map.push({ base, end: base + VIRTIO_STRIDE, device: t });
    this.p2m.mapMmio(guestPhys(base), VIRTIO_STRIDE, t.name);
    return t;
  }

  /** The occupied virtio-mmio slots, in order (the device tree's virtio_mmio nodes). */
  get virtioSlots(): number[] {
    return this.virtio.flatMap((t, slot) => (t === undefined ? [] : [slot]));
  }

  /** The domain is gone: every virtio device releases what it holds on the host (image files). */
  close(): void {
    for (const v of this.virtio) v?.close();
  }

  private uartInUse = false;

  /** The virtio devices whose state cannot be saved (a save refuses the domain, naming them). */
  get unsaveable(): string[] {
    return this.virtio.flatMap((t) => (t === undefined || t.saveable ? [] : [t.name]));
  }

  snapshot(): DomainDevicesState {
    return {
      plic: this.plic.snapshot(),
      uart: this.uart.snapshot(),
      uartInUse: this.uartInUse,
      virtio: Array.from({ length: this.virtio.length }, (_, i) => this.virtio[i]?.snapshot() ?? null),
    };
  }

  /**
   * Takes back a snapshot: the PLIC and UART are checked first (a bad field throws DeviceStateError
   * naming it, nothing changes); then each virtio slot, which must hold the same device as the image's
   * (a domain built from the same definition), is checked and restored in turn. The domain's memory
   * must be restored already (the queues are checked against it).
   */
  restore(s: DomainDevicesState): void {
    if (!Array.isArray(s.virtio)) throw new DeviceStateError("virtio: not an array");
    const slots = Math.max(s.virtio.length, this.virtio.length);
    for (let i = 0; i < slots; i++) {
      const have = this.virtio[i]?.device.name ?? "nothing";
      const want = s.virtio[i]?.device ?? "nothing";
      if (have !== want)
        throw new DeviceStateError(`virtio[${i}]: the image has ${want} in this slot, the domain ${have}`);
    }
    restoreModels(this.plic, this.uart, s);
    this.uartInUse = s.uartInUse;
    for (const [i, t] of this.virtio.entries()) {
      const v = s.virtio[i];
      if (t === undefined || v === undefined || v === null) continue;
      part(`virtio[${i}]`, v, (x) => t.restore(x));
    }
  }

  /**
   * Performs the load or store at `h.pc` that faulted on guest-physical `gpa` in a device range:
   * returns false (the caller reflects an access fault) when no device is there, or the instruction is
   * not a plain aligned load/store of the faulting kind.
   */
  emulate(h: Hart, gpa: number, access: Access): boolean {
    const m = this.map.find((x) => gpa >= x.base && gpa < x.end);
    if (m === undefined) return false;
    let insn: number;
    try {
      insn = h.fetch(h.pc);
    } catch {
      return false;
    }
    let len = 4;
    if ((insn & 3) !== 3) {
      insn = EXPANDED[insn & 0xffff];
      len = 2;
      if (insn === 0) return false;
    }
    const opcode = insn & 0x7f;
    const funct3 = (insn >>> 12) & 7;
    const offset = gpa - m.base;
    if (m.device === this.uart) this.uartInUse = true;
    if (opcode === 0x03 && access === ACCESS_LOAD) {
      const size = LOAD_SIZE[funct3];
      if (size === 0 || offset % size !== 0 || offset + size > m.end - m.base) return false;
      let value = m.device.read(offset, size as AccessSize);
      if (funct3 === 0) value = (value << 24) >> 24;
      else if (funct3 === 1) value = (value << 16) >> 16;
      const rd = (insn >>> 7) & 31;
      if (rd !== 0) h.x[rd] = value;
    } else if (opcode === 0x23 && access === ACCESS_STORE) {
      const size = funct3 <= 2 ? 1 << funct3 : 0;
      if (size === 0 || offset % size !== 0 || offset + size > m.end - m.base) return false;
      const value = h.x[(insn >>> 20) & 31];
      m.device.write(offset, size as AccessSize, size === 4 ? value >>> 0 : value & ((1 << (8 * size)) - 1));
    } else {
      return false;
    }
    h.pc = (h.pc + len) >>> 0;
    h.retired++;
    return true;
  }
}

/**
 * Checks a DomainDevicesState for `vcpus` vCPUs without touching any domain: restores it into scratch
 * models. Throws DeviceStateError naming the first bad field.
 */
export function checkDevicesState(s: DomainDevicesState, vcpus: number): void {
  const targets = Array.from({ length: vcpus }, (_, i) => ({ hartId: i, setInterruptLevel: () => {} }));
  const plic = new Plic(targets);
  restoreModels(plic, new Uart16550(plic.line(UART0_IRQ), new BufferConsole()), s);
}

function restoreModels(plic: Plic, uart: Uart16550, s: DomainDevicesState): void {
  if (typeof s !== "object" || s === null) throw new DeviceStateError("not an object");
  if (typeof s.uartInUse !== "boolean") throw new DeviceStateError("uartInUse: not a boolean");
  if (!Array.isArray(s.virtio) || s.virtio.length > VIRTIO_COUNT)
    throw new DeviceStateError(`virtio: not an array of at most ${VIRTIO_COUNT} slots`);
  for (const [i, v] of s.virtio.entries())
    if (v !== null && (typeof v !== "object" || typeof v.device !== "string"))
      throw new DeviceStateError(`virtio[${i}]: not a device's state or null`);
  const before = plic.snapshot();
  part("plic", s.plic, (x) => plic.restore(x));
  try {
    part("uart", s.uart, (x) => uart.restore(x));
  } catch (e) {
    plic.restore(before);
    throw e;
  }
}

/** Restores one model's part of a snapshot, naming the part in any error. */
function part<T>(name: string, state: T, restore: (s: T) => void): void {
  if (typeof state !== "object" || state === null) throw new DeviceStateError(`${name}: not an object`);
  try {
    restore(state);
  } catch (e) {
    if (e instanceof DeviceStateError) throw new DeviceStateError(`${name}.${e.message}`);
    throw e;
  }
}

/** Access size of each load funct3 (lb lh lw - lbu lhu - -), 0 for none. */
const LOAD_SIZE = [1, 2, 4, 0, 1, 2, 0, 0] as const;
