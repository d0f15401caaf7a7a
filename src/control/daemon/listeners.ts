/**
 * Where rvisord's API is served: a unix socket only its owner may use (created with mode 0600, so
 * there is no window in which others could connect) and, optionally, a loopback TCP port where every
 * request must carry the bearer token the daemon writes to <stateDir>/api-token (mode 0600): on TCP,
 * unlike the socket, any local user could connect.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { isLoopback, send } from "./http.js";

/** The file, in the state directory, holding the TCP API's bearer token. */
export const TOKEN_FILE = "api-token";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Listens on the unix socket `path` with mode 0600. */
export function listenUnix(server: Server, path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  let old: number | undefined;
  try {
    old = process.umask(0o177);
  } catch {
    // umask is not available in worker threads: the chmod below still applies.
  }
  return new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      chmodSync(path, 0o600);
      resolveListen();
    });
    if (old !== undefined) process.umask(old);
  });
}

/** The API on a loopback TCP address, behind a fresh bearer token. */
export interface TcpListener {
  readonly server: Server;
  /** The address actually bound ("127.0.0.1:7654", "[::1]:7654"). */
  readonly address: string;
}

export async function listenTcp(
  where: { host: string; port: number },
  stateDir: string,
  handler: Handler,
): Promise<TcpListener> {
  if (!isLoopback(where.host))
    throw new Error(
      `--listen ${where.host}:${where.port}: rvisord serves TCP on loopback addresses only (127.0.0.1, ::1, localhost)`,
    );
  const token = randomBytes(24).toString("hex");
  const tokenPath = join(stateDir, TOKEN_FILE);
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(tokenPath, `${token}\n`, { mode: 0o600 });
  chmodSync(tokenPath, 0o600);
  const want = Buffer.from(`Bearer ${token}`);
  const server = createServer((req, res) => {
    const given = Buffer.from(req.headers.authorization ?? "");
    if (given.length !== want.length || !timingSafeEqual(given, want)) {
      send(res, 401, {
        error: `this API needs "Authorization: Bearer <token>" (the token is in ${tokenPath})`,
      });
      return;
    }
    handler(req, res);
  });
  const address = await new Promise<string>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(where.port, where.host, () => {
      server.off("error", reject);
      const a = server.address();
      resolveListen(
        a !== null && typeof a === "object"
          ? a.family === "IPv6"
            ? `[${a.address}]:${a.port}`
            : `${a.address}:${a.port}`
          : `${where.host}:${where.port}`,
      );
    });
  });
  return { server, address };
}

/** Closes a server and every connection it still has. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
}
