/**
 * Booting a guest ELF on the board, the way QEMU's `virt` does with `-bios none -kernel prog.elf`:
 * load the segments, place the device tree at the top of RAM (2 MiB aligned, as QEMU does), and start
 * every hart at the ELF entry in M-mode with a0 = hartid and a1 = the device-tree address.
 *
 * With firmware (the TypeScript SBI), the firmware takes over the harts instead: the boot hart enters the
 * ELF in S-mode with the same a0/a1, the others wait to be started through SBI HSM.
 */
import { type ElfImage, loadElf } from "./elf.js";
import { buildFdt } from "./fdt.js";
import type { Machine } from "./machine.js";
import {
  CLINT_BASE,
  CLINT_SIZE,
  DRAM_BASE,
  PLIC_BASE,
  PLIC_SIZE,
  TEST_BASE,
  TEST_SIZE,
  UART0_BASE,
  UART0_IRQ,
  UART0_SIZE,
  VIRTIO_BASE,
  VIRTIO_COUNT,
  VIRTIO_STRIDE,
  virtioIrq,
} from "./memory-map.js";
import { PLIC_SOURCES, TIMEBASE_HZ } from "./params.js";

/** Firmware that owns M-mode, e.g. the SBI implementation. */
export interface Firmware {
  readonly name: string;
  /** Takes over the harts after they were reset to `entry` with a0/a1 set. */
  install(machine: Machine, entry: number): void;
}

export interface BootOptions {
  firmware?: Firmware;
  bootargs?: string;
}

export interface BootInfo {
  entry: number;
  fdtAddr: number;
}

const MiB = 1024 * 1024;

export function boot(machine: Machine, image: ElfImage, opts: BootOptions = {}): BootInfo {
  const ram = machine.ram;
  loadElf(image, ram);
  const tohost = image.symbols.get("tohost");
  if (tohost !== undefined) machine.attachHtif(tohost, image.symbols.get("fromhost"));

  const fdt = buildFdt({
    harts: machine.harts.length,
    ramBase: ram.base,
    ramSize: ram.size,
    bootargs: opts.bootargs,
    timebaseHz: TIMEBASE_HZ,
    isa: machine.harts[0].hx !== undefined ? "rv32imach_zicsr_zifencei" : "rv32imac_zicsr_zifencei",
    mmuType: "riscv,sv32",
    uart: { base: UART0_BASE, size: UART0_SIZE, irq: UART0_IRQ },
    clint: { base: CLINT_BASE, size: CLINT_SIZE },
    plic: { base: PLIC_BASE, size: PLIC_SIZE, ndev: PLIC_SOURCES - 1 },
    test: { base: TEST_BASE, size: TEST_SIZE },
    virtio: Array.from({ length: VIRTIO_COUNT }, (_, i) => ({
      base: VIRTIO_BASE + i * VIRTIO_STRIDE,
      size: VIRTIO_STRIDE,
      irq: virtioIrq(i),
    })),
  });
  const ramEnd = ram.base + ram.size;
  const fdtAddr = Math.floor((Math.min(ramEnd, DRAM_BASE + 3072 * MiB) - fdt.length) / (2 * MiB)) * 2 * MiB;
  for (const seg of image.segments) {
    if (seg.paddr < fdtAddr + fdt.length && fdtAddr < seg.paddr + seg.memsz) {
      throw new Error(
        `${image.source}: the program reaches 0x${fdtAddr.toString(16)}, where the device tree goes; give the machine more memory`,
      );
    }
  }
  ram.load(fdtAddr, fdt);

  for (const h of machine.harts) {
    h.reset(image.entry);
    h.x[10] = h.hartId;
    h.x[11] = fdtAddr;
    h.stopped = false;
  }
  opts.firmware?.install(machine, image.entry);
  return { entry: image.entry, fdtAddr };
}
