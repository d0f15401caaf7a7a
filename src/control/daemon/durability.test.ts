/**
 * Nothing is lost when rvisord is killed: a real `rvisor daemon` process is sent SIGKILL (no clean-up
 * at all) right after the CLI created a domain; a new daemon on the same state directory clears the
 * dead one's socket, lists the domain as stopped and starts it again.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { RvisordClient } from "./client.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const cli = join(root, "dist/cli/main.js");
const kernel = join(root, "build/guest/kernel/kernel.elf");
const run = promisify(execFile);

const dir = mkdtempSync(join(tmpdir(), "rvisord-kill-"));
const socket = join(dir, "rvisord.sock");
const state = join(dir, "state");
const env = { ...process.env, RVISOR_SOCKET: socket };

function startDaemon(): ChildProcess {
  return spawn(process.execPath, [cli, "daemon", "--state-dir", state, "--memory", "64M", "--pcpus", "1"], {
    env,
    stdio: "ignore",
  });
}

async function answering(c: RvisordClient): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await c.info();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe("rvisord killed with SIGKILL", () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const p of children) p.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("loses no defined domain: the next daemon lists it stopped and starts it", async () => {
    const c = new RvisordClient(socket);
    const first = startDaemon();
    children.push(first);
    await answering(c);
    const cfg = join(dir, "durable.cfg");
    writeFileSync(cfg, `name = "durable"\ntype = "trap"\nkernel = "${kernel}"\nmemory = 16\n`);
    await run(process.execPath, [cli, "create", cfg], { env });
    assert.equal((await c.domain("durable")).state, "running");
    const exited = new Promise((r) => first.once("exit", r));
    first.kill("SIGKILL");
    await exited;

    const second = startDaemon();
    children.push(second);
    await answering(c); // the dead daemon's socket file was cleared, not an error
    const listed = (await c.list()).find((d) => d.name === "durable");
    assert.equal(listed?.state, "stopped");
    assert.equal(listed?.mode, "trap");
    await run(process.execPath, [cli, "start", "durable"], { env }); // silent on success, as xl's verbs
    assert.equal((await c.domain("durable")).state, "running");
    const done = new Promise((r) => second.once("exit", r));
    second.kill("SIGTERM");
    await done;
  });
});
