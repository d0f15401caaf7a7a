/**
 * The daemon's durable state: an SQLite database (better-sqlite3) in its state directory holding every
 * defined domain's config — the file's text as the user wrote it, where it came from, and the parsed
 * DomainConfig (kernel and disk paths already absolute, so a restart does not depend on the daemon's
 * working directory). A domain is defined when it is first created and stays defined after it stops,
 * so after a daemon restart `rvisor list` shows it as stopped and `rvisor start` brings it back.
 *
 * Beside each definition: whether it starts with the daemon (autostart), and the save image the
 * daemon's last stop left for it (host-lifecycle.ts), if any; and the host's own settings (what a stop
 * does with running domains), as key/value pairs.
 *
 * WAL journal with synchronous=FULL: a definition the API has acknowledged survives the daemon being
 * killed (and the host losing power) right after. The schema carries a version (user_version); each
 * migration below takes a database one version up, in a transaction, so a database written by an
 * older rvisord opens with everything it held (a newer one is refused).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { DomainConfig } from "../config/index.js";
import type { StoredDomain } from "./api.js";

export const DB_FILE = "rvisord.db";

/** MIGRATIONS[v] takes a database from user_version v to v + 1. */
const MIGRATIONS: readonly string[] = [
  // 0 → 1: the definitions.
  `CREATE TABLE IF NOT EXISTS domains (
     name        TEXT PRIMARY KEY,
     uuid        TEXT NOT NULL UNIQUE,
     source      TEXT NOT NULL,
     config_text TEXT NOT NULL,
     config_json TEXT NOT NULL,
     created_at  TEXT NOT NULL DEFAULT (datetime('now')),
     updated_at  TEXT NOT NULL DEFAULT (datetime('now'))
   );`,
  // 1 → 2: autostart, the images a stop saved, the host's settings.
  `ALTER TABLE domains ADD COLUMN autostart INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE saved_images (
     name     TEXT PRIMARY KEY REFERENCES domains(name) ON DELETE CASCADE,
     path     TEXT NOT NULL,
     paused   INTEGER NOT NULL,
     bytes    INTEGER NOT NULL,
     sha256   TEXT NOT NULL,
     saved_at TEXT NOT NULL
   );
   CREATE TABLE host_settings (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

/** A save image the daemon keeps for a stopped domain (written by its stop, restored at its start). */
export interface SavedImage {
  path: string;
  /** The domain was paused when saved: it comes back paused. */
  paused: boolean;
  bytes: number;
  sha256: string;
  /** ISO 8601. */
  savedAt: string;
}

/** A definition with what the daemon keeps beside it. */
export interface DomainRecord {
  stored: StoredDomain;
  autostart: boolean;
  saved: SavedImage | undefined;
}

interface Row {
  name: string;
  uuid: string;
  source: string;
  config_text: string;
  config_json: string;
  autostart: number;
}

interface SavedRow {
  name: string;
  path: string;
  paused: number;
  bytes: number;
  sha256: string;
  saved_at: string;
}

export class StateDb {
  private readonly db: Database.Database;

  constructor(readonly stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.db = new Database(join(stateDir, DB_FILE));
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    const version = this.db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new Error(
        `${join(stateDir, DB_FILE)}: schema version ${version} is newer than this rvisord's (${SCHEMA_VERSION})`,
      );
    this.db.pragma("foreign_keys = ON");
    const migrate = this.db.transaction((from: number) => {
      for (let v = from; v < SCHEMA_VERSION; v++) this.db.exec(MIGRATIONS[v]!);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    });
    if (version < SCHEMA_VERSION) migrate(version);
  }

  /** Defines (or redefines, by name) a domain. */
  put(d: StoredDomain): void {
    this.db
      .prepare(
        `INSERT INTO domains (name, uuid, source, config_text, config_json)
         VALUES (@name, @uuid, @source, @text, @json)
         ON CONFLICT(name) DO UPDATE SET uuid = @uuid, source = @source, config_text = @text,
           config_json = @json, updated_at = datetime('now')`,
      )
      .run({ name: d.name, uuid: d.uuid, source: d.source, text: d.text, json: JSON.stringify(d.config) });
  }

  get(name: string): StoredDomain | undefined {
    const row = this.db.prepare("SELECT * FROM domains WHERE name = ?").get(name) as Row | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  all(): StoredDomain[] {
    return this.records().map((r) => r.stored);
  }

  /** Every definition with its autostart flag and saved image. */
  records(): DomainRecord[] {
    const saved = new Map(
      (this.db.prepare("SELECT * FROM saved_images").all() as SavedRow[]).map((r) => [
        r.name,
        fromSavedRow(r),
      ]),
    );
    return (this.db.prepare("SELECT * FROM domains ORDER BY created_at, name").all() as Row[]).map((r) => ({
      stored: fromRow(r),
      autostart: r.autostart !== 0,
      saved: saved.get(r.name),
    }));
  }

  setAutostart(name: string, on: boolean): void {
    this.db.prepare("UPDATE domains SET autostart = ? WHERE name = ?").run(on ? 1 : 0, name);
  }

  /** Records (or replaces) the save image kept for `name`. */
  setSaved(name: string, image: SavedImage): void {
    this.db
      .prepare(
        `INSERT INTO saved_images (name, path, paused, bytes, sha256, saved_at)
         VALUES (@name, @path, @paused, @bytes, @sha256, @savedAt)
         ON CONFLICT(name) DO UPDATE SET path = @path, paused = @paused, bytes = @bytes, sha256 = @sha256,
           saved_at = @savedAt`,
      )
      .run({ name, ...image, paused: image.paused ? 1 : 0 });
  }

  /** Forgets the save image kept for `name` (the file is the caller's). */
  clearSaved(name: string): void {
    this.db.prepare("DELETE FROM saved_images WHERE name = ?").run(name);
  }

  setting(key: string): string | undefined {
    const row = this.db.prepare("SELECT value FROM host_settings WHERE key = ?").get(key) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  setSetting(key: string, value: string): void {
    this.db
      .prepare(
        "INSERT INTO host_settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?",
      )
      .run(key, value, value);
  }

  /** Gives a definition a new name (and the config that says it); false if there was none. */
  rename(from: string, d: StoredDomain): boolean {
    return (
      this.db
        .prepare(
          `UPDATE domains SET name = @name, config_json = @json, updated_at = datetime('now') WHERE name = @from`,
        )
        .run({ from, name: d.name, json: JSON.stringify(d.config) }).changes > 0
    );
  }

  /** Forgets a definition; false if there was none. */
  remove(name: string): boolean {
    return this.db.prepare("DELETE FROM domains WHERE name = ?").run(name).changes > 0;
  }

  close(): void {
    this.db.close();
  }
}

function fromSavedRow(r: SavedRow): SavedImage {
  return { path: r.path, paused: r.paused !== 0, bytes: r.bytes, sha256: r.sha256, savedAt: r.saved_at };
}

function fromRow(r: Row): StoredDomain {
  return {
    name: r.name,
    uuid: r.uuid,
    source: r.source,
    text: r.config_text,
    config: JSON.parse(r.config_json) as DomainConfig,
  };
}
