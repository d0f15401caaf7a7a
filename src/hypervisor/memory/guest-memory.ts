/**
 * The hypervisor's window on one domain's guest-physical memory: every read or write it makes on a
 * guest's behalf (walking its page tables, setting A/D bits, DBCN buffers, PV requests, loading the
 * kernel) goes through the domain's P2M, so it can only ever reach frames the domain owns.
 *
 * Writes mark the host frame dirty (the dirty log sees them) and tell the translator when the frame
 * holds translated code, exactly as a hart's store would.
 */

import { PAGE_SIZE } from "../../machine/params.js";
import type { Ram } from "../../machine/ram.js";
import { guestPhys } from "./addresses.js";
import { isP2mFault, type P2m } from "./p2m.js";

export class GuestMemory {
  constructor(
    readonly p2m: P2m,
    readonly ram: Ram,
  ) {}

  /** RAM byte offset of guest-physical `gpa`, or -1 when it is not the domain's RAM. */
  offsetOf(gpa: number): number {
    const hpa = this.p2m.translate(guestPhys(gpa));
    return isP2mFault(hpa) ? -1 : hpa - this.ram.base;
  }

  /** Whether [gpa, gpa + len) is all the domain's RAM. */
  contains(gpa: number, len: number): boolean {
    if (len <= 0) return true;
    const end = gpa + len - 1;
    if (end > 0xffff_ffff) return false;
    for (let p = gpa - (gpa % PAGE_SIZE); p <= end; p += PAGE_SIZE) if (this.offsetOf(p) < 0) return false;
    return true;
  }

  /** The aligned word at `gpa`, or undefined when it is not the domain's RAM. */
  read32(gpa: number): number | undefined {
    const off = this.offsetOf(gpa & ~3);
    return off < 0 ? undefined : this.ram.i32[off >>> 2];
  }

  /** Writes the aligned word at `gpa`; false when it is not the domain's RAM. */
  write32(gpa: number, value: number): boolean {
    const off = this.offsetOf(gpa & ~3);
    if (off < 0) return false;
    this.ram.i32[off >>> 2] = value;
    this.touched(off, 4, value);
    return true;
  }

  /** Copies `n` bytes from guest-physical `gpa`; undefined if any of them is not the domain's RAM. */
  read(gpa: number, n: number): Uint8Array | undefined {
    if (!this.contains(gpa, n)) return undefined;
    const out = new Uint8Array(n);
    for (let done = 0; done < n; ) {
      const a = gpa + done;
      const chunk = Math.min(n - done, PAGE_SIZE - (a % PAGE_SIZE));
      const off = this.offsetOf(a);
      out.set(this.ram.u8.subarray(off, off + chunk), done);
      done += chunk;
    }
    return out;
  }

  /** Copies `bytes` to guest-physical `gpa`; false (nothing written) if any byte is not the domain's RAM. */
  write(gpa: number, bytes: Uint8Array): boolean {
    if (!this.contains(gpa, bytes.length)) return false;
    for (let done = 0; done < bytes.length; ) {
      const a = gpa + done;
      const chunk = Math.min(bytes.length - done, PAGE_SIZE - (a % PAGE_SIZE));
      const off = this.offsetOf(a);
      this.ram.u8.set(bytes.subarray(done, done + chunk), off);
      this.touched(off, chunk, 0);
      done += chunk;
    }
    return true;
  }

  private touched(off: number, size: number, value: number): void {
    this.ram.markDirty(off);
    if (this.ram.watched[off >>> 12] !== 0) this.ram.notifyStore(off, size, value);
  }
}
