/**
 * Per-node permissions in Xen's form.
 *
 * A node carries a list of entries `<letter><domid>` (docs/misc/xenstore.txt, GET_PERMS/SET_PERMS):
 *
 *     [ b1 , r0 , n5 ]      letters: n none, r read, w write, b both
 *       │     └────┴── ACL: what a listed domain may do (first match wins)
 *       └──────────── owner domain (may do anything) and the access of every domain not listed
 *
 * Following cxenstored's perm_for_conn(): a privileged domain (domain 0) and the owner get everything;
 * otherwise the first ACL entry naming the caller decides; otherwise the first entry's letter does.
 * A new node inherits its parent's list, except that a node created by an unprivileged domain is owned
 * by that domain ("unprivileged domains own what they create", cxenstored construct_node()).
 */
import { XsError } from "./errors.js";

export type Access = "n" | "r" | "w" | "b";

export interface PermEntry {
  readonly domid: number;
  readonly access: Access;
}

/** Never empty: entry 0 is the owner plus the default access. */
export type NodePerms = readonly PermEntry[];

export const PRIVILEGED_DOMID = 0;
export const DOMID_MAX = 0xffff;

export function isPrivileged(domid: number): boolean {
  return domid === PRIVILEGED_DOMID;
}

export interface Rights {
  read: boolean;
  write: boolean;
  owner: boolean;
}

export function rightsFor(domid: number, perms: NodePerms): Rights {
  if (isPrivileged(domid) || perms[0]!.domid === domid) return { read: true, write: true, owner: true };
  const entry = perms.slice(1).find((p) => p.domid === domid) ?? perms[0]!;
  return {
    read: entry.access === "r" || entry.access === "b",
    write: entry.access === "w" || entry.access === "b",
    owner: false,
  };
}

export function canRead(domid: number, perms: NodePerms): boolean {
  return rightsFor(domid, perms).read;
}

export function canWrite(domid: number, perms: NodePerms): boolean {
  return rightsFor(domid, perms).write;
}

/** The permissions a node created by `creator` under a parent with `parent` permissions gets. */
export function inheritedPerms(parent: NodePerms, creator: number): NodePerms {
  if (isPrivileged(creator)) return parent;
  return [{ domid: creator, access: parent[0]!.access }, ...parent.slice(1)];
}

export function ownerOf(perms: NodePerms): number {
  return perms[0]!.domid;
}

export function formatPerm(p: PermEntry): string {
  return `${p.access}${p.domid}`;
}

/** Parses the `<perm-as-string>|+` list of SET_PERMS; throws EINVAL naming the bad entry. */
export function parsePerms(entries: readonly string[]): NodePerms {
  if (entries.length === 0) throw new XsError("EINVAL", "permission list is empty");
  return entries.map((text) => {
    const match = /^([nrwb])(\d{1,5})$/.exec(text);
    if (!match) throw new XsError("EINVAL", `permission ${JSON.stringify(text)} is not <n|r|w|b><domid>`);
    const domid = Number(match[2]);
    if (domid > DOMID_MAX) throw new XsError("EINVAL", `permission ${text}: domid above ${DOMID_MAX}`);
    return { domid, access: match[1] as Access };
  });
}

export function permsEqual(a: NodePerms, b: NodePerms): boolean {
  return a.length === b.length && a.every((p, i) => p.domid === b[i]!.domid && p.access === b[i]!.access);
}
