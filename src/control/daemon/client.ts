/**
 * The API's client side, for the CLI and tests: one method per endpoint of api.ts over the daemon's
 * unix socket. A daemon that is not there (no socket file, or nobody listening on it) is a
 * DaemonNotRunningError saying how to start one; an API refusal is a DaemonApiError with the status
 * and the daemon's message (for a bad config, the parser's `file:line: key: message` lines).
 */
import { request } from "node:http";
import type { ConsoleOutput, CreateRequest, DomainInfo, HostInfo, StoreNode } from "./api.js";
import { API_VERSION } from "./api.js";

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

/** One server-sent event of a console stream. */
export type ConsoleEvent =
  | { kind: "output"; text: string }
  | { kind: "end"; end: { state: string; code: number; reason: string } | null };

export class RvisordClient {
  constructor(readonly socketPath: string) {}

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

  start(dom: string | number): Promise<DomainInfo> {
    return this.call("POST", `/domains/${ref(dom)}/start`);
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

  console(dom: string | number, from = 0): Promise<ConsoleOutput> {
    return this.call("GET", `/domains/${ref(dom)}/console?from=${from}`);
  }

  sendInput(dom: string | number, bytes: Uint8Array | string): Promise<{ accepted: number }> {
    return this.call("POST", `/domains/${ref(dom)}/console`, Buffer.from(bytes));
  }

  storeRead(path: string): Promise<StoreNode> {
    return this.call("GET", `/store?path=${encodeURIComponent(path)}`);
  }

  /**
   * Follows a domain's console: `onEvent` gets the output so far, each later chunk, then `end`. The
   * promise settles when the stream ends (the domain stopped, or the daemon went away).
   */
  streamConsole(dom: string | number, onEvent: (e: ConsoleEvent) => void, from = 0): Promise<void> {
    return new Promise((resolveStream, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          path: `/${API_VERSION}/domains/${ref(dom)}/console/stream?from=${from}`,
          method: "GET",
          agent: false,
        },
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
              const event = parseEvent(pending.slice(0, i));
              pending = pending.slice(i + 2);
              if (event !== undefined) onEvent(event);
            }
          });
          res.on("end", () => resolveStream());
          res.on("error", reject);
        },
      );
      req.on("error", (e) => reject(this.connectError(e)));
      req.end();
    });
  }

  private call<T>(method: string, path: string, body?: Buffer): Promise<T> {
    return new Promise((resolveCall, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          path: `/${API_VERSION}${path}`,
          method,
          // A connection per request: a kept-alive one would outlive a daemon restart (EPIPE).
          agent: false,
          headers:
            body === undefined ? {} : { "content-type": "application/json", "content-length": body.length },
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

function parseEvent(block: string): ConsoleEvent | undefined {
  let kind = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) kind = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return undefined;
  const value = JSON.parse(data.join("\n"));
  if (kind === "output") return { kind: "output", text: value as string };
  if (kind === "end") return { kind: "end", end: value };
  return undefined;
}
