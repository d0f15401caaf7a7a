/**
 * Control groups behind one interface, for both kernels' layouts.
 *
 *   cgroup v1 (what these machines have)          cgroup v2 (unified)
 *   /sys/fs/cgroup/memory/rvisor/<engine>/<id>     /sys/fs/cgroup[/unified]/rvisor/<engine>/<id>
 *   /sys/fs/cgroup/cpu/...   cpuacct/...           memory.max, memory.swap.max, cpu.max, cpu.weight,
 *   /sys/fs/cgroup/pids/...  freezer/...           pids.max, memory.events, cpu.stat in one directory
 *
 * The engine asks for a cgroup by its relative path and gets the `cgroup.procs` files the helper writes the
 * container's init into, `apply(limits)` and `stats()`. `detectCgroups()` picks v2 when its controllers are
 * enabled (memory, cpu and pids), v1 when those are mounted, and says what is missing otherwise.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CFS_PERIOD_US } from "./params.js";

/** Resource limits; `undefined` leaves a limit as it is, `null` removes it. */
export interface Limits {
  /** Memory in bytes. */
  memory?: number | null;
  /** Memory plus swap in bytes (docker's --memory-swap); defaults to `memory`, i.e. no swap. */
  memorySwap?: number | null;
  /** Relative CPU weight, 2..262144 (v1 cpu.shares; converted to cpu.weight on v2). */
  cpuShares?: number | null;
  /** CPU bandwidth in CPUs, e.g. 0.5 (a CFS quota of half the period). */
  cpus?: number | null;
  /** Maximum number of tasks. */
  pidsLimit?: number | null;
}

export interface CgroupStats {
  memoryBytes: number;
  memoryLimit: number | null;
  cpuNs: number;
  pids: number;
  pidsLimit: number | null;
  /** Forks refused because pids.max was reached (pids.events "max"). */
  pidsLimitHits: number;
  oomKills: number;
}

export interface Cgroup {
  readonly version: 1 | 2;
  /** The files a process id is written to, to move it in (one per hierarchy). */
  readonly procsFiles: string[];
  apply(limits: Limits): void;
  stats(): CgroupStats;
  /** Every process in the cgroup. */
  pids(): number[];
  /** Removes the directories; the cgroup must hold no process. */
  remove(): void;
}

export interface CgroupDriver {
  readonly version: 1 | 2;
  create(path: string): Cgroup;
  open(path: string): Cgroup;
}

export class CgroupError extends Error {
  override name = "CgroupError";
}

const UNLIMITED_V1 = "-1";

function read(path: string): string {
  return readFileSync(path, "utf8").trim();
}

function readNumber(path: string): number {
  return Number(read(path));
}

function write(path: string, value: string | number): void {
  try {
    writeFileSync(path, String(value));
  } catch (e) {
    throw new CgroupError(`cannot write '${value}' to ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

function kv(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) m.set(k, Number(v));
  }
  return m;
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

// ---- v1 ----

// No freezer: CRIU freezes with ptrace here, and every hierarchy joined costs a directory and a write.
const V1_CONTROLLERS = ["memory", "cpu", "cpuacct", "pids"] as const;
type V1Controller = (typeof V1_CONTROLLERS)[number];

/** The mount point of each v1 controller, from /proc/self/mountinfo (they may share one, e.g. cpu,cpuacct). */
function v1Mounts(): Map<V1Controller, string> {
  const found = new Map<V1Controller, string>();
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [left, right] = line.split(" - ");
    if (!right?.startsWith("cgroup ")) continue;
    const mountPoint = left.split(" ")[4];
    const superOptions = right.split(" ")[2]?.split(",") ?? [];
    for (const c of V1_CONTROLLERS) if (superOptions.includes(c)) found.set(c, mountPoint);
  }
  return found;
}

class CgroupV1 implements Cgroup {
  readonly version = 1;
  readonly procsFiles: string[];
  private readonly dirs: Map<V1Controller, string>;

  constructor(mounts: Map<V1Controller, string>, path: string) {
    this.dirs = new Map([...mounts].map(([c, m]) => [c, join(m, path)]));
    this.procsFiles = [...new Set(this.dirs.values())].map((d) => join(d, "cgroup.procs"));
  }

  private file(c: V1Controller, name: string): string {
    const dir = this.dirs.get(c);
    if (!dir) throw new CgroupError(`cgroup v1 controller '${c}' is not mounted`);
    return join(dir, name);
  }

  make(): this {
    for (const d of new Set(this.dirs.values())) mkdirSync(d, { recursive: true });
    return this;
  }

  exists(): boolean {
    return existsSync(this.file("memory", "cgroup.procs"));
  }

  apply(l: Limits): void {
    if (l.memory !== undefined || l.memorySwap !== undefined) this.applyMemory(l);
    if (l.cpuShares !== undefined) write(this.file("cpu", "cpu.shares"), l.cpuShares ?? 1024);
    if (l.cpus !== undefined) {
      write(this.file("cpu", "cpu.cfs_period_us"), CFS_PERIOD_US);
      write(this.file("cpu", "cpu.cfs_quota_us"), l.cpus === null ? -1 : Math.round(l.cpus * CFS_PERIOD_US));
    }
    if (l.pidsLimit !== undefined) write(this.file("pids", "pids.max"), l.pidsLimit ?? "max");
  }

  /**
   * v1 insists that memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every moment, so raising
   * writes memsw first and lowering writes memory first. Lowering below what the group uses makes the
   * kernel reclaim; when it cannot, the write fails with EBUSY and we say how much is in use.
   */
  private applyMemory(l: Limits): void {
    const memFile = this.file("memory", "memory.limit_in_bytes");
    const swFile = this.file("memory", "memory.memsw.limit_in_bytes");
    const hasSwap = existsSync(swFile);
    const mem = l.memory === undefined ? readNumber(memFile) : l.memory;
    const total = l.memorySwap === undefined ? mem : l.memorySwap;
    if (mem !== null && total !== null && total < mem) {
      throw new CgroupError(`memory+swap (${mib(total)}) must be at least memory (${mib(mem)})`);
    }
    const memText = mem === null ? UNLIMITED_V1 : String(mem);
    const totalText = total === null ? UNLIMITED_V1 : String(total);
    const usage = readNumber(this.file("memory", "memory.usage_in_bytes"));
    const writeMem = (): void => {
      try {
        writeFileSync(memFile, memText);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EBUSY" && mem !== null) {
          throw new CgroupError(
            `cannot lower the memory limit to ${mib(mem)}: the container uses ${mib(usage)} that cannot be reclaimed`,
          );
        }
        throw new CgroupError(`cannot write '${memText}' to ${memFile}: ${code ?? e}`);
      }
    };
    if (!hasSwap) {
      writeMem();
      return;
    }
    const currentTotal = readNumber(swFile);
    const raising = total === null || total > currentTotal;
    if (raising) {
      write(swFile, totalText);
      writeMem();
    } else {
      writeMem();
      write(swFile, totalText);
    }
  }

  stats(): CgroupStats {
    const limit = readNumber(this.file("memory", "memory.limit_in_bytes"));
    const pidsMax = read(this.file("pids", "pids.max"));
    const oom = kv(read(this.file("memory", "memory.oom_control")));
    return {
      memoryBytes: readNumber(this.file("memory", "memory.usage_in_bytes")),
      memoryLimit: limit >= 2 ** 62 ? null : limit,
      cpuNs: readNumber(this.file("cpuacct", "cpuacct.usage")),
      pids: readNumber(this.file("pids", "pids.current")),
      pidsLimit: pidsMax === "max" ? null : Number(pidsMax),
      pidsLimitHits: kv(read(this.file("pids", "pids.events"))).get("max") ?? 0,
      oomKills: oom.get("oom_kill") ?? 0,
    };
  }

  pids(): number[] {
    return read(this.file("pids", "cgroup.procs"))
      .split("\n")
      .filter((s) => s !== "")
      .map(Number);
  }

  remove(): void {
    for (const d of new Set(this.dirs.values())) if (existsSync(d)) rmdirSync(d);
  }
}

// ---- v2 ----

const V2_NEEDED = ["memory", "cpu", "pids"];

function v2Root(): string | null {
  for (const p of ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]) {
    const f = join(p, "cgroup.controllers");
    if (existsSync(f) && V2_NEEDED.every((c) => read(f).split(" ").includes(c))) return p;
  }
  return null;
}

class CgroupV2 implements Cgroup {
  readonly version = 2;
  readonly procsFiles: string[];
  readonly dir: string;

  constructor(
    private readonly root: string,
    private readonly path: string,
  ) {
    this.dir = join(root, path);
    this.procsFiles = [join(this.dir, "cgroup.procs")];
  }

  make(): this {
    // Each ancestor must delegate the controllers to its children before a leaf can use them.
    let dir = this.root;
    for (const part of this.path.split("/")) {
      write(join(dir, "cgroup.subtree_control"), V2_NEEDED.map((c) => `+${c}`).join(" "));
      dir = join(dir, part);
      mkdirSync(dir, { recursive: true });
    }
    return this;
  }

  exists(): boolean {
    return existsSync(this.procsFiles[0]);
  }

  apply(l: Limits): void {
    if (l.memory !== undefined) {
      const usage = readNumber(join(this.dir, "memory.current"));
      if (l.memory !== null && l.memory < usage && existsSync(join(this.dir, "memory.reclaim"))) {
        try {
          writeFileSync(join(this.dir, "memory.reclaim"), String(usage - l.memory));
        } catch {
          // v2 would OOM-kill rather than fail: refuse instead, as v1 does.
          throw new CgroupError(
            `cannot lower the memory limit to ${mib(l.memory)}: the container uses ${mib(usage)} that cannot be reclaimed`,
          );
        }
      }
      write(join(this.dir, "memory.max"), l.memory ?? "max");
    }
    if (l.memorySwap !== undefined || l.memory !== undefined) {
      const mem = l.memory ?? null;
      const total = l.memorySwap === undefined ? mem : l.memorySwap;
      const swapFile = join(this.dir, "memory.swap.max");
      if (existsSync(swapFile))
        write(swapFile, total === null || mem === null ? "max" : Math.max(0, total - mem));
    }
    if (l.cpuShares !== undefined) {
      // The kernel's own conversion (runc uses the same): shares 2..262144 → weight 1..10000.
      const s = l.cpuShares ?? 1024;
      write(
        join(this.dir, "cpu.weight"),
        Math.max(1, Math.min(10000, 1 + Math.floor(((s - 2) * 9999) / 262142))),
      );
    }
    if (l.cpus !== undefined) {
      write(
        join(this.dir, "cpu.max"),
        `${l.cpus === null ? "max" : Math.round(l.cpus * CFS_PERIOD_US)} ${CFS_PERIOD_US}`,
      );
    }
    if (l.pidsLimit !== undefined) write(join(this.dir, "pids.max"), l.pidsLimit ?? "max");
  }

  stats(): CgroupStats {
    const max = read(join(this.dir, "memory.max"));
    const pidsMax = read(join(this.dir, "pids.max"));
    return {
      memoryBytes: readNumber(join(this.dir, "memory.current")),
      memoryLimit: max === "max" ? null : Number(max),
      cpuNs: (kv(read(join(this.dir, "cpu.stat"))).get("usage_usec") ?? 0) * 1000,
      pids: readNumber(join(this.dir, "pids.current")),
      pidsLimit: pidsMax === "max" ? null : Number(pidsMax),
      pidsLimitHits: kv(read(join(this.dir, "pids.events"))).get("max") ?? 0,
      oomKills: kv(read(join(this.dir, "memory.events"))).get("oom_kill") ?? 0,
    };
  }

  pids(): number[] {
    return read(this.procsFiles[0])
      .split("\n")
      .filter((s) => s !== "")
      .map(Number);
  }

  remove(): void {
    if (existsSync(this.dir)) rmdirSync(this.dir);
  }
}

/** Picks cgroup v2 when its controllers are usable, else v1; throws saying what is missing. */
export function detectCgroups(): CgroupDriver {
  const root2 = v2Root();
  if (root2) {
    return {
      version: 2,
      create: (path) => new CgroupV2(root2, path).make(),
      open: (path) => new CgroupV2(root2, path),
    };
  }
  const mounts = v1Mounts();
  const missing = V1_CONTROLLERS.filter((c) => !mounts.has(c));
  if (missing.length > 0) {
    throw new CgroupError(
      `no usable cgroups: v2 lacks the memory, cpu and pids controllers and v1 lacks ${missing.join(", ")}`,
    );
  }
  return {
    version: 1,
    create: (path) => new CgroupV1(mounts, path).make(),
    open: (path) => new CgroupV1(mounts, path),
  };
}
