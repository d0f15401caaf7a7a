/**
 * An empty virtio-mmio slot, as QEMU `virt` has eight of them at 0x1000_1000 + 0x1000·i: a transport
 * with no device behind it. A driver probing the board's device tree reads the magic value, version 2
 * and DeviceID 0 ("no device", virtio 1.2 §4.2.3.1.1) and moves on; every other register reads 0 and
 * writes are ignored. (Domains get real transports from the hypervisor: hypervisor/virtio/mmio.ts.)
 */
import type { AccessSize, Device } from "../bus.js";

export class EmptyVirtioSlot implements Device {
  constructor(readonly name: string) {}

  read(offset: number, size: AccessSize): number {
    if (size !== 4) return 0;
    if (offset === 0x000) return 0x7472_6976; // MagicValue "virt"
    if (offset === 0x004) return 2; // Version
    return 0; // DeviceID 0: nothing here
  }

  write(): void {}
}
