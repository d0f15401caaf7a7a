/**
 * rvisor's container engine: one state root (a database plus a directory per container), the kernel's
 * namespaces and cgroups, and the C helper as each container's monitor. There is no resident daemon in
 * the way: every verb opens the engine, acts on the kernel and the database, and returns; a monitor per
 * container outlives whoever started it, so opening the engine again re-adopts what still runs.
 *
 * A container's life (states as stored):
 *
 *   prepare ──► created ──launch──► running ──exit / stop / kill──► exited ──rm──► (gone)
 *                  │ (OCI create: init waits on      │ checkpoint                ▲
 *                  │  start.fifo until `start`)      ▼                           │
 *                  └─────────────────────────── checkpointed ──restore──► running
 *
 * Directory of a container: <root>/containers/<id>/
 *   rootfs/   overlay mount point (lower = the image, upper/ = its diff, work/); a private copy owned by
 *             the mapped uid range with --user-ns
 *   log       its stdout and stderr, written by the monitor      exit   "exit <n>" / "signal <n>"
 *   start.fifo (OCI create/start)                                  checkpoint/  CRIU images
 */

import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { type Cgroup, type CgroupDriver, type CgroupStats, detectCgroups, type Limits } from "./cgroups.js";
import { type Started, spawnDetached, spawnForeground } from "./helper.js";
import { mergeLimits, UsageError } from "./limits.js";
import { allocateAddress, attachContainer, containerNetns, detachContainer, netnsPath } from "./network.js";
import {
  CGROUP_PARENT,
  DEFAULT_ENGINE_ROOT,
  DEFAULT_STOP_GRACE_MS,
  USERNS_BASE,
  USERNS_SIZE,
} from "./params.js";
import { type ContainerRecord, type ContainerSpec, Store } from "./store.js";

export interface RunOptions {
  name?: string;
  rootfs: string;
  args: string[];
  env?: string[];
  cwd?: string;
  hostname?: string;
  net?: "none" | "bridge";
  userns?: boolean;
  limits?: Limits;
  bundle?: string;
}

export interface Inspection {
  record: ContainerRecord;
  dir: string;
  rootfs: string;
  cgroupVersion: 1 | 2;
  stats: CgroupStats | null;
  updates: { at: number; change: Limits }[];
}

export class NotFoundError extends UsageError {
  override name = "NotFoundError";
}

/**
 * Signals a foreground `run` passes to the container: this process to the monitor, the monitor to the
 * container's init; the caller waits for the exit and records it instead of dying first.
 */
const FORWARDED: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Field 22 of /proc/<pid>/stat, or null when the process is gone or a zombie (not every init reaps fast). */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return null;
    return Number(fields[19]);
  } catch {
    return null;
  }
}

function mountedAt(path: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[4] === path);
}

/** Shifts a copied rootfs into the container's uid/gid range (lchown, so symlinks are not followed). */
function shiftOwnership(dir: string): void {
  const walk = (p: string): void => {
    const st = lstatSync(p);
    lchownSync(p, USERNS_BASE + st.uid, USERNS_BASE + st.gid);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  walk(dir);
}

export class Engine {
  readonly root: string;
  /** Tells this engine's cgroups and network namespaces from another engine's on the same host. */
  readonly tag: string;
  readonly store: Store;
  readonly cgroups: CgroupDriver;

  private constructor(root: string) {
    this.root = resolve(root);
    this.tag = createHash("sha256").update(this.root).digest("hex").slice(0, 8);
    mkdirSync(join(this.root, "containers"), { recursive: true });
    this.store = new Store(join(this.root, "state.db"));
    this.cgroups = detectCgroups();
  }

  /** Opens (or creates) the engine at `root` and re-adopts its containers: what still runs stays running. */
  static open(root: string = DEFAULT_ENGINE_ROOT): Engine {
    const e = new Engine(root);
    for (const c of e.store.all()) e.refresh(c);
    return e;
  }

  close(): void {
    this.store.close();
  }

  dir(id: string): string {
    return join(this.root, "containers", id);
  }

  rootfsOf(id: string): string {
    return join(this.dir(id), "rootfs");
  }

  cgroupPath(id: string): string {
    return `${CGROUP_PARENT}/${this.tag}/${id}`;
  }

  cgroupOf(id: string): Cgroup {
    return this.cgroups.open(this.cgroupPath(id));
  }

  netnsOf(c: ContainerRecord): string | null {
    return c.spec.net === "bridge" ? netnsPath(containerNetns(this.tag, c.id)) : null;
  }

  /** By id, id prefix or name; a clear error otherwise. */
  get(ref: string): ContainerRecord {
    const c = this.store.find(ref);
    if (!c) throw new NotFoundError(`no such container: ${ref}`);
    return this.refresh(c);
  }

  list(): ContainerRecord[] {
    return this.store.all().map((c) => this.refresh(c));
  }

  /**
   * Brings a record up to date with the kernel: a running container whose monitor wrote its exit status,
   * or whose init is gone (a reused pid is told apart by its start time), becomes exited.
   */
  refresh(c: ContainerRecord): ContainerRecord {
    if (c.state !== "running" && c.state !== "created") return c;
    const exitFile = join(this.dir(c.id), "exit");
    const alive = (pid: number | null, start: number | null): boolean =>
      pid !== null && processStartTime(pid) === start;
    // The monitor unmounts the rootfs and writes the exit file after init is gone: until it has exited
    // too, the container is still on its way out.
    if (alive(c.monitor, c.monitorStart) || (!existsSync(exitFile) && alive(c.pid, c.pidStart))) return c;
    if (existsSync(exitFile)) {
      const [kind, n] = readFileSync(exitFile, "utf8").trim().split(" ");
      c.exitCode = kind === "exit" ? Number(n) : 128 + Number(n);
      c.exitSignal = kind === "signal" ? Number(n) : null;
    } else {
      c.exitCode = null;
    }
    try {
      c.oomKilled = c.exitSignal === 9 && this.cgroupOf(c.id).stats().oomKills > 0;
    } catch {
      // The cgroup is gone already; nothing to tell.
    }
    c.state = "exited";
    c.finishedAt = Date.now();
    this.store.save(c);
    return c;
  }

  // ---- creation ----

  /** Validates, then makes the container's directory, cgroup, network and record (state "created"). */
  prepare(o: RunOptions): ContainerRecord {
    const image = resolve(o.rootfs);
    if (!existsSync(image) || !statSync(image).isDirectory()) {
      throw new UsageError(`rootfs ${o.rootfs} does not exist or is not a directory`);
    }
    if (o.args.length === 0) throw new UsageError("no command given to run in the container");
    if (o.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(o.name)) {
      throw new UsageError(`container name '${o.name}' must be 1-64 letters, digits, '_', '.' or '-'`);
    }
    if (o.name !== undefined && this.store.find(o.name))
      throw new UsageError(`a container named ${o.name} exists already`);
    const id = randomBytes(6).toString("hex");
    const spec: ContainerSpec = {
      rootfs: image,
      args: o.args,
      env: o.env ?? [],
      cwd: o.cwd ?? "/",
      hostname: o.hostname ?? id,
      net: o.net ?? "none",
      userns: o.userns ?? false,
      bundle: o.bundle,
    };
    const rec: ContainerRecord = {
      id,
      name: o.name ?? id,
      spec,
      limits: o.limits ?? {},
      state: "created",
      pid: null,
      pidStart: null,
      monitor: null,
      monitorStart: null,
      ip: null,
      exitCode: null,
      exitSignal: null,
      oomKilled: false,
      createdAt: Date.now(),
      startedAt: null,
      finishedAt: null,
    };
    const dir = this.dir(id);
    mkdirSync(join(dir, "rootfs"), { recursive: true });
    try {
      this.store.insert(rec);
      if (spec.userns) {
        execFileSync("cp", ["-a", `${image}/.`, this.rootfsOf(id)]);
        shiftOwnership(this.rootfsOf(id));
      } else {
        mkdirSync(join(dir, "upper"));
        mkdirSync(join(dir, "work"));
      }
      this.cgroups.create(this.cgroupPath(id)).apply(rec.limits);
      if (spec.net === "bridge") {
        rec.ip = allocateAddress(this.store.usedIps());
        this.store.save(rec);
        attachContainer(this.tag, id, rec.ip);
      }
    } catch (e) {
      this.destroy(rec);
      throw e;
    }
    return rec;
  }

  /** The helper's options shared by run and restore: rootfs, overlay, cgroups, log and exit files. */
  helperArgs(c: ContainerRecord): string[] {
    const dir = this.dir(c.id);
    const args = [
      "--rootfs",
      this.rootfsOf(c.id),
      "--log",
      join(dir, "log"),
      "--exit-file",
      join(dir, "exit"),
    ];
    if (!c.spec.userns) args.push("--overlay", `${c.spec.rootfs}:${join(dir, "upper")}:${join(dir, "work")}`);
    for (const f of this.cgroupOf(c.id).procsFiles) args.push("--cgroup", f);
    return args;
  }

  private launchArgs(c: ContainerRecord, fifo: boolean): string[] {
    const args = [...this.helperArgs(c), "--hostname", c.spec.hostname, "--cwd", c.spec.cwd];
    const ns = this.netnsOf(c);
    if (ns) args.push("--netns", ns);
    if (c.spec.userns) args.push("--userns", `0 ${USERNS_BASE} ${USERNS_SIZE}`);
    for (const e of c.spec.env) args.push("--env", e);
    if (fifo) args.push("--start-fifo", join(this.dir(c.id), "start.fifo"));
    return [...args, "--", ...c.spec.args];
  }

  markStarted(c: ContainerRecord, s: Started, state: "created" | "running"): void {
    c.pid = s.pid;
    c.pidStart = processStartTime(s.pid);
    c.monitor = s.monitor;
    c.monitorStart = processStartTime(s.monitor);
    c.state = state;
    c.startedAt = Date.now();
    rmSync(join(this.dir(c.id), "exit"), { force: true });
    this.store.save(c);
  }

  /** Starts a prepared container in the background; its output goes to its log. */
  async startDetached(c: ContainerRecord, waitForStart = false): Promise<ContainerRecord> {
    if (waitForStart) execFileSync("mkfifo", ["-m", "0600", join(this.dir(c.id), "start.fifo")]);
    const started = await spawnDetached("run", this.launchArgs(c, waitForStart), `start ${c.name}`);
    this.markStarted(c, started, waitForStart ? "created" : "running");
    return c;
  }

  /** run -d: prepare and start; on failure nothing is left behind. */
  async runDetached(o: RunOptions): Promise<ContainerRecord> {
    const c = this.prepare(o);
    try {
      return await this.startDetached(c);
    } catch (e) {
      this.destroy(c);
      throw e;
    }
  }

  /** run in the foreground: the container has the caller's stdio; resolves with its exit status. */
  async runAttached(o: RunOptions): Promise<{ record: ContainerRecord; exitCode: number }> {
    const c = this.prepare(o);
    const args = this.launchArgs(c, false).filter((a, i, all) => a !== "--log" && all[i - 1] !== "--log");
    try {
      const exitCode = await spawnForeground(
        "run",
        args,
        `run ${c.name}`,
        (s) => this.markStarted(c, s, "running"),
        undefined,
        FORWARDED,
      );
      return { record: this.refresh(c), exitCode };
    } catch (e) {
      this.destroy(c);
      throw e;
    }
  }

  /** OCI `start`: lets an init waiting on its start fifo exec the user's process. */
  start(ref: string): ContainerRecord {
    const c = this.get(ref);
    const fifo = join(this.dir(c.id), "start.fifo");
    if (c.state !== "created" || !existsSync(fifo))
      throw new UsageError(`container ${c.name} is ${c.state}, not created`);
    const fd = openSync(fifo, "r");
    readSync(fd, Buffer.alloc(1));
    closeSync(fd);
    rmSync(fifo, { force: true });
    c.state = "running";
    this.store.save(c);
    return c;
  }

  // ---- running containers ----

  private running(ref: string): ContainerRecord & { pid: number } {
    const c = this.get(ref);
    if ((c.state !== "running" && c.state !== "created") || c.pid === null) {
      throw new UsageError(`container ${c.name} is not running (${c.state})`);
    }
    return c as ContainerRecord & { pid: number };
  }

  /** Runs a command inside a running container with the caller's stdio; resolves with its exit status. */
  exec(ref: string, args: string[], env: string[] = [], stdio?: "inherit" | "pipe"): Promise<number> {
    const c = this.running(ref);
    if (args.length === 0) throw new UsageError("exec: no command given");
    const a = ["--pid", String(c.pid), ...this.cgroupOf(c.id).procsFiles.flatMap((f) => ["--cgroup", f])];
    for (const e of env) a.push("--env", e);
    const io = stdio === "pipe" ? (["ignore", "pipe", "pipe", "pipe"] as const) : undefined;
    return spawnForeground(
      "exec",
      [...a, "--", ...args],
      `exec in ${c.name}`,
      () => {},
      io ? [...io] : undefined,
    );
  }

  logs(ref: string): string {
    const c = this.get(ref);
    const f = join(this.dir(c.id), "log");
    return existsSync(f) ? readFileSync(f, "utf8") : "";
  }

  kill(ref: string, signal: NodeJS.Signals | number = "SIGKILL"): void {
    const c = this.running(ref);
    try {
      process.kill(c.pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
    }
  }

  /** Waits until the container has exited (its monitor wrote the exit file), up to `ms`. */
  async waitExit(ref: string, ms: number): Promise<ContainerRecord> {
    const end = Date.now() + ms;
    for (;;) {
      const c = this.get(ref);
      if (c.state !== "running" && c.state !== "created") return c;
      if (Date.now() >= end) return c;
      await sleep(5);
    }
  }

  /** SIGTERM, then SIGKILL after the grace period (an init ignores SIGTERM unless it handles it). */
  async stop(ref: string, graceMs = DEFAULT_STOP_GRACE_MS): Promise<ContainerRecord> {
    const c = this.get(ref);
    if (c.state !== "running" && c.state !== "created") return c;
    this.kill(c.id, "SIGTERM");
    let after = await this.waitExit(c.id, graceMs);
    if (after.state === "running" || after.state === "created") {
      this.kill(c.id, "SIGKILL");
      after = await this.waitExit(c.id, 5000);
    }
    return after;
  }

  /** Removes a container; a running one only with `force` (it is killed first). */
  async remove(ref: string, force = false): Promise<void> {
    const c = this.get(ref);
    if (c.state === "running" || c.state === "created") {
      if (!force) throw new UsageError(`container ${c.name} is ${c.state}; stop it first or use --force`);
      this.kill(c.id, "SIGKILL");
      await this.waitExit(c.id, 5000);
    }
    await this.destroyAsync(c);
  }

  private async destroyAsync(c: ContainerRecord): Promise<void> {
    // Processes that escaped init's death (none should: init's exit kills its pid namespace) are killed.
    const cg = this.cgroupOf(c.id);
    for (let i = 0; i < 200; i++) {
      let pids: number[] = [];
      try {
        pids = cg.pids();
      } catch {
        break;
      }
      if (pids.length === 0) break;
      for (const p of pids) {
        try {
          process.kill(p, "SIGKILL");
        } catch {}
      }
      await sleep(5);
    }
    this.destroy(c);
  }

  /** Tears down whatever exists of a container: mounts, cgroup, network, directory, record. */
  destroy(c: ContainerRecord): void {
    const rootfs = this.rootfsOf(c.id);
    if (!c.spec.userns && existsSync(rootfs) && mountedAt(rootfs)) execFileSync("umount", ["-l", rootfs]);
    try {
      this.cgroupOf(c.id).remove();
    } catch {
      // Still busy or never made; a later rm retries.
    }
    if (c.spec.net === "bridge") detachContainer(this.tag, c.id);
    rmSync(this.dir(c.id), { recursive: true, force: true });
    this.store.remove(c.id);
  }

  // ---- resources ----

  stats(ref: string): CgroupStats {
    return this.cgroupOf(this.get(ref).id).stats();
  }

  /**
   * Applies a change of limits to a running (or stopped) container's cgroup, then records it; what the
   * kernel refuses is not recorded. Returns the time the cgroup writes took, in milliseconds.
   */
  update(ref: string, change: Limits): number {
    const c = this.get(ref);
    if (Object.keys(change).length === 0) throw new UsageError("update: no limit given");
    const t0 = performance.now();
    this.cgroupOf(c.id).apply(change);
    const ms = performance.now() - t0;
    c.limits = mergeLimits(c.limits, change);
    this.store.save(c);
    this.store.recordUpdate(c.id, change);
    return ms;
  }

  inspect(ref: string): Inspection {
    const c = this.get(ref);
    let stats: CgroupStats | null = null;
    try {
      stats = this.cgroupOf(c.id).stats();
    } catch {
      stats = null;
    }
    return {
      record: c,
      dir: this.dir(c.id),
      rootfs: this.rootfsOf(c.id),
      cgroupVersion: this.cgroups.version,
      stats,
      updates: this.store.updates(c.id),
    };
  }
}
