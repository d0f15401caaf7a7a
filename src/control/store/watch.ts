/**
 * Watches and the rule deciding which change events they hear (docs/misc/xenstore.txt, WATCH and
 * WATCH_EVENT):
 *
 *   - a change of path P matches a watch on W when P is W or below it; the event names P;
 *   - removing P also matches every watch on a W below P (the watched node went with its parent);
 *     that event names W itself, so the reported path is always at or below the watch;
 *   - a watch fires once when set, naming W;
 *   - the reported path is relative when the watch was set with a relative path;
 *   - a watcher hears only of nodes it may read (for a removal, as the node was before it went):
 *     cxenstored checks the same before queueing an event.
 */
import type { ChangeEvent } from "./operations.js";
import { isChildOf, relativise } from "./path.js";
import { canRead } from "./permissions.js";

export interface Watch {
  /** Absolute, or a special `@...` path. */
  readonly path: string;
  readonly token: string;
  /** Whether the watch was set with a path relative to the domain's home. */
  readonly relative: boolean;
}

/** One queued WATCH_EVENT: `<epath>|<token>|` on the wire. */
export interface WatchEvent {
  readonly path: string;
  readonly token: string;
}

/** The event `watch` owned by domain `domid` should receive for `change`, or undefined. */
export function matchWatch(watch: Watch, change: ChangeEvent, domid: number): WatchEvent | undefined {
  let epath: string | undefined;
  if (isChildOf(change.path, watch.path)) epath = change.path;
  else if (change.removed && isChildOf(watch.path, change.path)) epath = watch.path;
  if (epath === undefined || !canRead(domid, change.perms)) return undefined;
  return { path: watch.relative ? relativise(epath, domid) : epath, token: watch.token };
}

/** The event a new watch fires at once. */
export function initialEvent(watch: Watch, domid: number): WatchEvent {
  return { path: watch.relative ? relativise(watch.path, domid) : watch.path, token: watch.token };
}
