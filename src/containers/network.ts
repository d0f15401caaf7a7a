/**
 * Bridged networking, all of it inside network namespaces the engine creates:
 *
 *   engine netns "rvisor-<tag>"                    container netns "rvisor-<tag>-<id>"
 *   ┌──────────────────────────────┐               ┌─────────────────────────┐
 *   │ rv0 (bridge) 10.88.0.1/16    │── v<id><tag> ═╪═ eth0 10.88.0.N/16      │
 *   │                              │               │ default via 10.88.0.1   │
 *   └──────────────────────────────┘               └─────────────────────────┘
 *
 * The host's own namespace gets no address, route or link: the private range exists only here, and the
 * containers on one engine reach each other through the bridge. Namespaces are named (bind-mounted under
 * /run/netns by `ip netns add`) so CRIU can treat a container's as external and a restore can join a new one.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { BRIDGE_NAME, BRIDGE_SUBNET } from "./params.js";

export class NetworkError extends Error {
  override name = "NetworkError";
}

function ip(args: string[], input?: string): void {
  try {
    execFileSync("ip", args, { input, stdio: ["pipe", "ignore", "pipe"] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new NetworkError(`ip ${args.join(" ")}: ${stderr || (e as Error).message}`);
  }
}

export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

export function engineNetns(tag: string): string {
  return `rvisor-${tag}`;
}

export function containerNetns(tag: string, id: string): string {
  return `rvisor-${tag}-${id}`;
}

/** The engine's bridge namespace, made once. */
export function ensureEngineNetwork(tag: string): void {
  const ns = engineNetns(tag);
  if (existsSync(netnsPath(ns))) return;
  ip(["netns", "add", ns]);
  ip(
    ["-n", ns, "-batch", "-"],
    [
      `link add ${BRIDGE_NAME} type bridge`,
      `addr add ${BRIDGE_SUBNET.gateway}/${BRIDGE_SUBNET.bits} dev ${BRIDGE_NAME}`,
      `link set ${BRIDGE_NAME} up`,
      "link set lo up",
    ].join("\n"),
  );
}

/** The lowest free address in the subnet after the gateway. */
export function allocateAddress(used: Set<string>): string {
  for (let n = 2; n < 65534; n++) {
    const addr = `${BRIDGE_SUBNET.prefix}.${n >> 8}.${n & 255}`;
    if ((n & 255) !== 0 && (n & 255) !== 255 && !used.has(addr)) return addr;
  }
  throw new NetworkError(`no free address left in ${BRIDGE_SUBNET.prefix}.0.0/${BRIDGE_SUBNET.bits}`);
}

/** A new namespace for one container, wired to the engine's bridge; returns its path. */
export function attachContainer(tag: string, id: string, address: string): string {
  ensureEngineNetwork(tag);
  const ns = containerNetns(tag, id);
  const veth = vethName(tag, id);
  removeVeth(tag, veth);
  ip(["netns", "add", ns]);
  try {
    ip(
      ["-n", engineNetns(tag), "-batch", "-"],
      [
        `link add ${veth} type veth peer name eth0 netns ${ns}`,
        `link set ${veth} master ${BRIDGE_NAME} up`,
      ].join("\n"),
    );
    ip(
      ["-n", ns, "-batch", "-"],
      [
        `addr add ${address}/${BRIDGE_SUBNET.bits} dev eth0`,
        "link set eth0 up",
        "link set lo up",
        `route add default via ${BRIDGE_SUBNET.gateway}`,
      ].join("\n"),
    );
  } catch (e) {
    detachContainer(tag, id);
    throw e;
  }
  return netnsPath(ns);
}

function vethName(tag: string, id: string): string {
  return `v${id.slice(0, 8)}${tag.slice(0, 4)}`;
}

/**
 * Deletes the bridge end of a container's veth pair if it is still there. Deleting a namespace frees its
 * devices only when the kernel's asynchronous namespace cleanup runs, so a restore that re-attaches at
 * once would otherwise find the old name taken ("RTNETLINK answers: File exists"); deleting one end of a
 * veth pair removes both at once.
 */
function removeVeth(tag: string, veth: string): void {
  const ns = engineNetns(tag);
  if (!existsSync(netnsPath(ns))) return;
  try {
    ip(["-n", ns, "link", "del", veth]);
  } catch (e) {
    // Already gone, with its namespace or never made: that is what was wanted.
    if (!/Cannot find device/.test((e as Error).message)) throw e;
  }
}

/** Deletes the container's veth pair and its namespace. */
export function detachContainer(tag: string, id: string): void {
  removeVeth(tag, vethName(tag, id));
  const ns = containerNetns(tag, id);
  if (existsSync(netnsPath(ns))) ip(["netns", "del", ns]);
}

/** Deletes the engine's bridge namespace (tests and `ctr` engines that are torn down). */
export function removeEngineNetwork(tag: string): void {
  const ns = engineNetns(tag);
  if (existsSync(netnsPath(ns))) ip(["netns", "del", ns]);
}
