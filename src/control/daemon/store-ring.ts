/**
 * The daemon's side of each domain's store ring (docs/store-ring.md) and of graceful shutdown.
 *
 *   boot:      the domain builder reserved the ring page and its event channel (Domain.storeRing)
 *              ──▶ INTRODUCE the domain to the store (its ring's frame and port) ──▶ a RingBackend
 *              serves the ring as the domain's Connection, woken by the channel's sends
 *   teardown:  the channel is let go, the backend closed, the domain RELEASEd (its watches, its
 *              transactions and the nodes it owns go; @releaseDomain fires)
 *
 * `rvisor shutdown` / `rvisor reboot` are xl's: the toolstack writes "poweroff" or "reboot" to the
 * guest's control/shutdown and the guest, which watches it, shuts itself down. That needs a guest
 * that listens: its ring connected and served, and control/feature-poweroff (or -reboot) written by
 * the guest, as Linux does when it sets up its shutdown watch. Otherwise the request would sit
 * unread, so it is refused with xl's "PV control interface not available".
 */
import type { Domain } from "../../hypervisor/domain.js";
import { PAGE_SIZE } from "../../machine/params.js";
import type { Connection } from "../store/connection.js";
import { domainPath, join, relativise } from "../store/path.js";
import { RingBackend } from "../store/ring-backend.js";
import { type ShutdownRequest, wellKnown } from "../store/well-known.js";

export interface StoreRingLink {
  readonly backend: RingBackend;
  /** The domain's own connection to the store (what its ring's requests run as). */
  readonly connection: Connection;
  /** Lets go of the ring and releases the domain from the store. */
  disconnect(): void;
}

/** Serves `d`'s store ring through `tools` (domain 0's connection); undefined when it has none. */
export function connectStoreRing(
  tools: Connection,
  d: Domain,
  log: (line: string) => void,
): StoreRingLink | undefined {
  const ring = d.storeRing;
  if (ring === undefined) return undefined;
  const introduced = tools.introduce(d.id, ring.page.gpa / PAGE_SIZE, ring.channel.port);
  if (!introduced.ok) {
    log(`store ring not connected: ${introduced.errno}: ${introduced.detail}`);
    return undefined;
  }
  const backend = new RingBackend(introduced.value, ring.page, {
    notify: () => ring.channel.notify(),
    onError: (why) => log(`store ring no longer served: ${why}`),
  });
  ring.channel.attach(() => backend.kick());
  return {
    backend,
    connection: introduced.value,
    disconnect() {
      ring.channel.detach();
      backend.close();
      const released = tools.release(d.id);
      if (!released.ok) log(`store release: ${released.errno}: ${released.detail}`);
    },
  };
}

/** Why `d` cannot be asked to `request` gracefully, or undefined when it can. */
export function shutdownRefusal(
  tools: Connection,
  name: string,
  d: Domain,
  link: StoreRingLink | undefined,
  request: ShutdownRequest,
): string | undefined {
  if (!d.alive) return `${name} (id ${d.id}) is ${d.state} already`;
  const feature = tools.readString(`${wellKnown.home(d.id)}/control/feature-${request}`);
  const listening = link?.backend.connected === true && feature.ok && feature.value === "1";
  if (listening) return undefined;
  const why =
    link === undefined || !link.backend.connected
      ? "its store ring is not connected"
      : `the guest has not announced control/feature-${request}`;
  return (
    `${name} (id ${d.id}): PV control interface not available: external graceful ${request === "reboot" ? "reboot" : "shutdown"} ` +
    `not possible (${why}); use \`rvisor destroy ${name}\` to stop it at once`
  );
}

/**
 * What a domain keeps in the store that a save must carry (the store releases it with the domain):
 * its watches, and the nodes under its home that it owns (it wrote them: control/feature-poweroff,
 * data/...). Paths are relative to its home where they were, so they follow it to a new domid.
 */
export interface GuestStoreState {
  watches: { path: string; token: string }[];
  /** Pre-order (parents first); values base64. */
  nodes: { path: string; value: string }[];
  /**
   * The backend's bytes in flight (RingBackendState, base64): a request half read from req and
   * replies not yet in rsp. Absent in images from before it was carried.
   */
  ring?: { input: string; output: string };
}

/**
 * The device frontends the toolstack writes for every new instance of a domain (device-tree.ts): they
 * name the instance's domid and backends, so a restore writes them afresh rather than carry them over
 * (a Xen frontend reconnects to its new backend likewise).
 */
const WRITTEN_AT_RESTORE = new Set(["device", "console"]);

/** `d`'s watches and owned nodes, read through `tools` (domain 0) and its ring's connection. */
export function saveGuestStore(tools: Connection, d: Domain, link: StoreRingLink): GuestStoreState {
  const home = domainPath(d.id);
  const nodes: GuestStoreState["nodes"] = [];
  const walk = (path: string): void => {
    const perms = tools.getPerms(path);
    const value = tools.read(path);
    if (perms.ok && perms.value[0]?.domid === d.id && value.ok)
      nodes.push({ path: relativise(path, d.id), value: Buffer.from(value.value).toString("base64") });
    const children = tools.directory(path);
    if (children.ok) for (const c of children.value) walk(join(path, c));
  };
  const top = tools.directory(home);
  if (top.ok) for (const c of top.value) if (!WRITTEN_AT_RESTORE.has(c)) walk(join(home, c));
  const watches = link.connection.watches.map((w) => ({
    path: w.relative ? relativise(w.path, d.id) : w.path,
    token: w.token,
  }));
  const inFlight = link.backend.saveState();
  const ring = {
    input: Buffer.from(inFlight.input).toString("base64"),
    output: Buffer.from(inFlight.output).toString("base64"),
  };
  return { watches, nodes, ring };
}

/**
 * Puts a saved GuestStoreState back through the restored domain's own connection (so it owns its nodes
 * again under its new domid). Each watch fires once at once, as a new watch does: the guest reads
 * what it watches again. Returns what could not be put back (logged by the caller).
 */
export function restoreGuestStore(link: StoreRingLink, s: GuestStoreState): string[] {
  const failed: string[] = [];
  // First, before anything kicks the backend: the request the guest had half sent goes on from the
  // bytes it had already taken, and the replies it had not read yet wait for it.
  if (s.ring !== undefined) {
    const why = link.backend.restoreState({
      input: Buffer.from(s.ring.input, "base64"),
      output: Buffer.from(s.ring.output, "base64"),
    });
    if (why !== undefined) failed.push(`ring: ${why}`);
  }
  for (const n of s.nodes) {
    const r = link.connection.write(n.path, Buffer.from(n.value, "base64"));
    if (!r.ok) failed.push(`node ${n.path}: ${r.errno}: ${r.detail}`);
  }
  for (const w of s.watches) {
    const r = link.connection.watch(w.path, w.token);
    if (!r.ok) failed.push(`watch ${w.path} (${w.token}): ${r.errno}: ${r.detail}`);
  }
  link.backend.kick();
  return failed;
}

/** A GuestStoreState from an image's JSON, or a message saying what is wrong with it. */
export function parseGuestStore(v: unknown): GuestStoreState | string {
  const o = v as Partial<GuestStoreState> | null;
  if (typeof o !== "object" || o === null || !Array.isArray(o.watches) || !Array.isArray(o.nodes))
    return "not an object with watches and nodes";
  for (const [i, w] of o.watches.entries())
    if (typeof w?.path !== "string" || typeof w.token !== "string") return `watches[${i}]: not {path, token}`;
  for (const [i, n] of o.nodes.entries())
    if (typeof n?.path !== "string" || typeof n.value !== "string") return `nodes[${i}]: not {path, value}`;
  const base64 = (v: unknown) =>
    typeof v === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0;
  if (o.ring !== undefined && (!base64(o.ring?.input) || !base64(o.ring?.output)))
    return "ring: not {input, output} in base64";
  return o as GuestStoreState;
}
