/**
 * rvisord's HTTP routing: the /v1 paths of api.ts. The domain lifecycle (create, start, pause,
 * destroy, shutdown, reboot, save, restore, rename), the consoles (serial and PV) and the device
 * listings (device-tree.ts) are served here by calling the daemon (server.ts); every other path goes to
 * the administration endpoints (admin.ts), the resizing ones (resize.ts) and the host lifecycle's
 * (host-lifecycle.ts: autostart, the host's stop settings). Errors become JSON `{"error"}` answers with
 * the ApiError's status (500 otherwise, also
 * written to the log).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Domain } from "../../hypervisor/domain.js";
import { DomainConfigError, type Hypervisor } from "../../hypervisor/hypervisor.js";
import type { Connection } from "../store/connection.js";
import { requestShutdown } from "../store/well-known.js";
import type { Admin } from "./admin.js";
import {
  API_VERSION,
  CONSOLE_TYPES,
  type ConsoleOutput,
  type ConsoleType,
  type CreateRequest,
  type DomainInfo,
  type HostInfo,
  type RestoredDomain,
  type SaveResult,
  type StoreNode,
} from "./api.js";
import type { ConsoleLog } from "./console-log.js";
import { listBlockDevices, listNetworkDevices, syncDeviceStates } from "./device-tree.js";
import type { Entry } from "./entry.js";
import type { HostLifecycle } from "./host-lifecycle.js";
import { ApiError, parseJson, readBody, send } from "./http.js";
import type { ResizeRoutes } from "./resize.js";
import { shutdownRefusal } from "./store-ring.js";

/** What the routes need from the daemon. */
export interface RoutesHost {
  readonly hv: Hypervisor;
  /** Domain 0's connection to the store. */
  readonly tools: Connection;
  readonly admin: Admin;
  readonly resize: ResizeRoutes;
  readonly lifecycle: HostLifecycle;
  log(line: string): void;
  hostInfo(): HostInfo;
  list(): DomainInfo[];
  info(e: Entry): DomainInfo;
  /** A domain by id (live ones) or name (any defined one). */
  lookup(ref: string): Entry;
  /** The entry's running domain (409 when it is stopped). */
  live(e: Entry): Domain;
  create(req: CreateRequest): Promise<{ info: DomainInfo; warnings: string[] }>;
  startDefined(e: Entry, forceBoot?: boolean): Promise<DomainInfo>;
  teardown(e: Entry): Promise<void>;
  save(e: Entry, body: unknown): Promise<SaveResult>;
  restore(body: unknown): Promise<RestoredDomain>;
  rename(e: Entry, body: unknown): DomainInfo;
}

export async function route(h: RoutesHost, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://rvisord");
  const path = url.pathname.replace(/\/+$/, "");
  const method = req.method ?? "GET";
  const parts = path.split("/").slice(1);
  if (parts[0] !== API_VERSION)
    throw new ApiError(
      404,
      `unknown path ${path}: this rvisord serves the ${API_VERSION} API (/${API_VERSION}/…)`,
    );
  const [, what, ref, verb, sub] = parts;
  const key = `${method} ${what ?? ""}${ref === undefined ? "" : "/:dom"}${verb === undefined ? "" : `/${verb}`}${sub === undefined ? "" : `/${sub}`}`;
  switch (key) {
    case "GET info":
      return send(res, 200, h.hostInfo());
    case "GET domains":
      return send(res, 200, h.list());
    case "POST domains": {
      const created = await h.create(parseJson(await readBody(req)) as CreateRequest);
      return send(res, 201, { ...created.info, warnings: created.warnings });
    }
    case "GET domains/:dom":
      return send(res, 200, h.info(h.lookup(ref!)));
    case "POST domains/:dom/start":
      return send(res, 200, await h.startDefined(h.lookup(ref!), url.searchParams.get("force_boot") === "1"));
    case "POST domains/:dom/pause":
    case "POST domains/:dom/unpause": {
      const e = h.lookup(ref!);
      const d = h.live(e);
      try {
        if (verb === "pause") h.hv.pauseDomain(d.id);
        else h.hv.unpauseDomain(d.id);
      } catch (err) {
        if (err instanceof DomainConfigError) throw new ApiError(409, err.message);
        throw err;
      }
      return send(res, 200, h.info(e));
    }
    case "POST domains/:dom/destroy": {
      const e = h.lookup(ref!);
      const d = h.live(e);
      await h.teardown(e);
      h.log(`rvisord: destroyed ${e.stored.name} (id ${d.id})`);
      return send(res, 200, h.info(e));
    }
    case "POST domains/:dom/shutdown":
    case "POST domains/:dom/reboot":
      return send(res, 200, await askShutdown(h, h.lookup(ref!), verb === "reboot", url));
    case "POST domains/:dom/save":
      return send(res, 200, await h.save(h.lookup(ref!), parseJson(await readBody(req))));
    case "POST restore":
      return send(res, 201, await h.restore(parseJson(await readBody(req))));
    case "GET domains/:dom/console": {
      const from = Number(url.searchParams.get("from") ?? "0");
      if (!Number.isInteger(from) || from < 0) throw new ApiError(400, "from must be a byte offset");
      return send(res, 200, consoleOutput(consoleOf(h.lookup(ref!), url), from));
    }
    case "POST domains/:dom/console": {
      const e = h.lookup(ref!);
      h.live(e);
      const log = consoleOf(e, url);
      const body = await readBody(req);
      log?.feed(body);
      return send(res, 200, { accepted: body.length });
    }
    case "GET domains/:dom/console/stream": {
      const e = h.lookup(ref!);
      return streamConsole(e, consoleOf(e, url), Number(url.searchParams.get("from") ?? "0"), res);
    }
    case "POST domains/:dom/rename":
      return send(res, 200, h.rename(h.lookup(ref!), parseJson(await readBody(req))));
    case "GET domains/:dom/devices/vbd":
    case "GET domains/:dom/devices/vif": {
      const e = h.lookup(ref!);
      const d = h.live(e);
      syncDeviceStates(h.tools, d, e.stored.config);
      return send(
        res,
        200,
        sub === "vbd" ? listBlockDevices(h.tools, d.id) : listNetworkDevices(h.tools, d.id),
      );
    }
    case "GET store": {
      const p = url.searchParams.get("path");
      if (p === null) throw new ApiError(400, "give the node as ?path=/local/domain/…");
      return send(res, 200, storeNode(h.tools, p));
    }
    default:
      if (await h.admin.handle(method, parts, url, req, res)) return;
      if (await h.resize.handle(method, parts, req, res)) return;
      if (await h.lifecycle.handle(method, parts, req, res)) return;
      throw new ApiError(404, `no such endpoint: ${method} ${path}`);
  }
}

/** The answer for a request that failed: its ApiError's status, or 500 (logged). */
export function sendError(log: (line: string) => void, res: ServerResponse, e: unknown): void {
  const status = e instanceof ApiError ? e.status : 500;
  const message = e instanceof ApiError ? e.message : `internal error: ${(e as Error).stack ?? e}`;
  if (status === 500) log(`rvisord: ${message}`);
  if (res.headersSent) res.end();
  else send(res, status, { error: message });
}

/**
 * xl shutdown / reboot: writes control/shutdown for a guest that listens (refused like xl for one that
 * does not); with ?wait=1 (`-w`) answers once this instance of the domain is gone.
 */
async function askShutdown(h: RoutesHost, e: Entry, reboot: boolean, url: URL): Promise<DomainInfo> {
  const d = h.live(e);
  const request = reboot ? "reboot" : "poweroff";
  const refusal = shutdownRefusal(h.tools, e.stored.name, d, e.ring, request);
  if (refusal !== undefined) throw new ApiError(409, refusal);
  const gone =
    url.searchParams.get("wait") === "1"
      ? new Promise<void>((r) => {
          const done = () => {
            e.onStop.delete(done);
            r();
          };
          e.onStop.add(done);
        })
      : undefined;
  const written = requestShutdown(h.tools, d.id, request);
  if (!written.ok) throw new Error(`control/shutdown not written: ${written.errno}: ${written.detail}`);
  h.log(`rvisord: asked ${e.stored.name} (id ${d.id}) to ${request}`);
  await gone;
  return h.info(e);
}

/**
 * The console `?type=` names (xl console -t): serial (the default: the UART/SBI console) or pv (hvc0).
 * Undefined for a domain that never ran; a domain without hvc0 (restored from an image saved without
 * one) has no pv console: 404.
 */
function consoleOf(e: Entry, url: URL): ConsoleLog | undefined {
  const type = (url.searchParams.get("type") ?? "serial") as ConsoleType;
  if (!CONSOLE_TYPES.includes(type))
    throw new ApiError(400, `console type ${JSON.stringify(type)}: give serial or pv`);
  if (type === "serial") return e.console;
  if (e.pvConsole === undefined && e.console !== undefined)
    throw new ApiError(404, `${e.stored.name} has no PV console (hvc0)`);
  return e.pvConsole;
}

function consoleOutput(log: ConsoleLog | undefined, from: number): ConsoleOutput {
  if (log === undefined) return { text: "", from: 0, to: 0, dropped: 0 };
  const s = log.since(from);
  return { text: s.bytes.toString("utf8"), from: s.from, to: s.to, dropped: s.dropped };
}

function storeNode(tools: Connection, path: string): StoreNode {
  const value = tools.readString(path);
  if (!value.ok) throw new ApiError(value.errno === "ENOENT" ? 404 : 400, `${value.errno}: ${value.detail}`);
  const children = tools.directory(path);
  return { path, value: value.value, children: children.ok ? [...children.value] : [] };
}

/** Server-sent events: the output from `from`, then each chunk as it comes; `end` when the domain stops. */
function streamConsole(e: Entry, log: ConsoleLog | undefined, from: number, res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  const out = (chunk: Buffer) =>
    res.write(`event: output\ndata: ${JSON.stringify(chunk.toString("utf8"))}\n\n`);
  const first = consoleOutput(log, Number.isInteger(from) && from >= 0 ? from : 0);
  if (first.text.length > 0) out(Buffer.from(first.text));
  const finish = () => {
    stopListening();
    e.onStop.delete(finish);
    res.end(`event: end\ndata: ${JSON.stringify(e.end ?? null)}\n\n`);
  };
  const stopListening = log?.listen(out) ?? (() => {});
  if (e.domain === undefined || !e.domain.alive) {
    finish();
    return;
  }
  e.onStop.add(finish);
  res.on("close", () => {
    stopListening();
    e.onStop.delete(finish);
  });
}
