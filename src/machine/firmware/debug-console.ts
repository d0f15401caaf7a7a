/**
 * The firmware's console: the Debug Console extension (DBCN) and the legacy console_putchar and
 * console_getchar, all on the board's 16550 UART — the device OpenSBI uses as its console on QEMU
 * `virt`. Going through the UART rather than straight to the console backend keeps one order for
 * bytes a guest sends both ways, and means input is not split between the UART's receive FIFO (which
 * pulls from the backend every slice) and the firmware.
 *
 * DBCN buffers are guest *physical* addresses, given as (base_addr_lo, base_addr_hi). The whole range
 * must lie in RAM, else SBI_ERR_INVALID_PARAM (the DBCN chapter's error for a range that breaks the
 * shared-memory rules). RV32 RAM ends below 4 GiB, so any base_addr_hi other than 0 is outside it.
 */
import type { Hart } from "../hart.js";
import type { Machine } from "../machine.js";
import { PAGE_SHIFT } from "../params.js";
import {
  DBCN_CONSOLE_READ,
  DBCN_CONSOLE_WRITE,
  DBCN_CONSOLE_WRITE_BYTE,
  fail,
  ok,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  type SbiRet,
} from "./sbi-defs.js";

// 16550 registers the console uses (offsets in the UART's window; see devices/uart16550.ts).
const UART_RBR_THR = 0;
const UART_LSR = 5;
const LSR_DR = 0x01; // data ready

/**
 * Most bytes one console_write or console_read moves. Both calls may do partial transfers (the caller
 * loops on the count it gets back), and a bound keeps one ECALL from stalling the emulator for a guest
 * that passes all of RAM.
 */
export const DBCN_MAX_BYTES_PER_CALL = 64 * 1024;

export class DebugConsole {
  constructor(private readonly machine: Machine) {}

  putByte(byte: number): void {
    this.machine.uart.write(UART_RBR_THR, 1, byte & 0xff);
  }

  /** The next received byte, or −1 when none is waiting. */
  getByte(): number {
    const uart = this.machine.uart;
    if ((uart.read(UART_LSR, 1) & LSR_DR) === 0) return -1;
    return uart.read(UART_RBR_THR, 1);
  }

  /** DBCN functions; a0 = num_bytes or the byte, a1 = base_addr_lo, a2 = base_addr_hi. */
  call(h: Hart, fid: number): SbiRet {
    const x = h.x;
    switch (fid) {
      case DBCN_CONSOLE_WRITE:
        return this.transfer(x[10] >>> 0, x[11] >>> 0, x[12] >>> 0, "write");
      case DBCN_CONSOLE_READ:
        return this.transfer(x[10] >>> 0, x[11] >>> 0, x[12] >>> 0, "read");
      case DBCN_CONSOLE_WRITE_BYTE:
        this.putByte(x[10]);
        return ok(0);
      default:
        return fail(SBI_ERR_NOT_SUPPORTED);
    }
  }

  private transfer(numBytes: number, lo: number, hi: number, dir: "read" | "write"): SbiRet {
    const ram = this.machine.ram;
    if (hi !== 0 || !ram.contains(lo, numBytes)) return fail(SBI_ERR_INVALID_PARAM);
    const n = Math.min(numBytes, DBCN_MAX_BYTES_PER_CALL);
    const off = lo - ram.base;
    const u8 = ram.u8;
    if (dir === "write") {
      for (let i = 0; i < n; i++) this.putByte(u8[off + i]);
      return ok(n);
    }
    let done = 0;
    for (; done < n; done++) {
      const b = this.getByte();
      if (b < 0) break;
      u8[off + done] = b;
      // The firmware writes RAM as a device would: the frame is dirty, and watchers (HTIF, translated
      // code) hear of the store as they would of the guest's own.
      ram.markDirty(off + done);
      if (ram.watched[(off + done) >>> PAGE_SHIFT] !== 0) ram.notifyStore(off + done, 1, b);
    }
    return ok(done);
  }
}
