/**
 * rvisord's API, version 1: the JSON shapes the daemon (server.ts) sends and the client (client.ts)
 * reads. Every path starts with /v1; a later incompatible API gets /v2 beside it.
 *
 *   GET  /v1/info                          host: pCPUs, memory, scheduler, version        → HostInfo
 *   GET  /v1/domains                       Domain-0, live domains, then stopped ones      → DomainInfo[]
 *   POST /v1/domains                       CreateRequest: a config file's text            → DomainInfo
 *   POST /v1/domains/:dom/start            a stopped (defined) domain, from its stored config
 *   POST /v1/domains/:dom/{pause,unpause,destroy}
 *   GET  /v1/domains/:dom/console[?from=N] the console output kept so far                 → ConsoleOutput
 *   POST /v1/domains/:dom/console          body: bytes for the guest's console input
 *   GET  /v1/domains/:dom/console/stream   server-sent events: `output` (JSON string), `end`
 *   GET  /v1/store?path=P                  a store node's value and children              → StoreNode
 *
 * `:dom` is a domain id or a name. Errors are `{ "error": message }` with 400 (bad request or config,
 * the config parser's `file:line: key: message` lines), 404 (no such domain), 409 (wrong state, name
 * taken) or 500.
 */
import type { DomainConfig } from "../config/index.js";

export const API_VERSION = "v1";

export interface HostInfo {
  version: string;
  api: string;
  pcpus: number;
  scheduler: string;
  clock: string;
  /** Host RAM in 4 KiB frames, and the part owned by no one. */
  totalFrames: number;
  freeFrames: number;
  totalMemoryMiB: number;
  freeMemoryMiB: number;
  /** Host time since the hypervisor started (the scheduler's clock). */
  uptimeNs: number;
  socket: string;
  stateDir: string;
}

/** What `xl list` shows per domain, plus rvisor's mode and what ended it. */
export interface DomainInfo {
  /** null for a stopped (defined but not running) domain. */
  id: number | null;
  name: string;
  /** "control" for Domain-0. */
  mode: string;
  /** running, paused, shutdown, crashed (kept: on_* = preserve), or stopped. */
  state: string;
  memoryMiB: number;
  vcpus: number;
  /** CPU time the scheduler has given the domain, in seconds. */
  cpuTimeS: number;
  /** How the domain last ended, if it has. */
  end?: { state: string; code: number; reason: string };
  /** The config file it was created from. */
  source?: string;
  uuid?: string;
}

export interface CreateRequest {
  /** The config file's text. */
  config: string;
  /** Its path, for error messages and for resolving relative kernel and disk paths. */
  path: string;
}

export interface ConsoleOutput {
  /** The output from `from` on, as UTF-8 text. */
  text: string;
  /** Where this output starts and ends, in bytes since the domain started. */
  from: number;
  to: number;
  /** Bytes dropped before `from` because the daemon keeps only the last part of the output. */
  dropped: number;
}

export interface StoreNode {
  path: string;
  value: string;
  children: string[];
}

export interface ApiError {
  error: string;
}

/** What the daemon keeps per defined domain (SQLite, state-db.ts). */
export interface StoredDomain {
  name: string;
  uuid: string;
  source: string;
  text: string;
  config: DomainConfig;
}
