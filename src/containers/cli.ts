/**
 * `rvisor ctr`: the container engine's verbs, added to the rvisor command by `registerContainerCommands`.
 *
 *   run [-d] [--name] [--memory] [--memory-swap] [--cpu-shares] [--cpus] [--pids-limit] [--hostname]
 *       [--net none|bridge] [--user-ns] [-e K=V] <rootfs|bundle> [cmd...]
 *   create [--name] <bundle>   start <ctr>   ps [-a] [--json]   exec <ctr> <cmd...>   logs <ctr>
 *   stop [-t s] <ctr...>   kill [-s sig] <ctr>   rm [-f] <ctr...>   inspect <ctr>   stats <ctr>
 *   update [--memory] [--memory-swap] [--cpu-shares] [--cpus] [--pids-limit] <ctr>
 *   checkpoint <ctr>   restore <ctr>   migrate <ctr> <host:port>   daemon --listen <host:port>
 *
 * `ctr --root <dir> <verb>` picks the engine's state (RVISOR_CTR_ROOT or /var/lib/rvisor/ctr by default).
 * Exit status: 2 for bad input (unknown container, missing rootfs, bad config.json, bad value) with one
 * line on stderr; 1 when the kernel or CRIU refuses (the message says what); the container's own status
 * for a foreground `run` and for `exec`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { CgroupError } from "./cgroups.js";
import { CriuError, checkpoint, restore } from "./criu.js";
import { Engine, type RunOptions } from "./engine.js";
import { HelperError } from "./helper.js";
import { parseLimits, type RawLimitOptions, UsageError } from "./limits.js";
import { MigrationError, migrate, serveMigrations } from "./migrate.js";
import { NetworkError } from "./network.js";
import { readBundle } from "./oci.js";
import { DEFAULT_ENGINE_ROOT, DEFAULT_STOP_GRACE_MS } from "./params.js";

const EXIT_USAGE = 2;
const EXIT_REFUSED = 1;

function fail(message: string, status: number): never {
  process.stderr.write(`rvisor: ${message}\n`);
  process.exit(status);
}

/** Runs a verb with an open engine, turning errors into one line and an exit status. */
function withEngine<A extends unknown[]>(
  body: (engine: Engine, ...args: A) => Promise<number | undefined> | number | undefined,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command;
    const root = (cmd.optsWithGlobals().root as string | undefined) ?? DEFAULT_ENGINE_ROOT;
    let engine: Engine | undefined;
    try {
      engine = Engine.open(root);
      process.exitCode = (await body(engine, ...args)) ?? 0;
    } catch (e) {
      if (e instanceof UsageError) fail(e.message, EXIT_USAGE);
      if (
        e instanceof CgroupError ||
        e instanceof HelperError ||
        e instanceof NetworkError ||
        e instanceof CriuError ||
        e instanceof MigrationError
      ) {
        fail(e.message, EXIT_REFUSED);
      }
      const err = e as Error;
      fail(`internal error: ${err.stack ?? err.message}`, EXIT_REFUSED);
    } finally {
      engine?.close();
    }
  };
}

interface RawRunOptions extends RawLimitOptions {
  detach?: boolean;
  name?: string;
  hostname?: string;
  net: string;
  userNs?: boolean;
  env: string[];
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function limitOptions(cmd: Command): Command {
  return cmd
    .option("--memory <size>", "memory limit, e.g. 64M (-1: none)")
    .option("--memory-swap <size>", "memory plus swap limit (default: equal to --memory, no swap)")
    .option("--cpu-shares <n>", "relative CPU weight, 2..262144 (1024 is the default weight)")
    .option("--cpus <n>", "CPU bandwidth in CPUs, e.g. 0.5")
    .option("--pids-limit <n>", "maximum number of processes (-1: none)");
}

/** `run` options into engine options; a directory holding config.json is an OCI bundle. */
export function runOptionsFrom(target: string, cmd: string[], raw: RawRunOptions): RunOptions {
  const base: RunOptions = existsSync(join(target, "config.json"))
    ? readBundle(target)
    : { rootfs: target, args: cmd };
  if (cmd.length > 0) base.args = cmd;
  if (raw.net !== "none" && raw.net !== "bridge")
    throw new UsageError(`--net: '${raw.net}' is not none or bridge`);
  return {
    ...base,
    name: raw.name,
    hostname: raw.hostname ?? base.hostname,
    net: raw.net === "bridge" ? "bridge" : (base.net ?? "none"),
    userns: raw.userNs ?? base.userns,
    env: [...(base.env ?? []), ...raw.env],
    limits: { ...(base.limits ?? {}), ...parseLimits(raw) },
  };
}

function age(ms: number): string {
  const s = Math.round((Date.now() - ms) / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

export function registerContainerCommands(program: Command): void {
  const ctr = program
    .command("ctr")
    .description(
      "Linux containers on this host: namespaces, cgroups, live update, checkpoint/restore, migration",
    )
    .option("--root <dir>", "the engine's state directory (before the verb)", DEFAULT_ENGINE_ROOT)
    // `ctr run img sh -c x` and `ctr exec c sh -c x`: options after the command belong to the command.
    .enablePositionalOptions();

  limitOptions(
    ctr
      .command("run")
      .description("create and start a container from a rootfs directory or an OCI bundle")
      .argument("<rootfs|bundle>", "a root filesystem directory, or a bundle with config.json")
      .argument("[cmd...]", "the command to run (a bundle's process.args by default)")
      .option("-d, --detach", "run in the background; print the container's id")
      .option("--name <name>", "a name to refer to the container by")
      .option("--hostname <name>", "the container's hostname (default: its id)")
      .option(
        "--net <mode>",
        "none (loopback only) or bridge (a private address on the engine's bridge)",
        "none",
      )
      .option("--user-ns", "map root in the container to an unprivileged host uid range")
      .option("-e, --env <K=V>", "an environment variable (repeatable)", collect, [])
      .passThroughOptions(),
  ).action(
    withEngine(async (engine, target: string, cmd: string[], raw: RawRunOptions) => {
      const o = runOptionsFrom(target, cmd, raw);
      if (raw.detach) {
        const c = await engine.runDetached(o);
        process.stdout.write(`${c.id}\n`);
        return 0;
      }
      const { exitCode } = await engine.runAttached(o);
      return exitCode;
    }),
  );

  ctr
    .command("create")
    .description("create a container from an OCI bundle; its process waits until `start`")
    .argument("<bundle>", "a directory with config.json")
    .option("--name <name>", "a name to refer to the container by")
    .action(
      withEngine(async (engine, bundle: string, raw: { name?: string }) => {
        const c = engine.prepare({ ...readBundle(bundle), name: raw.name });
        try {
          await engine.startDetached(c, true);
        } catch (e) {
          engine.destroy(c);
          throw e;
        }
        process.stdout.write(`${c.id}\n`);
        return 0;
      }),
    );

  ctr
    .command("start")
    .description("let a created container run its process")
    .argument("<ctr>")
    .action(withEngine((engine, ref: string) => void engine.start(ref)));

  ctr
    .command("ps")
    .description("list containers (running ones unless -a)")
    .option("-a, --all", "also created, exited and checkpointed containers")
    .option("--json", "print JSON")
    .action(
      withEngine((engine, raw: { all?: boolean; json?: boolean }) => {
        const list = engine.list().filter((c) => raw.all || c.state === "running");
        if (raw.json) {
          process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
          return 0;
        }
        const rows = [["ID", "NAME", "STATE", "PID", "IP", "CREATED", "COMMAND"]];
        for (const c of list) {
          const state =
            c.state === "exited" ? `exited (${c.exitCode ?? "?"}${c.oomKilled ? ", OOM" : ""})` : c.state;
          rows.push([
            c.id,
            c.name,
            state,
            String(c.pid ?? "-"),
            c.ip ?? "-",
            age(c.createdAt),
            c.spec.args.join(" "),
          ]);
        }
        const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
        for (const r of rows)
          process.stdout.write(
            `${r
              .map((v, i) => v.padEnd(widths[i]))
              .join("  ")
              .trimEnd()}\n`,
          );
        return 0;
      }),
    );

  ctr
    .command("exec")
    .description("run a command inside a running container")
    .argument("<ctr>")
    .argument("<cmd...>")
    .option("-e, --env <K=V>", "an environment variable (repeatable)", collect, [])
    .passThroughOptions()
    .action(
      withEngine((engine, ref: string, cmd: string[], raw: { env: string[] }) =>
        engine.exec(ref, cmd, raw.env),
      ),
    );

  ctr
    .command("logs")
    .description("print a container's output")
    .argument("<ctr>")
    .action(
      withEngine((engine, ref: string) => {
        process.stdout.write(engine.logs(ref));
        return 0;
      }),
    );

  ctr
    .command("stop")
    .description("SIGTERM, then SIGKILL after the grace period")
    .argument("<ctr...>")
    .option("-t, --time <seconds>", "grace period", String(DEFAULT_STOP_GRACE_MS / 1000))
    .action(
      withEngine(async (engine, refs: string[], raw: { time: string }) => {
        const secs = Number(raw.time);
        if (!Number.isFinite(secs) || secs < 0)
          throw new UsageError(`--time: '${raw.time}' is not a number of seconds`);
        for (const r of refs) {
          const c = await engine.stop(r, secs * 1000);
          process.stdout.write(`${c.name}\n`);
        }
        return 0;
      }),
    );

  ctr
    .command("kill")
    .description("send a signal to a container's init")
    .argument("<ctr>")
    .option("-s, --signal <sig>", "signal name or number", "SIGKILL")
    .action(
      withEngine((engine, ref: string, raw: { signal: string }) => {
        engine.kill(ref, parseSignal(raw.signal));
        return 0;
      }),
    );

  ctr
    .command("rm")
    .description("remove containers (running ones with -f)")
    .argument("<ctr...>")
    .option("-f, --force", "kill a running container first")
    .action(
      withEngine(async (engine, refs: string[], raw: { force?: boolean }) => {
        for (const r of refs) await engine.remove(r, raw.force);
        return 0;
      }),
    );

  ctr
    .command("inspect")
    .description("print a container's record, paths, limits, updates and usage as JSON")
    .argument("<ctr>")
    .action(
      withEngine((engine, ref: string) => {
        process.stdout.write(`${JSON.stringify(engine.inspect(ref), null, 2)}\n`);
        return 0;
      }),
    );

  ctr
    .command("stats")
    .description("memory, CPU time and processes of a container, from its cgroup")
    .argument("<ctr>")
    .option("--json", "print JSON")
    .action(
      withEngine((engine, ref: string, raw: { json?: boolean }) => {
        const s = engine.stats(ref);
        if (raw.json) process.stdout.write(`${JSON.stringify(s)}\n`);
        else {
          const lim = s.memoryLimit === null ? "unlimited" : `${(s.memoryLimit / 1048576).toFixed(1)} MiB`;
          process.stdout.write(
            `memory ${(s.memoryBytes / 1048576).toFixed(1)} MiB / ${lim}  cpu ${(s.cpuNs / 1e9).toFixed(3)} s  ` +
              `pids ${s.pids} / ${s.pidsLimit ?? "unlimited"} (refused forks ${s.pidsLimitHits})  oom-kills ${s.oomKills}\n`,
          );
        }
        return 0;
      }),
    );

  limitOptions(
    ctr.command("update").description("change a container's limits while it runs").argument("<ctr>"),
  ).action(
    withEngine((engine, ref: string, raw: RawLimitOptions) => {
      const ms = engine.update(ref, parseLimits(raw));
      process.stdout.write(`updated in ${ms.toFixed(2)} ms\n`);
      return 0;
    }),
  );

  ctr
    .command("checkpoint")
    .description("dump a running container with CRIU into its checkpoint directory (it stops)")
    .argument("<ctr>")
    .option("--leave-running", "keep the container running after the dump")
    .action(
      withEngine(async (engine, ref: string, raw: { leaveRunning?: boolean }) => {
        const r = await checkpoint(engine, ref, { leaveRunning: raw.leaveRunning });
        process.stdout.write(`checkpointed to ${r.dir} in ${r.ms.toFixed(1)} ms\n`);
        return 0;
      }),
    );

  ctr
    .command("restore")
    .description("restore a checkpointed container, in new cgroups with its recorded limits")
    .argument("<ctr>")
    .action(
      withEngine(async (engine, ref: string) => {
        const r = await restore(engine, ref);
        process.stdout.write(`restored as pid ${r.pid} in ${r.ms.toFixed(1)} ms\n`);
        return 0;
      }),
    );

  ctr
    .command("migrate")
    .description("move a running container to another rvisor ctr daemon (stop-and-copy over TCP)")
    .argument("<ctr>")
    .argument("<host:port>")
    .action(
      withEngine(async (engine, ref: string, target: string) => {
        const r = await migrate(engine, ref, target);
        process.stdout.write(
          `migrated ${r.name} to ${target} as ${r.remoteId}: dump ${r.dumpMs.toFixed(1)} ms, ` +
            `transfer ${r.transferMs.toFixed(1)} ms (${(r.bytes / 1048576).toFixed(2)} MiB), ` +
            `restore ${r.restoreMs.toFixed(1)} ms, downtime ${r.downtimeMs.toFixed(1)} ms\n`,
        );
        return 0;
      }),
    );

  ctr
    .command("daemon")
    .description("serve migrations into this engine on a TCP address (loopback by default)")
    .option("--listen <host:port>", "address to listen on", "127.0.0.1:7077")
    .action(
      withEngine(async (engine, raw: { listen: string }) => {
        const server = await serveMigrations(engine, raw.listen);
        process.stdout.write(`rvisor ctr daemon: engine ${engine.root}, listening on ${server.address}\n`);
        await new Promise<void>((resolve) => {
          process.once("SIGTERM", resolve);
          process.once("SIGINT", resolve);
        });
        await server.close();
        return 0;
      }),
    );
}

export function parseSignal(text: string): NodeJS.Signals | number {
  if (/^\d+$/.test(text)) return Number(text);
  const name = (
    text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`
  ) as NodeJS.Signals;
  const known = [
    "SIGTERM",
    "SIGKILL",
    "SIGINT",
    "SIGHUP",
    "SIGQUIT",
    "SIGUSR1",
    "SIGUSR2",
    "SIGSTOP",
    "SIGCONT",
  ];
  if (!known.includes(name)) throw new UsageError(`unknown signal '${text}'`);
  return name;
}
