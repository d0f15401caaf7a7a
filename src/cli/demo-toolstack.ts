/**
 * The demo's last step: domain 0 at work. rvisord starts in this process on a host with four pCPUs (a
 * temporary socket and state directory), and the `rvisor` CLI — real child processes, as a user would
 * type them — creates three domains from the config files in examples/ (hvm, pv and trap, each running a
 * workload its command line names), then shows `rvisor list`, `rvisor vcpu-list` and a `rvisor top`
 * sample while they run. The daemon stops at the end, destroying them.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { RvisordClient } from "../control/daemon/client.js";
import { Rvisord } from "../control/daemon/server.js";
import { UsageError } from "./options.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = join(root, "dist/cli/main.js");
const run = promisify(execFile);

export const TOOLSTACK_EXPLANATION = [
  "Domain 0 at work: rvisord, the host daemon, owns a host with four pCPUs, the store and the domains;",
  "the rvisor CLI talks to it over a unix socket, as xl talks to libxl. Three domains come from the",
  "xl.cfg-style files in examples/, each in another mode with a workload on its command line:",
];

export const EXAMPLES = ["compute", "syscalls", "forks"] as const;

/** Runs the step; lines go to `out`. Returns 0, or 1 when a command failed. */
export async function toolstackStep(out: (line?: string) => void): Promise<number> {
  const configs = EXAMPLES.map((name) => join(root, "examples", `${name}.cfg`));
  for (const c of configs)
    if (!existsSync(c)) throw new UsageError(`${c} is missing (examples/ ships with rvisor)`);
  const dir = mkdtempSync(join(tmpdir(), "rvisor-demo-"));
  const socket = join(dir, "rvisord.sock");
  const daemon = await Rvisord.start({
    socketPath: socket,
    stateDir: join(dir, "state"),
    pcpus: 4,
    hostMemoryMiB: 256,
  });
  let status = 0;
  const rvisor = async (...args: string[]): Promise<void> => {
    out(`  $ rvisor ${args.join(" ")}`);
    try {
      const r = await run(process.execPath, [cli, ...args], {
        env: { ...process.env, RVISOR_SOCKET: socket },
      });
      for (const line of `${r.stderr}${r.stdout}`.replace(/\n$/, "").split("\n")) out(`    ${line}`);
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      out(`    ${(err.stderr || err.message).trim()}`);
      status = 1;
    }
  };
  try {
    for (const c of configs) await rvisor("create", relative(process.cwd(), c) || c);
    // Let the workloads get going before looking: until the forks domain has finished its first round
    // (a few seconds on an idle host; the others run longer), but no more than 15 s.
    const client = new RvisordClient(socket);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !(await client.console("forks")).text.includes("forks: 7 forked"))
      await new Promise((r) => setTimeout(r, 250));
    await rvisor("list");
    await rvisor("vcpu-list");
    await rvisor("top", "-b", "-d", "1");
    out("  Each domain's console so far (the command line's workload runs before the prompt):");
    for (const name of EXAMPLES) {
      const text = (await client.console(name)).text.trimEnd().split("\n").slice(-3);
      for (const line of text) out(`    [${name}] ${line}`);
    }
  } finally {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return status;
}
