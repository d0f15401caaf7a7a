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
import { RingBackend } from "../store/ring-backend.js";
import { type ShutdownRequest, wellKnown } from "../store/well-known.js";

export interface StoreRingLink {
  readonly backend: RingBackend;
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
