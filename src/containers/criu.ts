/**
 * Checkpoint and restore with CRIU 4 (built by scripts/setup-containers.mjs: Debian 12's 3.17 fails on
 * this kernel with "Unexpected rt vDSO area bounds").
 *
 * checkpoint: `criu dump` of the container's tree into <ctr>/checkpoint/, with
 *   - cgroups ignored (the engine re-creates them from its own record, so updates survive),
 *   - a bridged container's network namespace marked external (key "extnet"): a restore joins a new one,
 *   - the nftables network lock, and established TCP connections kept.
 *   The container's stdout/stderr is a pipe to its monitor; its inode goes into meta.json so a restore can
 *   hand CRIU the new monitor's pipe in its place (--inherit-fd fd[3]:pipe:[inode]).
 *
 * restore: new cgroups with the recorded limits, a new network namespace (bridge), the overlay mounted
 *   again, then the helper's `restore` verb runs `criu restore --restore-detached` inside those cgroups as
 *   a child subreaper, adopts the restored init and monitors it like any container.
 *
 * Pre-copy (iterative dumps) needs soft-dirty page tracking, which this kernel does not offer (`criu check
 * --feature mem_dirty_track` fails), so migration is stop-and-copy. Post-copy ("lazy pages") was tried:
 * userfaultfd is there (`criu check --feature uffd-noncoop` passes), but CRIU 4.1.1's lazy dump of a
 * container fails here as the target's lazy-pages daemon connects ("page-pipe: splice: -1: Bad file
 * descriptor" on the source, "Remote side closed connection" on the target, and the target's `criu
 * restore` then hangs), so it is not offered.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Engine } from "./engine.js";
import { spawnDetached } from "./helper.js";
import { UsageError } from "./limits.js";
import { attachContainer, detachContainer } from "./network.js";
import { BUILT_CRIU_PATH } from "./params.js";
import type { ContainerRecord } from "./store.js";

export class CriuError extends Error {
  override name = "CriuError";
}

/** What a checkpoint directory records besides CRIU's images. */
export interface CheckpointMeta {
  /** The inode of the pipe that was the container's stdout/stderr, as /proc/<pid>/fd/1 reads: pipe:[N]. */
  outputPipe: string;
  net: "none" | "bridge";
  at: number;
}

export function criuPath(): string {
  return existsSync(BUILT_CRIU_PATH) ? BUILT_CRIU_PATH : "criu";
}

const COMMON = ["--manage-cgroups=ignore", "--tcp-established", "--file-locks", "--network-lock", "nftables"];

function runCriu(args: string[], logFile: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(criuPath(), args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", (e) => reject(new CriuError(`${what}: cannot run ${criuPath()}: ${e.message}`)));
    child.on("exit", (code) => {
      if (code === 0) return resolve();
      reject(new CriuError(`${what}: criu failed (status ${code}): ${lastError(logFile) ?? stderr.trim()}`));
    });
  });
}

/** Noise CRIU logs as errors on every run here (no iptables; an rlimit it may not raise). */
const BENIGN = /RLIMIT_NOFILE|tables-save|tables-legacy-save|execvp\("ip6?tables/;

/** The first real "Error" line of a CRIU log (the cause; later ones are consequences). */
export function lastError(logFile: string): string | null {
  if (!existsSync(logFile)) return null;
  const lines = readFileSync(logFile, "utf8").split("\n");
  const errors = lines.filter((l) => /Error/.test(l) && !BENIGN.test(l));
  return errors.length > 0 ? `${errors[0].trim()} (see ${logFile})` : null;
}

/**
 * A user-namespaced container's /dev nodes are bind mounts of the host's (mknod is not allowed there):
 * CRIU must be told they are external, by mount point at dump and by key → host path at restore.
 */
const DEV_BINDS = ["null", "zero", "full", "random", "urandom", "tty"];

function externalDevDump(): string[] {
  return DEV_BINDS.flatMap((d) => ["--external", `mnt[/dev/${d}]:dev-${d}`]);
}

function externalDevRestore(): string[] {
  return DEV_BINDS.flatMap((d) => ["--external", `mnt[dev-${d}]:/dev/${d}`]);
}

export function checkpointDir(engine: Engine, c: ContainerRecord): string {
  return join(engine.dir(c.id), "checkpoint");
}

/** Dumps a running container; unless `leaveRunning`, it is stopped and marked checkpointed. */
export async function checkpoint(
  engine: Engine,
  ref: string,
  opts: { leaveRunning?: boolean } = {},
): Promise<{ dir: string; ms: number }> {
  const c = engine.get(ref);
  if (c.state !== "running" || c.pid === null)
    throw new UsageError(`container ${c.name} is not running (${c.state})`);
  if (c.spec.userns && c.spec.net === "bridge") {
    // CRIU dumps from inside the container's user namespace and cannot then setns into a network
    // namespace the host's user namespace owns ("Can't setns 7/net: Operation not permitted").
    throw new UsageError(
      `container ${c.name}: a user-namespaced container on the bridge cannot be checkpointed`,
    );
  }
  const dir = checkpointDir(engine, c);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let outputPipe: string;
  try {
    outputPipe = readlinkSync(`/proc/${c.pid}/fd/1`);
  } catch {
    throw new CriuError(`container ${c.name}: its output is not readable at /proc/${c.pid}/fd/1`);
  }
  if (!outputPipe.startsWith("pipe:")) {
    throw new UsageError(
      `container ${c.name} runs attached to a terminal; only detached containers (-d) can be checkpointed`,
    );
  }
  const meta: CheckpointMeta = { outputPipe, net: c.spec.net, at: Date.now() };
  writeFileSync(join(dir, "meta.json"), JSON.stringify(meta));
  const args = ["dump", "-t", String(c.pid), "-D", dir, "-o", "dump.log", "-v4", ...COMMON];
  if (opts.leaveRunning) args.push("--leave-running");
  if (c.spec.net === "bridge")
    args.push("--external", `net[${statSync(`/proc/${c.pid}/ns/net`).ino}]:extnet`);
  if (c.spec.userns) args.push(...externalDevDump());
  const t0 = performance.now();
  await runCriu(args, join(dir, "dump.log"), `checkpoint ${c.name}`);
  const ms = performance.now() - t0;
  if (!opts.leaveRunning) {
    // CRIU killed the tree; wait for the monitor to record it and unmount the rootfs, then say why.
    const after = await engine.waitExit(c.id, 10_000);
    if (after.state === "running")
      throw new CriuError(`checkpoint ${c.name}: the container did not stop after the dump`);
    after.state = "checkpointed";
    after.exitCode = null;
    after.exitSignal = null;
    after.pid = null;
    rmSync(join(engine.dir(c.id), "exit"), { force: true });
    engine.store.save(after);
  }
  return { dir, ms };
}

/** Restores a checkpointed container into fresh cgroups (recorded limits) and, if bridged, a new netns. */
export async function restore(engine: Engine, ref: string): Promise<{ pid: number; ms: number }> {
  const c = engine.get(ref);
  if (c.state !== "checkpointed") throw new UsageError(`container ${c.name} is ${c.state}, not checkpointed`);
  const dir = checkpointDir(engine, c);
  const metaFile = join(dir, "meta.json");
  if (!existsSync(metaFile)) throw new UsageError(`container ${c.name} has no checkpoint in ${dir}`);
  const meta = JSON.parse(readFileSync(metaFile, "utf8")) as CheckpointMeta;
  const t0 = performance.now();
  engine.cgroups.create(engine.cgroupPath(c.id)).apply(c.limits);
  let netns: string | null = null;
  if (c.spec.net === "bridge") {
    if (c.ip === null) throw new CriuError(`container ${c.name} is bridged but has no address on record`);
    detachContainer(engine.tag, c.id);
    netns = attachContainer(engine.tag, c.id, c.ip);
  }
  const pidfile = join(dir, "restore.pid");
  rmSync(pidfile, { force: true });
  const criuArgs = [criuPath(), "restore", "-d", "-D", dir, "-o", "restore.log", "-v4", ...COMMON];
  criuArgs.push(
    "--root",
    engine.rootfsOf(c.id),
    "--pidfile",
    pidfile,
    "--inherit-fd",
    `fd[3]:${meta.outputPipe}`,
  );
  if (c.spec.userns) criuArgs.push(...externalDevRestore());
  const helperArgs = [...engine.helperArgs(c), "--criu-pidfile", pidfile];
  if (netns) {
    criuArgs.push("--inherit-fd", "fd[4]:extnet");
    helperArgs.push("--criu-netns", netns);
  }
  let started: Awaited<ReturnType<typeof spawnDetached>>;
  try {
    started = await spawnDetached("restore", [...helperArgs, "--", ...criuArgs], `restore ${c.name}`);
  } catch (e) {
    const why = lastError(join(dir, "restore.log"));
    throw new CriuError(`${(e as Error).message}${why ? `: ${why}` : ""}`);
  }
  engine.markStarted(c, started, "running");
  return { pid: started.pid, ms: performance.now() - t0 };
}
