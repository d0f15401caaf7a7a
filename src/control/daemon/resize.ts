/**
 * rvisord's resizing endpoints (docs/resizing.md), after xl vcpu-set, mem-set and mem-max: the
 * toolstack writes the store, the guest follows it, and the hypervisor enforces the limits.
 *
 *   POST /v1/domains/:dom/vcpus    {"online": n}      cpu/<i>/availability "online" for i < n, else
 *                                                     "offline"; 1 ≤ n ≤ maxvcpus (the vCPUs it has)
 *   POST /v1/domains/:dom/memory   {"targetKiB": k}   memory/target = k and the balloon's num_pages;
 *                                                     ≤ maxmem, ≤ the RAM it booted with, ≥ 1 MiB
 *   POST /v1/domains/:dom/maxmem   {"maxKiB": k}      memory/static-max = k; ≥ the target, ≤ the maxmem
 *                                                     it was built with
 *   GET  /v1/domains/:dom/resize                      ResizeInfo: memory, vCPUs, balloon statistics
 *                                                     (asks the guest for fresh ones, which arrive a
 *                                                     moment later: `balloon-stats` shows the last)
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Domain } from "../../hypervisor/domain.js";
import {
  type MemoryInfo,
  memoryInfo,
  ResizeError,
  setMaxMemory,
  setMemoryTarget,
  vcpusOnline,
} from "../../hypervisor/resize.js";
import { wellKnown } from "../store/well-known.js";
import type { AdminHost } from "./admin.js";
import { ApiError } from "./http.js";

export interface ResizeInfo {
  id: number;
  name: string;
  memory: MemoryInfo;
  /** vCPUs the guest runs now, the store's online count (what it was asked for), and all it has. */
  vcpusOnline: number;
  vcpusWanted: number;
  maxVcpus: number;
}

export class ResizeRoutes {
  constructor(private readonly host: AdminHost) {}

  async handle(method: string, parts: string[], req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const [, what, ref, verb] = parts;
    if (what !== "domains" || ref === undefined || parts.length !== 4) return false;
    const h = this.host;
    const key = `${method} ${verb}`;
    if (!["POST vcpus", "POST memory", "POST maxmem", "GET resize"].includes(key)) return false;
    const d = h.liveDomain(ref);
    if (key === "POST vcpus") this.vcpuSet(d, field(await this.body(req), "online"));
    else if (key === "POST memory") this.memSet(d, field(await this.body(req), "targetKiB"));
    else if (key === "POST maxmem") this.memMax(d, field(await this.body(req), "maxKiB"));
    else d.balloon?.requestStats();
    h.send(res, 200, this.info(d));
    return true;
  }

  info(d: Domain): ResizeInfo {
    return {
      id: d.id,
      name: d.name,
      memory: memoryInfo(d),
      vcpusOnline: vcpusOnline(d),
      vcpusWanted: d.vcpus.filter((_, i) => this.read(wellKnown.cpuAvailability(d.id, i)) === "online")
        .length,
      maxVcpus: d.vcpus.length,
    };
  }

  /** What `rvisor list` shows of a live domain: memory now (and its target), vCPUs online of all. */
  listed(d: Domain): { memoryMiB: number; targetMiB?: number; vcpus: number; maxVcpus: number } {
    const m = memoryInfo(d);
    const memoryMiB = Math.floor(m.currentKiB / 1024);
    const targetMiB = Math.floor(m.targetKiB / 1024);
    return {
      memoryMiB,
      ...(d.balloon !== undefined && targetMiB !== memoryMiB ? { targetMiB } : {}),
      vcpus: vcpusOnline(d),
      maxVcpus: d.vcpus.length,
    };
  }

  private vcpuSet(d: Domain, n: number): void {
    if (n < 1) throw new ApiError(400, `${d.name}: a domain runs on at least 1 vCPU, not ${n}`);
    if (n > d.vcpus.length)
      throw new ApiError(400, `${d.name}: ${n} vCPUs is more than its maxvcpus (${d.vcpus.length})`);
    const tx = this.host.tools.transactionStart();
    if (!tx.ok) throw new ApiError(500, `${tx.errno}: ${tx.detail}`);
    for (let i = 0; i < d.vcpus.length; i++)
      check(
        this.host.tools.write(wellKnown.cpuAvailability(d.id, i), i < n ? "online" : "offline", tx.value),
      );
    check(this.host.tools.transactionEnd(tx.value, true));
  }

  private memSet(d: Domain, kib: number): void {
    try {
      setMemoryTarget(d, kib);
    } catch (e) {
      if (e instanceof ResizeError) throw new ApiError(400, e.message);
      throw e;
    }
    check(this.host.tools.write(wellKnown.memoryTarget(d.id), String(kib)));
  }

  private memMax(d: Domain, kib: number): void {
    try {
      setMaxMemory(d, kib);
    } catch (e) {
      if (e instanceof ResizeError) throw new ApiError(400, e.message);
      throw e;
    }
    check(this.host.tools.write(`${wellKnown.home(d.id)}/memory/static-max`, String(kib)));
  }

  private read(path: string): string | undefined {
    const r = this.host.tools.read(path);
    return r.ok ? Buffer.from(r.value).toString("utf8") : undefined;
  }

  private async body(req: IncomingMessage): Promise<Record<string, unknown>> {
    const text = (await this.host.readBody(req)).toString("utf8");
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v === "object" && v !== null) return v as Record<string, unknown>;
    } catch {
      // below
    }
    throw new ApiError(400, `the request body is not a JSON object: ${text.slice(0, 80)}`);
  }
}

/** Writes the store tree's resizing nodes a domain starts with (beside well-known.ts's tree). */
export function writeResizeNodes(host: Pick<AdminHost, "tools">, d: Domain): void {
  host.tools.write(`${wellKnown.home(d.id)}/memory/static-max`, String(memoryInfo(d).maxKiB));
}

function field(body: Record<string, unknown>, name: string): number {
  const v = body[name];
  if (typeof v !== "number" || !Number.isInteger(v))
    throw new ApiError(400, `${name} must be an integer, got ${JSON.stringify(v)}`);
  return v;
}

function check(r: { ok: true } | { ok: false; errno: string; detail: string }): void {
  if (!r.ok) throw new ApiError(r.errno === "EACCES" ? 403 : 400, `${r.errno}: ${r.detail}`);
}
