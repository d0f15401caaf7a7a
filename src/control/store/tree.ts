/**
 * The node tree: a flat map from absolute path to node, plus per-owner node counts for the quota.
 *
 * Nodes are immutable records: every change puts a new record with a fresh generation number, so a
 * transaction can clone the map in O(nodes) and share every record with the tree it came from
 * (cxenstored's "generation count" is the same idea). A tree may record every path it is asked about
 * and the generation it had then (-1: absent); that record is a transaction's read/write set, checked
 * against the live tree at commit.
 */
import { type NodePerms, ownerOf } from "./permissions.js";

export interface StoreNode {
  readonly value: Uint8Array;
  readonly perms: NodePerms;
  /** Leaf names in creation order, as DIRECTORY lists them. */
  readonly children: readonly string[];
  readonly generation: number;
}

export const ABSENT = -1;

/** Shared by a tree and its clones so generations never repeat within one store. */
export interface GenerationCounter {
  value: number;
}

export class Tree {
  private readonly nodes: Map<string, StoreNode>;
  private readonly owned: Map<number, number>;
  /** Path → generation at first touch; null when this tree does not record (the live tree). */
  readonly accessed: Map<string, number> | null;
  /** Paths this tree changed; null when it does not record. */
  readonly dirty: Set<string> | null;

  constructor(
    private readonly counter: GenerationCounter,
    source?: Tree,
    record = false,
  ) {
    this.nodes = new Map(source?.nodes);
    this.owned = new Map(source?.owned);
    this.accessed = record ? new Map() : null;
    this.dirty = record ? new Set() : null;
  }

  /** A recording copy sharing this tree's node records: the start of a transaction. */
  snapshot(): Tree {
    return new Tree(this.counter, this, true);
  }

  get(path: string): StoreNode | undefined {
    const node = this.nodes.get(path);
    this.touch(path, node);
    return node;
  }

  /** Looks without recording: for commit checks and diagnostics. */
  peek(path: string): StoreNode | undefined {
    return this.nodes.get(path);
  }

  generationOf(path: string): number {
    return this.nodes.get(path)?.generation ?? ABSENT;
  }

  put(path: string, fields: Omit<StoreNode, "generation">): StoreNode {
    const old = this.nodes.get(path);
    this.touch(path, old);
    this.dirty?.add(path);
    if (old) this.count(ownerOf(old.perms), -1);
    const node: StoreNode = { ...fields, generation: ++this.counter.value };
    this.nodes.set(path, node);
    this.count(ownerOf(node.perms), +1);
    return node;
  }

  delete(path: string): void {
    const old = this.nodes.get(path);
    this.touch(path, old);
    if (!old) return;
    this.dirty?.add(path);
    this.count(ownerOf(old.perms), -1);
    this.nodes.delete(path);
  }

  ownedBy(domid: number): number {
    return this.owned.get(domid) ?? 0;
  }

  get size(): number {
    return this.nodes.size;
  }

  paths(): IterableIterator<string> {
    return this.nodes.keys();
  }

  private touch(path: string, node: StoreNode | undefined): void {
    if (this.accessed && !this.accessed.has(path)) this.accessed.set(path, node?.generation ?? ABSENT);
  }

  private count(domid: number, delta: number): void {
    const n = (this.owned.get(domid) ?? 0) + delta;
    if (n === 0) this.owned.delete(domid);
    else this.owned.set(domid, n);
  }
}
