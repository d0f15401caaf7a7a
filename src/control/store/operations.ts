/**
 * The tree operations with Xen's permission and errno rules, shared by the live tree and by
 * transactions (which run the same code on their snapshot).
 *
 * Errno rules follow cxenstored's get_node()/errno_from_parents(): if the node exists but the caller
 * lacks the right, EACCES; if it does not exist, the caller learns ENOENT only when the nearest existing
 * ancestor grants it the right it asked for, and EACCES otherwise, so a denied caller cannot probe which
 * nodes exist. Creation (WRITE, MKDIR) needs write on the nearest existing ancestor and creates every
 * missing ancestor with inherited permissions. Each successful change yields one watch event.
 */
import { XsError } from "./errors.js";
import { baseName, isSpecial, join, parentOf } from "./path.js";
import {
  canRead,
  canWrite,
  inheritedPerms,
  isPrivileged,
  type NodePerms,
  ownerOf,
  rightsFor,
} from "./permissions.js";
import { checkNodeCount, checkValueSize, type Quotas } from "./quota.js";
import type { StoreNode, Tree } from "./tree.js";

/** A change to match against watches: `removed` also matches watches below `path`. */
export interface ChangeEvent {
  readonly path: string;
  /** The node's permissions when the change happened, deciding who may hear of it. */
  readonly perms: NodePerms;
  readonly removed: boolean;
}

export interface OpContext {
  readonly tree: Tree;
  readonly domid: number;
  readonly quotas: Quotas;
  readonly emit: (event: ChangeEvent) => void;
}

const EMPTY = new Uint8Array(0);

function nodePath(path: string): string {
  if (isSpecial(path)) throw new XsError("EINVAL", `${path} names a watch event, not a node`);
  return path;
}

function nearestAncestor(tree: Tree, path: string): StoreNode {
  let p = path;
  do {
    p = parentOf(p);
    const node = tree.get(p);
    if (node) return node;
  } while (p !== "/");
  throw new Error(`store invariant broken: no root node above ${path}`);
}

function missing(ctx: OpContext, path: string, need: "read" | "write"): XsError {
  const ancestor = nearestAncestor(ctx.tree, path);
  const allowed = need === "read" ? canRead(ctx.domid, ancestor.perms) : canWrite(ctx.domid, ancestor.perms);
  return allowed
    ? new XsError("ENOENT", `${path} does not exist`)
    : new XsError("EACCES", `domain ${ctx.domid} may not ${need} ${path}`);
}

function existing(ctx: OpContext, path: string, need: "read" | "write"): StoreNode {
  const node = ctx.tree.get(nodePath(path));
  if (!node) throw missing(ctx, path, need);
  const allowed = need === "read" ? canRead(ctx.domid, node.perms) : canWrite(ctx.domid, node.perms);
  if (!allowed) throw new XsError("EACCES", `domain ${ctx.domid} may not ${need} ${path}`);
  return node;
}

export function read(ctx: OpContext, path: string): Uint8Array {
  return existing(ctx, path, "read").value;
}

export function directory(ctx: OpContext, path: string): readonly string[] {
  return existing(ctx, path, "read").children;
}

/** DIRECTORY_PART's view: the children and the generation count that changes with them. */
export function directoryWithGeneration(
  ctx: OpContext,
  path: string,
): { generation: number; children: readonly string[] } {
  const node = existing(ctx, path, "read");
  return { generation: node.generation, children: node.children };
}

export function getPerms(ctx: OpContext, path: string): NodePerms {
  return existing(ctx, path, "read").perms;
}

/** Creates `path` and its missing ancestors; the caller has checked that `path` is absent. */
function create(ctx: OpContext, path: string, value: Uint8Array): void {
  const parentPath = parentOf(path);
  let parent = ctx.tree.get(parentPath);
  if (!parent) {
    create(ctx, parentPath, EMPTY);
    parent = ctx.tree.get(parentPath)!;
  } else if (!canWrite(ctx.domid, parent.perms)) {
    throw new XsError("EACCES", `domain ${ctx.domid} may not create children of ${parentPath}`);
  }
  checkNodeCount(ctx.quotas, ctx.domid, ctx.tree.ownedBy(ctx.domid), path);
  ctx.tree.put(parentPath, { ...parent, children: [...parent.children, baseName(path)] });
  ctx.tree.put(path, { value, perms: inheritedPerms(parent.perms, ctx.domid), children: [] });
}

export function write(ctx: OpContext, path: string, value: Uint8Array): void {
  checkValueSize(ctx.quotas, value.length, path);
  const node = ctx.tree.get(nodePath(path));
  if (node) {
    if (!canWrite(ctx.domid, node.perms))
      throw new XsError("EACCES", `domain ${ctx.domid} may not write ${path}`);
    ctx.tree.put(path, { ...node, value });
  } else {
    if (path === "/") throw new Error("store invariant broken: root node missing");
    const e = missing(ctx, path, "write");
    if (e.errno !== "ENOENT") throw e;
    create(ctx, path, value);
  }
  ctx.emit({ path, perms: ctx.tree.peek(path)!.perms, removed: false });
}

/** Ensures `path` exists; an existing node (writable by the caller) is left alone and fires nothing. */
export function mkdir(ctx: OpContext, path: string): void {
  const node = ctx.tree.get(nodePath(path));
  if (node) {
    if (!canWrite(ctx.domid, node.perms))
      throw new XsError("EACCES", `domain ${ctx.domid} may not write ${path}`);
    return;
  }
  const e = missing(ctx, path, "write");
  if (e.errno !== "ENOENT") throw e;
  create(ctx, path, EMPTY);
  ctx.emit({ path, perms: ctx.tree.peek(path)!.perms, removed: false });
}

/** Deletes `path` and everything below; absent is fine if the parent exists (xenstore.txt, RM). */
export function rm(ctx: OpContext, path: string): void {
  if (nodePath(path) === "/") throw new XsError("EINVAL", "the root node cannot be removed");
  const node = ctx.tree.get(path);
  if (!node) {
    const e = missing(ctx, path, "write");
    if (e.errno !== "ENOENT") throw e;
    if (ctx.tree.get(parentOf(path))) return;
    throw new XsError("ENOENT", `neither ${path} nor its parent exists`);
  }
  if (!canWrite(ctx.domid, node.perms))
    throw new XsError("EACCES", `domain ${ctx.domid} may not remove ${path}`);
  const removeSubtree = (p: string, n: StoreNode): void => {
    for (const child of n.children) {
      const cp = join(p, child);
      removeSubtree(cp, ctx.tree.get(cp)!);
    }
    ctx.tree.delete(p);
  };
  removeSubtree(path, node);
  const parentPath = parentOf(path);
  const parent = ctx.tree.get(parentPath)!;
  const name = baseName(path);
  ctx.tree.put(parentPath, { ...parent, children: parent.children.filter((c) => c !== name) });
  ctx.emit({ path, perms: node.perms, removed: true });
}

/**
 * Replaces a node's permission list. The caller needs write and ownership of the node; only a
 * privileged domain may hand the node to another owner (oxenstored Store.setperms).
 */
export function setPerms(ctx: OpContext, path: string, perms: NodePerms): void {
  const node = existing(ctx, path, "write");
  const rights = rightsFor(ctx.domid, node.perms);
  if (!rights.owner) throw new XsError("EACCES", `domain ${ctx.domid} does not own ${path}`);
  if (!isPrivileged(ctx.domid) && ownerOf(perms) !== ownerOf(node.perms))
    throw new XsError("EACCES", `domain ${ctx.domid} may not give ${path} to domain ${ownerOf(perms)}`);
  ctx.tree.put(path, { ...node, perms });
  ctx.emit({ path, perms, removed: false });
}
