/**
 * What the daemon's end-to-end tests share: the `rvisor` CLI run as a child process against a daemon's
 * socket, with its exit status and both output streams (a refusal is a result to check, not a throw).
 */
import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const cli = join(resolve(dirname(fileURLToPath(import.meta.url)), "../../.."), "dist/cli/main.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `rvisor ...args` with RVISOR_SOCKET = `socket`. */
export async function rvisorAt(socket: string, ...args: string[]): Promise<CliResult> {
  try {
    const r = await run(process.execPath, [cli, ...args], { env: { ...process.env, RVISOR_SOCKET: socket } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as CliResult;
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/**
 * Polls `probe` until it gives a value (every 20 ms), or fails naming `what` after `ms`: the bound is
 * generous because the whole suite shares two cores; the tests stay deterministic in what they check.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 120_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
