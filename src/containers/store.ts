/**
 * The engine's durable state: one SQLite database (better-sqlite3, as the hypervisor daemon uses) per
 * engine root, in WAL mode so a CLI and a daemon can share it. A row per container holds its spec, its
 * limits as last applied (so a restore or a re-adopting engine puts them back) and its run state; the
 * updates table keeps every `update` for `inspect`.
 */
import { createRequire } from "node:module";
import type { Limits } from "./cgroups.js";

export type ContainerState = "created" | "running" | "exited" | "checkpointed";

/** What a container was asked to be; fixed at creation. */
export interface ContainerSpec {
  /** The image: a directory used as the overlay's lower layer (or copied, with a user namespace). */
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  hostname: string;
  net: "none" | "bridge";
  userns: boolean;
  /** The OCI bundle it came from, if any. */
  bundle?: string;
}

export interface ContainerRecord {
  id: string;
  name: string;
  spec: ContainerSpec;
  limits: Limits;
  state: ContainerState;
  pid: number | null;
  /** The container init's start time in clock ticks (/proc/<pid>/stat field 22): tells a reused pid apart. */
  pidStart: number | null;
  /** The helper monitoring it, and that process's start time. */
  monitor: number | null;
  monitorStart: number | null;
  ip: string | null;
  exitCode: number | null;
  exitSignal: number | null;
  oomKilled: boolean;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

interface Statement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
interface Database {
  pragma(text: string): unknown;
  exec(sql: string): void;
  prepare(sql: string): Statement;
  close(): void;
}
type DatabaseCtor = new (path: string) => Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS containers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  spec TEXT NOT NULL,
  limits TEXT NOT NULL,
  state TEXT NOT NULL,
  pid INTEGER,
  pid_start INTEGER,
  monitor INTEGER,
  monitor_start INTEGER,
  ip TEXT,
  exit_code INTEGER,
  exit_signal INTEGER,
  oom_killed INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER
);
CREATE TABLE IF NOT EXISTS updates (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  container_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  change TEXT NOT NULL
);`;

interface Row {
  id: string;
  name: string;
  spec: string;
  limits: string;
  state: ContainerState;
  pid: number | null;
  pid_start: number | null;
  monitor: number | null;
  monitor_start: number | null;
  ip: string | null;
  exit_code: number | null;
  exit_signal: number | null;
  oom_killed: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

function fromRow(r: Row): ContainerRecord {
  return {
    id: r.id,
    name: r.name,
    spec: JSON.parse(r.spec) as ContainerSpec,
    limits: JSON.parse(r.limits) as Limits,
    state: r.state,
    pid: r.pid,
    pidStart: r.pid_start,
    monitor: r.monitor,
    monitorStart: r.monitor_start,
    ip: r.ip,
    exitCode: r.exit_code,
    exitSignal: r.exit_signal,
    oomKilled: r.oom_killed !== 0,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

export class Store {
  private readonly db: Database;

  constructor(path: string) {
    const Ctor = createRequire(import.meta.url)("better-sqlite3") as DatabaseCtor;
    this.db = new Ctor(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
  }

  insert(c: ContainerRecord): void {
    this.db
      .prepare(
        `INSERT INTO containers (id, name, spec, limits, state, pid, pid_start, monitor, monitor_start, ip,
         exit_code, exit_signal, oom_killed, created_at, started_at, finished_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        c.id,
        c.name,
        JSON.stringify(c.spec),
        JSON.stringify(c.limits),
        c.state,
        c.pid,
        c.pidStart,
        c.monitor,
        c.monitorStart,
        c.ip,
        c.exitCode,
        c.exitSignal,
        c.oomKilled ? 1 : 0,
        c.createdAt,
        c.startedAt,
        c.finishedAt,
      );
  }

  /** Writes every mutable field of `c` back. */
  save(c: ContainerRecord): void {
    this.db
      .prepare(
        `UPDATE containers SET limits = ?, state = ?, pid = ?, pid_start = ?, monitor = ?, monitor_start = ?,
         ip = ?, exit_code = ?, exit_signal = ?, oom_killed = ?, started_at = ?, finished_at = ? WHERE id = ?`,
      )
      .run(
        JSON.stringify(c.limits),
        c.state,
        c.pid,
        c.pidStart,
        c.monitor,
        c.monitorStart,
        c.ip,
        c.exitCode,
        c.exitSignal,
        c.oomKilled ? 1 : 0,
        c.startedAt,
        c.finishedAt,
        c.id,
      );
  }

  recordUpdate(id: string, change: Limits): void {
    this.db
      .prepare("INSERT INTO updates (container_id, at, change) VALUES (?, ?, ?)")
      .run(id, Date.now(), JSON.stringify(change));
  }

  updates(id: string): { at: number; change: Limits }[] {
    const rows = this.db
      .prepare("SELECT at, change FROM updates WHERE container_id = ? ORDER BY seq")
      .all(id) as {
      at: number;
      change: string;
    }[];
    return rows.map((r) => ({ at: r.at, change: JSON.parse(r.change) as Limits }));
  }

  /** By id, unique id prefix or name. */
  find(ref: string): ContainerRecord | null {
    const exact = this.db.prepare("SELECT * FROM containers WHERE id = ? OR name = ?").get(ref, ref) as
      | Row
      | undefined;
    if (exact) return fromRow(exact);
    const byPrefix = this.db
      .prepare("SELECT * FROM containers WHERE id LIKE ? LIMIT 2")
      .all(`${ref}%`) as Row[];
    return byPrefix.length === 1 ? fromRow(byPrefix[0]) : null;
  }

  all(): ContainerRecord[] {
    return (this.db.prepare("SELECT * FROM containers ORDER BY created_at").all() as Row[]).map(fromRow);
  }

  remove(id: string): void {
    this.db.prepare("DELETE FROM containers WHERE id = ?").run(id);
    this.db.prepare("DELETE FROM updates WHERE container_id = ?").run(id);
  }

  usedIps(): Set<string> {
    const rows = this.db.prepare("SELECT ip FROM containers WHERE ip IS NOT NULL").all() as { ip: string }[];
    return new Set(rows.map((r) => r.ip));
  }

  close(): void {
    this.db.close();
  }
}
