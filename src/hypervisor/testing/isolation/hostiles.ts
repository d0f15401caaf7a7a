/**
 * Every hostile guest, in the order the isolation tests build them (one at a time, and all at once
 * beside the real guest kernel). Each group lives in its own file: memory.ts (loads and stores outside
 * RAM, a sweep to its end, trap-mode page tables pointing outside), pv.ts (PV page-table requests to
 * refuse, alone and in multicalls; writes into pinned tables), traps.ts (guests that crash, privileged
 * instructions, a storm of traps) and hypercalls.ts (SBI calls with garbage arguments).
 */
import type { Hostile } from "./arena.js";
import { hypercalls } from "./hypercalls.js";
import { outsideRam, pageTables, ramSweep } from "./memory.js";
import { pinnedWrites, pvTables, pvTablesMulticall } from "./pv.js";
import { crashers, privileged, storm } from "./traps.js";

export const HOSTILES: Hostile[] = [
  outsideRam,
  ramSweep,
  pageTables,
  pvTables,
  pvTablesMulticall,
  pinnedWrites,
  privileged,
  storm,
  hypercalls,
  ...crashers,
];
