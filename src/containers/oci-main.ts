#!/usr/bin/env node
/**
 * rvisor's OCI runtime entry point: the runc command line, so tools that drive runc can drive rvisor.
 *
 *   rvisor-oci [--root dir] create [--bundle dir] [--pid-file f] <id>   init set up, waiting for start
 *   rvisor-oci [--root dir] start <id>                                  the process runs
 *   rvisor-oci [--root dir] state <id>                                  runtime-spec state JSON
 *   rvisor-oci [--root dir] kill <id> [signal]                          default SIGTERM
 *   rvisor-oci [--root dir] delete [--force] <id>
 *   rvisor-oci [--root dir] list                                        ids and statuses
 *
 * As runc: errors are one line on stderr and exit status 1; the container's output goes to
 * <root>/containers/<id>/log (runc would pass its own stdio; we keep the engine's log instead).
 * Flags runc accepts that change nothing here (--log, --log-format, --systemd-cgroup, --console-socket,
 * --no-pivot, --no-new-keyring) are accepted and ignored.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command, type CommanderError } from "commander";
import { parseSignal } from "./cli.js";
import { Engine } from "./engine.js";
import { OCI_VERSION, type OciState, readBundle } from "./oci.js";
import { DEFAULT_ENGINE_ROOT } from "./params.js";
import type { ContainerRecord } from "./store.js";

function fail(message: string): never {
  process.stderr.write(`rvisor-oci: ${message}\n`);
  process.exit(1);
}

export function ociState(engine: Engine, c: ContainerRecord): OciState {
  const status = c.state === "created" ? "created" : c.state === "running" ? "running" : "stopped";
  return {
    ociVersion: OCI_VERSION,
    id: c.name,
    status,
    ...(status !== "stopped" && c.pid !== null ? { pid: c.pid } : {}),
    bundle: c.spec.bundle ?? "",
    annotations: {
      "rvisor.rootfs": engine.rootfsOf(c.id),
      "rvisor.created": new Date(c.createdAt).toISOString(),
    },
  };
}

function verb<A extends unknown[]>(body: (engine: Engine, ...args: A) => Promise<void> | void) {
  return async (...args: A): Promise<void> => {
    let engine: Engine | undefined;
    try {
      engine = Engine.open((program.opts().root as string | undefined) ?? DEFAULT_ENGINE_ROOT);
      await body(engine, ...args);
    } catch (e) {
      fail((e as Error).message);
    } finally {
      engine?.close();
    }
  };
}

const program = new Command("rvisor-oci")
  .description("rvisor's OCI runtime (runc-compatible command line)")
  .option("--root <dir>", "state directory", DEFAULT_ENGINE_ROOT)
  .option("--log <file>", "accepted for runc compatibility")
  .option("--log-format <fmt>", "accepted for runc compatibility")
  .option("--systemd-cgroup", "accepted for runc compatibility")
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, "rvisor-oci: ")) })
  .exitOverride((err: CommanderError) => {
    const ok = err.code === "commander.helpDisplayed" || err.code === "commander.version";
    process.exit(ok ? 0 : 1);
  });

program
  .command("create")
  .argument("<id>")
  .option("-b, --bundle <dir>", "the bundle directory", ".")
  .option("--pid-file <file>", "write the init's pid here")
  .option("--console-socket <path>", "accepted for runc compatibility")
  .option("--no-pivot", "accepted for runc compatibility")
  .option("--no-new-keyring", "accepted for runc compatibility")
  .action(
    verb(async (engine, id: string, raw: { bundle: string; pidFile?: string }) => {
      const c = engine.prepare({ ...readBundle(raw.bundle), name: id });
      try {
        await engine.startDetached(c, true);
      } catch (e) {
        engine.destroy(c);
        throw e;
      }
      if (raw.pidFile) writeFileSync(resolve(raw.pidFile), String(c.pid));
    }),
  );

program
  .command("start")
  .argument("<id>")
  .action(verb((engine, id: string) => void engine.start(id)));

program
  .command("state")
  .argument("<id>")
  .action(
    verb((engine, id: string) => {
      process.stdout.write(`${JSON.stringify(ociState(engine, engine.get(id)), null, 2)}\n`);
    }),
  );

program
  .command("kill")
  .argument("<id>")
  .argument("[signal]", "name or number", "SIGTERM")
  .option("-a, --all", "accepted for runc compatibility (the pid namespace dies with its init)")
  .action(verb((engine, id: string, signal: string) => engine.kill(id, parseSignal(signal))));

program
  .command("delete")
  .argument("<id>")
  .option("-f, --force", "kill the container first if it runs")
  .action(
    verb(async (engine, id: string, raw: { force?: boolean }) => {
      const c = engine.get(id);
      if ((c.state === "running" || c.state === "created") && !raw.force) {
        throw new Error(`cannot delete container ${id} that is not stopped: ${c.state}`);
      }
      await engine.remove(id, true);
    }),
  );

program.command("list").action(
  verb((engine) => {
    for (const c of engine.list())
      process.stdout.write(`${c.name}\t${ociState(engine, c).status}\t${c.pid ?? 0}\n`);
  }),
);

await program.parseAsync(process.argv);
