/**
 * OCI runtime-spec bundles: a directory with `config.json` and (usually) `rootfs/`. We read the parts a
 * single-process Linux container needs — process.args/env/cwd, root.path, hostname, linux.namespaces,
 * linux.uidMappings and linux.resources (memory, cpu, pids) — and say which field is wrong when one is.
 * What we do not implement (mounts beyond /proc and /dev, seccomp, capabilities, hooks) is ignored, as
 * runc's "unknown field" policy allows, except where it would change isolation: a namespace type we do not
 * create is refused.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Limits } from "./cgroups.js";
import type { RunOptions } from "./engine.js";
import { UsageError } from "./limits.js";
import { CFS_PERIOD_US, USERNS_BASE } from "./params.js";

/** The state document `runc state` prints (runtime-spec "State"). */
export interface OciState {
  ociVersion: string;
  id: string;
  status: "creating" | "created" | "running" | "stopped";
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

export const OCI_VERSION = "1.0.2";

type Json = Record<string, unknown>;

function obj(v: unknown, where: string): Json {
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new UsageError(`${where} must be an object`);
  return v as Json;
}

function strings(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string"))
    throw new UsageError(`${where} must be a list of strings`);
  return v as string[];
}

function num(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new UsageError(`${where} must be a number`);
  return v;
}

const SUPPORTED_NAMESPACES = new Set(["pid", "mount", "uts", "ipc", "network", "user", "cgroup"]);

/** Reads `<bundle>/config.json` into run options; every error names the bundle and the field. */
export function readBundle(bundleDir: string): RunOptions {
  const bundle = resolve(bundleDir);
  const file = join(bundle, "config.json");
  if (!existsSync(file)) throw new UsageError(`bundle ${bundleDir}: no config.json`);
  let config: Json;
  try {
    config = obj(JSON.parse(readFileSync(file, "utf8")), `${file}`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`bundle ${bundleDir}: config.json is not valid JSON: ${(e as Error).message}`);
  }
  const where = (f: string): string => `bundle ${bundleDir}: config.json ${f}`;
  const proc = obj(config.process, where("process"));
  const args = strings(proc.args, where("process.args"));
  if (args.length === 0) throw new UsageError(`${where("process.args")} is missing or empty`);
  const root = obj(config.root, where("root"));
  if (typeof root.path !== "string") throw new UsageError(`${where("root.path")} is missing`);
  const rootfs = resolve(bundle, root.path);
  if (!existsSync(rootfs)) throw new UsageError(`${where("root.path")}: ${rootfs} does not exist`);
  const linux = obj(config.linux, where("linux"));
  const namespaces = Array.isArray(linux.namespaces) ? (linux.namespaces as Json[]) : [];
  let net: "none" | "bridge" = "none";
  let userns = false;
  for (const ns of namespaces) {
    const type = String(ns.type);
    if (!SUPPORTED_NAMESPACES.has(type))
      throw new UsageError(`${where("linux.namespaces")}: unknown type '${type}'`);
    if (type === "network" && typeof ns.path === "string") net = "bridge";
    if (type === "user") userns = true;
  }
  if (userns) {
    const maps = Array.isArray(linux.uidMappings) ? (linux.uidMappings as Json[]) : [];
    const m = maps[0];
    if (m && (m.containerID !== 0 || m.hostID !== USERNS_BASE)) {
      throw new UsageError(`${where("linux.uidMappings")}: only 0 → ${USERNS_BASE} is supported`);
    }
  }
  const res = obj(linux.resources, where("linux.resources"));
  const mem = obj(res.memory, where("linux.resources.memory"));
  const cpu = obj(res.cpu, where("linux.resources.cpu"));
  const pids = obj(res.pids, where("linux.resources.pids"));
  const limits: Limits = {};
  const memLimit = num(mem.limit, where("linux.resources.memory.limit"));
  if (memLimit !== undefined) limits.memory = memLimit < 0 ? null : memLimit;
  const swap = num(mem.swap, where("linux.resources.memory.swap"));
  if (swap !== undefined) limits.memorySwap = swap < 0 ? null : swap;
  const shares = num(cpu.shares, where("linux.resources.cpu.shares"));
  if (shares !== undefined) limits.cpuShares = shares;
  const quota = num(cpu.quota, where("linux.resources.cpu.quota"));
  if (quota !== undefined && quota > 0) {
    limits.cpus = quota / (num(cpu.period, where("linux.resources.cpu.period")) ?? CFS_PERIOD_US);
  }
  const pidsLimit = num(pids.limit, where("linux.resources.pids.limit"));
  if (pidsLimit !== undefined) limits.pidsLimit = pidsLimit <= 0 ? null : pidsLimit;
  return {
    rootfs,
    args,
    env: strings(proc.env, where("process.env")),
    cwd: typeof proc.cwd === "string" ? proc.cwd : "/",
    hostname: typeof config.hostname === "string" ? config.hostname : undefined,
    net,
    userns,
    limits,
    bundle,
  };
}

/** A minimal valid config.json for `args` over `rootfs/` (what `runc spec` writes, trimmed). */
export function exampleConfig(args: string[], limits: { memory?: number; pids?: number } = {}): Json {
  return {
    ociVersion: OCI_VERSION,
    process: { args, env: ["PATH=/bin:/sbin"], cwd: "/" },
    root: { path: "rootfs" },
    hostname: "oci",
    linux: {
      namespaces: [{ type: "pid" }, { type: "mount" }, { type: "uts" }, { type: "ipc" }, { type: "network" }],
      resources: {
        ...(limits.memory ? { memory: { limit: limits.memory } } : {}),
        ...(limits.pids ? { pids: { limit: limits.pids } } : {}),
      },
    },
  };
}
