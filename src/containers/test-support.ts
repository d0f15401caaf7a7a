/**
 * What the container tests share: a busybox root filesystem, a throw-away engine root, and clean-up that
 * removes every container, cgroup, network namespace and directory a test made, even when it failed.
 *
 * The tests need root (namespaces, cgroups, mounts). As another user they are skipped with that reason;
 * as root, a missing prerequisite (the helper, busybox-static, CRIU) is a failure, not a skip: CI runs as
 * root and must not pass without having tested anything.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "./engine.js";
import { BUSYBOX, makeBusyboxRootfs } from "./image.js";
import { removeEngineNetwork } from "./network.js";
import { HELPER_PATH, REPO_ROOT } from "./params.js";

export const IS_ROOT = process.getuid?.() === 0;
/** For `test(name, { skip: SKIP_UNLESS_ROOT }, ...)`. */
export const SKIP_UNLESS_ROOT = IS_ROOT ? false : "needs root (namespaces, cgroups and mounts)";

export { makeBusyboxRootfs } from "./image.js";

/** Fails loudly when, as root, something the set-up should have installed is missing. */
export function requirePrerequisites(): void {
  if (!existsSync(HELPER_PATH))
    throw new Error(`${HELPER_PATH} is missing: run 'node scripts/setup-containers.mjs'`);
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: apt-get install busybox-static`);
}

export interface Sandbox {
  dir: string;
  image: string;
  engine: Engine;
  /** Opens another engine on a fresh root (a second daemon), cleaned up with the sandbox. */
  otherEngine(): Engine;
  cleanup(): Promise<void>;
}

/** A fresh engine root and busybox image under a temporary directory. */
export function sandbox(): Sandbox {
  requirePrerequisites();
  const dir = mkdtempSync(join(tmpdir(), "rvisor-ctr-test-"));
  chmodSync(dir, 0o711); // a user-namespaced container's root (uid 100000) must reach its rootfs
  const image = makeBusyboxRootfs(dir);
  const engines = [Engine.open(join(dir, "engine"))];
  return {
    dir,
    image,
    engine: engines[0],
    otherEngine() {
      const e = Engine.open(join(dir, `engine${engines.length}`));
      engines.push(e);
      return e;
    },
    async cleanup() {
      for (const e of engines) await cleanupEngine(e);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Removes every container of an engine, its bridge namespace and its cgroup parent directories. */
export async function cleanupEngine(e: Engine): Promise<void> {
  for (const c of e.list()) {
    try {
      await e.remove(c.id, true);
    } catch {
      e.destroy(c);
    }
  }
  removeEngineNetwork(e.tag);
  const parent = e.cgroupPath("x").replace(/\/x$/, "");
  for (const base of ["memory", "cpu", "cpuacct", "pids", "freezer", "unified", ""]) {
    const d = join("/sys/fs/cgroup", base, parent);
    try {
      if (existsSync(d)) rmdirSync(d);
    } catch {
      // Another engine's containers may still be inside.
    }
  }
  e.close();
}

/** Runs `rvisor ctr <args>` in a child process (the ctr command as the integrator wires it). */
/** The node arguments that run `rvisor ctr --root <root> <args>` (the ctr command as the integrator wires it). */
export function ctrArgv(root: string, args: string[]): string[] {
  const script = `
    import { Command } from "commander";
    import { registerContainerCommands } from ${JSON.stringify(join(REPO_ROOT, "dist", "containers", "cli.js"))};
    const program = new Command("rvisor").exitOverride((e) => process.exit(e.code === "commander.helpDisplayed" ? 0 : 2));
    registerContainerCommands(program);
    await program.parseAsync(process.argv.slice(1), { from: "user" });
  `;
  return ["--input-type=module", "-e", script, "ctr", "--root", root, ...args];
}

/** Runs `rvisor ctr <args>` in a child process to its end. */
export function ctrCli(
  root: string,
  args: string[],
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ctrArgv(root, args), { cwd: REPO_ROOT, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined, or throws after `ms`. */
export async function eventually<T>(what: string, ms: number, check: () => T | undefined): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}
