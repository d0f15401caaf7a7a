/**
 * xl rename: a domain gets a new name everywhere rvisord keeps one — its definition (SQLite), the
 * hypervisor's domain, the store's /local/domain/<id>/name and /vm/<uuid>/name — for a running domain
 * or a stopped definition alike. Refused, changing nothing, when the new name breaks the config parser's
 * name rule, is Domain-0's, or is taken by another defined domain. The config file's text (kept as the
 * user wrote it, for save images) is not rewritten; the parsed config the daemon boots from is.
 */
import { CONTROL_DOMAIN } from "../../hypervisor/hypervisor.js";
import { domainNameProblem } from "../config/index.js";
import type { Connection } from "../store/connection.js";
import { wellKnown } from "../store/well-known.js";
import type { StoredDomain } from "./api.js";
import type { Entry } from "./entry.js";
import { ApiError } from "./http.js";
import type { StateDb } from "./state-db.js";

export interface RenameHost {
  /** Defined domains by name (renamed in place). */
  entries: Map<string, Entry>;
  db: StateDb;
  tools: Connection;
  log(line: string): void;
}

/** Renames `e` to the body's {"name"}; throws ApiError (400, 409) without changing anything. */
export function renameDomain(h: RenameHost, e: Entry, body: unknown): void {
  const name = (body as { name?: unknown } | null)?.name;
  if (typeof name !== "string") throw new ApiError(400, 'the body must be JSON {"name": <the new name>}');
  const old = e.stored.name;
  if (name === old) return;
  const problem = domainNameProblem(name);
  if (problem !== undefined) throw new ApiError(400, `name ${problem}`);
  if (name === CONTROL_DOMAIN.name) throw new ApiError(409, `${name} is the control domain's name`);
  const taken = h.entries.get(name);
  if (taken !== undefined)
    throw new ApiError(
      409,
      `a domain named ${name} already exists${taken.domain === undefined ? " (stopped)" : ` (id ${taken.domain.id})`}`,
    );
  const stored: StoredDomain = { ...e.stored, name, config: { ...e.stored.config, name } };
  if (!h.db.rename(old, stored)) h.db.put(stored);
  h.entries.delete(old);
  h.entries.set(name, e);
  e.stored = stored;
  const d = e.domain;
  if (d !== undefined) {
    d.name = name;
    for (const path of [wellKnown.name(d.id), `${wellKnown.vmPath(stored.uuid)}/name`]) {
      const w = h.tools.write(path, name);
      if (!w.ok) h.log(`rvisord: ${name} (id ${d.id}): ${path} not written: ${w.errno}: ${w.detail}`);
    }
  }
  h.log(`rvisord: renamed ${old}${d === undefined ? "" : ` (id ${d.id})`} to ${name}`);
}
