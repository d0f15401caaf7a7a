/**
 * A small host for the memory tests: real RAM behind a real Bus (so writes mark the dirty bitmap the
 * way device and slow-path stores do), an allocator over it, and a digest of frames' contents.
 */
import { createHash } from "node:crypto";
import { Bus } from "../../machine/bus.js";
import { DRAM_BASE } from "../../machine/memory-map.js";
import { PAGE_SIZE } from "../../machine/params.js";
import { Ram } from "../../machine/ram.js";
import { type GuestFrame, guestPhysOf, type HostFrame, hostPhysOf } from "./addresses.js";
import { FrameAllocator } from "./frames.js";
import { isP2mFault, type P2m } from "./p2m.js";

export interface TestHost {
  ram: Ram;
  bus: Bus;
  frames: FrameAllocator;
}

export function makeHost(ramFrames = 256, reservedFrames = 16, seed = 1): TestHost {
  const ram = new Ram(DRAM_BASE, ramFrames * PAGE_SIZE);
  return { ram, bus: new Bus(ram), frames: new FrameAllocator(ram, { reservedFrames, seed }) };
}

/** A guest store: translate through the domain's P2M, then write through the bus (marks dirty). */
export function guestWrite(host: TestHost, p2m: P2m, gfn: GuestFrame, offset: number, value: number): void {
  const hpa = p2m.translate(guestPhysOf(gfn, offset & ~3));
  if (isP2mFault(hpa)) throw new Error(`guest write to unmapped gfn 0x${gfn.toString(16)}: ${hpa.detail}`);
  if (!host.bus.write(hpa, 4, value)) throw new Error(`bus refused 0x${hpa.toString(16)}`);
}

/** SHA-256 over the given host frames' bytes, in the order given. */
export function hashFrames(ram: Ram, frames: readonly HostFrame[]): string {
  const h = createHash("sha256");
  for (const hf of frames) {
    const off = hostPhysOf(hf) - ram.base;
    h.update(ram.u8.subarray(off, off + PAGE_SIZE));
  }
  return h.digest("hex");
}

/** SHA-256 over a domain's whole memory as it sees it: its mapping and every mapped frame's bytes. */
export function hashDomain(ram: Ram, p2m: P2m): string {
  const h = createHash("sha256");
  p2m.forEach((gfn, hf, perms) => {
    h.update(`${gfn}:${hf}:${perms};`);
    const off = hostPhysOf(hf) - ram.base;
    h.update(ram.u8.subarray(off, off + PAGE_SIZE));
  });
  return h.digest("hex");
}
