/**
 * The daemon's durable state: an SQLite database (better-sqlite3) in its state directory holding every
 * defined domain's config — the file's text as the user wrote it, where it came from, and the parsed
 * DomainConfig (kernel and disk paths already absolute, so a restart does not depend on the daemon's
 * working directory). A domain is defined when it is first created and stays defined after it stops,
 * so after a daemon restart `rvisor list` shows it as stopped and `rvisor start` brings it back.
 *
 * WAL journal with synchronous=FULL: a definition the API has acknowledged survives the daemon being
 * killed (and the host losing power) right after. The schema carries a version (user_version) so a
 * later daemon can migrate it.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { DomainConfig } from "../config/index.js";
import type { StoredDomain } from "./api.js";

export const DB_FILE = "rvisord.db";
const SCHEMA_VERSION = 1;

interface Row {
  name: string;
  uuid: string;
  source: string;
  config_text: string;
  config_json: string;
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
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS domains (
        name        TEXT PRIMARY KEY,
        uuid        TEXT NOT NULL UNIQUE,
        source      TEXT NOT NULL,
        config_text TEXT NOT NULL,
        config_json TEXT NOT NULL,
        created_at  TEXT NOT NULL DEFAULT (datetime('now')),
        updated_at  TEXT NOT NULL DEFAULT (datetime('now'))
      );
      PRAGMA user_version = ${SCHEMA_VERSION};
    `);
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
    return (this.db.prepare("SELECT * FROM domains ORDER BY created_at, name").all() as Row[]).map(fromRow);
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

function fromRow(r: Row): StoredDomain {
  return {
    name: r.name,
    uuid: r.uuid,
    source: r.source,
    text: r.config_text,
    config: JSON.parse(r.config_json) as DomainConfig,
  };
}
