/**
 * A PV domain's page-table bookkeeping, saved and restored: which frames are pinned page tables (at
 * which level) and how many writable leaves of pinned tables map each frame. With it the restored
 * domain's pinned tables stay read-only from their first fill, and unpin and mmu_update go on
 * validating against exactly what the guest had built.
 */
import type { PvState } from "../pv.js";
import { checkInt, Fields, ImageError } from "./fields.js";
import type { PvSaveState } from "./state.js";

export function savePv(pv: PvState): PvSaveState {
  const byGfn = <T>(m: Map<number, T>) => [...m.entries()].sort((a, b) => a[0] - b[0]);
  return {
    pinned: byGfn(pv.pinned),
    writable: byGfn(pv.writable),
    updates: pv.updates,
    refused: pv.refused,
  };
}

/** Into a fresh domain's PvState (empty maps). */
export function restorePv(pv: PvState, s: PvSaveState): void {
  for (const [gfn, level] of s.pinned) pv.pinned.set(gfn, level);
  for (const [gfn, n] of s.writable) pv.writable.set(gfn, n);
  pv.updates = s.updates;
  pv.refused = s.refused;
}

/** The JSON of a PvSaveState; every gfn must be one of the domain's (`isRam`). */
export function parsePvState(json: unknown, where: string, isRam: (gfn: number) => boolean): PvSaveState {
  const f = Fields.of(json, where);
  const pairs = (key: string, second: (v: unknown, at: string) => number) => {
    const seen = new Set<number>();
    return f.array(key).map((p, i) => {
      const at = `${f.at(key)}[${i}]`;
      if (!Array.isArray(p) || p.length !== 2) throw new ImageError(`${at}: not a [gfn, value] pair`);
      const gfn = checkInt(p[0], `${at}[0]`, 0, 0xf_ffff);
      if (!isRam(gfn)) throw new ImageError(`${at}: gfn 0x${gfn.toString(16)} is not the domain's RAM`);
      if (seen.has(gfn)) throw new ImageError(`${at}: gfn 0x${gfn.toString(16)} appears twice`);
      seen.add(gfn);
      return [gfn, second(p[1], `${at}[1]`)] as [number, number];
    });
  };
  return {
    pinned: pairs("pinned", (v, at) => checkInt(v, at, 0, 1)) as [number, 0 | 1][],
    writable: pairs("writable", (v, at) => checkInt(v, at, 1, Number.MAX_SAFE_INTEGER)),
    updates: f.count("updates"),
    refused: f.count("refused"),
  };
}
