/**
 * HTIF, the host-target interface of Spike and QEMU's `-machine spike`, for ELFs with a `tohost`
 * symbol (riscv-tests and their benchmarks). Two 64-bit words in guest RAM carry commands:
 *
 *   tohost / fromhost
 *    63      56 55      48 47                                    0
 *   ┌──────────┬──────────┬───────────────────────────────────────┐
 *   │  device  │   cmd    │                payload                │
 *   └──────────┴──────────┴───────────────────────────────────────┘
 *
 *   device 0, cmd 0, payload odd    exit: code = payload >> 1 (payload 1 = success, code 0)
 *   device 0, cmd 0, payload even   syscall proxy: payload is the address of uint64_t magic_mem[8]
 *                                   = { which, arg0, arg1, arg2, ... }; the result goes to magic_mem[0]
 *                                   and the reply to fromhost is 1
 *   device 1, cmd 1                 console putchar (payload & 0xff); reply 0x100 | char
 *   device 1, cmd 0                 console getchar; reply is the char, when one is waiting
 *
 * RV32 code writes tohost as two 32-bit stores, low word then high word, so we act when a store touches
 * the high word (as QEMU does). Like Spike's front end we then clear tohost (the guest waits for that
 * before its next command) and queue replies, writing one into fromhost whenever fromhost is zero: a
 * guest clears fromhost after reading a reply.
 *
 * Stores reach us through `ram.watch`: the CPU reports every store into a watched frame after it is done.
 */
import type { Ram } from "../ram.js";
import type { ConsoleBackend } from "./console.js";

export interface HtifExit {
  kind: "htif";
  /** The program's exit code: 0 for success. */
  code: number;
  /** Set when the run ends because the program asked for something HTIF here does not do. */
  error?: string;
}

/** riscv-tests/pk syscall numbers (the Linux generic ABI). */
const SYS_WRITE = 64;
const SYS_EXIT = 93;
const EBADF = 9;
const DEVICE_SYSCALL = 0;
const DEVICE_CONSOLE = 1;
const CMD_GETCHAR = 0;
const CMD_PUTCHAR = 1;
/** Exit code reported along with an `error`. */
const ERROR_EXIT_CODE = 1;

const TWO_32 = 2 ** 32;

export class Htif {
  /** Replies waiting for fromhost to be zero, as [low word, high word]. */
  private readonly replies: [number, number][] = [];

  constructor(
    private readonly ram: Ram,
    readonly tohost: number,
    readonly fromhost: number | undefined,
    private readonly console: ConsoleBackend,
    private readonly onExit: (e: HtifExit) => void,
  ) {
    for (const [name, addr] of [
      ["tohost", tohost],
      ["fromhost", fromhost],
    ] as const) {
      if (addr === undefined) continue;
      if (addr % 8 !== 0 || !ram.contains(addr, 8)) {
        throw new Error(`htif: ${name} at 0x${addr.toString(16)} is not an aligned 64-bit word in RAM`);
      }
    }
    const onStore = (paddr: number, size: number, value: number) => this.handleStore(paddr, size, value);
    ram.watch(tohost, onStore);
    if (fromhost !== undefined && fromhost >>> 12 !== tohost >>> 12) ram.watch(fromhost, onStore);
  }

  /** Called after every store into a watched frame (the store is already in RAM). */
  handleStore(paddr: number, size: number, _value: number): void {
    if (overlaps(paddr, size, this.tohost + 4, 4)) {
      const lo = this.read32(this.tohost);
      const hi = this.read32(this.tohost + 4);
      if (lo !== 0 || hi !== 0) {
        this.write64(this.tohost, 0, 0);
        this.command(hi >>> 24, (hi >>> 16) & 0xff, (hi & 0xffff) * TWO_32 + lo);
      }
    }
    if (this.fromhost !== undefined && overlaps(paddr, size, this.fromhost, 8)) this.deliver();
  }

  private command(device: number, cmd: number, payload: number): void {
    if (device === DEVICE_SYSCALL && cmd === 0) {
      if (payload % 2 === 1) this.onExit({ kind: "htif", code: Math.floor(payload / 2) });
      else this.syscall(payload);
    } else if (device === DEVICE_CONSOLE && cmd === CMD_PUTCHAR) {
      const ch = payload & 0xff;
      this.console.write(ch);
      this.reply(device, cmd, 0x100 | ch);
    } else if (device === DEVICE_CONSOLE && cmd === CMD_GETCHAR) {
      // Spike answers when a key arrives; we answer only if one is already waiting.
      const ch = this.console.read();
      if (ch >= 0) this.reply(device, cmd, ch);
    } else {
      this.fail(`htif: unsupported command: device ${device}, cmd ${cmd}, payload 0x${payload.toString(16)}`);
    }
  }

  private syscall(magic: number): void {
    if (!this.ram.contains(magic, 64)) {
      this.fail(`htif: syscall block at 0x${magic.toString(16)} is not in RAM`);
      return;
    }
    const arg = (i: number) => this.read32(magic + 8 * i) + this.read32(magic + 8 * i + 4) * TWO_32;
    const which = arg(0);
    let result: number | undefined;
    if (which === SYS_WRITE) {
      result = this.sysWrite(arg(1), arg(2), arg(3));
      if (result === undefined) return;
    } else if (which === SYS_EXIT) {
      this.onExit({ kind: "htif", code: arg(1) % TWO_32 });
      return;
    } else {
      this.fail(`htif: unsupported syscall ${which} (magic_mem at 0x${magic.toString(16)})`);
      return;
    }
    // magic_mem[0] = result, sign-extended to 64 bits.
    this.write64(magic, result >>> 0, result < 0 ? 0xffff_ffff : 0);
    this.reply(DEVICE_SYSCALL, 0, 1);
  }

  /**
   * write(fd, buf, len) to the console; buf is a physical address, as on a bare-metal target.
   * Undefined when the run has been failed.
   */
  private sysWrite(fd: number, buf: number, len: number): number | undefined {
    if (fd !== 1 && fd !== 2) return -EBADF;
    if (!this.ram.contains(buf, len)) {
      this.fail(`htif: write of ${len} bytes at 0x${buf.toString(16)} reaches outside RAM`);
      return undefined;
    }
    const off = buf - this.ram.base;
    for (let i = 0; i < len; i++) this.console.write(this.ram.u8[off + i]);
    return len;
  }

  private reply(device: number, cmd: number, payload: number): void {
    if (this.fromhost === undefined) return;
    this.replies.push([
      payload % TWO_32,
      ((device << 24) | (cmd << 16) | Math.floor(payload / TWO_32)) >>> 0,
    ]);
    this.deliver();
  }

  /** Moves the next queued reply into fromhost once the guest has consumed the previous one. */
  private deliver(): void {
    const fromhost = this.fromhost;
    if (fromhost === undefined || this.replies.length === 0) return;
    if (this.read32(fromhost) !== 0 || this.read32(fromhost + 4) !== 0) return;
    const [lo, hi] = this.replies.shift()!;
    this.write64(fromhost, lo, hi);
  }

  private fail(error: string): void {
    this.onExit({ kind: "htif", code: ERROR_EXIT_CODE, error });
  }

  private read32(paddr: number): number {
    const u8 = this.ram.u8;
    const off = paddr - this.ram.base;
    return (u8[off] | (u8[off + 1] << 8) | (u8[off + 2] << 16) | (u8[off + 3] << 24)) >>> 0;
  }

  private write64(paddr: number, lo: number, hi: number): void {
    const u8 = this.ram.u8;
    const off = paddr - this.ram.base;
    for (let i = 0; i < 4; i++) {
      u8[off + i] = lo >>> (8 * i);
      u8[off + 4 + i] = hi >>> (8 * i);
    }
    this.ram.markDirty(off);
  }
}

function overlaps(a: number, alen: number, b: number, blen: number): boolean {
  return a < b + blen && b < a + alen;
}
