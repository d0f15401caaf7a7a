/**
 * The API's client side, for the CLI and tests: one method per endpoint of api.ts over the daemon's
 * unix socket, or over its loopback TCP port (an endpoint `tcp://127.0.0.1:PORT`, with the bearer token
 * from the daemon's state directory or $RVISOR_TOKEN). A daemon that is not there (no socket file, or nobody listening on it) is a
 * DaemonNotRunningError saying how to start one; an API refusal is a DaemonApiError with the status
 * and the daemon's message (for a bad config, the parser's `file:line: key: message` lines).
 */
import { type RequestOptions, request } from "node:http";
import type {
  BlockDevice,
  ConsoleOutput,
  ConsoleType,
  CreateRequest,
  DomainInfo,
  HostInfo,
  HostSettings,
  LogLine,
  NetworkDevice,
  RestoredDomain,
  RestoreRequest,
  SaveRequest,
  SaveResult,
  SchedEntry,
  StatsSample,
  StoreEntry,
  StoreNode,
  VcpuInfo,
  VcpuPinRequest,
} from "./api.js";
import { API_VERSION } from "./api.js";
import type { ResizeInfo } from "./resize.js";

export class DaemonNotRunningError extends Error {
  override name = "DaemonNotRunningError";
  constructor(readonly socketPath: string) {
    super(`rvisord is not running at ${socketPath}: start it with \`rvisor daemon\``);
  }
}

export class DaemonApiError extends Error {
  override name = "DaemonApiError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type CreatedDomain = DomainInfo & { warnings: string[] };

/** How a streamed console's domain ended (null: it was destroyed or never ran). */
export type ConsoleEnd = { state: string; code: number; reason: string } | null;

/** One server-sent event of a console stream. */
export type ConsoleEvent = { kind: "output"; text: string } | { kind: "end"; end: ConsoleEnd };

/** One server-sent event of a store watch or a statistics stream. */
export interface StreamEvent {
  event: string;
  data: unknown;
}

export class RvisordClient {
  private readonly target: Pick<RequestOptions, "socketPath" | "host" | "port">;
  private readonly auth: Record<string, string>;

  /**
   * `endpoint`: the daemon's unix socket path, or `tcp://HOST:PORT` for its loopback TCP API (then
   * `token` is required: the content of the daemon's <stateDir>/api-token).
   */
  constructor(
    readonly socketPath: string,
    token?: string,
  ) {
    const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(socketPath);
    if (tcp !== null) {
      this.target = { host: tcp[1]!.replace(/^\[|\]$/g, ""), port: Number(tcp[2]) };
      this.auth = token === undefined ? {} : { authorization: `Bearer ${token.trim()}` };
    } else {
      this.target = { socketPath };
      this.auth = {};
    }
  }

  info(): Promise<HostInfo> {
    return this.call("GET", "/info");
  }

  list(): Promise<DomainInfo[]> {
    return this.call("GET", "/domains");
  }

  domain(dom: string | number): Promise<DomainInfo> {
    return this.call("GET", `/domains/${ref(dom)}`);
  }

  create(req: CreateRequest): Promise<CreatedDomain> {
    return this.call("POST", "/domains", Buffer.from(JSON.stringify(req)));
  }

  /** A stopped domain again; one the daemon's stop saved goes on from its image unless `forceBoot`. */
  start(dom: string | number, forceBoot = false): Promise<DomainInfo> {
    return this.call("POST", `/domains/${ref(dom)}/start${forceBoot ? "?force_boot=1" : ""}`);
  }

  /** virsh autostart: whether the domain starts (or is restored) with the daemon. */
  autostart(dom: string | number, on: boolean): Promise<DomainInfo> {
    return this.call(
      "POST",
      `/domains/${ref(dom)}/autostart`,
      Buffer.from(JSON.stringify({ autostart: on })),
    );
  }

  hostSettings(): Promise<HostSettings> {
    return this.call("GET", "/host/settings");
  }

  /** Changes what the daemon's stop does (remembered across its restarts). */
  setHostSettings(change: Partial<HostSettings>): Promise<HostSettings> {
    return this.call("POST", "/host/settings", Buffer.from(JSON.stringify(change)));
  }

  pause(dom: string | number): Promise<DomainInfo> {
    return this.call("POST", `/domains/${ref(dom)}/pause`);
  }

  unpause(dom: string | number): Promise<DomainInfo> {
    return this.call("POST", `/domains/${ref(dom)}/unpause`);
  }

  destroy(dom: string | number): Promise<DomainInfo> {
    return this.call("POST", `/domains/${ref(dom)}/destroy`);
  }

  /** xl shutdown / reboot: asks the guest through control/shutdown; `wait` answers once it has gone. */
  shutdown(dom: string | number, wait = false): Promise<DomainInfo> {
    return this.call("POST", `/domains/${ref(dom)}/shutdown${wait ? "?wait=1" : ""}`);
  }

  reboot(dom: string | number, wait = false): Promise<DomainInfo> {
    return this.call("POST", `/domains/${ref(dom)}/reboot${wait ? "?wait=1" : ""}`);
  }

  /** Writes the domain's state to `req.path` (absolute; the daemon writes it). */
  save(dom: string | number, req: SaveRequest): Promise<SaveResult> {
    return this.call("POST", `/domains/${ref(dom)}/save`, Buffer.from(JSON.stringify(req)));
  }

  /** Creates the domain saved in `req.path` (absolute; the daemon reads it), going on where it was. */
  restore(req: RestoreRequest): Promise<RestoredDomain> {
    return this.call("POST", "/restore", Buffer.from(JSON.stringify(req)));
  }

  /** A console's output from byte `from`: the serial console (the default) or hvc0 (`pv`). */
  console(dom: string | number, from = 0, type: ConsoleType = "serial"): Promise<ConsoleOutput> {
    return this.call("GET", `/domains/${ref(dom)}/console?from=${from}${typeParam(type)}`);
  }

  sendInput(
    dom: string | number,
    bytes: Uint8Array | string,
    type: ConsoleType = "serial",
  ): Promise<{ accepted: number }> {
    return this.call("POST", `/domains/${ref(dom)}/console${typeParam(type, "?")}`, Buffer.from(bytes));
  }

  /** xl rename. */
  rename(dom: string | number, name: string): Promise<DomainInfo> {
    return this.call("POST", `/domains/${ref(dom)}/rename`, Buffer.from(JSON.stringify({ name })));
  }

  /** xl block-list's rows, from the store. */
  blockDevices(dom: string | number): Promise<BlockDevice[]> {
    return this.call("GET", `/domains/${ref(dom)}/devices/vbd`);
  }

  /** xl network-list's rows, from the store. */
  networkDevices(dom: string | number): Promise<NetworkDevice[]> {
    return this.call("GET", `/domains/${ref(dom)}/devices/vif`);
  }

  storeRead(path: string): Promise<StoreNode> {
    return this.call("GET", `/store?path=${encodeURIComponent(path)}`);
  }

  storeWrite(path: string, value: string | Uint8Array): Promise<{ path: string; bytes: number }> {
    return this.call(
      "PUT",
      `/store?path=${encodeURIComponent(path)}`,
      Buffer.from(value),
      "application/octet-stream",
    );
  }

  storeRm(path: string): Promise<{ path: string }> {
    return this.call("DELETE", `/store?path=${encodeURIComponent(path)}`);
  }

  storeList(path: string): Promise<StoreEntry[]> {
    return this.call("GET", `/store/ls?path=${encodeURIComponent(path)}`);
  }

  /** Xen's watch: `onEvent` once at once, then per change; stop() ends it. Settles when it ends. */
  storeWatch(
    path: string,
    onEvent: (e: { path: string; token: string }) => void,
  ): { done: Promise<void>; stop: () => void } {
    return this.stream(`/store/watch?path=${encodeURIComponent(path)}`, (e) => {
      if (e.event === "watch") onEvent(e.data as { path: string; token: string });
    });
  }

  vcpus(dom?: string | number): Promise<VcpuInfo[]> {
    return this.call("GET", dom === undefined ? "/vcpus" : `/domains/${ref(dom)}/vcpus`);
  }

  vcpuPin(dom: string | number, req: VcpuPinRequest): Promise<VcpuInfo[]> {
    return this.call("POST", `/domains/${ref(dom)}/vcpu-pin`, Buffer.from(JSON.stringify(req)));
  }

  /** xl vcpu-set: how many vCPUs the guest should run. */
  vcpuSet(dom: string | number, online: number): Promise<ResizeInfo> {
    return this.call("POST", `/domains/${ref(dom)}/vcpus`, Buffer.from(JSON.stringify({ online })));
  }

  /** xl mem-set: the balloon's target, KiB. */
  memSet(dom: string | number, targetKiB: number): Promise<ResizeInfo> {
    return this.call("POST", `/domains/${ref(dom)}/memory`, Buffer.from(JSON.stringify({ targetKiB })));
  }

  /** xl mem-max: the most memory the domain may have, KiB. */
  memMax(dom: string | number, maxKiB: number): Promise<ResizeInfo> {
    return this.call("POST", `/domains/${ref(dom)}/maxmem`, Buffer.from(JSON.stringify({ maxKiB })));
  }

  /** Memory, vCPUs and the balloon's statistics (and asks the guest for fresh ones). */
  resizeInfo(dom: string | number): Promise<ResizeInfo> {
    return this.call("GET", `/domains/${ref(dom)}/resize`);
  }

  sched(): Promise<SchedEntry[]> {
    return this.call("GET", "/sched");
  }

  schedSet(dom: string | number, change: { weight?: number; cap?: number }): Promise<SchedEntry> {
    return this.call("POST", `/domains/${ref(dom)}/sched`, Buffer.from(JSON.stringify(change)));
  }

  stats(): Promise<StatsSample> {
    return this.call("GET", "/stats");
  }

  /** A `stats` sample every `intervalMs` (the first: cumulative) until stop(). */
  statsStream(
    intervalMs: number,
    onSample: (s: StatsSample) => void,
  ): { done: Promise<void>; stop: () => void } {
    return this.stream(`/stats/stream?interval=${intervalMs}`, (e) => {
      if (e.event === "stats") onSample(e.data as StatsSample);
    });
  }

  dmesg(): Promise<LogLine[]> {
    return this.call("GET", "/dmesg");
  }

  /** A server-sent event stream of JSON data; `stop` closes it. */
  private stream(path: string, onEvent: (e: StreamEvent) => void): { done: Promise<void>; stop: () => void } {
    let stopReq: () => void = () => {};
    const done = new Promise<void>((resolveStream, reject) => {
      const req = request(
        { ...this.target, path: `/${API_VERSION}${path}`, method: "GET", agent: false, headers: this.auth },
        (res) => {
          if (res.statusCode !== 200) {
            collect(res).then((body) => reject(apiError(res.statusCode ?? 500, body)), reject);
            return;
          }
          let pending = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            pending += chunk;
            for (let i = pending.indexOf("\n\n"); i >= 0; i = pending.indexOf("\n\n")) {
              const e = parseRawEvent(pending.slice(0, i));
              pending = pending.slice(i + 2);
              if (e !== undefined) onEvent(e);
            }
          });
          res.on("end", () => resolveStream());
          res.on("error", () => resolveStream());
        },
      );
      stopReq = () => {
        req.destroy();
        resolveStream();
      };
      req.on("error", (e) => reject(this.connectError(e)));
      req.end();
    });
    return { done, stop: () => stopReq() };
  }

  /**
   * Follows a domain's console: `onEvent` gets the output so far, each later chunk, then `end`. The
   * promise settles when the stream ends (the domain stopped, or the daemon went away).
   */
  streamConsole(
    dom: string | number,
    onEvent: (e: ConsoleEvent) => void,
    from = 0,
    signal?: AbortSignal,
    type: ConsoleType = "serial",
  ): Promise<void> {
    const s = this.stream(`/domains/${ref(dom)}/console/stream?from=${from}${typeParam(type)}`, (e) => {
      if (e.event === "output") onEvent({ kind: "output", text: e.data as string });
      else if (e.event === "end") onEvent({ kind: "end", end: e.data as ConsoleEnd });
    });
    if (signal?.aborted) s.stop();
    signal?.addEventListener("abort", () => s.stop());
    return s.done;
  }

  private call<T>(method: string, path: string, body?: Buffer, type = "application/json"): Promise<T> {
    return new Promise((resolveCall, reject) => {
      const req = request(
        {
          ...this.target,
          path: `/${API_VERSION}${path}`,
          method,
          // A connection per request: a kept-alive one would outlive a daemon restart (EPIPE).
          agent: false,
          headers:
            body === undefined
              ? this.auth
              : { ...this.auth, "content-type": type, "content-length": body.length },
        },
        (res) => {
          collect(res).then((text) => {
            const status = res.statusCode ?? 500;
            if (status >= 400) reject(apiError(status, text));
            else resolveCall(JSON.parse(text) as T);
          }, reject);
        },
      );
      req.on("error", (e) => reject(this.connectError(e)));
      req.end(body);
    });
  }

  private connectError(e: Error): Error {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ECONNREFUSED" || code === "ENOTSOCK")
      return new DaemonNotRunningError(this.socketPath);
    if (code === "EACCES")
      return new Error(
        `cannot connect to rvisord at ${this.socketPath}: permission denied (the socket is its owner's only)`,
      );
    return e;
  }
}

/** The console type as a query parameter; none for the serial console (what older daemons serve). */
function typeParam(type: ConsoleType, lead = "&"): string {
  return type === "serial" ? "" : `${lead}type=${type}`;
}

function ref(dom: string | number): string {
  return encodeURIComponent(String(dom));
}

function collect(res: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolveBody(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}

function apiError(status: number, text: string): DaemonApiError {
  try {
    const body = JSON.parse(text) as { error?: string };
    if (typeof body.error === "string") return new DaemonApiError(status, body.error);
  } catch {
    // not JSON: use the text as it is
  }
  return new DaemonApiError(status, `rvisord answered ${status}: ${text.trim()}`);
}

function parseRawEvent(block: string): StreamEvent | undefined {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return undefined;
  return { event, data: JSON.parse(data.join("\n")) };
}
