/**
 * Spawning the C helper (native/ctr-helper.c) and reading the one line it reports on fd 3: "pid <n>" once
 * the container's init runs (or waits on its start fifo), or "error <message>" when it could not.
 */
import { type ChildProcess, type StdioOptions, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { HELPER_PATH } from "./params.js";

export class HelperError extends Error {
  override name = "HelperError";
}

function helperPath(): string {
  if (!existsSync(HELPER_PATH)) {
    throw new HelperError(
      `the container helper ${HELPER_PATH} is not built; run 'node scripts/setup-containers.mjs'`,
    );
  }
  return HELPER_PATH;
}

export interface Started {
  pid: number;
  monitor: number;
}

function parsePid(line: string): Started {
  const [, pid, monitor] = line.split(" ");
  return { pid: Number(pid), monitor: Number(monitor ?? pid) };
}

/** Reads the status line; resolves with the pids, rejects with the helper's error. */
function statusOf(child: ChildProcess, what: string): Promise<Started> {
  return new Promise((resolve, reject) => {
    let text = "";
    let stderr = "";
    const status = child.stdio[3] as NodeJS.ReadableStream;
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    status.on("data", (d: Buffer) => {
      text += d.toString();
      const line = text.split("\n")[0];
      if (text.includes("\n") && line.startsWith("pid ")) resolve(parsePid(line));
    });
    const settle = (): void => {
      const line = text.split("\n")[0];
      if (line.startsWith("pid ")) resolve(parsePid(line));
      else if (line.startsWith("error ")) reject(new HelperError(`${what}: ${line.slice(6)}`));
      else
        reject(
          new HelperError(`${what}: the helper ended without a status${stderr ? `: ${stderr.trim()}` : ""}`),
        );
    };
    status.on("end", settle);
    child.on("error", (e) => reject(new HelperError(`${what}: ${e.message}`)));
  });
}

/** Runs the helper with --detach: resolves with the pid once the monitor has started the container. */
export async function spawnDetached(verb: string, args: string[], what: string): Promise<Started> {
  const child = spawn(helperPath(), [verb, "--detach", "--status-fd", "3", ...args], {
    stdio: ["ignore", "ignore", "pipe", "pipe"],
  });
  return statusOf(child, what);
}

/**
 * Runs the helper in the foreground with the caller's stdio: `onPid` hears the container's pid as soon
 * as it runs; the promise gives the helper's exit status (the container's, or 128+signal).
 */
export function spawnForeground(
  verb: string,
  args: string[],
  what: string,
  onPid: (started: Started) => void,
  stdio: StdioOptions = ["inherit", "inherit", "inherit", "pipe"],
  forward: NodeJS.Signals[] = [],
): Promise<number> {
  // With signals to forward, the helper gets a process group of its own, so a terminal's Ctrl-C reaches
  // the container once (through us), not twice.
  const child = spawn(helperPath(), [verb, "--status-fd", "3", ...args], {
    stdio,
    detached: forward.length > 0,
  });
  const pass = (sig: NodeJS.Signals): void => {
    child.kill(sig);
  };
  for (const sig of forward) process.on(sig, pass);
  const started = statusOf(child, what).then(onPid);
  const exited = new Promise<number>((resolve) =>
    child.on("exit", (code, sig) => {
      for (const s of forward) process.off(s, pass);
      resolve(code ?? 128 + (sig ? 9 : 0));
    }),
  );
  return Promise.all([started, exited]).then(([, code]) => code);
}
