/**
 * Per-domain quotas, with oxenstored's defaults (tools/ocaml/xenstored/oxenstored.conf):
 * quota-maxentity 1000, quota-maxsize 2048, quota-maxwatch 100, quota-transaction 10.
 *
 * As in oxenstored, domain 0 is exempt from the node and watch counts (it builds every guest's tree),
 * but no node value may exceed maxValueSize for anyone. Exceeding a count gives EQUOTA; an oversized
 * value gives E2BIG (oxenstored's Limit_reached / Data_too_big).
 */
import { XsError } from "./errors.js";
import { isPrivileged } from "./permissions.js";

export interface Quotas {
  /** Nodes a domain may own. */
  readonly maxNodes: number;
  /** Bytes in one node's value. */
  readonly maxValueSize: number;
  /** Watches one connection may hold. */
  readonly maxWatches: number;
  /** Transactions one connection may have open at once. */
  readonly maxTransactions: number;
}

export const XEN_DEFAULT_QUOTAS: Quotas = {
  maxNodes: 1000,
  maxValueSize: 2048,
  maxWatches: 100,
  maxTransactions: 10,
};

export function checkValueSize(quotas: Quotas, size: number, path: string): void {
  if (size > quotas.maxValueSize)
    throw new XsError(
      "E2BIG",
      `value of ${size} bytes for ${path} exceeds the ${quotas.maxValueSize}-byte quota`,
    );
}

export function checkNodeCount(quotas: Quotas, domid: number, owned: number, path: string): void {
  if (!isPrivileged(domid) && owned >= quotas.maxNodes)
    throw new XsError("EQUOTA", `domain ${domid} owns ${owned} nodes, the quota; cannot create ${path}`);
}

export function checkWatchCount(quotas: Quotas, domid: number, held: number): void {
  if (!isPrivileged(domid) && held >= quotas.maxWatches)
    throw new XsError("EQUOTA", `domain ${domid} holds ${held} watches, the quota`);
}

export function checkTransactionCount(quotas: Quotas, domid: number, open: number): void {
  if (open >= quotas.maxTransactions)
    throw new XsError("EQUOTA", `domain ${domid} has ${open} transactions open, the quota`);
}
