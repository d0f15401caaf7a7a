/**
 * What rvisord does with its domains when it stops and when it starts: Xen's xendomains service and
 * libvirt-guests, built into the daemon.
 *
 *   stop (SIGTERM/SIGINT)                              start
 *   ─────────────────────                              ─────
 *   on-stop save      each live domain, in turn ──▶    the saved/ directory is checked against the
 *                     <state>/saved/<name>.rvsave      database (partial writes removed, records
 *                     (temp + rename), recorded        whose file is gone forgotten)
 *                     in SQLite; one that cannot be    each recorded image is restored (checked
 *                     saved goes on to shutdown        whole before anything changes, as `restore`
 *   on-stop shutdown  control/shutdown = poweroff      does): restored → the image is removed;
 *                     to each guest that listens;      refused → image kept, domain stopped (listed
 *                     all wait up to stop-timeout      "saved"), why logged; --no-restore skips it
 *                     together                         then each autostart domain with no image is
 *   then, and on-stop destroy: the rest destroyed      booted
 *
 * Nothing is lost: a definition always stays, and every domain's fate is logged with the reason. The
 * image is recorded before it is written and completed after, so a daemon killed mid-save leaves a
 * record whose file is missing (forgotten at the next start, logged), never an unrecorded file that a
 * later start could restore stale; a restore removes the file before it forgets the record for the
 * same reason. The write itself is synchronous, so no signal handler runs in the middle of one, and a
 * SIGKILL there leaves only a temporary file (removed at the next start): the image is renamed into
 * place whole.
 *
 * A second SIGTERM/SIGINT during a stop forces it (force()): the save under way finishes (it cannot be
 * interrupted, and the image stays whole), no further domain is saved or waited for, and every domain
 * still alive is destroyed at once.
 *
 * The settings (on-stop, stop-timeout) are the host's, kept in the database (host_settings): given on
 * `rvisor daemon`'s command line or by `rvisor host-config`, they stay until changed.
 */
import { existsSync, mkdirSync, readdirSync, unlinkSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { Hypervisor } from "../../hypervisor/hypervisor.js";
import type { Connection } from "../store/connection.js";
import { requestShutdown } from "../store/well-known.js";
import type {
  DomainInfo,
  HostSettings,
  OnStop,
  RestoredDomain,
  RestoreRequest,
  SaveRequest,
  SaveResult,
} from "./api.js";
import type { Entry } from "./entry.js";
import { ApiError, parseJson, readBody, send } from "./http.js";
import type { SavedImage, StateDb } from "./state-db.js";
import { shutdownRefusal } from "./store-ring.js";

export const ON_STOP: readonly OnStop[] = ["save", "shutdown", "destroy"];
/** Today's behaviour until the host says otherwise: as xendomains and libvirt-guests are opt-in. */
export const DEFAULT_HOST_SETTINGS: HostSettings = { onStop: "destroy", stopTimeoutS: 60 };
export const MAX_STOP_TIMEOUT_S = 3600;
/** Under <stateDir>: the images a stop saved. */
export const SAVED_DIR = "saved";
export const IMAGE_SUFFIX = ".rvsave";
/** How often a shutting-down stop looks at the guests it waits for. */
const POLL_MS = 20;

/** What the lifecycle needs from the daemon (server.ts). */
export interface LifecycleHost {
  readonly hv: Hypervisor;
  /** Domain 0's connection to the store. */
  readonly tools: Connection;
  log(line: string): void;
  /** Every defined domain. */
  defined(): Entry[];
  lookup(ref: string): Entry;
  info(e: Entry): DomainInfo;
  save(e: Entry, body: SaveRequest): Promise<SaveResult>;
  /** `managed`: the entry whose kept image this is (checked to be that domain's). */
  restore(body: RestoreRequest, managed?: Entry): Promise<RestoredDomain>;
  teardown(e: Entry): Promise<void>;
  startDefined(e: Entry): Promise<DomainInfo>;
}

/** Checks settings from the API or the command line; an ApiError (400) says what is wrong. */
export function checkSettings(change: unknown): Partial<HostSettings> {
  const o = change as Partial<Record<keyof HostSettings, unknown>> | null;
  if (typeof o !== "object" || o === null)
    throw new ApiError(
      400,
      'the body must be JSON {"onStop"?: "save"|"shutdown"|"destroy", "stopTimeoutS"?: n}',
    );
  const out: Partial<HostSettings> = {};
  if (o.onStop !== undefined) {
    if (!ON_STOP.includes(o.onStop as OnStop))
      throw new ApiError(
        400,
        `on-stop must be one of ${ON_STOP.join(", ")}, got ${JSON.stringify(o.onStop)}`,
      );
    out.onStop = o.onStop as OnStop;
  }
  if (o.stopTimeoutS !== undefined) {
    const t = o.stopTimeoutS;
    if (typeof t !== "number" || !Number.isFinite(t) || t <= 0 || t > MAX_STOP_TIMEOUT_S)
      throw new ApiError(
        400,
        `stop-timeout must be more than 0 and at most ${MAX_STOP_TIMEOUT_S} seconds, got ${JSON.stringify(t)}`,
      );
    out.stopTimeoutS = t;
  }
  return out;
}

export class HostLifecycle {
  private current: HostSettings;
  private forced = false;

  /** `explicit`: settings given at start (the command line); they replace the remembered ones. */
  constructor(
    private readonly host: LifecycleHost,
    private readonly db: StateDb,
    readonly stateDir: string,
    explicit: Partial<HostSettings> = {},
  ) {
    const remembered: Partial<HostSettings> = {};
    const onStop = db.setting("on_stop");
    if (ON_STOP.includes(onStop as OnStop)) remembered.onStop = onStop as OnStop;
    const timeout = Number(db.setting("stop_timeout_s"));
    if (timeout > 0 && timeout <= MAX_STOP_TIMEOUT_S) remembered.stopTimeoutS = timeout;
    this.current = { ...DEFAULT_HOST_SETTINGS, ...remembered };
    this.configure(checkSettings(explicit));
  }

  get settings(): HostSettings {
    return { ...this.current };
  }

  /** Changes the settings and remembers them for the next start. */
  configure(change: Partial<HostSettings>): HostSettings {
    if (change.onStop !== undefined) this.db.setSetting("on_stop", change.onStop);
    if (change.stopTimeoutS !== undefined) this.db.setSetting("stop_timeout_s", String(change.stopTimeoutS));
    this.current = { ...this.current, ...change };
    return this.settings;
  }

  get savedDir(): string {
    return join(this.stateDir, SAVED_DIR);
  }

  imagePath(name: string): string {
    return join(this.savedDir, `${name}${IMAGE_SUFFIX}`);
  }

  /** Its endpoints: autostart and the host settings; false for any other path. */
  async handle(method: string, parts: string[], req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const [, what, ref, verb] = parts;
    if (what === "domains" && ref !== undefined && verb === "autostart" && parts.length === 4) {
      if (method !== "POST") return false;
      const on = (parseJson(await readBody(req)) as { autostart?: unknown } | null)?.autostart;
      if (typeof on !== "boolean") throw new ApiError(400, 'the body must be JSON {"autostart": true|false}');
      send(res, 200, this.setAutostart(this.host.lookup(ref), on));
      return true;
    }
    if (what === "host" && ref === "settings" && parts.length === 3) {
      if (method === "GET") send(res, 200, this.settings);
      else if (method === "POST") {
        const s = this.configure(checkSettings(parseJson(await readBody(req))));
        this.host.log(`rvisord: on stop: ${s.onStop}, stop timeout ${s.stopTimeoutS} s`);
        send(res, 200, s);
      } else return false;
      return true;
    }
    return false;
  }

  setAutostart(e: Entry, on: boolean): DomainInfo {
    this.db.setAutostart(e.stored.name, on);
    e.autostart = on;
    this.host.log(`rvisord: ${e.stored.name} ${on ? "marked" : "unmarked"} as autostarted`);
    return this.host.info(e);
  }

  // ── start ─────────────────────────────────────────────────────────────────────────────────────

  /** At daemon start: the saved directory checked, the kept images restored, autostart domains booted. */
  async startUp(restore: boolean): Promise<void> {
    const log = this.host.log;
    this.reconcile();
    const saved = this.host.defined().filter((e) => e.saved !== undefined && e.domain === undefined);
    if (!restore && saved.length > 0)
      log(
        `rvisord: --no-restore: ${saved.map((e) => e.stored.name).join(", ")} left saved ` +
          "(`rvisor start <dom>` restores one)",
      );
    if (restore)
      for (const e of saved) {
        if (e.domain !== undefined || e.saved === undefined) continue; // started meanwhile
        try {
          await this.resume(e);
        } catch (err) {
          log(
            `rvisord: ${e.stored.name}: not restored from ${e.saved?.path}: ${(err as Error).message}; ` +
              `the image is kept and ${e.stored.name} stays stopped (\`rvisor start ${e.stored.name}\` tries ` +
              `again, \`rvisor start --force-boot ${e.stored.name}\` discards the image and boots it afresh)`,
          );
        }
      }
    for (const e of this.host.defined()) {
      if (!e.autostart || e.domain !== undefined) continue;
      if (e.saved !== undefined) {
        log(`rvisord: ${e.stored.name}: autostart: not booted afresh, it has a saved image`);
        continue;
      }
      try {
        const d = await this.host.startDefined(e);
        log(`rvisord: ${e.stored.name}: autostarted (id ${d.id})`);
      } catch (err) {
        log(`rvisord: ${e.stored.name}: autostart failed: ${(err as Error).message}`);
      }
    }
  }

  /**
   * The saved directory against the records: temporary files of a write that never finished are
   * removed; a record whose image is missing is forgotten; a file no record names is left alone.
   */
  private reconcile(): void {
    const log = this.host.log;
    let files: string[] = [];
    try {
      files = readdirSync(this.savedDir);
    } catch {
      // no directory: nothing was ever saved
    }
    const recorded = new Map<string, Entry>();
    for (const e of this.host.defined()) if (e.saved !== undefined) recorded.set(e.saved.path, e);
    for (const f of files) {
      const path = join(this.savedDir, f);
      if (f.startsWith(".") && f.endsWith(".tmp")) {
        try {
          unlinkSync(path);
          log(`rvisord: removed ${path}: an image whose writing never finished`);
        } catch (err) {
          log(`rvisord: ${path}: an unfinished image, not removed: ${(err as Error).message}`);
        }
      } else if (!recorded.has(path))
        log(`rvisord: ${path}: no domain's saved image (left alone; remove it when it is not needed)`);
    }
    for (const [path, e] of recorded) {
      if (existsSync(path)) continue;
      log(
        `rvisord: ${e.stored.name}: its saved image ${path} is missing (the daemon was killed while ` +
          `writing it?): ${e.stored.name} stays stopped`,
      );
      this.forget(e);
    }
  }

  /** Restores `e` from its kept image; the image goes once it is restored. A refusal keeps it. */
  async resume(e: Entry): Promise<RestoredDomain> {
    const image = e.saved;
    if (image === undefined) throw new ApiError(409, `${e.stored.name} has no saved image`);
    let d: RestoredDomain;
    try {
      d = await this.host.restore({ path: image.path, paused: image.paused }, e);
    } catch (err) {
      e.restoreError = (err as Error).message;
      throw err;
    }
    // The file first: a record without its file is forgotten at the next start, whereas a file
    // without its record could never be mistaken for a current image.
    try {
      unlinkSync(image.path);
    } catch (err) {
      this.host.log(`rvisord: ${e.stored.name}: ${image.path} not removed: ${(err as Error).message}`);
    }
    this.forget(e);
    this.host.log(
      `rvisord: ${e.stored.name} (id ${d.id}): its saved image of ${image.savedAt} is restored` +
        `${image.paused ? ", paused as it was" : ""}, and removed`,
    );
    return d;
  }

  /** `start --force-boot`: the kept image is removed and forgotten; the domain boots afresh. */
  discard(e: Entry): void {
    const image = e.saved;
    if (image === undefined) return;
    try {
      unlinkSync(image.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT")
        throw new ApiError(
          409,
          `${image.path}: the saved image cannot be removed: ${(err as Error).message}`,
        );
    }
    this.forget(e);
    this.host.log(`rvisord: ${e.stored.name}: saved image ${image.path} discarded (force boot)`);
  }

  private forget(e: Entry): void {
    this.db.clearSaved(e.stored.name);
    e.saved = undefined;
    e.restoreError = undefined;
  }

  // ── stop ──────────────────────────────────────────────────────────────────────────────────────

  /** A second signal: the stop under way saves and waits for nothing more; the rest is destroyed. */
  force(): void {
    if (this.forced) return;
    this.forced = true;
    this.host.log("rvisord: stop forced: every domain still alive is destroyed now");
  }

  /** Does with every live domain what the settings say; every one is gone when this resolves. */
  async stopDomains(): Promise<void> {
    const { onStop, stopTimeoutS } = this.current;
    const log = this.host.log;
    const live = this.host.defined().filter((e) => e.domain !== undefined);
    log(
      `rvisord: stopping: ${live.length} domain(s) to ${onStop}` +
        (onStop === "destroy" ? "" : ` (guests asked to power off get ${stopTimeoutS} s)`),
    );
    let shut: Entry[] = [];
    if (onStop === "save") {
      for (const e of live) {
        if (this.forced) break;
        const d = e.domain;
        if (d === undefined || !d.alive) continue; // gone meanwhile, or kept ended (preserve)
        try {
          await this.saveOne(e);
        } catch (err) {
          log(
            `rvisord: ${e.stored.name} (id ${d.id}): not saved: ${(err as Error).message}; asking it to power off`,
          );
          shut.push(e);
        }
      }
    } else if (onStop === "shutdown") shut = live;
    await this.shutdownAll(shut, stopTimeoutS);
    await Promise.all(
      this.host.defined().map(async (e) => {
        const d = e.domain;
        if (d === undefined) return;
        if (d.alive) log(`rvisord: ${e.stored.name} (id ${d.id}): destroyed`);
        await this.host.teardown(e);
      }),
    );
  }

  /** Saves `e` into the saved directory, recorded first (see the header), and destroys it. */
  private async saveOne(e: Entry): Promise<void> {
    const d = e.domain!;
    const path = this.imagePath(e.stored.name);
    const pending: SavedImage = {
      path,
      paused: d.state === "paused",
      bytes: 0,
      sha256: "",
      savedAt: new Date().toISOString(),
    };
    mkdirSync(this.savedDir, { recursive: true, mode: 0o700 });
    this.db.setSaved(e.stored.name, pending);
    let r: SaveResult;
    try {
      r = await this.host.save(e, { path });
    } catch (err) {
      this.db.clearSaved(e.stored.name);
      throw err;
    }
    const image = { ...pending, bytes: r.bytes, sha256: r.sha256 };
    this.db.setSaved(e.stored.name, image);
    e.saved = image;
  }

  /**
   * Asks each guest that listens to power off (a paused one is unpaused to do it), and one that starts
   * listening while the others are waited for; waits until all are gone, the timeout or force().
   */
  private async shutdownAll(entries: Entry[], timeoutS: number): Promise<void> {
    const log = this.host.log;
    const deadline = Date.now() + timeoutS * 1000;
    const asked = new Set<Entry>();
    const deaf = new Map<Entry, string>();
    const waiting = new Set(entries);
    for (;;) {
      for (const e of waiting) {
        const d = e.domain;
        if (d === undefined || !d.alive) {
          waiting.delete(e);
          continue;
        }
        if (asked.has(e) || this.forced) continue;
        const refusal = shutdownRefusal(this.host.tools, e.stored.name, d, e.ring, "poweroff");
        if (refusal !== undefined) {
          if (!deaf.has(e)) log(`rvisord: ${refusal.replace(/; use .*$/, "")}: waiting for it to listen`);
          deaf.set(e, refusal);
          continue;
        }
        if (d.state === "paused") this.host.hv.unpauseDomain(d.id);
        const written = requestShutdown(this.host.tools, d.id, "poweroff");
        if (!written.ok) {
          log(`rvisord: ${e.stored.name} (id ${d.id}): control/shutdown not written: ${written.detail}`);
          waiting.delete(e);
          continue;
        }
        asked.add(e);
        log(`rvisord: asked ${e.stored.name} (id ${d.id}) to power off`);
      }
      if (waiting.size === 0 || this.forced || Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    for (const e of waiting) {
      const d = e.domain;
      if (d === undefined || !d.alive) continue;
      const why = this.forced
        ? "the stop was forced"
        : asked.has(e)
          ? `it did not power off within ${timeoutS} s`
          : `it never listened for control/shutdown within ${timeoutS} s`;
      log(`rvisord: ${e.stored.name} (id ${d.id}): ${why}: destroying it`);
      await this.host.teardown(e);
    }
  }
}

/** A kept image as the API lists it. */
export function savedInfo(e: Entry): DomainInfo["saved"] {
  const { path, savedAt, bytes, sha256, paused } = e.saved!;
  return {
    path,
    savedAt,
    bytes,
    sha256,
    paused,
    ...(e.restoreError !== undefined ? { restoreError: e.restoreError } : {}),
  };
}

/** A domain with a kept image does not run any other way until that image is restored or discarded. */
export function refuseIfSaved(e: Entry): void {
  const name = e.stored.name;
  if (e.saved !== undefined)
    throw new ApiError(
      409,
      `${name} has a saved image (${e.saved.path}, saved ${e.saved.savedAt}): \`rvisor start ${name}\` ` +
        `restores it, \`rvisor start --force-boot ${name}\` discards it`,
    );
}
