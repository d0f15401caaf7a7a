/**
 * A domain's memory, saved and restored by guest frame: the P2M says which host frame backs each gfn
 * now, so a restored domain gets whatever frames the new host hands it and the same contents at the same
 * guest-physical addresses. Pages of zeros are recorded without their bytes (a fresh domain's frames
 * are zeroed).
 *
 *   the memory section: one record per populated gfn, ascending
 *     ┌────────────┬─────────────────────┬──────────────────────────┐
 *     │ gfn u32 LE │ kind u32 LE         │ 4096 bytes (kind 1 only) │
 *     │            │ 0 zeros · 1 data    │                          │
 *     └────────────┴─────────────────────┴──────────────────────────┘
 *
 * The record is the unit a pre-copy migration sends as well. memoryHash is what tests compare: the same
 * SHA-256 over (gfn, page) pairs whether computed from a live domain or from a state.
 */
import { createHash } from "node:crypto";
import { PAGE_SIZE } from "../../machine/params.js";
import type { Domain } from "../domain.js";
import { type GuestFrame, guestFrame, guestPhysOf } from "../memory/addresses.js";
import { GUEST_RAM_BASE_GFN } from "../memory/p2m.js";
import { ImageError } from "./fields.js";
import type { MemorySaveState, PageRecord } from "./state.js";

const KIND_ZERO = 0;
const KIND_DATA = 1;
const RECORD_HEAD = 8;
const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

/** Every populated frame of `d` (a copy: the domain may run on). */
export function saveMemory(d: Domain): MemorySaveState {
  const ram = d.mem.ram;
  const pages: PageRecord[] = [];
  d.p2m.forEach((gfn) => {
    const off = d.mem.offsetOf(guestPhysOf(gfn));
    let zero = true;
    for (let w = off >>> 2, end = (off + PAGE_SIZE) >>> 2; w < end; w++)
      if (ram.i32[w] !== 0) {
        zero = false;
        break;
      }
    pages.push({ gfn, data: zero ? undefined : ram.u8.slice(off, off + PAGE_SIZE) });
  });
  return { pages };
}

/** The gfns a state populates (what the restored domain's P2M is built with). */
export function populatedGfns(m: MemorySaveState): GuestFrame[] {
  return m.pages.map((p) => guestFrame(p.gfn));
}

/** Writes the pages into a domain built with exactly populatedGfns(m): its frames are zeroed already. */
export function restoreMemory(d: Domain, m: MemorySaveState): void {
  for (const p of m.pages)
    if (p.data !== undefined && !d.mem.write(guestPhysOf(guestFrame(p.gfn)), p.data))
      throw new Error(`restore: gfn 0x${p.gfn.toString(16)} is not the domain's RAM`);
}

/** SHA-256 (hex) over every populated frame of a live domain: gfn (u32 LE), then its 4096 bytes. */
export function memoryHash(d: Domain): string {
  const h = createHash("sha256");
  const ram = d.mem.ram;
  d.p2m.forEach((gfn) => {
    const off = d.mem.offsetOf(guestPhysOf(gfn));
    h.update(u32(gfn));
    h.update(ram.u8.subarray(off, off + PAGE_SIZE));
  });
  return h.digest("hex");
}

/** The same hash, over a saved state. */
export function memoryStateHash(m: MemorySaveState): string {
  const h = createHash("sha256");
  for (const p of m.pages) {
    h.update(u32(p.gfn));
    h.update(p.data ?? ZERO_PAGE);
  }
  return h.digest("hex");
}

/** The memory section's body, as chunks (the pages are not copied again). */
export function encodeMemory(m: MemorySaveState): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of m.pages) {
    const head = new Uint8Array(RECORD_HEAD);
    const dv = new DataView(head.buffer);
    dv.setUint32(0, p.gfn, true);
    dv.setUint32(4, p.data === undefined ? KIND_ZERO : KIND_DATA, true);
    out.push(head);
    if (p.data !== undefined) out.push(p.data);
  }
  return out;
}

/**
 * Reads the memory section (`body` at file offset `at`) of a domain with `maxFrames` of RAM span:
 * every record must name a gfn of the span, in ascending order, with a known kind and all its bytes.
 * The pages are views into `body`.
 */
export function decodeMemory(body: Uint8Array, at: number, maxFrames: number): MemorySaveState {
  const dv = new DataView(body.buffer, body.byteOffset, body.length);
  const end = GUEST_RAM_BASE_GFN + maxFrames;
  const pages: PageRecord[] = [];
  let last = -1;
  for (let off = 0; off < body.length; ) {
    const where = `section memory: the record at offset ${at + off}`;
    if (off + RECORD_HEAD > body.length) throw new ImageError(`${where} is cut short`);
    const gfn = dv.getUint32(off, true);
    const kind = dv.getUint32(off + 4, true);
    if (gfn < GUEST_RAM_BASE_GFN || gfn >= end)
      throw new ImageError(
        `${where}: gfn 0x${gfn.toString(16)} is outside the domain's RAM (0x${GUEST_RAM_BASE_GFN.toString(16)}..0x${(end - 1).toString(16)})`,
      );
    if (gfn <= last)
      throw new ImageError(`${where}: gfn 0x${gfn.toString(16)} does not follow 0x${last.toString(16)}`);
    last = gfn;
    off += RECORD_HEAD;
    if (kind === KIND_ZERO) {
      pages.push({ gfn, data: undefined });
    } else if (kind === KIND_DATA) {
      if (off + PAGE_SIZE > body.length) throw new ImageError(`${where}: its page is cut short`);
      pages.push({ gfn, data: body.subarray(off, off + PAGE_SIZE) });
      off += PAGE_SIZE;
    } else {
      throw new ImageError(`${where}: kind ${kind} is neither 0 (zeros) nor 1 (data)`);
    }
  }
  return { pages };
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
