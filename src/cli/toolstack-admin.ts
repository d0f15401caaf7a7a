/**
 * The toolstack's administration verbs, as in xl (each talks to rvisord through client.ts):
 *
 *   rvisor vcpu-list [dom] [--json]                 Name ID VCPU CPU State Time(s) Affinity
 *   rvisor vcpu-pin <dom> <vcpu|all> <cpus>         cpus in Xen's list syntax ("0-1,3", "all", "^2")
 *   rvisor sched-credit [-d dom] [-w W] [-c C]      show every domain's weight and cap, or set one's
 *   rvisor top [-d secs] [-i n] [-b] [--json]       xentop: CPU %, MIPS, exits/s, memory per domain
 *   rvisor dmesg [--json]                           the daemon's and hypervisor's log ring
 *   rvisor store read|write|ls|rm|watch …           the store, as domain 0 (xenstore-read, -write, -ls …)
 *
 * Output is aligned as xl's; --json gives the API's objects instead.
 */
import type { Command } from "commander";
import { formatCpuRanges, parseCpuList } from "../control/config/cpulist.js";
import type { DomainStats, StatsSample, StoreEntry, VcpuInfo } from "../control/daemon/api.js";
import { UsageError } from "./options.js";
import { type CommandContext, json, type SocketOption } from "./toolstack-context.js";

/** `xl vcpu-list`'s table. */
export function formatVcpuList(vcpus: readonly VcpuInfo[], pcpus: number): string {
  const width = Math.max(32, ...vcpus.map((v) => v.domain.length));
  const state = (s: string): string =>
    ({ running: "r--", runnable: "-r-", parked: "-r-", blocked: "-b-", paused: "--p", offline: "---" })[s] ??
    s;
  const affinity = (a: readonly number[]): string =>
    a.length === pcpus && a.every((c, i) => c === i) ? "all" : formatCpuRanges(a);
  const lines = [
    `${"Name".padEnd(width)}  ID  VCPU   CPU State   Time(s) Affinity (Hard)`,
    ...vcpus.map(
      (v) =>
        `${v.domain.padEnd(width)} ${String(v.domid).padStart(3)} ${String(v.vcpu).padStart(5)} ` +
        `${(v.state === "offline" ? "-" : String(v.pcpu)).padStart(5)}   ${state(v.state)} ` +
        `${v.cpuTimeS.toFixed(1).padStart(9)} ${affinity(v.affinity)}`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}

/** xentop's screen: a header with the host, then a row per domain. */
export function formatTop(s: StatsSample): string {
  const busy = s.pcpus.map((p) => `${p.busyPercent.toFixed(0)}%`).join(" ");
  const width = Math.max(12, ...s.domains.map((d) => d.name.length));
  const exitsTop = (d: DomainStats): string => d.topExits.map((e) => `${e.cause} ${e.count}`).join(", ");
  const lines = [
    `rvisor top — host time ${(s.nowNs / 1e9).toFixed(2)} s, ${s.domains.length} domain(s); ` +
      `pCPU busy: ${busy}; memory ${s.totalMemoryMiB - s.freeMemoryMiB}/${s.totalMemoryMiB} MiB used`,
    `${"NAME".padStart(width)}  ID STATE    MODE   CPU(sec) CPU(%)    MIPS  EXITS/s   MEM(MiB) VCPUS  TOP EXITS`,
    ...s.domains.map(
      (d) =>
        `${d.name.padStart(width)} ${String(d.id).padStart(3)} ${d.state.padEnd(8)} ` +
        `${d.mode.padEnd(5)} ${(d.cpuTimeNs / 1e9).toFixed(1).padStart(9)} ${d.cpuPercent.toFixed(1).padStart(6)} ` +
        `${d.mips.toFixed(1).padStart(7)} ${d.exitsPerSecond.toFixed(0).padStart(8)} ` +
        `${d.memoryMiB.toFixed(0).padStart(10)} ${`${d.onlineVcpus}/${d.vcpus}`.padStart(5)}  ${exitsTop(d)}`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}

function formatStoreList(entries: readonly StoreEntry[], perms: boolean): string {
  return entries.map((e) => `${e.path} = "${e.value}"${perms ? `  (${e.perms.join(", ")})` : ""}\n`).join("");
}

function parseVcpu(text: string): number | "all" {
  if (text === "all") return "all";
  if (!/^\d+$/.test(text)) throw new UsageError(`vcpu must be a number or "all", got '${text}'`);
  return Number(text);
}

function parseOptionalInt(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`${what} must be a whole number, got '${text}'`);
  return Number(text);
}

export function registerAdminCommands(program: Command, ctx: CommandContext): void {
  const { verb, socketHelp, client } = ctx;
  const out = ctx.out ?? ((t: string) => process.stdout.write(t));

  program
    .command("vcpu-list")
    .description("list vCPUs: where they run, their state, CPU time and hard affinity (xl vcpu-list)")
    .argument("[dom]", "one domain (name or id); default: every live domain")
    .option("--json", "as JSON")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (dom: string | undefined, o: SocketOption & { json?: boolean }) => {
        const c = client(o);
        const [vcpus, info] = await Promise.all([c.vcpus(dom), c.info()]);
        out(o.json ? json(vcpus) : formatVcpuList(vcpus, info.pcpus));
        return 0;
      }),
    );

  program
    .command("vcpu-pin")
    .description("set the pCPUs a vCPU may run on (xl vcpu-pin); cpus: '0-1,3', '^2', 'all'")
    .argument("<dom>", "the domain's name or id")
    .argument("<vcpu>", 'a vCPU number or "all"')
    .argument("<cpus>", "pCPUs in Xen's CPU list syntax, or all")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (dom: string, vcpuText: string, cpusText: string, o: SocketOption) => {
        const vcpu = parseVcpu(vcpuText);
        const list = parseCpuList(cpusText);
        if (!list.ok) throw new UsageError(`cpus: ${list.error}`);
        const c = client(o);
        let cpus: number[] | "all";
        if (list.set.all) {
          const pcpus = (await c.info()).pcpus;
          const except = new Set(list.set.except);
          cpus =
            except.size === 0
              ? "all"
              : Array.from({ length: pcpus }, (_, i) => i).filter((p) => !except.has(p));
        } else cpus = [...list.set.cpus];
        await c.vcpuPin(dom, { vcpu, cpus });
        return 0;
      }),
    );

  program
    .command("sched-credit")
    .description("show or set Credit scheduler parameters (xl sched-credit)")
    .option("-d, --domain <dom>", "the domain (name or id)")
    .option("-w, --weight <w>", "its weight, 1..65535 (256 by default)")
    .option("-c, --cap <c>", "its cap in % of one pCPU (0: none)")
    .option("--json", "as JSON")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (o: SocketOption & { domain?: string; weight?: string; cap?: string; json?: boolean }) => {
        const c = client(o);
        const weight = parseOptionalInt(o.weight, "--weight");
        const cap = parseOptionalInt(o.cap, "--cap");
        if ((weight !== undefined || cap !== undefined) && o.domain === undefined)
          throw new UsageError("give the domain with -d to set its weight or cap");
        if (o.domain !== undefined && (weight !== undefined || cap !== undefined)) {
          const change: { weight?: number; cap?: number } = {};
          if (weight !== undefined) change.weight = weight;
          if (cap !== undefined) change.cap = cap;
          await c.schedSet(o.domain, change);
          return 0;
        }
        const all = await c.sched();
        const rows =
          o.domain === undefined ? all : all.filter((e) => e.name === o.domain || String(e.id) === o.domain);
        if (o.domain !== undefined && rows.length === 0) throw new UsageError(`no live domain ${o.domain}`);
        if (o.json) out(json(rows));
        else {
          const width = Math.max(32, ...rows.map((r) => r.name.length));
          out(`Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us\n`);
          out(`${"Name".padEnd(width)}  ID Weight  Cap\n`);
          for (const r of rows)
            out(
              `${r.name.padEnd(width)} ${String(r.id).padStart(3)} ${String(r.weight).padStart(6)} ${String(r.cap).padStart(4)}\n`,
            );
        }
        return 0;
      }),
    );

  program
    .command("top")
    .description("live per-domain CPU, instructions, exits and memory (xentop)")
    .option("-d, --delay <secs>", "seconds between updates", "1")
    .option("-i, --iterations <n>", "updates before exiting (default: until Ctrl-C; 1 in batch mode)")
    .option("-b, --batch", "plain lines, no screen clearing (for scripts and logs)")
    .option("--json", "each sample as one JSON line")
    .option("--socket <path>", socketHelp)
    .action(
      verb(
        async (o: SocketOption & { delay: string; iterations?: string; batch?: boolean; json?: boolean }) => {
          const delay = Number(o.delay);
          if (!Number.isFinite(delay) || delay < 0.1 || delay > 60)
            throw new UsageError(`--delay must be 0.1..60 seconds, got '${o.delay}'`);
          const batch = o.batch === true || o.json === true || !process.stdout.isTTY;
          const iterations =
            parseOptionalInt(o.iterations, "--iterations") ?? (batch ? 1 : Number.POSITIVE_INFINITY);
          if (iterations < 1) throw new UsageError("--iterations must be at least 1");
          const c = client(o);
          let seen = 0;
          // The stream's first sample is cumulative; the rest cover one delay each.
          const skipFirst = iterations !== Number.POSITIVE_INFINITY || batch;
          let first = true;
          const stream = c.statsStream(Math.round(delay * 1000), (s) => {
            if (first && skipFirst) {
              first = false;
              return;
            }
            first = false;
            if (o.json) out(`${JSON.stringify(s)}\n`);
            else out(batch ? `${formatTop(s)}\n` : `\x1b[H\x1b[2J${formatTop(s)}`);
            if (++seen >= iterations) stream.stop();
          });
          const stopOnSignal = () => stream.stop();
          process.once("SIGINT", stopOnSignal);
          await stream.done;
          process.off("SIGINT", stopOnSignal);
          return 0;
        },
      ),
    );

  program
    .command("dmesg")
    .description("the daemon's and hypervisor's log (xl dmesg)")
    .option("--json", "as JSON")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (o: SocketOption & { json?: boolean }) => {
        const lines = await client(o).dmesg();
        out(
          o.json ? json(lines) : lines.map((l) => `[${new Date(l.time).toISOString()}] ${l.text}\n`).join(""),
        );
        return 0;
      }),
    );

  const store = program.command("store").description("read and change the store as domain 0 (xenstore-*)");
  store
    .command("read")
    .description("print a node's value")
    .argument("<path>")
    .option("--json", "as JSON (value and children)")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (path: string, o: SocketOption & { json?: boolean }) => {
        const n = await client(o).storeRead(path);
        out(o.json ? json(n) : `${n.value}\n`);
        return 0;
      }),
    );
  store
    .command("write")
    .description("set a node's value (creating it and its parents)")
    .argument("<path>")
    .argument("<value>")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (path: string, value: string, o: SocketOption) => {
        await client(o).storeWrite(path, value);
        return 0;
      }),
    );
  store
    .command("rm")
    .description("remove a node and everything below it")
    .argument("<path>")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (path: string, o: SocketOption) => {
        await client(o).storeRm(path);
        return 0;
      }),
    );
  store
    .command("ls")
    .description("the subtree under a node with values (xenstore-ls; -p: permissions)")
    .argument("[path]", "default /", "/")
    .option("-p, --perms", "show each node's permissions")
    .option("--json", "as JSON")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (path: string, o: SocketOption & { perms?: boolean; json?: boolean }) => {
        const entries = await client(o).storeList(path);
        out(o.json ? json(entries) : formatStoreList(entries, o.perms === true));
        return 0;
      }),
    );
  store
    .command("watch")
    .description("print the path of every change at or below a node (the first event comes at once)")
    .argument("<path>")
    .option("-n, --count <n>", "exit after this many events")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (path: string, o: SocketOption & { count?: string }) => {
        const count = parseOptionalInt(o.count, "--count");
        let seen = 0;
        const w = client(o).storeWatch(path, (e) => {
          out(`${e.path}\n`);
          if (count !== undefined && ++seen >= count) w.stop();
        });
        const stopOnSignal = () => w.stop();
        process.once("SIGINT", stopOnSignal);
        await w.done;
        process.off("SIGINT", stopOnSignal);
        return 0;
      }),
    );
}
