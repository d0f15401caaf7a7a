/**
 * rvisord: the host daemon, domain 0's toolstack. One process per host owns a persistent Hypervisor
 * (it keeps running with no domain), the store (XenStore semantics, ../store), each domain's console
 * buffer and the SQLite database of defined domains (state-db.ts), and serves the HTTP+JSON API of
 * api.ts (routed in routes.ts) on a unix socket that only its owner may use (mode 0600) and, when
 * asked, on a loopback TCP port behind a bearer token (listeners.ts).
 *
 *   client ──HTTP/unix socket──▶ route() ───▶ Hypervisor.createDomain / pause / destroy
 *                                   │           ▲ run() yields to the event loop every ~20 ms,
 *                                   │           │ so requests are served between rounds
 *                                   ├──▶ Store: /local/domain/<id>/…, /vm/<uuid> (writeDomainTree)
 *                                   └──▶ StateDb: the config of every created domain
 *
 * A domain that ends by itself (power-off, reboot, crash) gets its config's on_poweroff / on_reboot /
 * on_crash action: destroy (the default for power-off and crash: its resources go back, it is listed
 * as stopped with how it ended, its console output stays readable), restart (a fresh domain from the
 * same config; more than RESTART_LIMIT restarts within RESTART_WINDOW_MS stop it, as xl's reboot-loop
 * guard does), preserve (it stays in the list as shutdown or crashed until destroyed). The coredump-
 * variants act as their plain forms (no core dumps yet) and rename-restart as restart.
 *
 * Save and restore (saved-domain.ts, hypervisor/save/): `save` pauses a domain, writes its state and
 * definition to a file and destroys it (or lets it go on: a checkpoint); `restore` checks a whole file
 * before it touches anything, then defines the domain again and lets it go on where it was saved — on
 * this host or another.
 *
 * On SIGTERM/SIGINT (the CLI's `rvisor daemon` installs the handlers) stop() does with every live
 * domain what the host's on-stop setting says — save it into the state directory, ask it to power off
 * (destroying it after the stop timeout), or destroy it — then removes the socket and closes the
 * database; definitions stay for the next start, which restores what the stop saved and boots the
 * autostart domains. A second signal forces the stop: the rest is destroyed at once. host-lifecycle.ts
 * holds all of that.
 */
import { randomUUID } from "node:crypto";
import { existsSync, unlinkSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import type { Domain } from "../../hypervisor/domain.js";
import { CONTROL_DOMAIN, DomainConfigError, Hypervisor } from "../../hypervisor/hypervisor.js";
import { memoryInfo } from "../../hypervisor/resize.js";
import { restoreDomain, saveDomain } from "../../hypervisor/save/domain.js";
import { memoryHash } from "../../hypervisor/save/memory.js";
import type { DomainSaveState } from "../../hypervisor/save/state.js";
import { setVcpuAffinity } from "../../hypervisor/sched-control.js";
import type { SchedulerName } from "../../hypervisor/scheduler/registry.js";
import { ElfError } from "../../machine/elf.js";
import type { ClockKind, Engine, MachineExit } from "../../machine/machine.js";
import { PAGE_SIZE } from "../../machine/params.js";
import {
  ConfigError,
  type DomainConfig,
  formatProblem,
  parseDomainConfig,
  type ShutdownAction,
} from "../config/index.js";
import { Bridges } from "../net/bridges.js";
import type { Connection } from "../store/connection.js";
import { Store } from "../store/store.js";
import { wellKnown, writeDomainTree } from "../store/well-known.js";
import { Admin, LogRing } from "./admin.js";
import {
  API_VERSION,
  type CreateRequest,
  type DomainInfo,
  type HostInfo,
  type HostSettings,
  type RestoredDomain,
  type RestoreRequest,
  type SaveRequest,
  type SaveResult,
  type StoredDomain,
} from "./api.js";
import { ConsoleLog } from "./console-log.js";
import { attachDevices, detachDevices, hasPvConsole } from "./device-tree.js";
import { affinityOf, bootargsOf, disksOf, type Entry, HV_MODES, newEntry } from "./entry.js";
import { checkSettings, HostLifecycle, refuseIfSaved } from "./host-lifecycle.js";
import { ApiError, clearStaleSocket, isLoopback, readBody, send } from "./http.js";
import { closeServer, listenTcp, listenUnix, type TcpListener, TOKEN_FILE } from "./listeners.js";
import { renameDomain } from "./rename.js";
import { ResizeRoutes, writeResizeNodes } from "./resize.js";
import { type RoutesHost, route, sendError } from "./routes.js";
import { readSavedDomain, requestPath, type WrittenImage, writeSavedDomain } from "./saved-domain.js";
import { StateDb } from "./state-db.js";
import { connectStoreRing, restoreGuestStore, saveGuestStore } from "./store-ring.js";
import { domainInfo, listDomains } from "./views.js";

const MiB = 1024 * 1024;
export const RESTART_LIMIT = 5;
export const RESTART_WINDOW_MS = 10_000;
/** How long a destroy waits for the scheduler to take the domain's vCPUs off the pCPUs. */
const TEARDOWN_WAIT_MS = 2000;

const { version } = createRequire(import.meta.url)("../../../package.json") as { version: string };

export interface DaemonOptions {
  socketPath: string;
  stateDir: string;
  /** Host pCPUs. Default 2. */
  pcpus?: number;
  /** Host RAM in MiB. Default 512. */
  hostMemoryMiB?: number;
  clock?: ClockKind;
  engine?: Engine;
  scheduler?: SchedulerName;
  /** Where the daemon's log lines go. Default: nowhere. */
  log?: (line: string) => void;
  /**
   * Also serve the API on this loopback TCP address (host 127.0.0.0/8, ::1 or localhost; port 0 picks
   * one). Every TCP request must carry `Authorization: Bearer <token>`, the token the daemon writes to
   * <stateDir>/api-token (mode 0600) at start: on TCP, unlike the socket, any local user could connect.
   */
  tcp?: { host: string; port: number };
  /** What a stop does with live domains; given here, remembered in the state db (host-lifecycle.ts). */
  host?: Partial<HostSettings>;
  /** Restore at start the domains the last stop saved. Default true (`rvisor daemon --no-restore`). */
  restore?: boolean;
}

export class Rvisord implements RoutesHost {
  readonly hv: Hypervisor;
  readonly store = new Store();
  readonly tools: Connection;
  private readonly db: StateDb;
  private readonly server: Server;
  private tcp: TcpListener | undefined;
  /** Defined domains by name. */
  private readonly entries = new Map<string, Entry>();
  private running: Promise<MachineExit> | undefined;
  private stopping: Promise<void> | undefined;
  /** When the daemon started (ms since the epoch). */
  private readonly startTime = Date.now();
  /** domainEnded's work under way (a stop waits for it). */
  private readonly ending = new Set<Promise<void>>();
  readonly log: (line: string) => void;
  /** The virtual switches the domains' vifs are on, one per bridge name. */
  readonly bridges: Bridges;
  /** What `rvisor dmesg` shows: every log line, kept in a ring. */
  readonly logRing = new LogRing();
  readonly admin: Admin;
  readonly resize: ResizeRoutes;
  readonly lifecycle: HostLifecycle;

  private constructor(readonly opts: DaemonOptions) {
    const out = opts.log ?? (() => {});
    this.log = (line) => {
      this.logRing.add(line);
      out(line);
    };
    this.db = new StateDb(opts.stateDir);
    this.hv = new Hypervisor({
      pcpus: opts.pcpus ?? 2,
      hostMemoryMiB: opts.hostMemoryMiB ?? 512,
      clock: opts.clock,
      engine: opts.engine,
      scheduler: opts.scheduler,
      persistent: true,
      onIdle: "wait",
    });
    this.bridges = new Bridges(() => this.hv.nowNs);
    this.tools = this.store.connect(0);
    this.admin = new Admin({
      hv: this.hv,
      store: this.store,
      tools: this.tools,
      logRing: this.logRing,
      liveDomain: (ref) => this.live(this.lookup(ref)),
      readBody,
      send,
    });
    this.resize = new ResizeRoutes(this.admin.host);
    this.hv.onDomainEnd.push((d) => {
      // Called from inside the hypervisor's exit path: act once it has returned.
      setImmediate(() => {
        const p = this.domainEnded(d)
          .catch((e: unknown) => this.log(`rvisord: ${(e as Error).stack}`))
          .finally(() => this.ending.delete(p));
        this.ending.add(p);
      });
    });
    for (const r of this.db.records())
      this.entries.set(r.stored.name, newEntry(r.stored, r.autostart, r.saved));
    this.lifecycle = new HostLifecycle(this, this.db, opts.stateDir, opts.host);
    this.server = createServer((req, res) => {
      this.serve(req, res);
    });
  }

  /** Opens the database, starts the hypervisor and listens on the socket. */
  static async start(opts: DaemonOptions): Promise<Rvisord> {
    await clearStaleSocket(opts.socketPath);
    try {
      checkSettings(opts.host ?? {});
    } catch (e) {
      throw new Error((e as Error).message); // a bad setting: the caller's to fix
    }
    const d = new Rvisord(opts);
    try {
      await listenUnix(d.server, opts.socketPath);
      if (opts.tcp !== undefined)
        d.tcp = await listenTcp(opts.tcp, opts.stateDir, (req, res) => d.serve(req, res));
    } catch (e) {
      d.tcp?.server.close();
      if (d.server.listening) {
        // Ours: the TCP side failed after the socket was bound.
        d.server.close();
        if (existsSync(opts.socketPath)) unlinkSync(opts.socketPath);
      }
      d.db.close();
      throw e;
    }
    d.running = d.hv.run();
    d.running.catch((e: unknown) => d.log(`rvisord: the hypervisor stopped: ${(e as Error).stack}`));
    d.log(
      `rvisord ${version}: listening on ${opts.socketPath}, state in ${opts.stateDir}, ` +
        `${d.hv.pcpus} pCPUs, ${opts.hostMemoryMiB ?? 512} MiB, ${d.entries.size} defined domain(s); ` +
        `on stop: ${d.lifecycle.settings.onStop}`,
    );
    await d.lifecycle.startUp(opts.restore !== false);
    return d;
  }

  /** The TCP address actually bound ("127.0.0.1:7654"), when opts.tcp is set. */
  get tcpAddress(): string | undefined {
    return this.tcp?.address;
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    if (this.stopping !== undefined && req.method !== "GET")
      sendError(this.log, res, new ApiError(503, "rvisord is stopping: it changes nothing more"));
    else route(this, req, res).catch((e: unknown) => sendError(this.log, res, e));
  }

  /**
   * Saves, shuts down or destroys every live domain as the host's settings say (host-lifecycle.ts),
   * stops the hypervisor, closes the socket (removing it) and the database. Called again while it
   * runs, it forces: see forceStop.
   */
  stop(): Promise<void> {
    if (this.stopping !== undefined) {
      this.forceStop();
      return this.stopping;
    }
    this.stopping = (async () => {
      this.log("rvisord: stopping");
      // While the hypervisor still runs: guests power off, and a teardown waits for the scheduler.
      await this.lifecycle.stopDomains().catch(async (e: unknown) => {
        this.log(`rvisord: stopping: ${(e as Error).stack}; destroying every domain`);
        await Promise.all(this.defined().map((x) => this.teardown(x)));
      });
      await Promise.all([...this.ending]);
      this.hv.machine.requestExit({ kind: "poweroff", code: 0 });
      await this.running?.catch(() => undefined);
      await closeServer(this.server);
      if (this.tcp !== undefined) await closeServer(this.tcp.server);
      if (existsSync(this.opts.socketPath)) unlinkSync(this.opts.socketPath);
      this.db.close();
    })();
    return this.stopping;
  }

  /** The stop under way saves and waits for nothing more: every domain still alive is destroyed. */
  forceStop(): void {
    this.lifecycle.force();
  }

  /** Every defined domain. */
  defined(): Entry[] {
    return [...this.entries.values()];
  }

  // ── domains ──────────────────────────────────────────────────────────────────────────────────

  /** POST /v1/domains: parse, build the domain, write its store tree, define it durably. */
  async create(req: CreateRequest): Promise<{ info: DomainInfo; warnings: string[] }> {
    if (typeof req?.config !== "string" || typeof req.path !== "string")
      throw new ApiError(400, 'the body must be JSON {"config": <the file\'s text>, "path": <its path>}');
    let config: DomainConfig;
    let warnings: string[];
    try {
      const v = parseDomainConfig(req.config, { file: req.path, baseDir: dirname(resolve(req.path)) });
      config = v.config;
      warnings = v.warnings.map(formatProblem);
    } catch (e) {
      if (e instanceof ConfigError) throw new ApiError(400, e.message);
      throw e;
    }
    const old = this.entries.get(config.name);
    if (old?.domain !== undefined)
      throw new ApiError(409, `a domain named ${config.name} already exists (id ${old.domain.id})`);
    if (old !== undefined) refuseIfSaved(old);
    const stored: StoredDomain = {
      name: config.name,
      uuid: config.uuid ?? old?.stored.uuid ?? randomUUID(),
      source: req.path,
      text: req.config,
      config,
    };
    const entry: Entry = old ?? newEntry(stored);
    const previous = entry.stored;
    entry.stored = stored;
    try {
      this.boot(entry);
    } catch (e) {
      entry.stored = previous;
      throw e;
    }
    try {
      this.db.put(stored);
    } catch (e) {
      await this.teardown(entry);
      throw e;
    }
    this.entries.set(config.name, entry);
    this.log(`rvisord: created ${config.name} (id ${entry.domain?.id}) from ${req.path}`);
    return { info: this.info(entry), warnings };
  }

  /**
   * POST /v1/domains/:dom/start: a stopped domain again, from its stored config; one the daemon's stop
   * saved goes on from its image instead (virsh start after managedsave), unless `forceBoot`.
   */
  async startDefined(entry: Entry, forceBoot = false): Promise<DomainInfo> {
    if (entry.domain !== undefined)
      throw new ApiError(
        409,
        `${entry.stored.name} is already ${entry.domain.state} (id ${entry.domain.id})`,
      );
    if (entry.saved !== undefined) {
      if (!forceBoot) return this.lifecycle.resume(entry);
      this.lifecycle.discard(entry);
    }
    entry.restarts = [];
    this.boot(entry);
    return this.info(entry);
  }

  /** Builds the hypervisor domain for `entry` and writes its store tree. */
  private boot(entry: Entry): void {
    const c = entry.stored.config;
    const where = `${entry.stored.source}: type`;
    const mode = HV_MODES[c.type];
    if (mode === undefined)
      throw new ApiError(
        400,
        `${where}: "native" is the bare board, not a domain: run it with \`rvisor run\``,
      );
    const affinity = affinityOf(entry.stored.source, c, this.hv.pcpus);
    const console = new ConsoleLog();
    const pv = new ConsoleLog();
    let d: Domain;
    try {
      d = this.hv.createDomain({
        mode,
        kernel: c.kernel,
        ...bootargsOf(c),
        name: c.name,
        memoryMiB: c.memoryMiB,
        maxMemoryMiB: c.maxmemMiB,
        vcpus: c.maxvcpus, // all from the start; the store (and maxcpus=) says which run (docs/resizing.md)
        balloon: true,
        console,
        weight: c.cpuWeight,
        cap: c.cap,
        disks: disksOf(c),
        virtioConsole: pv, // hvc0: the PV console (xl console -t pv)
        nics: this.bridges.nics(c.vifs),
        storeRing: true,
      });
    } catch (e) {
      if (e instanceof ElfError || e instanceof DomainConfigError)
        throw new ApiError(400, `${entry.stored.source}: ${e.message}`);
      if ((e as Error).name === "OutOfFramesError")
        throw new ApiError(
          409,
          `${entry.stored.source}: the host has too little free memory: ${(e as Error).message}`,
        );
      throw e;
    }
    this.attach(entry, d, { serial: console, pv }, affinity);
  }

  /**
   * `d` is now `entry`'s running domain: its consoles, its vCPUs' affinity, and its store tree (a
   * restored domain's with the memory target and vCPUs online it had when saved, not the config's)
   * with its devices (device-tree.ts).
   */
  private attach(
    entry: Entry,
    d: Domain,
    consoles: { serial: ConsoleLog; pv: ConsoleLog | undefined },
    affinity: (number[] | undefined)[],
    restored?: { onlineVcpus: number },
  ): void {
    const c = entry.stored.config;
    entry.domain = d;
    entry.console = consoles.serial;
    entry.pvConsole = consoles.pv;
    entry.end = undefined;
    affinity.forEach((cpus, i) => {
      if (cpus !== undefined) setVcpuAffinity(this.hv, d.id, i, cpus);
    });
    const tree = writeDomainTree(this.tools, {
      domid: d.id,
      name: c.name,
      uuid: entry.stored.uuid,
      memoryKiB: restored === undefined ? c.memoryMiB * 1024 : memoryInfo(d).targetKiB,
      vcpus: c.maxvcpus,
      onlineVcpus: restored?.onlineVcpus ?? c.vcpus,
    });
    writeResizeNodes(this.admin.host, d);
    if (!tree.ok) this.log(`rvisord: ${c.name}: store tree not written: ${tree.errno}: ${tree.detail}`);
    attachDevices(this.tools, entry, d, this.log);
    entry.ring = connectStoreRing(this.tools, d, (line) =>
      this.log(`rvisord: ${c.name} (id ${d.id}): ${line}`),
    );
  }

  // ── save and restore ─────────────────────────────────────────────────────────────────────────

  /**
   * POST /v1/domains/:dom/save: pauses the domain, writes its state and definition to `path`, then
   * destroys it (xl save), or lets it go on (checkpoint), or leaves it paused. If the file cannot be
   * written the domain goes on as before.
   */
  async save(e: Entry, body: unknown): Promise<SaveResult> {
    const path = requestPath(body);
    const req = body as SaveRequest;
    const d = this.live(e);
    if (!d.alive) throw new ApiError(409, `${e.stored.name} is ${d.state}: there is nothing left to save`);
    const wasRunning = d.state === "running";
    let state: DomainSaveState;
    try {
      state = saveDomain(this.hv, d.id); // leaves it paused
    } catch (err) {
      if (err instanceof DomainConfigError) throw new ApiError(409, err.message);
      throw err;
    }
    let written: WrittenImage;
    try {
      written = writeSavedDomain(
        path,
        state,
        e.stored,
        `rvisor ${version}`,
        this.resize.info(d).vcpusWanted,
        e.ring === undefined ? undefined : saveGuestStore(this.tools, d, e.ring),
      );
    } catch (err) {
      if (wasRunning) this.hv.unpauseDomain(d.id);
      throw err;
    }
    if (req.checkpoint === true) {
      if (wasRunning && req.paused !== true) this.hv.unpauseDomain(d.id);
    } else if (req.paused !== true) {
      e.end = { state: "shutdown", code: 0, reason: "saved" };
      await this.teardown(e);
    }
    this.log(`rvisord: saved ${e.stored.name} (id ${d.id}) to ${path}: ${written.bytes} bytes`);
    return { domain: this.info(e), ...written };
  }

  /**
   * POST /v1/restore: the domain of a save image, defined again and going on where it was saved.
   * `managed`: the domain whose image the daemon's stop saved (host-lifecycle.ts): the image must be its.
   */
  async restore(body: unknown, managed?: Entry): Promise<RestoredDomain> {
    const path = requestPath(body);
    const image = readSavedDomain(path); // every check, before anything changes
    const name = image.stored.name;
    if (managed !== undefined && (name !== managed.stored.name || image.stored.uuid !== managed.stored.uuid))
      throw new ApiError(400, `${path} holds ${name} (${image.stored.uuid}), not ${managed.stored.name}`);
    const old = this.entries.get(name);
    if (old?.domain !== undefined)
      throw new ApiError(409, `a domain named ${name} already exists (id ${old.domain.id})`);
    if (old !== undefined && managed === undefined) refuseIfSaved(old);
    const affinity = affinityOf(path, image.stored.config, this.hv.pcpus);
    const console = new ConsoleLog();
    // hvc0 when the saved domain had one (an image saved before domains had it has none).
    const pv = hasPvConsole(image.state) ? new ConsoleLog() : undefined;
    let d: Domain;
    try {
      const c = image.stored.config;
      d = restoreDomain(this.hv, image.state, {
        console,
        paused: (body as RestoreRequest).paused === true,
        // The same devices from the definition: the disks' images, and nics on this host's switches.
        devices: { disks: disksOf(c), virtioConsole: pv, nics: this.bridges.nics(c.vifs) },
      });
    } catch (e) {
      if (e instanceof DomainConfigError) throw new ApiError(409, `${path}: ${e.message}`);
      if ((e as Error).name === "OutOfFramesError")
        throw new ApiError(409, `${path}: the host has too little free memory: ${(e as Error).message}`);
      throw e;
    }
    // Before the store's backend answers anything into the ring page: the memory as restored.
    const restoredHash = memoryHash(d);
    const entry: Entry = old ?? newEntry(image.stored);
    entry.stored = image.stored;
    entry.restarts = [];
    this.attach(entry, d, { serial: console, pv }, affinity, {
      onlineVcpus: image.onlineVcpus ?? image.stored.config.vcpus,
    });
    // The guest's watches and nodes come back (each watch fires once), and a request it put in its
    // ring before it was saved is served now (a request the old backend had half read goes on from
    // the bytes it had taken, and replies not yet in rsp wait for the guest: the image carries both).
    if (entry.ring !== undefined && image.store !== undefined)
      for (const why of restoreGuestStore(entry.ring, image.store))
        this.log(`rvisord: ${name} (id ${d.id}): store not restored: ${why}`);
    entry.ring?.backend.kick();
    this.entries.set(name, entry);
    try {
      this.db.put(image.stored);
    } catch (e) {
      await this.teardown(entry);
      throw e;
    }
    this.log(`rvisord: restored ${name} (id ${d.id}) from ${path}`);
    return { ...this.info(entry), memoryHash: restoredHash, savedAt: image.savedAt };
  }

  /**
   * Gives a domain's resources back and removes its store entries; the definition stays. The entry
   * shows it stopped at once. The Hypervisor refuses to destroy a domain while the scheduler still has
   * one of its vCPUs running on a pCPU, so a live domain is first ended (its vCPUs stopped, every pCPU
   * interrupted) and destroyed once the scheduler has taken its vCPUs off the pCPUs, a round later.
   */
  async teardown(entry: Entry): Promise<void> {
    const d = entry.domain;
    if (d === undefined) return;
    entry.domain = undefined;
    if (d.alive) this.hv.shutdown(d, 0, "destroyed");
    entry.end ??= d.end ?? { state: "shutdown", code: 0, reason: "destroyed" };
    entry.ring?.disconnect();
    entry.ring = undefined;
    this.tools.rm(wellKnown.home(d.id));
    this.tools.rm(wellKnown.vmPath(entry.stored.uuid));
    detachDevices(this.tools, entry, d);
    for (const fn of entry.onStop) fn();
    const deadline = Date.now() + TEARDOWN_WAIT_MS;
    while (this.onPcpu(d) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    try {
      this.hv.destroyDomain(d.id);
    } catch (e) {
      this.log(`rvisord: ${d.name} (id ${d.id}): not destroyed: ${(e as Error).message}`);
    }
  }

  /** Whether the scheduler still has one of `d`'s vCPUs running on a pCPU. */
  private onPcpu(d: Domain): boolean {
    const ids = new Set(d.vcpus.map((v) => v.id));
    return this.hv.scheduler.stats(this.hv.nowNs).vcpus.some((v) => ids.has(v.vcpu) && v.state === "running");
  }

  private async domainEnded(d: Domain): Promise<void> {
    const entry = [...this.entries.values()].find((e) => e.domain === d);
    if (entry === undefined || d.end === undefined) return; // destroyed by the toolstack meanwhile
    if (this.stopping !== undefined) {
      // The host is stopping: no restart, nothing kept; how it ended stays.
      this.log(`rvisord: ${d.name} (id ${d.id}) ${d.state}: ${d.end.reason}`);
      entry.end = d.end;
      return this.teardown(entry);
    }
    const c = entry.stored.config;
    const action: ShutdownAction =
      d.state === "crashed" ? c.onCrash : d.end.reason === "reboot" ? c.onReboot : c.onPoweroff;
    this.log(`rvisord: ${d.name} (id ${d.id}) ${d.state}: ${d.end.reason}; on that: ${action}`);
    entry.end = d.end;
    if (action === "preserve") {
      for (const fn of entry.onStop) fn();
      return;
    }
    await this.teardown(entry);
    if (!action.endsWith("restart")) return;
    const now = Date.now();
    entry.restarts = entry.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    if (entry.restarts.length >= RESTART_LIMIT) {
      this.log(
        `rvisord: ${d.name} restarted ${RESTART_LIMIT} times in ${RESTART_WINDOW_MS} ms: left stopped`,
      );
      return;
    }
    entry.restarts.push(now);
    try {
      this.boot(entry);
    } catch (e) {
      this.log(`rvisord: ${d.name}: restart failed: ${(e as Error).message}`);
    }
  }

  /** A domain by id (live ones) or name (any defined one); 0 / Domain-0 is the control domain. */
  lookup(ref: string): Entry {
    const ref2 = decodeURIComponent(ref);
    if (ref2 === "0" || ref2 === CONTROL_DOMAIN.name)
      throw new ApiError(400, `${CONTROL_DOMAIN.name} is the control domain: it cannot be managed`);
    if (/^\d+$/.test(ref2)) {
      const id = Number(ref2);
      for (const e of this.entries.values()) if (e.domain?.id === id) return e;
      throw new ApiError(404, `no domain with id ${id}`);
    }
    const e = this.entries.get(ref2);
    if (e === undefined) throw new ApiError(404, `no domain named ${ref2}`);
    return e;
  }

  live(e: Entry): Domain {
    if (e.domain === undefined) throw new ApiError(409, `${e.stored.name} is not running (it is stopped)`);
    return e.domain;
  }

  // ── views ────────────────────────────────────────────────────────────────────────────────────

  hostInfo(): HostInfo {
    const a = this.hv.allocator;
    return {
      version,
      api: API_VERSION,
      pcpus: this.hv.pcpus,
      scheduler: this.hv.scheduler.name,
      clock: this.hv.machine.clock,
      totalFrames: a.total,
      freeFrames: a.freeCount,
      totalMemoryMiB: (a.total * PAGE_SIZE) / MiB,
      freeMemoryMiB: Math.floor((a.freeCount * PAGE_SIZE) / MiB),
      uptimeNs: this.hv.nowNs,
      startTime: this.startTime,
      domains: {
        defined: this.entries.size,
        live: [...this.entries.values()].filter((e) => e.domain !== undefined).length,
      },
      modes: Object.keys(HV_MODES),
      socket: this.opts.socketPath,
      ...(this.tcp !== undefined ? { tcp: this.tcp.address } : {}),
      stateDir: this.opts.stateDir,
      ...this.lifecycle.settings,
    };
  }

  list(): DomainInfo[] {
    return listDomains(this.hv, this.resize, this.defined());
  }

  info(e: Entry): DomainInfo {
    return domainInfo(this.hv, this.resize, e);
  }

  /** POST /v1/domains/:dom/rename (rename.ts). */
  rename(e: Entry, body: unknown): DomainInfo {
    renameDomain({ entries: this.entries, db: this.db, tools: this.tools, log: this.log }, e, body);
    return this.info(e);
  }
}

export { ApiError, isLoopback, TOKEN_FILE };
