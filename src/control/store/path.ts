/**
 * Store paths, as docs/misc/xenstore.txt defines them.
 *
 * Absolute paths start with `/`; components use ASCII alphanumerics and `-_@`; no empty components
 * (so no doubled or trailing slash, except the root `/` itself); at most XENSTORE_ABS_PATH_MAX bytes.
 * A path not starting with `/` is relative to the caller's home `/local/domain/<domid>` and at most
 * XENSTORE_REL_PATH_MAX bytes. Paths starting with `@` name special watch events, not nodes.
 */
import { XsError } from "./errors.js";

export const XENSTORE_ABS_PATH_MAX = 3072;
export const XENSTORE_REL_PATH_MAX = 2048;

export const INTRODUCE_DOMAIN = "@introduceDomain";
export const RELEASE_DOMAIN = "@releaseDomain";
export const SPECIAL_PATHS = [INTRODUCE_DOMAIN, RELEASE_DOMAIN] as const;

const COMPONENT = /^[A-Za-z0-9_@-]+$/;

export function domainPath(domid: number): string {
  return `/local/domain/${domid}`;
}

export function isSpecial(path: string): boolean {
  return path.startsWith("@");
}

/** Resolves `path` as sent by domain `domid` to its absolute form, or throws EINVAL saying why. */
export function canonicalise(path: string, domid: number): string {
  if (path.length === 0) throw new XsError("EINVAL", "empty path");
  if (isSpecial(path)) {
    if (!(SPECIAL_PATHS as readonly string[]).includes(path))
      throw new XsError("EINVAL", `unknown special path ${path}`);
    return path;
  }
  const relative = !path.startsWith("/");
  if (relative && path.length > XENSTORE_REL_PATH_MAX)
    throw new XsError("EINVAL", `relative path longer than ${XENSTORE_REL_PATH_MAX} bytes`);
  const absolute = relative ? `${domainPath(domid)}/${path}` : path;
  if (absolute.length > XENSTORE_ABS_PATH_MAX)
    throw new XsError("EINVAL", `path longer than ${XENSTORE_ABS_PATH_MAX} bytes`);
  if (absolute === "/") return absolute;
  const parts = absolute.slice(1).split("/");
  for (const part of parts) {
    if (!COMPONENT.test(part)) throw new XsError("EINVAL", `invalid path ${JSON.stringify(path)}`);
  }
  return absolute;
}

/** The parent of an absolute node path; the root's parent is the root. */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function join(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

/** xenstore.txt's "child": identical, or the parent is `/`, or `<parent>/` is a prefix of the child. */
export function isChildOf(child: string, parent: string): boolean {
  if (child === parent) return true;
  if (isSpecial(child) || isSpecial(parent)) return false;
  return parent === "/" || child.startsWith(`${parent}/`);
}

/** The path shown back to a caller: relative again if the caller used a relative form. */
export function relativise(path: string, domid: number): string {
  const home = `${domainPath(domid)}/`;
  return path.startsWith(home) ? path.slice(home.length) : path;
}
