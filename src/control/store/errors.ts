/**
 * Xen's error names as the store returns them.
 *
 * The wire protocol sends the errno *name*, never its number (docs/misc/xenstore.txt: "Note that the
 * string name is transmitted"). The first fifteen are `xsd_errors` in `xs_wire.h`; EQUOTA is what
 * oxenstored answers when a per-domain quota is reached (nodes, watches, open transactions).
 */
export const XS_ERRNOS = [
  "EINVAL",
  "EACCES",
  "EEXIST",
  "EISDIR",
  "ENOENT",
  "ENOMEM",
  "ENOSPC",
  "EIO",
  "ENOTEMPTY",
  "ENOSYS",
  "EROFS",
  "EBUSY",
  "EAGAIN",
  "EISCONN",
  "E2BIG",
  "EQUOTA",
] as const;

export type XsErrno = (typeof XS_ERRNOS)[number];

/** An operation's outcome: a value, or an errno name plus a sentence saying what and where. */
export type XsResult<T> = { ok: true; value: T } | { ok: false; errno: XsErrno; detail: string };

export function ok<T>(value: T): XsResult<T> {
  return { ok: true, value };
}

export function fail<T = never>(errno: XsErrno, detail: string): XsResult<T> {
  return { ok: false, errno, detail };
}

export function isXsErrno(name: string): name is XsErrno {
  return (XS_ERRNOS as readonly string[]).includes(name);
}

/** Internal control flow: thrown inside a store operation and turned into a failed XsResult at its edge. */
export class XsError extends Error {
  constructor(
    readonly errno: XsErrno,
    readonly detail: string,
  ) {
    super(`${errno}: ${detail}`);
    this.name = "XsError";
  }
}

/** Runs `body`, turning an XsError into a failed result; any other exception is a bug and propagates. */
export function guard<T>(body: () => T): XsResult<T> {
  try {
    return ok(body());
  } catch (e) {
    if (e instanceof XsError) return fail(e.errno, e.detail);
    throw e;
  }
}
