/**
 * The board's physical memory map — the same as QEMU's riscv `virt` machine, so one guest ELF runs
 * unchanged on `qemu-system-riscv32 -machine virt -bios none` and on rvisor.
 *
 *   0x0000_0000 ┌──────────────────────────┐
 *               │ (unmapped: access fault)  │
 *   0x0010_0000 ├──────────────────────────┤ sifive_test: poweroff / reboot
 *   0x0010_1000 ├──────────────────────────┤
 *               │                          │
 *   0x0200_0000 ├──────────────────────────┤ CLINT: msip[hart] +0x0, mtimecmp[hart] +0x4000,
 *               │                          │        mtime +0xbff8 (10 MHz)
 *   0x0201_0000 ├──────────────────────────┤
 *   0x0c00_0000 ├──────────────────────────┤ PLIC: priorities, pending, enables, thresholds/claim
 *   0x1000_0000 ├──────────────────────────┤ 16550 UART0 (IRQ 10)
 *   0x1000_1000 ├──────────────────────────┤ virtio-mmio slot i at 0x1000_1000 + 0x1000·i (IRQ 1+i)
 *   0x1000_9000 ├──────────────────────────┤
 *   0x8000_0000 ├──────────────────────────┤ RAM (size set per machine, 128 MiB by default)
 *               │ M-mode programs load here │
 *   0x8020_0000 │ S-mode kernels load here  │
 *               └──────────────────────────┘
 */

export const TEST_BASE = 0x0010_0000;
export const TEST_SIZE = 0x1000;

export const CLINT_BASE = 0x0200_0000;
export const CLINT_SIZE = 0x1_0000;
export const CLINT_MSIP = 0x0000; // + 4·hart
export const CLINT_MTIMECMP = 0x4000; // + 8·hart
export const CLINT_MTIME = 0xbff8;

export const PLIC_BASE = 0x0c00_0000;
export const PLIC_SIZE = 0x60_0000;

export const UART0_BASE = 0x1000_0000;
export const UART0_SIZE = 0x100;
export const UART0_IRQ = 10;

export const VIRTIO_BASE = 0x1000_1000;
export const VIRTIO_STRIDE = 0x1000;
export const VIRTIO_COUNT = 8;
export const virtioIrq = (slot: number): number => 1 + slot;

export const DRAM_BASE = 0x8000_0000;
/** Where `--firmware sbi` starts an S-mode kernel, as OpenSBI's fw_jump does on `virt`. */
export const KERNEL_BASE = 0x8020_0000;

/** sifive_test register values (QEMU hw/misc/sifive_test.c). */
export const TEST_FAIL = 0x3333; // (code << 16) | FAIL
export const TEST_PASS = 0x5555;
export const TEST_RESET = 0x7777;
