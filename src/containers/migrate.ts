/**
 * Moving a running container to another rvisor ctr daemon over TCP: stop-and-copy (pre-copy needs
 * soft-dirty page tracking, which this kernel lacks).
 *
 *   source (`ctr migrate c host:port`)              target (`ctr daemon --listen host:port`)
 *   ─────────────────────────────────               ────────────────────────────────────────
 *   t0  criu dump (the container stops)
 *       connect ───────────────────────────────────► accept
 *       {"v":1,"name","spec","limits","ip"}\n ─────► a new record and directory (state checkpointed)
 *       tar of checkpoint/, the rootfs diff ───────► untar into the new directory
 *       (upper/, or rootfs/ with a user namespace)
 *       and the log
 *       end of stream ─────────────────────────────► restore: new cgroups with the recorded limits,
 *                                                    a new network namespace, criu restore
 *       ◄──────────── {"ok":true,"id","pid","restoreMs"}\n  (or {"ok":false,"error"})
 *   t1  remove the local container (on failure: restore it here instead)
 *
 * Downtime is t1 - t0 as the source sees it; dump, transfer and restore times are reported beside it.
 * The image (the overlay's lower directory) must exist at the same path on the target, as it does for two
 * daemons on one machine.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import type { Limits } from "./cgroups.js";
import { checkpoint, restore } from "./criu.js";
import type { Engine } from "./engine.js";
import { UsageError } from "./limits.js";
import { allocateAddress } from "./network.js";
import type { ContainerRecord, ContainerSpec } from "./store.js";

export class MigrationError extends Error {
  override name = "MigrationError";
}

interface Header {
  v: 1;
  name: string;
  spec: ContainerSpec;
  limits: Limits;
}

type Reply = { ok: true; id: string; pid: number; restoreMs: number } | { ok: false; error: string };

export interface MigrationReport {
  name: string;
  remoteId: string;
  dumpMs: number;
  transferMs: number;
  restoreMs: number;
  downtimeMs: number;
  bytes: number;
}

function parseAddress(text: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`'${text}' is not host:port`);
  return { host: m[1] || "127.0.0.1", port: Number(m[2]) };
}

/** Streams `tar -c` of `entries` under `dir` into `sink`; resolves with the byte count. */
function sendTar(dir: string, entries: string[], sink: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    const tar = spawn("tar", ["-C", dir, "-cf", "-", ...entries], { stdio: ["ignore", "pipe", "pipe"] });
    let bytes = 0;
    let stderr = "";
    tar.stdout.on("data", (d: Buffer) => {
      bytes += d.length;
    });
    tar.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    tar.stdout.pipe(sink, { end: false });
    tar.on("exit", (code) =>
      code === 0 ? resolve(bytes) : reject(new MigrationError(`tar of ${dir}: ${stderr.trim()}`)),
    );
  });
}

function readLine(socket: Socket): Promise<{ line: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      socket.off("data", onData);
      socket.pause();
      resolve({ line: buf.subarray(0, nl).toString(), rest: buf.subarray(nl + 1) });
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("end", () =>
      reject(new MigrationError("the peer closed the connection before a whole line")),
    );
  });
}

/** Migrates `ref` to the daemon at `target`; on a failed restore there, the container is restored here. */
export async function migrate(engine: Engine, ref: string, target: string): Promise<MigrationReport> {
  const { host, port } = parseAddress(target);
  const c = engine.get(ref);
  if (c.state !== "running") throw new UsageError(`container ${c.name} is not running (${c.state})`);
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host, port }, () => resolve(s));
    s.once("error", (e) => reject(new MigrationError(`cannot reach the daemon at ${target}: ${e.message}`)));
  });
  const t0 = performance.now();
  let dump: Awaited<ReturnType<typeof checkpoint>>;
  try {
    dump = await checkpoint(engine, c.id);
  } catch (e) {
    socket.destroy(); // the daemon hears the end of the stream and gives up; nothing was sent
    throw e;
  }
  const t1 = performance.now();
  const header: Header = { v: 1, name: c.name, spec: c.spec, limits: c.limits };
  socket.write(`${JSON.stringify(header)}\n`);
  const diff = c.spec.userns ? "rootfs" : "upper";
  const replyP = readLine(socket);
  let bytes: number;
  try {
    const entries = ["checkpoint", diff, ...(existsSync(join(engine.dir(c.id), "log")) ? ["log"] : [])];
    bytes = await sendTar(engine.dir(c.id), entries, socket);
    socket.end();
  } catch (e) {
    socket.destroy();
    await restore(engine, c.id);
    throw e;
  }
  const t2 = performance.now();
  let reply: Reply;
  try {
    reply = JSON.parse((await replyP).line) as Reply;
  } catch (e) {
    reply = { ok: false, error: (e as Error).message };
  }
  const t3 = performance.now();
  socket.destroy();
  if (!reply.ok) {
    await restore(engine, c.id);
    throw new MigrationError(
      `the daemon at ${target} could not restore ${c.name} (it runs here again): ${reply.error}`,
    );
  }
  await engine.remove(c.id, true);
  return {
    name: c.name,
    remoteId: reply.id,
    dumpMs: dump.ms,
    transferMs: t2 - t1,
    restoreMs: reply.restoreMs,
    downtimeMs: t3 - t0,
    bytes,
  };
}

/** The target side of one migration: record, untar, restore. */
async function receive(engine: Engine, socket: Socket): Promise<Reply> {
  const { line, rest } = await readLine(socket);
  const h = JSON.parse(line) as Header;
  if (h.v !== 1) throw new MigrationError(`unknown migration version ${h.v}`);
  if (!existsSync(h.spec.rootfs))
    throw new MigrationError(`the image ${h.spec.rootfs} does not exist on this host`);
  const name = engine.store.find(h.name) ? `${h.name}-${randomBytes(2).toString("hex")}` : h.name;
  const id = randomBytes(6).toString("hex");
  const rec: ContainerRecord = {
    id,
    name,
    spec: h.spec,
    limits: h.limits,
    state: "checkpointed",
    pid: null,
    pidStart: null,
    monitor: null,
    monitorStart: null,
    ip: h.spec.net === "bridge" ? allocateAddress(engine.store.usedIps()) : null,
    exitCode: null,
    exitSignal: null,
    oomKilled: false,
    createdAt: Date.now(),
    startedAt: null,
    finishedAt: null,
  };
  const dir = engine.dir(id);
  mkdirSync(join(dir, "rootfs"), { recursive: true });
  if (!h.spec.userns) mkdirSync(join(dir, "work"));
  engine.store.insert(rec);
  try {
    await new Promise<void>((resolve, reject) => {
      const tar = spawn("tar", ["-C", dir, "-xf", "-"], { stdio: ["pipe", "ignore", "pipe"] });
      let stderr = "";
      tar.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      tar.on("exit", (code) =>
        code === 0 ? resolve() : reject(new MigrationError(`untar into ${dir}: ${stderr.trim()}`)),
      );
      tar.stdin.write(rest);
      socket.pipe(tar.stdin);
      socket.resume();
    });
    const r = await restore(engine, id);
    return { ok: true, id, pid: r.pid, restoreMs: r.ms };
  } catch (e) {
    engine.destroy(engine.get(id));
    throw e;
  }
}

export interface MigrationServer {
  address: string;
  close(): Promise<void>;
}

/** Accepts migrations into `engine` on `listen` (host:port; port 0 picks a free one). */
export function serveMigrations(engine: Engine, listen: string): Promise<MigrationServer> {
  const { host, port } = parseAddress(listen);
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    // A source that goes away mid-stream is that migration's failure, not the daemon's.
    socket.on("error", () => {});
    receive(engine, socket)
      .catch((e: Error): Reply => ({ ok: false, error: e.message }))
      .then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
  });
  return new Promise((resolve, reject) => {
    server.once("error", (e) => reject(new MigrationError(`cannot listen on ${listen}: ${e.message}`)));
    server.listen(port, host, () => {
      const a = server.address();
      const address = typeof a === "object" && a ? `${a.address}:${a.port}` : listen;
      resolve({ address, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}
