/**
 * The xl-style verbs, talking to rvisord over its API (../control/daemon/client.ts):
 *
 *   rvisor daemon [--socket P] [--pcpus N] [--memory SIZE] [--state-dir D]   rvisord in the foreground
 *                 [--on-stop save|shutdown|destroy] [--stop-timeout S] [--no-restore]
 *                                  what SIGTERM/SIGINT does with live domains (remembered), and whether
 *                                  the domains it saved are restored at start (host-lifecycle.ts)
 *   rvisor create <cfg> [-c]       a domain from an xl.cfg file (-c: follow its console)
 *   rvisor list [--json|--long]    Domain-0, the domains, then the stopped (defined) ones
 *   rvisor host-info [--json]      the host as the daemon sees it (xl info); `rvisor info` says the same
 *                                  followed by the board (info.ts), or only the board with no daemon
 *   rvisor pause|unpause|destroy <dom>
 *   rvisor shutdown|reboot <dom> [-w]  ask the guest (xl's control/shutdown); -w: wait until it has gone
 *   rvisor console [-t pv|serial] <dom> [-f]   attach to the serial console (default) or hvc0 (xl console
 *                                  -t); without a terminal the output so far; --follow streams it
 *   rvisor save <dom> <file> [-c|-p]   its state to a file, then destroyed (xl save); -c: it goes on
 *                                  running (a checkpoint), -p: it stays paused
 *   rvisor restore <file> [-p] [-c]    the saved domain again, going on where it was (-p: paused;
 *                                  -c: follow its console)
 *
 *   … start, autostart and host-config of toolstack-host.ts
 *   … the resizing verbs of toolstack-resize.ts (vcpu-set, mem-set, mem-max, balloon-stats)
 *   … the domain and device verbs of toolstack-domains.ts (uptime, domid, domname, rename, block-list,
 *   network-list)
 *   … and the administration verbs of toolstack-admin.ts (vcpu-list, vcpu-pin, sched-credit, top,
 *   dmesg, store read|write|ls|rm|watch)
 *
 * <dom> is a name or an id. Every verb takes --socket (default $RVISOR_SOCKET, else
 * /run/rvisor/rvisord.sock; `tcp://127.0.0.1:PORT` reaches a daemon started with --listen). Exit status 1 when the daemon refuses or is not running, with its message.
 */
import { readFileSync } from "node:fs";
import { hostname, version as osVersion, release } from "node:os";
import { resolve } from "node:path";
import type { Command } from "commander";
import { CONSOLE_TYPES, type ConsoleType, type DomainInfo, type HostInfo } from "../control/daemon/api.js";
import { DaemonApiError, DaemonNotRunningError, RvisordClient } from "../control/daemon/client.js";
import { apiToken, socketPath, stateDir } from "../control/daemon/paths.js";
import { isLoopback, Rvisord } from "../control/daemon/server.js";
import { isSchedulerName, SCHEDULER_NAMES } from "../hypervisor/scheduler/registry.js";
import type { ClockKind } from "../machine/machine.js";
import { MAX_HARTS } from "../machine/params.js";
import { CLOCK_NAMES, MiB, parseChoice, parseIntInRange, parseMemorySize, UsageError } from "./options.js";
import { DEFAULT_ENGINE, ENGINE_NAMES, ENGINES } from "./registry.js";
import { registerAdminCommands } from "./toolstack-admin.js";
import type { SocketOption } from "./toolstack-context.js";
import { formatUptime, registerDomainCommands } from "./toolstack-domains.js";
import { formatLong, parseOnStop, parseStopTimeout, registerHostCommands } from "./toolstack-host.js";
import { registerResizeCommands } from "./toolstack-resize.js";

type Body<A extends unknown[]> = (...args: A) => Promise<number> | number;
type Wrap = <A extends unknown[]>(body: Body<A>) => (...args: A) => Promise<void>;

/** Refusals from the daemon, and its absence, are the user's to fix: a message and status 1. */
function daemonErrors<A extends unknown[]>(body: Body<A>): Body<A> {
  return async (...args: A) => {
    try {
      return await body(...args);
    } catch (e) {
      if (e instanceof DaemonNotRunningError || e instanceof DaemonApiError) {
        process.stderr.write(`rvisor: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
  };
}

const client = (o: SocketOption) => {
  const endpoint = socketPath(o.socket);
  return new RvisordClient(endpoint, apiToken(endpoint));
};

/** xl's state flags: r(unning) b(locked) p(aused) s(hutdown) c(rashed) d(ying); "------" when stopped. */
export function stateFlags(state: string): string {
  const flags = ["-", "-", "-", "-", "-", "-"];
  const at = { running: 0, paused: 2, shutdown: 3, crashed: 4 }[state];
  if (at !== undefined) flags[at] = state[0];
  return flags.join("");
}

/** After the mode: how a stopped domain last ended, a saved one's image, autostart. */
function stoppedNote(d: DomainInfo): string {
  const auto = d.autostart === true ? " [autostart]" : "";
  if (d.state === "saved")
    return ` (saved${d.saved?.restoreError !== undefined ? ", not restored" : ""})${auto}`;
  if (d.state !== "stopped") return auto;
  return `${d.end === undefined ? " (stopped)" : ` (stopped: ${d.end.reason})`}${auto}`;
}

/** Memory now, and where the balloon is taking it when that differs: "24→16". */
const memColumn = (d: DomainInfo): string =>
  d.targetMiB === undefined ? String(d.memoryMiB) : `${d.memoryMiB}→${d.targetMiB}`;
/** vCPUs online, and of how many when not all are: "2/4". */
const vcpuColumn = (d: DomainInfo): string =>
  d.maxVcpus === undefined || d.maxVcpus === d.vcpus ? String(d.vcpus) : `${d.vcpus}/${d.maxVcpus}`;

/** `xl list`'s table, with rvisor's Mode column. */
export function formatList(domains: readonly DomainInfo[]): string {
  const width = Math.max(40, ...domains.map((d) => d.name.length));
  const lines = [
    `${"Name".padEnd(width)}   ID   Mem VCPUs      State   Time(s)  Mode`,
    ...domains.map(
      (d) =>
        `${d.name.padEnd(width)} ${String(d.id ?? "-").padStart(4)} ${memColumn(d).padStart(5)} ` +
        `${vcpuColumn(d).padStart(5)}     ${stateFlags(d.state)} ${d.cpuTimeS.toFixed(1).padStart(9)}  ` +
        `${d.mode}${stoppedNote(d)}`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}

/** `xl info`'s aligned `key : value` lines: the host as rvisord sees it (the board follows in info.ts). */
export function formatHostInfo(h: HostInfo, now = Date.now()): string {
  const rows: [string, string | number][] = [
    ["host", hostname()],
    ["release", release()],
    ["version", osVersion()],
    ["machine", "riscv32 (rvisor's emulated RV32IMAC board, QEMU virt-compatible)"],
    ["nr_cpus", h.pcpus],
    ["max_cpu_id", h.pcpus - 1],
    ["nr_nodes", 1],
    ["cores_per_socket", h.pcpus],
    ["threads_per_core", 1],
    ["virt_caps", (h.modes ?? []).join(" ")],
    ["total_memory", h.totalMemoryMiB],
    ["free_memory", h.freeMemoryMiB],
    ["free_cpus", 0],
    ["rvisor_version", h.version],
    ["rvisor_api", h.api],
    ["rvisor_scheduler", h.scheduler],
    ["rvisor_pagesize", 4096],
    ["rvisor_clock", h.clock],
    ["total_frames", h.totalFrames],
    ["free_frames", h.freeFrames],
    ...(h.domains === undefined
      ? []
      : [["domains", `${h.domains.live} live, ${h.domains.defined} defined`] as [string, string]]),
    ...(h.startTime === undefined
      ? []
      : [["uptime", formatUptime((now - h.startTime) / 1000)] as [string, string]]),
    ["hypervisor_time", `${(h.uptimeNs / 1e9).toFixed(3)} s`],
    ["socket", h.socket],
    ...(h.tcp === undefined ? [] : [["tcp", h.tcp] as [string, string]]),
    ["state_dir", h.stateDir],
    ["on_stop", h.onStop],
    ["stop_timeout", `${h.stopTimeoutS} s`],
  ];
  return rows.map(([k, v]) => `${k.padEnd(23)}: ${v}\n`).join("");
}

async function followConsole(c: RvisordClient, dom: string, type: ConsoleType = "serial"): Promise<number> {
  let code = 0;
  await c.streamConsole(
    dom,
    (e) => {
      if (e.kind === "output") process.stdout.write(e.text);
      else if (e.end !== null) code = e.end.code;
    },
    0,
    undefined,
    type,
  );
  return code;
}

/** Ctrl-]: leaves an attached console, as in xl and virsh. */
export const DETACH_BYTE = 0x1d;

/**
 * `xl console`: the output so far and as it comes, keystrokes to the guest (a terminal in raw mode, so
 * each key goes as typed), until Ctrl-] (detach: the domain runs on), the end of input, or the domain
 * stopping. Returns 0, or the domain's exit status when it stopped.
 */
export async function attachConsole(
  c: RvisordClient,
  dom: string,
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (on: boolean) => unknown },
  write: (text: string) => void,
  type: ConsoleType = "serial",
): Promise<number> {
  let code = 0;
  let detach: () => void = () => {};
  const detached = new Promise<void>((r) => {
    detach = r;
  });
  const raw = input.isTTY === true && typeof input.setRawMode === "function";
  if (raw) input.setRawMode!(true);
  let sending = Promise.resolve();
  const onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    const at = bytes.indexOf(DETACH_BYTE);
    const keys = at >= 0 ? bytes.subarray(0, at) : bytes;
    if (keys.length > 0) {
      const copy = Buffer.from(keys);
      sending = sending.then(() => c.sendInput(dom, copy, type).then(() => undefined));
    }
    if (at >= 0) detach();
  };
  input.on("data", onData);
  input.once("end", () => detach());
  input.resume();
  const abort = new AbortController();
  const stream = c.streamConsole(
    dom,
    (e) => {
      if (e.kind === "output") write(e.text);
      else if (e.end !== null) code = e.end.code;
    },
    0,
    abort.signal,
    type,
  );
  try {
    await Promise.race([stream, detached]);
    await sending.catch(() => undefined);
  } finally {
    abort.abort();
    input.off("data", onData);
    input.pause();
    if (raw) input.setRawMode!(false);
  }
  return code;
}

export interface RawDaemonOptions extends SocketOption {
  listen?: string;
  pcpus: string;
  memory: string;
  stateDir?: string;
  clock: string;
  engine: string;
  scheduler: string;
  onStop?: string;
  stopTimeout?: string;
  /** commander's --no-restore: false when given. */
  restore: boolean;
}

/**
 * Runs rvisord until SIGTERM or SIGINT; then stops it cleanly (live domains saved, shut down or
 * destroyed as --on-stop says; socket removed). A second signal forces the stop: the save under way
 * finishes whole, every other domain is destroyed at once.
 */
async function daemonCommand(raw: RawDaemonOptions): Promise<number> {
  const pcpus = parseIntInRange(raw.pcpus, "--pcpus", 1, MAX_HARTS);
  const memoryMiB = parseMemorySize(raw.memory) / MiB;
  const clock = parseChoice(raw.clock, "--clock", CLOCK_NAMES) as ClockKind;
  const engine = parseChoice(raw.engine, "--engine", ENGINE_NAMES);
  if (!isSchedulerName(raw.scheduler))
    throw new UsageError(`--scheduler must be one of ${SCHEDULER_NAMES.join(", ")}, got '${raw.scheduler}'`);
  let tcp: { host: string; port: number } | undefined;
  if (raw.listen !== undefined) {
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(raw.listen);
    if (m === null || Number(m[2]) > 65535)
      throw new UsageError(`--listen must be HOST:PORT (a loopback address), got '${raw.listen}'`);
    tcp = { host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
    if (!isLoopback(tcp.host))
      throw new UsageError(
        `--listen ${raw.listen}: rvisord serves TCP on loopback addresses only (127.0.0.1, ::1)`,
      );
  }
  const host = {
    ...(raw.onStop !== undefined ? { onStop: parseOnStop(raw.onStop) } : {}),
    ...(raw.stopTimeout !== undefined ? { stopTimeoutS: parseStopTimeout(raw.stopTimeout) } : {}),
  };
  // Installed before the start: a signal while the start restores domains must not kill the process
  // (a domain already restored has no image any more); the stop follows once the start is done. The
  // handlers stay: a second signal forces the stop (stop() again) instead of killing the process.
  let daemon: Rvisord | undefined;
  let signals = 0;
  let resolveStop: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    resolveStop = r;
  });
  const stop = () => {
    signals++;
    daemon?.stop().then(resolveStop, resolveStop);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  try {
    daemon = await Rvisord.start({
      socketPath: socketPath(raw.socket),
      stateDir: stateDir(raw.stateDir),
      pcpus,
      hostMemoryMiB: Math.floor(memoryMiB),
      clock,
      engine: ENGINES[engine].engine,
      scheduler: raw.scheduler,
      log: (line) => process.stderr.write(`${line}\n`),
      ...(tcp !== undefined ? { tcp } : {}),
      host,
      restore: raw.restore,
    });
    if (daemon.tcpAddress !== undefined)
      process.stderr.write(
        `rvisord: API also on tcp://${daemon.tcpAddress} (token in ${stateDir(raw.stateDir)}/api-token)\n`,
      );
  } catch (e) {
    process.off("SIGTERM", stop);
    process.off("SIGINT", stop);
    const err = e as NodeJS.ErrnoException;
    if (err.code === "EACCES" || err.code === "EADDRINUSE" || /already listening/.test(err.message))
      throw new UsageError(err.message);
    throw e;
  }
  for (let i = 0; i < Math.min(signals, 2); i++) daemon.stop().then(resolveStop, resolveStop);
  await stopped;
  return 0;
}

export function registerToolstackCommands(program: Command, action: Wrap): void {
  const socketHelp = "rvisord's socket (default: $RVISOR_SOCKET, else /run/rvisor/rvisord.sock)";
  const verb = <A extends unknown[]>(body: Body<A>) => action(daemonErrors(body));

  program
    .command("daemon")
    .description("run rvisord, the host daemon (domain 0's toolstack), in the foreground")
    .option("--socket <path>", socketHelp)
    .option("--pcpus <n>", `host pCPUs, 1..${MAX_HARTS}`, "2")
    .option("--memory <size>", "host RAM (every domain's memory plus shadow tables)", "512M")
    .option(
      "--state-dir <dir>",
      "where the database of domain configs lives (default: $RVISOR_STATE_DIR, else /var/lib/rvisor)",
    )
    .option("--clock <kind>", `time source: ${CLOCK_NAMES.join(", ")}`, "icount")
    .option("--engine <name>", `execution engine: ${ENGINE_NAMES.join(", ")}`, DEFAULT_ENGINE)
    .option("--scheduler <name>", `hypervisor scheduler: ${SCHEDULER_NAMES.join(", ")}`, "credit")
    .option(
      "--listen <host:port>",
      "also serve the API on this loopback TCP address (bearer token in the state dir)",
    )
    .option(
      "--on-stop <policy>",
      "what SIGTERM/SIGINT does with live domains: save (restored at the next start), shutdown (asked to " +
        "power off, destroyed after --stop-timeout) or destroy; remembered (default: as last given, else destroy)",
    )
    .option(
      "--stop-timeout <seconds>",
      "how long a stop waits for guests to power off; remembered (default 60)",
    )
    .option("--no-restore", "do not restore the domains the last stop saved (`rvisor start` restores one)")
    .action(action((raw: RawDaemonOptions) => daemonCommand(raw)));

  program
    .command("create")
    .description("create a domain from an xl.cfg-style config file (on the running rvisord)")
    .argument("<cfg>", "the domain's config file")
    .option("-c, --console", "then follow its console until it stops")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (file: string, o: SocketOption & { console?: boolean }) => {
        let text: string;
        try {
          text = readFileSync(file, "utf8");
        } catch (e) {
          throw new UsageError(`${file}: cannot read the config file: ${(e as Error).message}`);
        }
        process.stderr.write(`Parsing config from ${file}\n`);
        const c = client(o);
        const d = await c.create({ config: text, path: resolve(file) });
        for (const w of d.warnings) process.stderr.write(`warning: ${w}\n`);
        process.stderr.write(`Created ${d.name} (id ${d.id}, ${d.mode})\n`);
        return o.console ? followConsole(c, d.name) : 0;
      }),
    );

  program
    .command("list")
    .description("list the domains (xl list), stopped (defined) ones last")
    .option("--json", "as JSON")
    .option("-l, --long", "one block per domain (virsh dominfo): uuid, autostart, saved image, last end")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (o: SocketOption & { json?: boolean; long?: boolean }) => {
        const domains = await client(o).list();
        process.stdout.write(
          o.json
            ? `${JSON.stringify(domains, null, 2)}\n`
            : o.long
              ? formatLong(domains)
              : formatList(domains),
        );
        return 0;
      }),
    );

  program
    .command("host-info")
    .description("the host as rvisord sees it (xl info): pCPUs, memory, scheduler, version")
    .option("--json", "as JSON")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (o: SocketOption & { json?: boolean }) => {
        const info = await client(o).info();
        process.stdout.write(o.json ? `${JSON.stringify(info, null, 2)}\n` : formatHostInfo(info));
        return 0;
      }),
    );

  const simple = [
    ["pause", "pause a domain: its vCPUs are no longer scheduled"],
    ["unpause", "resume a paused domain"],
    ["destroy", "end a domain at once and free its resources (its config stays defined)"],
  ] as const;
  for (const [name, description] of simple) {
    program
      .command(name)
      .description(description)
      .argument("<dom>", "the domain's name or id")
      .option("--socket <path>", socketHelp)
      .action(
        verb(async (dom: string, o: SocketOption) => {
          await client(o)[name](dom);
          return 0;
        }),
      );
  }

  const graceful = [
    ["shutdown", "poweroff", "ask a domain to power off (through its store's control/shutdown)"],
    ["reboot", "reboot", "ask a domain to reboot (through its store's control/shutdown)"],
  ] as const;
  for (const [name, request, description] of graceful) {
    program
      .command(name)
      .description(description)
      .argument("<dom>", "the domain's name or id")
      .option("-w, --wait", "wait until the domain has gone")
      .option("--socket <path>", socketHelp)
      .action(
        verb(async (dom: string, o: SocketOption & { wait?: boolean }) => {
          const c = client(o);
          const d = await c.domain(dom);
          if (d.id !== null)
            process.stderr.write(
              `${name === "reboot" ? "Rebooting" : "Shutting down"} domain ${d.id} (${d.name})\n`,
            );
          await c[name](dom, o.wait === true);
          if (o.wait)
            process.stderr.write(
              `Domain ${d.id} (${d.name}) has ${request === "reboot" ? "rebooted" : "been shut down"}\n`,
            );
          return 0;
        }),
      );
  }

  program
    .command("save")
    .description("save a domain's state to a file, then destroy it (xl save); -c keeps it running")
    .argument("<dom>", "the domain's name or id")
    .argument("<file>", "the save image to write (the daemon writes it)")
    .option("-c, --checkpoint", "leave the domain running after saving it")
    .option("-p, --paused", "leave the domain paused after saving it")
    .option("--socket <path>", socketHelp)
    .action(
      verb(
        async (dom: string, file: string, o: SocketOption & { checkpoint?: boolean; paused?: boolean }) => {
          const r = await client(o).save(dom, {
            path: resolve(file),
            checkpoint: o.checkpoint === true,
            paused: o.paused === true,
          });
          const after = r.domain.state === "stopped" ? "destroyed" : `left ${r.domain.state}`;
          process.stderr.write(
            `Saved ${r.domain.name} to ${file}: ${(r.bytes / MiB).toFixed(1)} MiB, ${r.pages} pages ` +
              `(${r.zeroPages} of zeros, not stored); ${r.domain.name} ${after}\n`,
          );
          return 0;
        },
      ),
    );

  program
    .command("restore")
    .description("create a saved domain again (xl restore): it goes on where it was saved")
    .argument("<file>", "a save image written by `rvisor save` (the daemon reads it)")
    .option("-p, --paused", "leave the domain paused (rvisor unpause starts it)")
    .option("-c, --console", "then follow its console until it stops")
    .option("--socket <path>", socketHelp)
    .action(
      verb(async (file: string, o: SocketOption & { paused?: boolean; console?: boolean }) => {
        const c = client(o);
        const d = await c.restore({ path: resolve(file), paused: o.paused === true });
        process.stderr.write(
          `Restored ${d.name} (id ${d.id}, ${d.mode}, ${d.state}) from ${file}, saved ${d.savedAt}\n`,
        );
        return o.console ? followConsole(c, d.name) : 0;
      }),
    );

  program
    .command("console")
    .description(
      "attach to a domain's console (xl console: type to it, Ctrl-] detaches); without a terminal, print its output so far",
    )
    .argument("<dom>", "the domain's name or id")
    .option(
      "-t, --type <type>",
      "which console: serial (the UART/SBI console the kernel boots on) or pv (hvc0, the virtio console)",
      "serial",
    )
    .option("-f, --follow", "only follow the output until the domain stops (Ctrl-C leaves)")
    .option("-i, --interactive", "attach even when standard input is not a terminal")
    .option("--socket <path>", socketHelp)
    .action(
      verb(
        async (dom: string, o: SocketOption & { type: string; follow?: boolean; interactive?: boolean }) => {
          const type = parseChoice(o.type, "--type", CONSOLE_TYPES) as ConsoleType;
          const c = client(o);
          if (o.interactive || (!o.follow && process.stdin.isTTY === true))
            return attachConsole(c, dom, process.stdin, (t) => process.stdout.write(t), type);
          if (o.follow) return followConsole(c, dom, type);
          process.stdout.write((await c.console(dom, 0, type)).text);
          return 0;
        },
      ),
    );

  registerAdminCommands(program, { verb, socketHelp, client });
  registerResizeCommands(program, { verb, socketHelp, client });
  registerDomainCommands(program, { verb, socketHelp, client });
  registerHostCommands(program, { verb, socketHelp, client });
}
