/**
 * The daemon's HTTP plumbing, shared by the unix-socket and TCP listeners: JSON replies, bounded request
 * bodies, the stale-socket check at start-up and what counts as a loopback address.
 */

import { existsSync, unlinkSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { connect } from "node:net";

/** The largest request body the API accepts. */
export const MAX_BODY = 1024 * 1024;

/** A refusal with its HTTP status; the message is the API's `error`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, `the request body is over ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolveBody(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw new ApiError(400, `the request body is not JSON: ${(e as Error).message}`);
  }
}

/**
 * A socket file left by a daemon that died is removed; one a live daemon answers on is an error (two
 * daemons would each own a hypervisor and fight over the state directory).
 */
export async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const alive = await new Promise<boolean>((r) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      r(true);
    });
    s.once("error", () => r(false));
  });
  if (alive) throw new Error(`another rvisord is already listening at ${path}`);
  unlinkSync(path);
}

/** Whether `host` names a loopback address (the only kind the TCP API binds to). */
export function isLoopback(host: string): boolean {
  return (
    host === "localhost" ||
    host === "::1" ||
    host === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}
