/**
 * The sifive_test device of QEMU `virt` (hw/misc/sifive_test.c): one 32-bit register at offset 0
 * through which software powers the machine off or resets it.
 *
 *   31            16 15             0
 *  ┌────────────────┬────────────────┐
 *  │   exit code    │    command     │   0x5555 PASS: poweroff, exit code 0
 *  └────────────────┴────────────────┘   0x3333 FAIL: poweroff, exit code = bits 31:16
 *                                        0x7777 RESET
 * Any other value, and byte writes, are ignored (QEMU logs them as guest errors). Reads return 0.
 */
import type { AccessSize, Device } from "../bus.js";
import { TEST_FAIL, TEST_PASS, TEST_RESET } from "../memory-map.js";

export interface TestDeviceExit {
  kind: "poweroff" | "reset";
  code: number;
}

export class SifiveTest implements Device {
  readonly name = "sifive_test";

  constructor(private readonly onExit: (e: TestDeviceExit) => void) {}

  read(_offset: number, _size: AccessSize): number {
    return 0;
  }

  write(offset: number, size: AccessSize, value: number): void {
    // QEMU accepts 2- and 4-byte accesses; a halfword write carries a command with exit code 0.
    if (offset !== 0 || size === 1) return;
    const command = value & 0xffff;
    const code = value >>> 16;
    if (command === TEST_PASS) this.onExit({ kind: "poweroff", code: 0 });
    else if (command === TEST_FAIL) this.onExit({ kind: "poweroff", code });
    else if (command === TEST_RESET) this.onExit({ kind: "reset", code: 0 });
  }
}
