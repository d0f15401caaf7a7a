/**
 * rvisord's administration endpoints (api.ts lists them): the store as the toolstack sees it (read,
 * write, rm, a subtree listing, watches as server-sent events), vCPU placement (xl vcpu-list, vcpu-pin),
 * Credit parameters (xl sched-credit), live statistics (xentop's figures, as snapshots and as a stream)
 * and the log ring (xl dmesg). server.ts routes here every path it does not serve itself; everything is
 * done as domain 0 through the hypervisor's own control functions (../../hypervisor/sched-control.ts),
 * so a request is validated before it changes anything.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Domain } from "../../hypervisor/domain.js";
import type { Hypervisor } from "../../hypervisor/hypervisor.js";
import {
  SchedControlError,
  schedStats,
  setSchedParams,
  setVcpuAffinity,
} from "../../hypervisor/sched-control.js";
import { PAGE_SIZE } from "../../machine/params.js";
import type { Connection } from "../store/connection.js";
import { formatPerm } from "../store/permissions.js";
import type { Store } from "../store/store.js";
import type {
  DomainStats,
  LogLine,
  SchedEntry,
  StatsSample,
  StoreEntry,
  VcpuInfo,
  VcpuPinRequest,
} from "./api.js";
import { ApiError } from "./http.js";

const MiB = 1024 * 1024;
/** The stats stream's bounds. */
const STATS_MIN_MS = 100;
const STATS_MAX_MS = 60_000;
/** Nodes a subtree listing returns at most (the store's own quota is far above any real tree). */
const LS_LIMIT = 10_000;

/** What the endpoints need from the daemon. */
export interface AdminHost {
  readonly hv: Hypervisor;
  readonly store: Store;
  /** Domain 0's connection to the store. */
  readonly tools: Connection;
  readonly logRing: LogRing;
  /** A live domain by id or name (404 / 409 otherwise). */
  liveDomain(ref: string): Domain;
  readBody(req: IncomingMessage): Promise<Buffer>;
  send(res: ServerResponse, status: number, body: unknown): void;
}

/** The last `capacity` log lines (xl dmesg's ring). */
export class LogRing {
  private readonly lines: LogLine[] = [];
  constructor(private readonly capacity = 2000) {}

  add(text: string): void {
    this.lines.push({ time: Date.now(), text });
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  all(): LogLine[] {
    return [...this.lines];
  }
}

export class Admin {
  constructor(readonly host: AdminHost) {}

  /** Serves `method parts` if it is one of ours; false when not (server.ts then answers 404). */
  async handle(
    method: string,
    parts: string[],
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<boolean> {
    const h = this.host;
    const [, what, ref, verb] = parts;
    const key = `${method} ${[what, ref === undefined ? undefined : what === "domains" ? ":dom" : ref, verb]
      .filter((x) => x !== undefined)
      .join("/")}`;
    switch (key) {
      case "PUT store": {
        const path = storePath(url);
        const value = await h.readBody(req);
        check(h.tools.write(path, value));
        h.send(res, 200, { path, bytes: value.length });
        return true;
      }
      case "DELETE store": {
        const path = storePath(url);
        check(h.tools.rm(path));
        h.send(res, 200, { path });
        return true;
      }
      case "GET store/ls":
        h.send(res, 200, this.listTree(storePath(url)));
        return true;
      case "GET store/watch":
        this.watchStream(storePath(url), res);
        return true;
      case "GET vcpus":
        h.send(res, 200, this.vcpus());
        return true;
      case "GET domains/:dom/vcpus":
        h.send(res, 200, this.vcpus(h.liveDomain(ref!)));
        return true;
      case "POST domains/:dom/vcpu-pin": {
        const d = h.liveDomain(ref!);
        const body = parseBody(await h.readBody(req)) as VcpuPinRequest;
        this.pin(d, body);
        h.send(res, 200, this.vcpus(d));
        return true;
      }
      case "GET sched":
        h.send(res, 200, this.sched());
        return true;
      case "GET domains/:dom/sched":
        h.send(res, 200, this.sched(h.liveDomain(ref!))[0]);
        return true;
      case "POST domains/:dom/sched": {
        const d = h.liveDomain(ref!);
        const body = parseBody(await h.readBody(req)) as { weight?: unknown; cap?: unknown };
        for (const k of Object.keys(body ?? {}))
          if (k !== "weight" && k !== "cap")
            throw new ApiError(400, `unknown parameter ${k}: give weight and/or cap`);
        const change: { weight?: number; cap?: number } = {};
        if (body?.weight !== undefined) change.weight = integer(body.weight, "weight");
        if (body?.cap !== undefined) change.cap = integer(body.cap, "cap");
        try {
          setSchedParams(h.hv, d.id, change);
        } catch (e) {
          if (e instanceof SchedControlError) throw new ApiError(400, e.message);
          throw e;
        }
        h.send(res, 200, this.sched(d)[0]);
        return true;
      }
      case "GET stats":
        h.send(res, 200, this.sample(undefined));
        return true;
      case "GET stats/stream":
        this.statsStream(Number(url.searchParams.get("interval") ?? "1000"), res);
        return true;
      case "GET dmesg":
        h.send(res, 200, h.logRing.all());
        return true;
      default:
        return false;
    }
  }

  // ── the store ────────────────────────────────────────────────────────────────────────────────

  private listTree(root: string): StoreEntry[] {
    const t = this.host.tools;
    const out: StoreEntry[] = [];
    const visit = (path: string): void => {
      if (out.length >= LS_LIMIT) return;
      const value = t.readString(path);
      const perms = t.getPerms(path);
      if (!value.ok || !perms.ok) return; // removed meanwhile
      out.push({ path, value: value.value, perms: perms.value.map(formatPerm) });
      const children = t.directory(path);
      if (children.ok) for (const c of children.value) visit(path === "/" ? `/${c}` : `${path}/${c}`);
    };
    check(this.host.tools.readString(root));
    visit(root);
    return out;
  }

  /** Xen's watch: one event at once, then one per change of the path or below it, until the client leaves. */
  private watchStream(path: string, res: ServerResponse): void {
    const conn = this.host.store.connect(0);
    const token = `rvisor-${Date.now().toString(36)}`;
    const r = conn.watch(path, token);
    if (!r.ok) {
      conn.close();
      throw new ApiError(400, `${r.errno}: ${r.detail}`);
    }
    sseHead(res);
    const flush = () => {
      for (const e of conn.takeEvents()) res.write(`event: watch\ndata: ${JSON.stringify(e)}\n\n`);
    };
    // Told as each event is queued (from inside a store operation: write once that has returned).
    conn.onEvent = () => setImmediate(flush);
    flush();
    res.on("close", () => {
      conn.onEvent = undefined;
      conn.close();
    });
  }

  // ── vCPUs and the scheduler ──────────────────────────────────────────────────────────────────

  private vcpus(only?: Domain): VcpuInfo[] {
    const out: VcpuInfo[] = [];
    for (const d of schedStats(this.host.hv).domains) {
      if (only !== undefined && d.id !== only.id) continue;
      const dom = this.host.hv.domains.get(d.id);
      for (const v of d.vcpus) {
        const power = dom?.vcpus[v.index]?.power;
        out.push({
          domain: d.name,
          domid: d.id,
          vcpu: v.index,
          pcpu: v.pcpu,
          state: dom?.state === "paused" ? "paused" : power === "stopped" ? "offline" : v.state,
          cpuTimeS: v.cpuTimeNs / 1e9,
          affinity: [...v.affinity],
        });
      }
    }
    return out;
  }

  private pin(d: Domain, body: VcpuPinRequest): void {
    if (body === null || typeof body !== "object")
      throw new ApiError(400, 'give {"vcpu": n|"all", "cpus": [..]|"all"}');
    const vcpu = body.vcpu === "all" ? "all" : integer(body.vcpu, "vcpu");
    let cpus: number[] | null;
    if (body.cpus === "all") cpus = null;
    else if (Array.isArray(body.cpus)) cpus = body.cpus.map((c) => integer(c, "cpus"));
    else throw new ApiError(400, 'cpus must be a list of pCPU numbers or "all"');
    try {
      setVcpuAffinity(this.host.hv, d.id, vcpu, cpus);
    } catch (e) {
      if (e instanceof SchedControlError) throw new ApiError(400, e.message);
      throw e;
    }
  }

  private sched(only?: Domain): SchedEntry[] {
    return schedStats(this.host.hv)
      .domains.filter((d) => only === undefined || d.id === only.id)
      .map((d) => ({ name: d.name, id: d.id, weight: d.weight, cap: d.cap }));
  }

  // ── statistics ───────────────────────────────────────────────────────────────────────────────

  /** Figures now; with `prev`, the rates over the time since it (else since each domain started). */
  sample(prev: Raw | undefined): StatsSample {
    const raw = this.raw();
    const hv = this.host.hv;
    const interval = prev === undefined ? raw.nowNs : raw.nowNs - prev.nowNs;
    const seconds = interval / 1e9;
    const domains: DomainStats[] = raw.domains.map((d) => {
      const before = prev?.domains.find((x) => x.id === d.id && x.name === d.name);
      const cpu = d.cpuTimeNs - (before?.cpuTimeNs ?? 0);
      const retired = d.retired - (before?.retired ?? 0);
      const exits = new Map(d.exits);
      if (before !== undefined) for (const [k, n] of before.exits) exits.set(k, (exits.get(k) ?? 0) - n);
      let total = 0;
      for (const n of exits.values()) total += n;
      return {
        id: d.id,
        name: d.name,
        mode: d.mode,
        state: d.state,
        vcpus: d.vcpus,
        onlineVcpus: d.onlineVcpus,
        memoryMiB: d.memoryMiB,
        cpuTimeNs: d.cpuTimeNs,
        cpuPercent: interval > 0 ? (100 * cpu) / interval : 0,
        retired: d.retired,
        mips: seconds > 0 ? retired / seconds / 1e6 : 0,
        exits: d.exitsTotal,
        exitsPerSecond: seconds > 0 ? total / seconds : 0,
        topExits: [...exits]
          .filter(([, n]) => n > 0)
          .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
          .slice(0, 3)
          .map(([cause, count]) => ({ cause, count })),
      };
    });
    const a = hv.allocator;
    return {
      nowNs: raw.nowNs,
      intervalNs: prev === undefined ? 0 : interval,
      pcpus: raw.pcpus.map((p) => {
        const b = prev?.pcpus.find((x) => x.pcpu === p.pcpu);
        const busy = p.busyNs - (b?.busyNs ?? 0);
        return {
          pcpu: p.pcpu,
          busyPercent: interval > 0 ? Math.min(100, (100 * busy) / interval) : 0,
          domain: p.domain,
        };
      }),
      freeMemoryMiB: Math.floor((a.freeCount * PAGE_SIZE) / MiB),
      totalMemoryMiB: (a.total * PAGE_SIZE) / MiB,
      domains,
    };
  }

  raw(): Raw {
    const hv = this.host.hv;
    hv.settle(); // the vCPUs on pCPUs now: their instructions so far
    const s = schedStats(hv);
    return {
      nowNs: s.nowNs,
      pcpus: s.pcpus.map((p) => ({ pcpu: p.pcpu, busyNs: p.busyNs, domain: p.domain })),
      domains: s.domains.map((sd) => {
        const d = hv.domains.get(sd.id)!;
        return {
          id: d.id,
          name: d.name,
          mode: d.mode,
          state: d.state,
          vcpus: d.vcpus.length,
          onlineVcpus: d.vcpus.filter((v) => v.power !== "stopped").length,
          memoryMiB: (d.p2m.populated * PAGE_SIZE) / MiB,
          cpuTimeNs: sd.cpuTimeNs,
          retired: d.retired,
          exits: [...d.exits],
          exitsTotal: d.totalExits,
        };
      }),
    };
  }

  private statsStream(intervalMs: number, res: ServerResponse): void {
    if (!Number.isInteger(intervalMs) || intervalMs < STATS_MIN_MS || intervalMs > STATS_MAX_MS)
      throw new ApiError(400, `interval must be ${STATS_MIN_MS}..${STATS_MAX_MS} ms, got ${intervalMs}`);
    sseHead(res);
    let prev = this.raw();
    res.write(`event: stats\ndata: ${JSON.stringify(this.sample(undefined))}\n\n`);
    const timer = setInterval(() => {
      const next = this.sample(prev);
      prev = this.raw();
      res.write(`event: stats\ndata: ${JSON.stringify(next)}\n\n`);
    }, intervalMs);
    res.on("close", () => clearInterval(timer));
  }
}

/** Cumulative figures, kept between two samples of a stream. */
interface Raw {
  nowNs: number;
  pcpus: { pcpu: number; busyNs: number; domain: string | null }[];
  domains: {
    id: number;
    name: string;
    mode: string;
    state: string;
    vcpus: number;
    onlineVcpus: number;
    memoryMiB: number;
    cpuTimeNs: number;
    retired: number;
    exits: [string, number][];
    exitsTotal: number;
  }[];
}

function sseHead(res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
}

function storePath(url: URL): string {
  const p = url.searchParams.get("path");
  if (p === null || p === "") throw new ApiError(400, "give the node as ?path=/local/domain/…");
  return p;
}

function check(r: { ok: true } | { ok: false; errno: string; detail: string }): void {
  if (r.ok) return;
  const status = r.errno === "ENOENT" ? 404 : r.errno === "EACCES" ? 403 : 400;
  throw new ApiError(status, `${r.errno}: ${r.detail}`);
}

function integer(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v))
    throw new ApiError(400, `${what} must be an integer, got ${JSON.stringify(v)}`);
  return v;
}

function parseBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw new ApiError(400, `the request body is not JSON: ${(e as Error).message}`);
  }
}
