/**
 * The daemon's database across versions: one written by the first rvisord (schema 1: definitions only)
 * opens with every definition it held, now with autostart off and no saved image; the new columns and
 * tables keep what they are given; a database from a newer rvisord is refused.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { DB_FILE, SCHEMA_VERSION, StateDb } from "./state-db.js";

const dir = mkdtempSync(join(tmpdir(), "rvisord-db-test-"));

const config = { name: "old", type: "trap", kernel: "/k.elf", memoryMiB: 16 };

/** A database exactly as schema 1 wrote it, with one definition. */
function writeVersion1(stateDir: string): void {
  const db = new Database(join(stateDir, DB_FILE));
  db.exec(`
    CREATE TABLE IF NOT EXISTS domains (
      name        TEXT PRIMARY KEY,
      uuid        TEXT NOT NULL UNIQUE,
      source      TEXT NOT NULL,
      config_text TEXT NOT NULL,
      config_json TEXT NOT NULL,
      created_at  TEXT NOT NULL DEFAULT (datetime('now')),
      updated_at  TEXT NOT NULL DEFAULT (datetime('now'))
    );
    PRAGMA user_version = 1;
  `);
  db.prepare("INSERT INTO domains (name, uuid, source, config_text, config_json) VALUES (?, ?, ?, ?, ?)").run(
    "old",
    "u-1",
    "/cfg/old.cfg",
    'name = "old"\n',
    JSON.stringify(config),
  );
  db.close();
}

describe("the daemon's state database", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("migrates a schema 1 database: its definitions stay, with autostart off and no saved image", () => {
    const state = join(dir, "v1");
    new StateDb(state).close(); // makes the directory
    rmSync(join(state, DB_FILE));
    writeVersion1(state);
    const db = new StateDb(state);
    const [r] = db.records();
    assert.equal(db.records().length, 1);
    assert.equal(r?.stored.name, "old");
    assert.equal(r?.stored.uuid, "u-1");
    assert.deepEqual(r?.stored.config, config);
    assert.equal(r?.autostart, false);
    assert.equal(r?.saved, undefined);
    db.close();
    const raw = new Database(join(state, DB_FILE));
    assert.equal(raw.pragma("user_version", { simple: true }), SCHEMA_VERSION);
    raw.close();
  });

  it("keeps autostart, a saved image and the host's settings, and forgets the image with its domain", () => {
    const state = join(dir, "v2");
    let db = new StateDb(state);
    db.put({ name: "a", uuid: "u-a", source: "/a.cfg", text: "", config: config as never });
    db.put({ name: "b", uuid: "u-b", source: "/b.cfg", text: "", config: config as never });
    db.setAutostart("a", true);
    const image = {
      path: "/s/a.rvsave",
      paused: true,
      bytes: 123,
      sha256: "ab",
      savedAt: "2024-01-01T00:00:00Z",
    };
    db.setSaved("a", image);
    db.setSetting("on_stop", "save");
    // Redefining keeps both: they are the host's, not the config file's.
    db.put({ name: "a", uuid: "u-a", source: "/a2.cfg", text: "", config: config as never });
    db.close();

    db = new StateDb(state);
    const byName = new Map(db.records().map((r) => [r.stored.name, r]));
    assert.equal(byName.get("a")?.autostart, true);
    assert.deepEqual(byName.get("a")?.saved, image);
    assert.equal(byName.get("a")?.stored.source, "/a2.cfg");
    assert.equal(byName.get("b")?.autostart, false);
    assert.equal(db.setting("on_stop"), "save");
    assert.equal(db.setting("nothing"), undefined);
    db.clearSaved("a");
    assert.equal(db.records().find((r) => r.stored.name === "a")?.saved, undefined);
    db.setSaved("b", image);
    assert.equal(db.remove("b"), true);
    db.put({ name: "b", uuid: "u-b", source: "/b.cfg", text: "", config: config as never });
    assert.equal(db.records().find((r) => r.stored.name === "b")?.saved, undefined, "gone with its domain");
    db.close();
  });

  it("refuses a database written by a newer rvisord", () => {
    const state = join(dir, "future");
    new StateDb(state).close();
    const raw = new Database(join(state, DB_FILE));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => new StateDb(state), /schema version 3 is newer than this rvisord's \(2\)/);
  });
});
