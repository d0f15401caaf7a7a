/**
 * Where rvisord listens and keeps its state, and how the CLI finds it:
 *
 *   socket      --socket P, else $RVISOR_SOCKET, else /run/rvisor/rvisord.sock
 *   state dir   --state-dir D, else $RVISOR_STATE_DIR, else /var/lib/rvisor
 *   TCP token   for a `tcp://HOST:PORT` endpoint: $RVISOR_TOKEN, else <state dir>/api-token
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const DEFAULT_SOCKET = "/run/rvisor/rvisord.sock";
export const DEFAULT_STATE_DIR = "/var/lib/rvisor";

export function socketPath(explicit?: string): string {
  return explicit ?? process.env.RVISOR_SOCKET ?? DEFAULT_SOCKET;
}

export function stateDir(explicit?: string): string {
  return explicit ?? process.env.RVISOR_STATE_DIR ?? DEFAULT_STATE_DIR;
}

/** The bearer token for a TCP endpoint (undefined for a socket path, or when none can be read). */
export function apiToken(endpoint: string): string | undefined {
  if (!endpoint.startsWith("tcp://")) return undefined;
  if (process.env.RVISOR_TOKEN !== undefined) return process.env.RVISOR_TOKEN;
  try {
    return readFileSync(join(stateDir(), "api-token"), "utf8").trim();
  } catch {
    return undefined;
  }
}
